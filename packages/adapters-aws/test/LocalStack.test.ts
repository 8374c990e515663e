/**
 * API key enforcement end to end on LocalStack in host mode (scripts/servers/localstack.sh): moto
 * stores usage plans but never invokes an API, so only here is it checked that a key is accepted while
 * it is in either usage plan and refused (403) while it is in none: after a promotion, a demotion, and
 * between the halves of a move whose second half failed. LocalStack has no GetUsage and does not
 * enforce one plan per key per stage (the in-memory PlanAdmin models that).
 */
import { Ids, KeyMove, PlanAdmin } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll } from "vitest"
import { clientOptions, createKeyedApi } from "../../../scripts/servers/localstack-api.mjs"
import { ApiGatewayPlanAdmin } from "../src/index.js"
import { localstackEndpoint } from "./support/Servers.js"

const script = fileURLToPath(new URL("../../../scripts/servers/localstack.sh", import.meta.url))
// Asynchronous: a blocked worker fails the run with vitest's `Timeout calling "onTaskUpdate"`.
const run = promisify(execFile)

describe("LocalStack: a key is accepted in either plan and refused in none", () => {
  let startedHere = false
  beforeAll(async () => {
    // Idempotent; `npm test` starts it with the other servers, so this installs only on a bare run.
    const { stdout } = await run("bash", [script, "start"], { timeout: 25 * 60_000, maxBuffer: 16 * 1024 * 1024 })
    startedHere = !stdout.includes("already answering")
  }, 26 * 60_000)
  afterAll(async () => {
    if (startedHere) await run("bash", [script, "stop"])
  }, 60_000)

  it("every step of the key's life answers as API Gateway would", async () => {
    const { stdout } = await run("bash", [script, "check"], { timeout: 5 * 60_000 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`)
      }
    )
    const lines = stdout.trim().split("\n")
    assert.strictEqual(lines.at(-1), "7 passed, 0 failed", stdout)
    assert.isFalse(lines.some((line) => line.startsWith("FAIL")), stdout)
  }, 6 * 60_000)

  // The same through this package's adapter and core's KeyMove, with the second half of a move failing:
  // the compensation must leave the key where API Gateway still accepts it.
  it.scopedLive(
    "KeyMove through ApiGatewayPlanAdmin keeps the key accepted, a failed add compensated",
    () =>
      Effect.gen(function*() {
        const endpoint = localstackEndpoint
        const api = yield* Effect.promise(() => createKeyedApi(endpoint))
        const [free, metered] = [Ids.UsagePlanId.make(api.freePlanId), Ids.UsagePlanId.make(api.meteredPlanId)]
        const apiKeyId = Ids.ApiKeyId.make(api.apiKeyId)
        api.client.destroy()
        const admin = yield* Effect.map(
          Layer.build(
            ApiGatewayPlanAdmin.layer({ client: clientOptions(endpoint), rateLimit: { perSecond: 50, burst: 50 } })
          ),
          Context.get(PlanAdmin.PlanAdmin)
        )
        const invoke = Effect.promise(api.invoke)
        const move = (from: Ids.UsagePlanId, to: Ids.UsagePlanId, service: PlanAdmin.PlanAdminService = admin) =>
          Effect.either(
            KeyMove.moveKey({ apiKeyId, from, to }).pipe(Effect.provideService(PlanAdmin.PlanAdmin, service))
          )
        assert.strictEqual(yield* invoke, 403, "a key in no plan")
        yield* admin.addKey({ usagePlanId: free, apiKeyId })
        assert.strictEqual(yield* invoke, 200, "signed up: FREE")
        // The add to METERED fails after the remove from FREE landed (a throttle past the retries).
        const failingAdd: PlanAdmin.PlanAdminService = {
          ...admin,
          addKey: (input) =>
            input.usagePlanId === metered
              ? Effect.fail(new PlanAdmin.PlanAdminError({ reason: "BadRequest", message: "injected" }))
              : admin.addKey(input)
        }
        const failed = yield* move(free, metered, failingAdd)
        assert.isTrue(Either.isLeft(failed) && failed.left._tag === "KeyMoveError" && failed.left.compensated)
        assert.deepStrictEqual(yield* admin.plansOf(apiKeyId), [free])
        assert.strictEqual(yield* invoke, 200, "compensated: back in FREE")
        assert.deepStrictEqual(yield* move(free, metered), Either.right("Moved"))
        assert.strictEqual(yield* invoke, 200, "promoted: METERED")
        assert.deepStrictEqual(yield* move(metered, free), Either.right("Moved"))
        assert.strictEqual(yield* invoke, 200, "demoted: FREE")
        assert.deepStrictEqual(yield* move(metered, free), Either.right("AlreadyThere"))
      }),
    2 * 60_000
  )
})
