// A local HTTP server answering API Gateway's `GetUsage` (GET /usageplans/{id}/usage) as a model of
// what AWS documents and users report (moto has no GetUsage):
// - `{ usagePlanId, startDate, endDate, position?, values: { keyId: [[used, remaining], ...] } }`, one
//   entry per day from `startDate`, "daily logs of used and remaining quotas"
//   (https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html);
// - `remaining` cumulative over the plan's quota period (a live body `[[137,999863],[123,999740],
//   [84,999656]]`, floci-io/floci#3561);
// - `limit` "The default value is 25 and the maximum value is 500", `position` an opaque token for
//   the next page, `keyId` a filter (same reference);
// - days without requests "do not come back in the same form" (issue 14): `idleDay` picks the form,
//   by default the worst, a day left out of the list wherever it falls, and a key with no requests
//   left out of `values`;
// - errors as `x-amzn-errortype` plus a JSON message.
import { type Ids, UsageSource, UtcDay } from "@augint-billing/core"
import type { UsageSourceContract } from "@augint-billing/testkit/contracts"
import { Context, Effect, Layer, Runtime } from "effect"
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
export const serve = (handler: (url: URL) => Reply | Promise<Reply>) =>
  Effect.acquireRelease(
    Effect.async<{ server: ReturnType<typeof createServer>; state: Server }>((resume) => {
      const requests: Array<URL> = []
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        requests.push(url)
        void Promise.resolve(handler(url)).then(
          (reply) => {
            res.writeHead(reply.status, {
              "content-type": "application/json",
              ...(reply.errorType === undefined ? {} : { "x-amzn-errortype": reply.errorType })
            })
            res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body))
          },
          (e: unknown) => {
            res.writeHead(500, { "content-type": "application/json", "x-amzn-errortype": "InternalFailure" })
            res.end(JSON.stringify({ message: String(e) }))
          }
        )
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

/** How a day without requests comes back. */
export type IdleDay = "omitted" | "zeroPair" | "emptyPair" | "null" | "nullUsed"

/** Every form, for tests that run under each. */
export const idleDays: ReadonlyArray<IdleDay> = ["omitted", "zeroPair", "emptyPair", "null", "nullUsed"]

/** One usage plan of the model. */
export interface Plan {
  /** Requests per key and day; a key with no entry is in the plan without requests. */
  readonly seeds: ReadonlyArray<UsageSourceContract.Seed>
  /** The plan's quota: `remaining` counts down from `limit` over each `period`. */
  readonly quota?: { readonly limit: number; readonly period: "DAY" | "WEEK" | "MONTH" }
  readonly idleDay?: IdleDay
}

const error = (status: number, errorType: string, message: string): Reply => ({
  status,
  errorType,
  body: { message }
})

const periodStart = (day: UtcDay.UtcDay, period: "DAY" | "WEEK" | "MONTH"): UtcDay.UtcDay => {
  if (period === "DAY") return day
  if (period === "MONTH") return UtcDay.UtcDay.make(`${day.slice(0, 7)}-01`)
  // Weeks start on Monday.
  return UtcDay.add(day, -((new Date(UtcDay.startMillis(day)).getUTCDay() + 6) % 7))
}

const token = (offset: number) => Buffer.from(JSON.stringify({ offset })).toString("base64url")
const offsetOf = (position: string): number | undefined => {
  try {
    const offset = (JSON.parse(Buffer.from(position, "base64url").toString()) as { offset?: unknown }).offset
    return typeof offset === "number" && Number.isInteger(offset) && offset >= 0 ? offset : undefined
  } catch {
    return undefined
  }
}

/** GetUsage on `plan` for `url`'s query. */
export const answer = (usagePlanId: string, plan: Plan, url: URL): Reply => {
  const q = url.searchParams
  const startDate = q.get("startDate")
  const endDate = q.get("endDate")
  if (startDate === null || endDate === null) return error(400, "BadRequestException", "startDate and endDate")
  const days = UtcDay.between(UtcDay.UtcDay.make(startDate), UtcDay.UtcDay.make(endDate))
  if (days.length === 0 || days.length > 90) return error(400, "BadRequestException", "Invalid date range")
  const limit = Number(q.get("limit") ?? "25")
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return error(400, "BadRequestException", "limit must be between 1 and 500")
  }
  const offset = q.get("position") === null ? 0 : offsetOf(q.get("position")!)
  if (offset === undefined) return error(400, "BadRequestException", "Invalid position")
  const quota = plan.quota ?? { limit: 1_000_000, period: "MONTH" }
  const idle = plan.idleDay ?? "omitted"
  const used = (key: string, day: UtcDay.UtcDay) =>
    plan.seeds.filter((s) => s.apiKeyId === key && s.day === day).reduce((n, s) => n + s.units, 0)
  const remaining = (key: string, day: UtcDay.UtcDay) =>
    Math.max(
      0,
      quota.limit - UtcDay.between(periodStart(day, quota.period), day).reduce((n, d) => n + used(key, d), 0)
    )
  const keyId = q.get("keyId")
  const keys = [...new Set(plan.seeds.map((s) => s.apiKeyId as string))].filter((k) => keyId === null || k === keyId)
  const page = keys.slice(offset, offset + limit)
  const values: Record<string, Array<unknown>> = {}
  for (const key of page) {
    const list: Array<unknown> = []
    for (const day of days) {
      const n = used(key, day)
      if (n > 0) list.push([n, remaining(key, day)])
      else if (idle === "zeroPair") list.push([0, remaining(key, day)])
      else if (idle === "emptyPair") list.push([])
      else if (idle === "null") list.push(null)
      else if (idle === "nullUsed") list.push([null, remaining(key, day)])
    }
    if (list.length > 0 || idle !== "omitted") values[key] = list
  }
  return {
    status: 200,
    body: {
      usagePlanId,
      startDate,
      endDate,
      ...(offset + limit < keys.length ? { position: token(offset + limit) } : {}),
      values
    }
  }
}

