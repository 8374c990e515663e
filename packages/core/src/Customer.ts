/**
 * The customer record: the link between a Stripe customer and an API key, the plan the customer is
 * on, and the usage ledger that makes reporting exactly-once.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ApiKeyId, CustomerId, MeterEventIdentifier, SubscriptionId } from "./Ids.js"
import * as UtcDay from "./UtcDay.js"

/** The two usage plans a key moves between. @since 0.1.0 @category models */
export const Plan = Schema.Literal("FREE", "METERED")
/** The two usage plans a key moves between. @since 0.1.0 @category models */
export type Plan = typeof Plan.Type

/** A whole number of API requests, never negative. @since 0.1.0 @category models */
export const Units = Schema.Int.pipe(Schema.nonNegative())

/**
 * A report written ahead of sending its meter event: after a crash, the next run resends it with the
 * same identifier and timestamp, so Stripe accepts it at most once.
 *
 * @since 0.1.0
 * @category models
 */
export const PendingReport = Schema.Struct({
  /** The day the units belong to. */
  day: UtcDay.UtcDay,
  /** The day's reported total once this report is committed. */
  total: Units,
  /** The units this meter event carries (`total` minus what was reported before). */
  value: Schema.Int.pipe(Schema.positive()),
  /** The meter event identifier Stripe dedupes on. */
  identifier: MeterEventIdentifier,
  /** The meter event timestamp, epoch seconds, inside `day`. */
  timestamp: Schema.Int,
  /** When the report was written ahead (epoch millis); absent in reports from before it was recorded. */
  writtenAt: Schema.optional(Schema.Int)
})
/** A report written ahead of sending its meter event. @since 0.1.0 @category models */
export type PendingReport = typeof PendingReport.Type

/** Units already reported to Stripe, per UTC day. @since 0.1.0 @category models */
export const Ledger = Schema.Record({ key: UtcDay.UtcDay, value: Units })
/** Units already reported to Stripe, per UTC day. @since 0.1.0 @category models */
export type Ledger = typeof Ledger.Type

