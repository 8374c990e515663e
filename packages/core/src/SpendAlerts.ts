/**
 * Spend alerts: when a customer's units reported this billing period (a UTC calendar month) cross 50,
 * 80 or 100 % (configurable) of its limit, an alert goes to the `AlertSink` (EventBridge in
 * production), once per threshold per period. Computed from the ledger the sync just committed: no
 * extra API Gateway or Stripe call. Exactly once across retries and overlapping syncs: the thresholds
 * are written ahead on the record with a version check (one writer wins), sent, then committed; a
 * crash between leaves them pending, resent after `RESEND_AFTER` with the same alert id.
 *
 * @since 0.2.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import type * as Customer from "./Customer.js"
import { CustomerRepo, type CustomerRepoError } from "./CustomerRepo.js"
import {
  CustomerSettings,
  defaultAlertUnits,
  defaults as settingsDefaults,
  majorUnits,
  type Money
} from "./CustomerSettings.js"
import { ApiKeyId, CustomerId } from "./Ids.js"
import { reportedThisMonth } from "./internal/ledger.js"
import * as Ports from "./internal/ports.js"
import * as SyncHooks from "./SyncHooks.js"
import * as Transient from "./Transient.js"
import * as UtcDay from "./UtcDay.js"

/** One threshold crossed. @since 0.2.0 @category models */
export const SpendAlert = Schema.Struct({
  /** Deterministic: the same customer, period and percentage always carry the same id, so a consumer can dedupe. */
  id: Schema.String,
  customerId: CustomerId,
  apiKeyId: ApiKeyId,
  /** The UTC month, `YYYY-MM`. */
  period: Schema.String,
  percent: Schema.Int,
  /** The customer's limit, units per period. */
  limitUnits: Schema.Int,
  /** Units reported this period when the alert was raised. */
  unitsUsed: Schema.Int,
  /**
   * What the limit and the units used cost at the configured `UNIT_PRICE` (major units of `currency`),
   * when a price is configured.
   */
  amount: Schema.optional(Schema.Struct({ currency: Schema.String, limit: Schema.Number, used: Schema.Number })),
  /** Epoch millis. */
  at: Schema.Int
})
/** One threshold crossed. @since 0.2.0 @category models */
export type SpendAlert = typeof SpendAlert.Type

