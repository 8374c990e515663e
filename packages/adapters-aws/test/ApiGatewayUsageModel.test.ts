// The adapter against the stateful GetUsage model (issue 14): the local server answers from testkit's
// in-memory counters (`UsageServer.serveMemory`), so the reporting delay users report (30-40 minutes:
// localstack/localstack#11393) and both settings of the undocumented behaviours reach the adapter
// through HTTP in AWS's body shape (docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html).
import { BillingConfig, Ids, PlanAdmin, UsageSource, UtcDay } from "@augint-billing/core"
import { Driver, Memory, MemoryState } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, TestClock } from "effect"
import { ApiGatewayUsageSource } from "../src/index.js"
import { moto } from "./support/Servers.js"
import * as UsageServer from "./support/UsageServer.js"

const T0 = Date.UTC(2026, 2, 31, 10)
const today = UtcDay.fromMillis(T0)
const METERED = Ids.UsagePlanId.make("METERED")
const FREE = Ids.UsagePlanId.make("FREE_10K")
const key = Ids.ApiKeyId.make("key_model1")

// The adapter over the model server; `read` is today's count of the key as the adapter parses it
// (undefined when GetUsage does not list the key).
const adapterOverModel = (options: Parameters<typeof UsageServer.serveMemory>[1] = {}) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<UsageSource.UsageSource>()
    const server = yield* UsageServer.serveMemory(runtime, options)
    const adapter = yield* Effect.map(
      Layer.build(ApiGatewayUsageSource.layer({
        client: { ...moto, endpoint: server.endpoint },
        rateLimit: { perSecond: 1_000, burst: 1_000 }
      })),
      Context.get(UsageSource.UsageSource)
    )
    const read = Effect.map(
      adapter.getUsagePage({ usagePlanId: METERED, startDay: today, endDay: today, apiKeyId: key }),
      (page) => page.items.find((i) => i.apiKeyId === key)?.counts[0]
    )
    return { read, server }
  })

const setup = (model: Partial<MemoryState.UsageModel>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    yield* driver.setUsageModel(model)
    yield* driver.createApiKey(key, METERED)
    return { driver, admin: yield* PlanAdmin.PlanAdmin }
  })

const layer = Layer.merge(Memory.layerMemory(), BillingConfig.layer())

describe("ApiGatewayUsageSource over the stateful GetUsage model", () => {
  it.scoped("counts show only after the reporting delay", () =>
    Effect.gen(function*() {
      const { driver } = yield* setup({ delayMillis: MemoryState.REPORTING_DELAY_MILLIS })
      const { read } = yield* adapterOverModel()
      yield* driver.addUsage({ apiKeyId: key, units: 30 })
      // Not listed at all yet: a key whose only requests are still inside the delay has none to show.
      assert.isUndefined(yield* read)
      yield* TestClock.adjust("39 minutes")
      assert.isUndefined(yield* read)
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(yield* read, 30)
    }).pipe(Effect.provide(layer)))

  it.scoped("a key at its quota is counted in real time, and `remaining` counts down over the period", () =>
    Effect.gen(function*() {
      const { driver } = yield* setup({ delayMillis: MemoryState.REPORTING_DELAY_MILLIS })
      yield* driver.createUsagePlan(METERED, { quota: { limit: 50, period: "MONTH" } })
      const { read, server } = yield* adapterOverModel({ quota: { limit: 50, period: "MONTH" } })
      yield* driver.addUsage({ apiKeyId: key, units: 20 })
      assert.isUndefined(yield* read)
      // Past the quota: API Gateway refuses the rest (not counted) and shows the count at once.
      yield* driver.addUsage({ apiKeyId: key, units: 45 })
      assert.strictEqual(yield* read, 50)
      const raw = yield* Effect.promise(() =>
        fetch(`${server.endpoint}/usageplans/${METERED}/usage?startDate=${today}&endDate=${today}`).then((r) =>
          r.json()
        )
      )
      assert.deepStrictEqual((raw as { values: Record<string, unknown> }).values[key], [[50, 0]])
    }).pipe(Effect.provide(layer)))

  it.scoped("a key removed from the plan: listed with its history (kept) or not at all (dropped)", () =>
    Effect.gen(function*() {
      for (const removedKey of ["kept", "dropped"] as const) {
        const { admin, driver } = yield* setup({ removedKey })
        const { read } = yield* adapterOverModel()
        yield* driver.addUsage({ apiKeyId: key, units: 12 })
        assert.strictEqual(yield* read, 12)
        yield* admin.removeKey({ usagePlanId: METERED, apiKeyId: key })
        yield* admin.addKey({ usagePlanId: FREE, apiKeyId: key })
        assert.strictEqual(yield* read, removedKey === "kept" ? 12 : undefined, removedKey)
        driver.state.usage.clear()
        driver.state.membership.clear()
      }
    }).pipe(Effect.provide(layer)))

  it.scoped("a key added back the same day: its earlier count shown again (kept) or from zero (reset)", () =>
    Effect.gen(function*() {
      for (const readdedKey of ["kept", "reset"] as const) {
        const { admin, driver } = yield* setup({ readdedKey })
        const { read } = yield* adapterOverModel()
        yield* driver.addUsage({ apiKeyId: key, units: 12 })
        yield* admin.removeKey({ usagePlanId: METERED, apiKeyId: key })
        yield* admin.addKey({ usagePlanId: METERED, apiKeyId: key })
        yield* driver.addUsage({ apiKeyId: key, units: 5 })
        assert.strictEqual(yield* read, readdedKey === "kept" ? 17 : 5, readdedKey)
        driver.state.usage.clear()
        driver.state.hiddenUsage.clear()
        driver.state.membership.clear()
      }
    }).pipe(Effect.provide(layer)))
})