/** The stored customer record; `version` guards every write. @since 0.1.0 @category models */
export const Customer = Schema.Struct({
  customerId: CustomerId,
  apiKeyId: ApiKeyId,
  plan: Plan,
  /** The metered subscription, once one was ensured. */
  subscriptionId: Schema.optional(SubscriptionId),
  /**
   * Subscriptions this record held before a promotion replaced them (they stopped being live): each
   * is cancelled with a final invoice by the next event or sync, then dropped from here.
   */
  retiring: Schema.optional(Schema.Array(SubscriptionId)),
  /**
   * Open metered subscriptions no record held (a promotion that crashed or lost made them), found by
   * a promotion: each is cancelled without an invoice by the next event or sync, then dropped.
   */
  orphans: Schema.optional(Schema.Array(SubscriptionId)),
  /**
   * Set (epoch millis) while a sync closes the settle window, between its fence and its last write: no
   * promotion, and no second close, until `CLOSE_LEASE_MILLIS` has passed (then the close is taken to have
   * crashed: the next sync redoes it, and promotions go ahead).
   */
  closingSince: Schema.optional(Schema.Int),
  /**
   * Set (epoch millis) from the moment a promotion may create a subscription that replaces the one the
   * record holds (its write-ahead, or the write that moved the old one to `retiring`) until the old one
   * is cancelled: Billing Meters bill a customer's events on every live subscription to the price, so
   * until then usage is stamped before it, on the old subscription's final invoice only (`reportStamp`).
   */
  replacingSince: Schema.optional(Schema.Int),
  /**
   * Set (epoch millis) when a counter baseline found the key's GetUsage counter restarted as it was put
   * back into the metered plan: what it counted there within the reporting delay before is not billed.
   * The next sync counts it (`SyncReport.customersCounterReset`) and clears it.
   */
  counterResetAt: Schema.optional(Schema.Int),
  /** Units reported to Stripe per day (pruned to the days a sync can still look at). */
  ledger: Ledger,
  /**
   * Per day, Stripe's accepted total for this customer minus the ledger, where they differ: set when a
   * link's ledger was seeded (the key's counts so far) or the customer's earlier key was reported.
   * The check of a pending report older than Stripe's dedupe window compares against it.
   */
  stripeOffset: Schema.optional(Schema.Record({ key: UtcDay.UtcDay, value: Schema.Int })),
  /**
   * Days Stripe reported meter events of as rejected after accepting them (`MeterErrors`): their
   * ledger says reported, Stripe billed less; `reconcile` compares them with Stripe's totals.
   */
  reconcileDays: Schema.optional(Schema.Array(UtcDay.UtcDay)),
  /**
   * Per day, units added to what GetUsage shows for the key, so the ledger keeps reading one counter:
   * what a counter API Gateway reset when the key was put back into the metered plan had reached
   * (positive), or what the key counted before this link that GetUsage did not show when the link was
   * made (negative). Why: see DESIGN.md, "Counter baselines".
   */
  counterOffset: Schema.optional(Schema.Record({ key: UtcDay.UtcDay, value: Schema.Int })),
  /**
   * A baseline to take right after the key is added to the metered plan (`UsageRead.withBaseline`):
   * `Link`, this link bills nothing the key counted before; `Readd`, a counter the add reset continues
   * from the ledger.
   */
  baselineDue: Schema.optional(Schema.Literal("Link", "Readd")),
  /** A meter event that was written ahead and may or may not have reached Stripe. */
  pending: Schema.optional(PendingReport),
  /**
   * Per day, units committed to the ledger without a meter event because the customer was deleted in
   * Stripe: Stripe refuses its events for good and cancelled its subscriptions, so nothing can bill them.
   */
  unbillable: Schema.optional(Ledger),
  /** The `created` time (epoch seconds) of the newest Stripe event applied to this record. */
  lastEventAt: Schema.optional(Schema.Int),
  /** When (epoch seconds) the current run of failed payments began. */
  paymentFailedAt: Schema.optional(Schema.Int),
  /** After a demotion: until when (epoch millis) late-counted metered usage is still synced. */
  settleUntil: Schema.optional(Schema.Int),
  /** Demotions and closed settle windows so far; promotions derive their subscription idempotency key from it. */
  generation: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /**
   * Epoch millis the link was made; promotions put it in their idempotency key, so a customer unlinked
   * and linked again is never answered with the old link's subscription by Stripe's 24-hour replay.
   */
  linkedAt: Schema.optional(Schema.Int),
  /** This customer's spend alert limit, units per billing period (else `SPEND_ALERT_UNITS`). */
  alertUnits: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** The spend alerts of the current period: sent, and written ahead of sending (`SpendAlerts`). */
  alerts: Schema.optional(Schema.Struct({
    /** The UTC month, `YYYY-MM`. */
    period: Schema.String,
    /** Percentages whose alert was sent this period. */
    sent: Schema.Array(Schema.Int),
    /** Percentages being sent, and since when (epoch millis): resent after `SpendAlerts.RESEND_AFTER`. */
    pending: Schema.optional(Schema.Struct({ percents: Schema.Array(Schema.Int), writtenAt: Schema.Int }))
  })),
  /** This customer's spend cap, units per billing period (else `SPEND_CAP_UNITS`); 0 for none. */
  capUnits: Schema.optional(Units),
  /**
   * Set while the key is to be in the capped usage plan (`SpendCap`): the customer reached its cap in
   * `period` (a UTC month, `YYYY-MM`) with `units` reported, at `at` (epoch millis).
   */
  capped: Schema.optional(Schema.Struct({ period: Schema.String, units: Units, at: Schema.Int })),
  /** Incremented by every write; a write names the version it read. */
  version: Schema.Int.pipe(Schema.nonNegative()),
  /** Epoch millis of the last write. */
  updatedAt: Schema.Int
})
/** The stored customer record; `version` guards every write. @since 0.1.0 @category models */
export type Customer = typeof Customer.Type

