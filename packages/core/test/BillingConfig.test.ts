import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect } from "effect"
import * as BillingConfig from "../src/BillingConfig.js"

const withEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

const load = (entries: ReadonlyArray<readonly [string, string]>) => BillingConfig.load.pipe(withEnv(entries))

const loadError = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.flip(load(entries)).pipe(Effect.tap((error) => assert.strictEqual(error._tag, "BillingConfigError")))

describe("BillingConfig.load", () => {
  it.effect("uses the defaults when nothing is set", () =>
    Effect.gen(function*() {
      const settings = yield* load([])
      assert.strictEqual(settings.freePlanId, "FREE_10K")
      assert.strictEqual(settings.meteredPlanId, "METERED")
      assert.strictEqual(settings.meterEventName, "api_requests")
      assert.deepStrictEqual(settings.demotionPolicy, BillingConfig.DemotionPolicy.FinalAttempt())
      assert.isTrue(Duration.equals(settings.settleWindow, Duration.hours(1)))
      assert.strictEqual(settings.syncConcurrency, 64)
      assert.strictEqual(settings.lookbackDays, 3)
      assert.isTrue(Duration.greaterThan(settings.processedEventTtl, Duration.days(3)))
      assert.deepStrictEqual(settings, BillingConfig.defaults)
    }))

  it.effect("ignores variables it does not know", () =>
    Effect.gen(function*() {
      const settings = yield* load([["STACK_NAME", "billing"], ["SYNC_CONCURRENCY_X", "abc"]])
      assert.deepStrictEqual(settings, BillingConfig.defaults)
    }))

  it.effect("reads the usage plans and the meter", () =>
    Effect.gen(function*() {
      const settings = yield* load([
        ["FREE_USAGE_PLAN_ID", "abc123free"],
        ["METERED_USAGE_PLAN_ID", "x9y8z7-metered_plan"],
        ["METER_EVENT_NAME", "acme_api_requests"]
      ])
      assert.strictEqual(settings.freePlanId, "abc123free")
      assert.strictEqual(settings.meteredPlanId, "x9y8z7-metered_plan")
      assert.strictEqual(settings.meterEventName, "acme_api_requests")
      assert.strictEqual(settings.syncConcurrency, BillingConfig.defaults.syncConcurrency)
    }))

  it.effect("reads DEMOTION_POLICY=immediately", () =>
    Effect.gen(function*() {
      const settings = yield* load([["DEMOTION_POLICY", "immediately"]])
      assert.deepStrictEqual(settings.demotionPolicy, BillingConfig.DemotionPolicy.Immediately())
    }))

  it.effect("reads DEMOTION_POLICY=final_attempt", () =>
    Effect.gen(function*() {
      const settings = yield* load([["DEMOTION_POLICY", "final_attempt"], ["DEMOTION_GRACE_PERIOD", "2 days"]])
      assert.deepStrictEqual(settings.demotionPolicy, BillingConfig.DemotionPolicy.FinalAttempt())
    }))

  it.effect("reads DEMOTION_POLICY=grace_period with DEMOTION_GRACE_PERIOD", () =>
    Effect.gen(function*() {
      const settings = yield* load([["DEMOTION_POLICY", "grace_period"], ["DEMOTION_GRACE_PERIOD", "2 days"]])
      const policy = settings.demotionPolicy
      assert.strictEqual(policy._tag, "GracePeriod")
      if (policy._tag === "GracePeriod") assert.isTrue(Duration.equals(policy.grace, Duration.days(2)))
      const hours = yield* load([["DEMOTION_POLICY", "grace_period"], ["DEMOTION_GRACE_PERIOD", "36 hours"]])
      assert.isTrue(
        hours.demotionPolicy._tag === "GracePeriod" && Duration.equals(hours.demotionPolicy.grace, Duration.hours(36))
      )
    }))

  it.effect("gives grace_period a default grace of three days", () =>
    Effect.gen(function*() {
      const settings = yield* load([["DEMOTION_POLICY", "grace_period"]])
      assert.deepStrictEqual(
        settings.demotionPolicy,
        BillingConfig.DemotionPolicy.GracePeriod({ grace: Duration.days(3) })
      )
    }))

  it.effect("reads SETTLE_WINDOW, SYNC_CONCURRENCY and SYNC_LOOKBACK_DAYS", () =>
    Effect.gen(function*() {
      const settings = yield* load([
        ["SETTLE_WINDOW", "90 minutes"],
        ["SYNC_CONCURRENCY", "4"],
        ["SYNC_LOOKBACK_DAYS", "5"]
      ])
      assert.isTrue(Duration.equals(settings.settleWindow, Duration.minutes(90)))
      assert.strictEqual(settings.syncConcurrency, 4)
      assert.strictEqual(settings.lookbackDays, 5)
    }))

  // Users report GetUsage 30-40 minutes late (localstack/localstack#11393); the close reads counts up to
  // its start less the delay, so the window must outlast the delay.
  it.effect("derives the settle window from USAGE_REPORTING_DELAY unless SETTLE_WINDOW is set", () =>
    Effect.gen(function*() {
      const derived = yield* load([["USAGE_REPORTING_DELAY", "2 hours"]])
      assert.isTrue(Duration.equals(derived.usageReportingDelay, Duration.hours(2)))
      assert.isTrue(Duration.equals(derived.settleWindow, Duration.minutes(140)))
      const defaults = yield* load([])
      assert.isTrue(Duration.equals(defaults.usageReportingDelay, Duration.minutes(40)))
      assert.isTrue(
        Duration.equals(defaults.settleWindow, Duration.sum(Duration.minutes(40), BillingConfig.SETTLE_MARGIN))
      )
      const both = yield* load([["USAGE_REPORTING_DELAY", "2 hours"], ["SETTLE_WINDOW", "3 hours"]])
      assert.isTrue(Duration.equals(both.settleWindow, Duration.hours(3)))
    }))

  it.effect("accepts the smallest allowed bounds", () =>
    Effect.gen(function*() {
      const settings = yield* load([["SYNC_CONCURRENCY", "1"], ["SYNC_LOOKBACK_DAYS", "2"]])
      assert.strictEqual(settings.syncConcurrency, 1)
      assert.strictEqual(settings.lookbackDays, 2)
    }))

  describe("malformed values fail with a BillingConfigError naming the variable", () => {
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, string]>]> = [
      ["SYNC_CONCURRENCY", [["SYNC_CONCURRENCY", "abc"]]],
      ["SYNC_CONCURRENCY", [["SYNC_CONCURRENCY", "2.5"]]],
      ["DEMOTION_POLICY", [["DEMOTION_POLICY", "sometimes"]]],
      ["DEMOTION_POLICY", [["DEMOTION_POLICY", "Immediately"]]],
      ["DEMOTION_GRACE_PERIOD", [["DEMOTION_POLICY", "grace_period"], ["DEMOTION_GRACE_PERIOD", "soon"]]],
      ["METERED_USAGE_PLAN_ID", [["METERED_USAGE_PLAN_ID", "bad id!"]]],
      ["FREE_USAGE_PLAN_ID", [["FREE_USAGE_PLAN_ID", "free plan"]]],
      ["SETTLE_WINDOW", [["SETTLE_WINDOW", "forever"]]],
      ["USAGE_REPORTING_DELAY", [["USAGE_REPORTING_DELAY", "late"]]]
    ]
    for (const [variable, entries] of cases) {
      it.effect(`${entries.map(([k, v]) => `${k}=${v}`).join(" ")}`, () =>
        Effect.gen(function*() {
          const error = yield* loadError(entries)
          assert.include(error.message, variable)
        }))
    }

    it.effect("both plan ids equal", () =>
      Effect.gen(function*() {
        const error = yield* loadError([["FREE_USAGE_PLAN_ID", "SAME"], ["METERED_USAGE_PLAN_ID", "SAME"]])
        assert.include(error.message, "FREE_USAGE_PLAN_ID")
        assert.include(error.message, "METERED_USAGE_PLAN_ID")
        assert.include(error.message, "differ")
      }))

    it.effect("a metered plan id equal to the default free plan", () =>
      Effect.gen(function*() {
        const error = yield* loadError([["METERED_USAGE_PLAN_ID", "FREE_10K"]])
        assert.include(error.message, "METERED_USAGE_PLAN_ID")
      }))

    it.effect("names every malformed variable at once", () =>
      Effect.gen(function*() {
        const error = yield* loadError([["SYNC_CONCURRENCY", "abc"], ["DEMOTION_POLICY", "sometimes"]])
        assert.include(error.message, "SYNC_CONCURRENCY")
        assert.include(error.message, "DEMOTION_POLICY")
      }))
  })

  describe("values out of bounds are refused", () => {
    for (
      const [entries, bound] of [
        [[["SYNC_CONCURRENCY", "0"]], "SYNC_CONCURRENCY: must be a whole number from 1 to 1000"],
        [[["SYNC_CONCURRENCY", "-4"]], "SYNC_CONCURRENCY: must be a whole number from 1 to 1000"],
        [[["SYNC_LOOKBACK_DAYS", "1"]], "SYNC_LOOKBACK_DAYS: must be a whole number from 2 to 35"],
        [[["SYNC_LOOKBACK_DAYS", "60"]], "SYNC_LOOKBACK_DAYS: must be a whole number from 2 to 35"],
        [[["METER_EVENT_NAME", ""]], "METER_EVENT_NAME: must be 1-100 characters"],
        [[["METER_EVENT_NAME", "m".repeat(101)]], "METER_EVENT_NAME: must be 1-100 characters"]
      ] as const
    ) {
      it.effect(`${entries[0][0]}=${entries[0][1].slice(0, 12)}`, () =>
        Effect.gen(function*() {
          const error = yield* loadError(entries)
          assert.include(error.message, bound)
        }))
    }
  })

  it.effect("layerConfig provides the settings that load reads", () =>
    Effect.gen(function*() {
      const settings = yield* BillingConfig.BillingConfig.pipe(
        Effect.provide(BillingConfig.layerConfig),
        withEnv([["SYNC_CONCURRENCY", "8"]])
      )
      assert.strictEqual(settings.syncConcurrency, 8)
    }))

  it.effect("layerConfig fails with the BillingConfigError", () =>
    Effect.gen(function*() {
      const error = yield* BillingConfig.BillingConfig.pipe(
        Effect.provide(BillingConfig.layerConfig),
        withEnv([["DEMOTION_POLICY", "sometimes"]]),
        Effect.flip
      )
      assert.strictEqual(error._tag, "BillingConfigError")
      assert.include(error.message, "DEMOTION_POLICY")
    }))
})

