/**
 * Billing settings: the two usage plans, the meter, the demotion policy and the sync's bounds, read
 * from the environment through Effect `Config`.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Data, Duration, Effect, Either, Layer, Schema } from "effect"
import { UsagePlanId } from "./Ids.js"

/** When a failed payment demotes a customer. @since 0.1.0 @category models */
export type DemotionPolicy = Data.TaggedEnum<{
  /** On the first failed payment. */
  Immediately: {}
  /** When Stripe schedules no further attempt (`next_payment_attempt` is null). */
  FinalAttempt: {}
  /** On the final attempt, or once payments have been failing for `grace`. */
  GracePeriod: { readonly grace: Duration.Duration }
}>
/** Constructors of `DemotionPolicy`. @since 0.1.0 @category constructors */
export const DemotionPolicy = Data.taggedEnum<DemotionPolicy>()

/** Billing settings. @since 0.1.0 @category models */
export interface BillingSettings {
  /** The usage plan of customers without a payment method (`FREE_USAGE_PLAN_ID`). */
  readonly freePlanId: UsagePlanId
  /** The usage plan whose usage is billed (`METERED_USAGE_PLAN_ID`). */
  readonly meteredPlanId: UsagePlanId
  /**
   * The usage plan a key moves to at its spend cap (`CAPPED_USAGE_PLAN_ID`), which the seller sets up to
   * reject or throttle; no caps without it.
   */
  readonly cappedPlanId?: UsagePlanId | undefined
  /** Units per billing period a customer is capped at unless its record says otherwise (`SPEND_CAP_UNITS`). */
  readonly spendCapUnits?: number | undefined
  /** The Stripe Billing Meter's `event_name` (`METER_EVENT_NAME`). */
  readonly meterEventName: string
  /** When a failed payment demotes (`DEMOTION_POLICY`, `DEMOTION_GRACE_PERIOD`). */
  readonly demotionPolicy: DemotionPolicy
  /**
   * How late API Gateway's `GetUsage` shows a request (`USAGE_REPORTING_DELAY`, default 40 minutes:
   * users report 30-40; not documented by AWS).
   */
  readonly usageReportingDelay: Duration.Duration
  /**
   * How long after a demotion late API Gateway counts are still synced (`SETTLE_WINDOW`; default
   * `settleWindowFor(usageReportingDelay)`, one hour for the default delay).
   */
  readonly settleWindow: Duration.Duration
  /** Customers synced at once (`SYNC_CONCURRENCY`). */
  readonly syncConcurrency: number
  /**
   * How long a fan-out worker gathers its customers' meter events before sending them in one request
   * of Stripe's v2 meter event stream (`METER_BATCH_WINDOW`, default 25 milliseconds; see `MeterBatch`).
   */
  readonly meterBatchWindow: Duration.Duration
  /** UTC days each sync reads, ending today (`SYNC_LOOKBACK_DAYS`, 2-35: today and yesterday at least). */
  readonly lookbackDays: number
  /** How long processed-event markers are kept; longer than Stripe's 3-day retry window. */
  readonly processedEventTtl: Duration.Duration
}

/** The billing settings service. @since 0.1.0 @category services */
export class BillingConfig
  extends Context.Tag("@augint-billing/core/BillingConfig")<BillingConfig, BillingSettings>()
{}

/**
 * What the settle window adds to the reporting delay it must cover: the close is the first hourly sync
 * after the window, and that sync reads counts up to its start less the delay, so the margin absorbs the
 * schedule's jitter, the sync's own run time and clock skew. Why: see DESIGN.md, "Demotion and the
 * settle window".
 *
 * @since 0.3.0
 * @category constants
 */
export const SETTLE_MARGIN = Duration.minutes(20)

/** API Gateway's reporting delay used when `USAGE_REPORTING_DELAY` is not set. @since 0.3.0 @category constants */
export const DEFAULT_USAGE_REPORTING_DELAY = Duration.minutes(40)