/** A new link between a Stripe customer and an API key, on the free plan. @since 0.1.0 @category constructors */
export const make = (
  input: { readonly customerId: CustomerId; readonly apiKeyId: ApiKeyId; readonly now: number }
): Customer => ({
  customerId: input.customerId,
  apiKeyId: input.apiKeyId,
  plan: "FREE",
  ledger: {},
  linkedAt: input.now,
  version: 0,
  updatedAt: input.now
})

/** Units already reported for `day`. @since 0.1.0 @category utils */
export const reported = (customer: Customer, day: UtcDay.UtcDay): number => customer.ledger[day] ?? 0

/**
 * Whether the hourly sync must look at this customer: metered, holding a pending report, demoted
 * and still inside its settle window (the first sync after the window closes reads the last late
 * counts and clears it), or holding replaced or orphaned subscriptions to cancel. Adapters index
 * exactly this.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSyncCandidate = (customer: Customer): boolean =>
  customer.plan === "METERED" || customer.pending !== undefined || customer.settleUntil !== undefined ||
  (customer.retiring?.length ?? 0) > 0 || (customer.orphans?.length ?? 0) > 0 ||
  customer.closingSince !== undefined

/**
 * Why a record may not be unlinked yet (none when it may): removing a record that is metered, holds a
 * subscription, an open or unclosed settle window, subscriptions to cancel or a pending report would
 * leave a subscription, or a report, that no record holds. A caller closes the window first (the sync
 * does once it has ended) or refuses with these reasons.
 *
 * @since 0.2.0
 * @category predicates
 */
export const unlinkBlockers = (c: Customer, now: number): ReadonlyArray<string> => {
  const reasons: Array<string> = []
  if (c.plan === "METERED") reasons.push("it is on the metered plan")
  if (c.subscriptionId !== undefined) reasons.push(`it holds subscription ${c.subscriptionId}`)
  if (c.settleUntil !== undefined) {
    reasons.push(
      c.settleUntil > now
        ? `its settle window is open until ${new Date(c.settleUntil).toISOString()} (late usage is still billed)`
        : "its settle window has ended but is not closed yet"
    )
  }
  if (c.closingSince !== undefined) reasons.push("a sync is closing its settle window")
  const toCancel = [...(c.retiring ?? []), ...(c.orphans ?? [])]
  if (toCancel.length > 0) reasons.push(`subscriptions ${toCancel.join(", ")} are still to be cancelled`)
  if (c.pending !== undefined) reasons.push(`it holds a pending report (${c.pending.day} +${c.pending.value})`)
  return reasons
}

/** How long a settle close may hold its mark before it is taken to have crashed. @since 0.1.0 @category constants */
export const CLOSE_LEASE_MILLIS = 10 * 60 * 1000

/** Whether a settle close is running now (its mark is younger than the lease). @since 0.1.0 @category predicates */
export const isClosing = (customer: Customer, now: number): boolean =>
  customer.closingSince !== undefined && now - customer.closingSince < CLOSE_LEASE_MILLIS

/** Days older than this are dropped from the ledger: no sync looks back that far. @since 0.1.0 @category constants */
export const LEDGER_RETENTION_DAYS = 40

/**
 * The ledger with `day` set to `total` and days older than the retention dropped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withReported = (ledger: Ledger, day: UtcDay.UtcDay, total: number): Ledger => {
  const oldest = UtcDay.add(day, -LEDGER_RETENTION_DAYS)
  const next: Record<UtcDay.UtcDay, number> = {}
  for (const [d, units] of Object.entries(ledger) as Array<[UtcDay.UtcDay, number]>) {
    if (d >= oldest) next[d] = units
  }
  next[day] = Math.max(total, next[day] ?? 0)
  return next
}

/**
 * `units` more written off on `day` (`Customer.unbillable`), days older than the retention dropped.
 *
 * @since 0.4.0
 * @category constructors
 */
export const withUnbillable = (unbillable: Ledger | undefined, day: UtcDay.UtcDay, units: number): Ledger =>
  withReported(unbillable ?? {}, day, (unbillable?.[day] ?? 0) + units)