const notFound = error(404, "NotFoundException", "Invalid Usage Plan ID specified")

/** The model's server over a set of plans (mutable: tests add plans and usage as they go). */
export const serveModel = (plans: Map<string, Plan>) =>
  serve((url) => {
    const match = /^\/usageplans\/([^/]+)\/usage$/.exec(url.pathname)
    const id = match === null ? undefined : decodeURIComponent(match[1]!)
    const plan = id === undefined ? undefined : plans.get(id)
    return id === undefined || plan === undefined ? notFound : answer(id, plan, url)
  })

/**
 * The server over a stateful model of API Gateway's counters: each request reads what testkit's
 * in-memory `UsageSource` shows at the runtime's clock (the reporting delay, a removed key dropped, a
 * re-added key reset, real-time counts at a quota: `MemoryState.UsageModel`), from the start of the
 * quota period so that `remaining` is cumulative, and answers it in AWS's body shape (`answer`).
 */
export const serveMemory = (
  runtime: Runtime.Runtime<UsageSource.UsageSource>,
  options: { readonly quota?: Plan["quota"]; readonly idleDay?: IdleDay } = {}
) =>
  serve(async (url) => {
    const match = /^\/usageplans\/([^/]+)\/usage$/.exec(url.pathname)
    if (match === null) return notFound
    const usagePlanId = decodeURIComponent(match[1]!) as Ids.UsagePlanId
    const [startDate, endDate] = [url.searchParams.get("startDate"), url.searchParams.get("endDate")]
    if (startDate === null || endDate === null) return answer(usagePlanId, { seeds: [] }, url)
    const endDay = UtcDay.UtcDay.make(endDate)
    const from = periodStart(UtcDay.UtcDay.make(startDate), options.quota?.period ?? "MONTH")
    // Every page the model shows over the period (at most 90 days, as GetUsage allows).
    const startDay = UtcDay.between(from, endDay).length > 90 ? UtcDay.add(endDay, -89) : from
    const read = Effect.flatMap(UsageSource.UsageSource, (source) =>
      Effect.gen(function*() {
        const items: Array<UsageSource.KeyUsage> = []
        let position: string | undefined = undefined
        do {
          const page: UsageSource.UsagePage = yield* source.getUsagePage({
            usagePlanId,
            startDay,
            endDay,
            limit: 500,
            ...(position === undefined ? {} : { position })
          })
          items.push(...page.items)
          position = page.position
        } while (position !== undefined)
        return items
      }))
    const result = await Runtime.runPromise(runtime)(Effect.either(read))
    if (result._tag === "Left") {
      return result.left.reason === "NotFound"
        ? notFound
        : error(400, "BadRequestException", result.left.message)
    }
    const days = UtcDay.between(startDay, endDay)
    const seeds = result.right.flatMap((item) =>
      item.counts.flatMap((units, i) => units > 0 ? [{ apiKeyId: item.apiKeyId, day: days[i]!, units }] : [])
    )
    return answer(usagePlanId, {
      seeds,
      ...(options.quota === undefined ? {} : { quota: options.quota }),
      ...(options.idleDay === undefined ? {} : { idleDay: options.idleDay })
    }, url)
  })

/** The GetUsage server of the contract suite, over plans seeded by `planWith`. */
export class UsageServer extends Context.Tag("test/UsageServer")<
  UsageServer,
  Server & { readonly plans: Map<string, Plan>; readonly idleDay: IdleDay }
>() {}

/** The contract suite's server: every plan answers days without requests in the `idleDay` form. */
export const layerWith = (idleDay: IdleDay) =>
  Layer.scoped(
    UsageServer,
    Effect.gen(function*() {
      const plans = new Map<string, Plan>()
      return { ...(yield* serveModel(plans)), plans, idleDay }
    })
  )

/** The contract suite's server with the worst form of idle days. */
export const layer = layerWith("omitted")

let plan = 0
/** The contract fixture: a fresh plan holding exactly `seeds`. */
export const planWith = (seeds: ReadonlyArray<UsageSourceContract.Seed>) =>
  Effect.map(UsageServer, (s) => {
    const id = `plan${plan++}` as Ids.UsagePlanId
    s.plans.set(id, { seeds, idleDay: s.idleDay })
    return id
  })