/**
 * The settle window that covers a reporting delay: the delay plus `SETTLE_MARGIN`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const settleWindowFor = (usageReportingDelay: Duration.Duration): Duration.Duration =>
  Duration.sum(usageReportingDelay, SETTLE_MARGIN)

/** The settings used when a variable is not set. @since 0.1.0 @category constants */
export const defaults: BillingSettings = {
  freePlanId: UsagePlanId.make("FREE_10K"),
  meteredPlanId: UsagePlanId.make("METERED"),
  cappedPlanId: undefined,
  spendCapUnits: undefined,
  meterEventName: "api_requests",
  demotionPolicy: DemotionPolicy.FinalAttempt(),
  usageReportingDelay: DEFAULT_USAGE_REPORTING_DELAY,
  settleWindow: settleWindowFor(DEFAULT_USAGE_REPORTING_DELAY),
  syncConcurrency: 64,
  meterBatchWindow: Duration.millis(25),
  // Today, yesterday and the day before: a run after a whole missed day still reads its last hours.
  lookbackDays: 3,
  processedEventTtl: Duration.days(7)
}

const planId = (name: string, fallback: UsagePlanId) =>
  Schema.Config(name, UsagePlanId).pipe(Config.withDefault(fallback))

// Empty is unset: a deployment template passes every parameter, an unused one as "".
const capConfig = {
  cappedPlanId: Config.option(Config.string("CAPPED_USAGE_PLAN_ID")).pipe(
    Config.mapOrFail((o) =>
      o._tag === "None" || o.value === ""
        ? Either.right(undefined)
        : Either.mapLeft(
          Schema.decodeUnknownEither(UsagePlanId)(o.value),
          () => ConfigError.InvalidData(["CAPPED_USAGE_PLAN_ID"], "must be a usage plan id")
        )
    )
  ),
  spendCapUnits: Config.option(
    Config.integer("SPEND_CAP_UNITS").pipe(
      Config.validate({ message: "must be a whole number, 0 for no default cap", validation: (n) => n >= 0 })
    )
  ).pipe(Config.map((o) => o._tag === "Some" && o.value > 0 ? o.value : undefined))
}

const policy: Config.Config<DemotionPolicy> = Config.all({
  kind: Config.literal("immediately", "final_attempt", "grace_period")("DEMOTION_POLICY").pipe(
    Config.withDefault("final_attempt" as const)
  ),
  grace: Config.duration("DEMOTION_GRACE_PERIOD").pipe(Config.withDefault(Duration.days(3)))
}).pipe(Config.map(({ grace, kind }) =>
  kind === "immediately"
    ? DemotionPolicy.Immediately()
    : kind === "final_attempt"
    ? DemotionPolicy.FinalAttempt()
    : DemotionPolicy.GracePeriod({ grace })
))

const boundedInt = (name: string, fallback: number, min: number, max: number) =>
  Config.integer(name).pipe(
    // Validate before the default, so the error carries the variable's name.
    Config.validate({
      message: `must be a whole number from ${min} to ${max}`,
      validation: (n) => n >= min && n <= max
    }),
    Config.withDefault(fallback)
  )

// The settle window's default follows the delay it must cover, configured or not.
const usageReportingDelay = Config.duration("USAGE_REPORTING_DELAY").pipe(
  Config.withDefault(defaults.usageReportingDelay)
)
const settleConfig = {
  usageReportingDelay,
  settleWindow: Config.option(Config.duration("SETTLE_WINDOW")).pipe(
    Config.zipWith(
      usageReportingDelay,
      (window, delay) => window._tag === "Some" ? window.value : settleWindowFor(delay)
    )
  )
}