describe("BillingConfig.layer", () => {
  it.effect("overrides the defaults with explicit values", () =>
    Effect.gen(function*() {
      const settings = yield* BillingConfig.BillingConfig.pipe(
        Effect.provide(
          BillingConfig.layer({ syncConcurrency: 2, demotionPolicy: BillingConfig.DemotionPolicy.Immediately() })
        )
      )
      assert.strictEqual(settings.syncConcurrency, 2)
      assert.strictEqual(settings.demotionPolicy._tag, "Immediately")
      assert.strictEqual(settings.meteredPlanId, BillingConfig.defaults.meteredPlanId)
    }))
})

describe("BillingConfig.load: the capped plan and the default spend cap", () => {
  it.effect("no capped plan and no cap by default; an empty CAPPED_USAGE_PLAN_ID is unset", () =>
    Effect.gen(function*() {
      const settings = yield* load([["CAPPED_USAGE_PLAN_ID", ""], ["SPEND_CAP_UNITS", "0"]])
      assert.strictEqual(settings.cappedPlanId, undefined)
      assert.strictEqual(settings.spendCapUnits, undefined)
    }))

  it.effect("reads CAPPED_USAGE_PLAN_ID and SPEND_CAP_UNITS", () =>
    Effect.gen(function*() {
      const settings = yield* load([["CAPPED_USAGE_PLAN_ID", "cap_plan-1"], ["SPEND_CAP_UNITS", "5000"]])
      assert.strictEqual(settings.cappedPlanId, "cap_plan-1")
      assert.strictEqual(settings.spendCapUnits, 5000)
    }))

  it.effect("a default cap without the capped plan is an error that names both variables", () =>
    Effect.gen(function*() {
      const error = yield* loadError([["SPEND_CAP_UNITS", "5000"]])
      assert.include(error.message, "SPEND_CAP_UNITS")
      assert.include(error.message, "CAPPED_USAGE_PLAN_ID")
    }))

  it.effect("the capped plan must differ from the other two, and be a plan id", () =>
    Effect.gen(function*() {
      assert.include((yield* loadError([["CAPPED_USAGE_PLAN_ID", "METERED"]])).message, "must differ")
      assert.include((yield* loadError([["CAPPED_USAGE_PLAN_ID", "no spaces"]])).message, "CAPPED_USAGE_PLAN_ID")
      assert.include(
        (yield* loadError([["CAPPED_USAGE_PLAN_ID", "c"], ["SPEND_CAP_UNITS", "-1"]])).message,
        "SPEND_CAP_UNITS"
      )
    }))
})
