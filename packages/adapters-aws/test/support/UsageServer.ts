// A local HTTP server answering API Gateway's `GetUsage` (GET /usageplans/{id}/usage) in the shape AWS
// documents: `{ usagePlanId, startDate, endDate, position?, values: { keyId: [[used, remaining], ...] } }`,
// and errors as `x-amzn-errortype` plus a JSON message. moto has no GetUsage, so this is what the
// adapter's request building, paging and parsing are checked against.
import { type Ids, UtcDay } from "@augint-billing/core"
import type { UsageSourceContract } from "@augint-billing/testkit/contracts"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

/** A canned answer. */
export interface Reply {
  readonly status: number
  readonly errorType?: string
  readonly body: unknown
}

/** Requests seen and the endpoint to point the SDK at. */
export interface Server {
  readonly endpoint: string
  readonly requests: Array<URL>
}

/** Serve `handler` on 127.0.0.1 for the scope's lifetime. */
export const serve = (handler: (url: URL) => Reply) =>
  Effect.acquireRelease(
    Effect.async<{ server: ReturnType<typeof createServer>; state: Server }>((resume) => {
      const requests: Array<URL> = []
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        requests.push(url)
        const reply = handler(url)
        res.writeHead(reply.status, {
          "content-type": "application/json",
          ...(reply.errorType === undefined ? {} : { "x-amzn-errortype": reply.errorType })
        })
        res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, state: { endpoint: `http://127.0.0.1:${port}`, requests } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

/** The GetUsage server of the contract suite, over plans seeded by `planWith`. */
export class UsageServer extends Context.Tag("test/UsageServer")<
  UsageServer,
  Server & {
    readonly plans: Map<string, ReadonlyArray<UsageSourceContract.Seed>>
  }
>() {}

const notFound: Reply = {
  status: 404,
  errorType: "NotFoundException",
  body: { message: "Invalid Usage Plan ID specified" }
}

/** GetUsage semantics over seeded counts: keys in order, `limit` per page, `position` an offset. */
export const layer = Layer.scoped(
  UsageServer,
  Effect.gen(function*() {
    const plans = new Map<string, ReadonlyArray<UsageSourceContract.Seed>>()
    const server = yield* serve((url) => {
      const match = /^\/usageplans\/([^/]+)\/usage$/.exec(url.pathname)
      const seeds = match === null ? undefined : plans.get(decodeURIComponent(match[1]!))
      if (match === null || seeds === undefined) return notFound
      const start = UtcDay.UtcDay.make(url.searchParams.get("startDate")!)
      const end = UtcDay.UtcDay.make(url.searchParams.get("endDate")!)
      const days = UtcDay.between(start, end)
      if (days.length > 90) return { status: 400, errorType: "BadRequestException", body: { message: "range" } }
      const keyId = url.searchParams.get("keyId")
      const keys = [...new Set(seeds.map((s) => s.apiKeyId))].filter((k) => keyId === null || k === keyId)
      const limit = Number(url.searchParams.get("limit") ?? "500")
      const offset = Number(url.searchParams.get("position") ?? "0")
      const page = keys.slice(offset, offset + limit)
      const values = Object.fromEntries(page.map((k) => [
        k,
        days.map((d) => {
          const used = seeds.filter((s) => s.apiKeyId === k && s.day === d).reduce((n, s) => n + s.units, 0)
          return [used, 10_000 - used]
        })
      ]))
      return {
        status: 200,
        body: {
          usagePlanId: match[1],
          startDate: start,
          endDate: end,
          ...(offset + limit < keys.length ? { position: String(offset + limit) } : {}),
          values
        }
      }
    })
    return { ...server, plans }
  })
)

let plan = 0
/** The contract fixture: a fresh plan holding exactly `seeds`. */
export const planWith = (seeds: ReadonlyArray<UsageSourceContract.Seed>) =>
  Effect.map(UsageServer, (s) => {
    const id = `plan${plan++}` as Ids.UsagePlanId
    s.plans.set(id, seeds)
    return id
  })