/** The settings as a `Config`, each variable optional with the defaults above. @since 0.1.0 @category config */
export const config: Config.Config<BillingSettings> = Config.all({
  freePlanId: planId("FREE_USAGE_PLAN_ID", defaults.freePlanId),
  meteredPlanId: planId("METERED_USAGE_PLAN_ID", defaults.meteredPlanId),
  ...capConfig,
  meterEventName: Config.string("METER_EVENT_NAME").pipe(
    Config.validate({
      message: "must be 1-100 characters",
      validation: (s) => s.length > 0 && s.length <= 100
    }),
    Config.withDefault(defaults.meterEventName)
  ),
  demotionPolicy: policy,
  ...settleConfig,
  syncConcurrency: boundedInt("SYNC_CONCURRENCY", defaults.syncConcurrency, 1, 1_000),
  meterBatchWindow: Config.duration("METER_BATCH_WINDOW").pipe(
    Config.validate({
      message: "must be at most 1 second: every customer of a work item waits for it",
      validation: (d) => Duration.lessThanOrEqualTo(d, Duration.seconds(1))
    }),
    Config.withDefault(defaults.meterBatchWindow)
  ),
  // Beyond 35 days Stripe refuses the meter event timestamps (and the ledger keeps 40 days).
  lookbackDays: boundedInt("SYNC_LOOKBACK_DAYS", defaults.lookbackDays, 2, 35),
  processedEventTtl: Config.succeed(defaults.processedEventTtl)
}).pipe(
  Config.validate({
    message: "FREE_USAGE_PLAN_ID and METERED_USAGE_PLAN_ID must differ",
    validation: (s) => s.freePlanId !== s.meteredPlanId
  }),
  Config.validate({
    message: "CAPPED_USAGE_PLAN_ID must differ from FREE_USAGE_PLAN_ID and METERED_USAGE_PLAN_ID",
    validation: (s) => s.cappedPlanId !== s.freePlanId && s.cappedPlanId !== s.meteredPlanId
  }),
  Config.validate({
    message: "SPEND_CAP_UNITS is set but CAPPED_USAGE_PLAN_ID is not: a cap needs the plan capped keys move to",
    validation: (s) => s.spendCapUnits === undefined || s.cappedPlanId !== undefined
  })
)

/** Invalid or missing configuration, with one line naming the variable. @since 0.1.0 @category errors */
export class BillingConfigError extends Schema.TaggedError<BillingConfigError>()("BillingConfigError", {
  message: Schema.String
}) {}

/** One readable line per problem in a `ConfigError`, naming each variable. @since 0.1.0 @category errors */
export const describeConfigError = (error: ConfigError.ConfigError): string => {
  const lines: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "MissingData":
        lines.push(`${e.path.join(".") || "configuration"}: not set (${e.message})`)
        return
      case "InvalidData":
      case "SourceUnavailable":
      case "Unsupported":
        lines.push(`${e.path.join(".") || "configuration"}: ${e.message}`)
        return
    }
  }
  walk(error)
  return [...new Set(lines)].join("; ")
}

/** Read a `Config`, failing with a `BillingConfigError` that names the variable. @since 0.2.0 @category flows */
export const loadWith = <A>(settings: Config.Config<A>): Effect.Effect<A, BillingConfigError> =>
  Effect.either(settings).pipe(
    Effect.flatMap(Either.match({
      onLeft: (e) =>
        Effect.fail(new BillingConfigError({ message: `invalid configuration: ${describeConfigError(e)}` })),
      onRight: Effect.succeed
    }))
  )

/** Read `config`, failing with a `BillingConfigError` that names the variable. @since 0.1.0 @category flows */
export const load: Effect.Effect<BillingSettings, BillingConfigError> = loadWith(config)

/** `BillingConfig` from the environment. @since 0.1.0 @category layers */
export const layerConfig: Layer.Layer<BillingConfig, BillingConfigError> = Layer.effect(BillingConfig, load)

/** `BillingConfig` from explicit values over the defaults. @since 0.1.0 @category layers */
export const layer = (settings: Partial<BillingSettings> = {}): Layer.Layer<BillingConfig> =>
  Layer.succeed(BillingConfig, { ...defaults, ...settings })
