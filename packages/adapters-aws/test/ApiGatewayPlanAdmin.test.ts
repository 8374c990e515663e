// PlanAdmin and the core's KeyMove on moto, with the failures moto never produces (AWS's own
// ConflictException, a failing create, throttling) injected by a proxy in front of moto.
import { Ids, KeyMove, PlanAdmin } from "@augint-billing/core"
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateRestApiCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand
} from "@aws-sdk/client-api-gateway"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { ApiGatewayPlanAdmin } from "../src/index.js"
import { moto, motoEndpoint, resetMoto } from "./support/Servers.js"

interface Injected {
  readonly status: number
  readonly errorType: string
  readonly message: string
}

// Forwards to moto unless `inject` answers for the request.
const proxy = (inject: (method: string, path: string) => Injected | undefined) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof createServer>>((resume) => {
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const fault = inject(req.method ?? "GET", (req.url ?? "/").split("?")[0]!)
          if (fault !== undefined) {
            res.writeHead(fault.status, { "content-type": "application/json", "x-amzn-errortype": fault.errorType })
            res.end(JSON.stringify({ message: fault.message }))
            return
          }
          const headers = Object.fromEntries(
            Object.entries(req.headers).filter(([k, v]) =>
              typeof v === "string" && k !== "host" && k !== "content-length"
            )
          ) as Record<string, string>
          fetch(`${motoEndpoint}${req.url}`, {
            method: req.method ?? "GET",
            headers,
            ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) })
          }).then(async (upstream) => {
            res.writeHead(upstream.status, Object.fromEntries(upstream.headers))
            res.end(Buffer.from(await upstream.arrayBuffer()))
          }, () => {
            res.writeHead(502)
            res.end()
          })
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`))

const motoClient = new APIGatewayClient({ ...moto, maxAttempts: 1 })
const fixture = Effect.gen(function*() {
  yield* resetMoto
  const api = yield* Effect.promise(() => motoClient.send(new CreateRestApiCommand({ name: "billing" })))
  const stage = [{ apiId: api.id!, stage: "prod" }]
  const free = yield* Effect.promise(() =>
    motoClient.send(new CreateUsagePlanCommand({ name: "FREE", apiStages: stage }))
  )
  const metered = yield* Effect.promise(() =>
    motoClient.send(new CreateUsagePlanCommand({ name: "METERED", apiStages: stage }))
  )
  const key = yield* Effect.promise(() => motoClient.send(new CreateApiKeyCommand({ name: "k", enabled: true })))
  return {
    free: Ids.UsagePlanId.make(free.id!),
    metered: Ids.UsagePlanId.make(metered.id!),
    key: Ids.ApiKeyId.make(key.id!)
  }
})

const unlimited = { perSecond: 100_000, burst: 100_000 }
const adminAt = (endpoint: string) =>
  Effect.map(
    Layer.build(ApiGatewayPlanAdmin.layer({ client: { ...moto, endpoint }, rateLimit: unlimited })),
    Context.get(PlanAdmin.PlanAdmin)
  )

describe("ApiGatewayPlanAdmin", () => {
  it.scoped("maps AWS's own ConflictException and NotFoundException (a change between check and write)", () =>
    Effect.gen(function*() {
      const { free, key } = yield* fixture
      const endpoint = yield* proxy((method, path) =>
        method === "POST" && path.endsWith("/keys")
          ? { status: 409, errorType: "ConflictException", message: "cannot reference multiple Usage Plans" }
          : method === "DELETE"
          ? { status: 404, errorType: "NotFoundException", message: "Invalid API Key identifier specified" }
          : undefined
      )
      const admin = yield* adminAt(endpoint)
      const added = yield* Effect.either(admin.addKey({ usagePlanId: free, apiKeyId: key }))
      assert.isTrue(Either.isLeft(added) && added.left.reason === "Conflict" && !added.left.isTransient)
      yield* Effect.promise(() =>
        motoClient.send(
          new CreateUsagePlanKeyCommand({
            usagePlanId: free,
            keyId: key,
            keyType: "API_KEY"
          })
        )
      )
      const removed = yield* Effect.either(admin.removeKey({ usagePlanId: free, apiKeyId: key }))
      assert.isTrue(Either.isLeft(removed) && removed.left.reason === "NotFound")
    }))

  it.scoped("throttling is a transient Throttled error", () =>
    Effect.gen(function*() {
      const { key } = yield* fixture
      const endpoint = yield* proxy(() => ({
        status: 429,
        errorType: "TooManyRequestsException",
        message: "slow down"
      }))
      const admin = yield* adminAt(endpoint)
      const result = yield* Effect.either(admin.plansOf(key))
      assert.isTrue(Either.isLeft(result) && result.left.reason === "Throttled" && result.left.isTransient)
    }))

  it.scoped("KeyMove puts the key back when adding it to the target fails", () =>
    Effect.gen(function*() {
      const { free, key, metered } = yield* fixture
      const endpoint = yield* proxy((method, path) =>
        method === "POST" && path === `/usageplans/${metered}/keys`
          ? { status: 400, errorType: "BadRequestException", message: "injected" }
          : undefined
      )
      const admin = yield* adminAt(endpoint)
      yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
      const moved = yield* Effect.either(
        KeyMove.moveKey({ apiKeyId: key, from: free, to: metered }).pipe(
          Effect.provideService(PlanAdmin.PlanAdmin, admin)
        )
      )
      assert.isTrue(Either.isLeft(moved))
      if (Either.isLeft(moved)) {
        assert.strictEqual(moved.left._tag, "KeyMoveError")
        assert.isTrue(moved.left._tag === "KeyMoveError" && moved.left.reason === "AddFailed" && moved.left.compensated)
      }
      assert.deepStrictEqual(yield* admin.plansOf(key), [free])
    }))

  it.scoped("KeyMove on moto: a conflict on the add after our own add landed is verified as moved", () =>
    Effect.gen(function*() {
      const { free, key, metered } = yield* fixture
      // The create lands on moto, then the answer is lost as a ConflictException (as a retried create would see).
      let forwarded = false
      const endpoint = yield* proxy((method, path) => {
        if (method === "POST" && path === `/usageplans/${metered}/keys` && forwarded) {
          return { status: 409, errorType: "ConflictException", message: "already in plan" }
        }
        return undefined
      })
      const admin = yield* adminAt(endpoint)
      yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
      yield* admin.removeKey({ usagePlanId: free, apiKeyId: key })
      yield* admin.addKey({ usagePlanId: metered, apiKeyId: key })
      forwarded = true
      const again = yield* Effect.either(admin.addKey({ usagePlanId: metered, apiKeyId: key }))
      assert.isTrue(Either.isLeft(again) && again.left.reason === "Conflict")
      assert.strictEqual(
        yield* KeyMove.moveKey({ apiKeyId: key, from: free, to: metered }).pipe(
          Effect.provideService(PlanAdmin.PlanAdmin, admin)
        ),
        "AlreadyThere"
      )
    }))
})