/** Why an alert could not be sent. @since 0.2.0 @category errors */
export class AlertSinkError extends Schema.TaggedError<AlertSinkError>()("AlertSinkError", {
  reason: Schema.Literal("Throttled", "Transport", "Server", "Timeout", "Invalid"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) implements Transient.Transient {
  /** Whether retrying the same call may succeed. */
  get isTransient(): boolean {
    return this.reason !== "Invalid"
  }
}

/** Where alerts go. @since 0.2.0 @category services */
export interface AlertSinkService {
  /** Send the alerts (one call for a customer's thresholds crossed at once). */
  readonly emit: (alerts: ReadonlyArray<SpendAlert>) => Effect.Effect<void, AlertSinkError>
}

/** The `AlertSink` port; without it in the context, no alert is computed. @since 0.2.0 @category services */
export class AlertSink extends Context.Tag("@augint-billing/core/AlertSink")<AlertSink, AlertSinkService>() {}

/**
 * Pending alerts younger than this belong to a writer still at work; older ones were left by a crash
 * and are resent (same ids).
 *
 * @since 0.2.0
 * @category constants
 */
export const RESEND_AFTER = Duration.minutes(10)

/** The alert period (UTC month, `YYYY-MM`) of an instant. @since 0.2.0 @category utils */
export const periodOf = (nowMillis: number): string => UtcDay.fromMillis(nowMillis).slice(0, 7)

/** The id of a customer's alert for a percentage in a period. @since 0.2.0 @category constructors */
export const alertId = (customerId: CustomerId, period: string, percent: number): string =>
  `ab-alert:${customerId}:${period}:${percent}`

/** What a record calls for now. @since 0.2.0 @category models */
export interface Decision {
  readonly period: string
  /** Pending alerts a crash left, to send again and commit. */
  readonly resend: ReadonlyArray<number>
  /** Thresholds newly crossed, to write ahead, send and commit. */
  readonly due: ReadonlyArray<number>
  /** The sent percentages of this period (empty after a renewal). */
  readonly sent: ReadonlyArray<number>
}

/**
 * Which thresholds a record has crossed and not yet sent this period, and which pending ones to resend.
 * A new period starts with nothing sent.
 *
 * @since 0.2.0
 * @category utils
 */
export const decide = (
  customer: Customer.Customer,
  input: {
    readonly now: number
    readonly units: number
    readonly limit: number
    readonly percents: ReadonlyArray<number>
  }
): Decision => {
  const period = periodOf(input.now)
  const current = customer.alerts?.period === period ? customer.alerts : undefined
  const sent = current?.sent ?? []
  const pending = current?.pending
  const live = pending !== undefined && input.now - pending.writtenAt < Duration.toMillis(RESEND_AFTER)
  const resend = pending !== undefined && !live ? pending.percents : []
  const taken = new Set([...sent, ...(pending?.percents ?? [])])
  const due = live ? [] : input.percents.filter((p) => !taken.has(p) && input.units * 100 >= input.limit * p)
  return { period, resend, due, sent }
}

// Write the record, or None when another writer came first.
const write = (repo: CustomerRepo["Type"], customer: Customer.Customer) =>
  repo.update(customer).pipe(
    Effect.map(Option.some),
    Effect.catchTag("VersionConflict", () => Effect.succeedNone)
  )

const send = Effect.fnUntraced(function*(
  customer: Customer.Customer,
  percents: ReadonlyArray<number>,
  context: {
    readonly period: string
    readonly limit: number
    readonly units: number
    readonly now: number
    readonly unitPrice: Money | undefined
  }
) {
  const sink = yield* AlertSink
  const price = context.unitPrice
  const amount = price === undefined ? undefined : {
    currency: price.currency,
    limit: majorUnits(context.limit * price.micros),
    used: majorUnits(context.units * price.micros)
  }
  yield* sink.emit(percents.map((percent) => ({
    id: alertId(customer.customerId, context.period, percent),
    customerId: customer.customerId,
    apiKeyId: customer.apiKeyId,
    period: context.period,
    percent,
    limitUnits: context.limit,
    unitsUsed: context.units,
    ...(amount === undefined ? {} : { amount }),
    at: context.now
  })))
})

const run = Effect.fnUntraced(function*(customer: Customer.Customer, sink: AlertSinkService) {
  const settings = Option.getOrElse(yield* Effect.serviceOption(CustomerSettings), () => settingsDefaults)
  const limit = customer.alertUnits ?? defaultAlertUnits(settings)
  if (limit === undefined) return customer
  const now = yield* Clock.currentTimeMillis
  const units = reportedThisMonth(customer, now)
  const decision = decide(customer, { now, units, limit, percents: settings.alertPercents })
  const percents = [...decision.resend, ...decision.due]
  if (percents.length === 0) return customer
  const repo = yield* Ports.repoInSync
  const context = { period: decision.period, limit, units, now, unitPrice: settings.unitPrice }
  // Written ahead: of two overlapping syncs, only the one whose write lands sends.
  const claimed = yield* write(repo, {
    ...customer,
    alerts: { period: decision.period, sent: decision.sent, pending: { percents, writtenAt: now } }
  })
  if (Option.isNone(claimed)) return customer
  yield* send(claimed.value, percents, context).pipe(Effect.provideService(AlertSink, sink))
  const committed = yield* commit(repo, claimed.value, decision.period, percents)
  return Option.getOrElse(committed, () => claimed.value)
})

// Move the sent percentages from pending to sent; after a conflict, on top of the newer record while
// it still holds our pending alerts.
const commit = (
  repo: CustomerRepo["Type"],
  current: Customer.Customer,
  period: string,
  percents: ReadonlyArray<number>
): Effect.Effect<Option.Option<Customer.Customer>, CustomerRepoError> =>
  repo.update({
    ...current,
    alerts: { period, sent: [...new Set([...(current.alerts?.sent ?? []), ...percents])].sort((a, b) => a - b) }
  }).pipe(
    Effect.map(Option.some),
    Effect.catchTag("VersionConflict", () =>
      repo.get(current.customerId).pipe(Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (latest) =>
          latest.alerts?.pending?.writtenAt === current.alerts?.pending?.writtenAt &&
            latest.alerts?.period === period
            ? commit(repo, latest, period, percents)
            : Effect.succeedNone
      }))))
  )

/**
 * Raise the alerts a customer's committed ledger calls for. Does nothing without a limit (the record's
 * `alertUnits`, else `SPEND_ALERT_UNITS`, else the units `SPEND_ALERT_AMOUNT` buys at `UNIT_PRICE`). Never fails: an alert that could not be sent is logged and
 * stays pending, resent by a later sync.
 *
 * @since 0.2.0
 * @category flows
 */
export const afterReport = (
  customer: Customer.Customer
): Effect.Effect<Customer.Customer, never, AlertSink | CustomerRepo> =>
  Effect.flatMap(AlertSink, (sink) =>
    run(customer, sink).pipe(
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning("spend alerts not sent").pipe(
            Effect.annotateLogs({ customerId: customer.customerId, error: error.message })
          ),
          customer
        )
      )
    ))

/**
 * Spend alerts in the sync: `afterReport` as its `SyncHooks.AfterReport`, on the sink and repository
 * (and the `CustomerSettings`, when present) of the context it is built in.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<SyncHooks.AfterReport, never, AlertSink | CustomerRepo> = Layer.effect(
  SyncHooks.AfterReport,
  Effect.map(
    Effect.context<AlertSink | CustomerRepo>(),
    (context) => (customer: Customer.Customer) =>
      afterReport(customer).pipe(Effect.mapInputContext((current) => Context.merge(current, context)))
  )
)
