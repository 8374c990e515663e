/**
 * One sync run's bounds and bookkeeping, shared by the single-process sync (`UsageSync.syncUsage`) and
 * the fanned-out workers: when to stop taking new customers before a deadline, the order that keeps a
 * run cut short from starving the same customers every hour, and the tally that becomes the report.
 *
 * @since 0.3.0
 */
import { Duration, type Either, Schema } from "effect"
import type * as Customer from "./Customer.js"
import type { CustomerRepoError } from "./CustomerRepo.js"
import { type ApiKeyId, CustomerId } from "./Ids.js"
import type { PlanAdminError } from "./PlanAdmin.js"
import type { StripeError } from "./Stripe.js"
import * as UsageRead from "./UsageRead.js"
import * as UtcDay from "./UtcDay.js"

/**
 * How long before its deadline a run stops starting customers, so that those it started can commit:
 * one customer's reports with a few retries of a slow Stripe call (its policy allows 10 s an attempt).
 * A customer cut by the deadline anyway stops as a crash would, which the write-ahead report survives.
 *
 * @since 0.3.0
 * @category constants
 */
export const DRAIN_RESERVE: Duration.Duration = Duration.seconds(30)

/**
 * The time (epoch millis) from which a run with `deadline` starts no new customer.
 *
 * @since 0.3.0
 * @category utils
 */
export const stopAt = (deadline: number | undefined): number =>
  deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Duration.toMillis(DRAIN_RESERVE)

/**
 * Candidates in the order a run takes them: least recently written first (a sync that reports writes
 * the record), customer id breaking ties. A run cut short leaves the customers it did not reach with
 * older records than those it synced, so the next run starts with them: no customer waits more than
 * one extra run while a run gets through at least half the work.
 *
 * @since 0.3.0
 * @category utils
 */
export const fairOrder = (candidates: Iterable<Customer.Customer>): Array<Customer.Customer> =>
  Array.from(candidates).sort((a, b) =>
    a.updatedAt - b.updatedAt || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0)
  )

/** A customer-day observed below what was already reported: flagged, never billed. @since 0.3.0 @category models */
export interface AnomalyLike {
  readonly customerId: CustomerId
  readonly day: string
  readonly observed: number
  readonly reported: number
}

/** What one customer's part of a run did, as the tally counts it. @since 0.3.0 @category models */
export interface Outcome<A extends AnomalyLike = AnomalyLike> {
  readonly unitsReported: number
  readonly eventsSent: number
  readonly anomalies: ReadonlyArray<A>
  readonly contended: boolean
  /** The key's usage plan did not match the record and was moved. */
  readonly planRepaired?: boolean
  /** GetUsage no longer lists the key's counts the ledger holds (`UsageRead.historyVanished`). */
  readonly historyVanished?: boolean
  /** The key's counter restarted when it was put back into the metered plan (`Customer.counterResetAt`). */
  readonly counterReset?: boolean
  /** Units committed without a meter event: the customer was deleted in Stripe (`Customer.unbillable`). */
  readonly unitsUnbillable?: number
}

/** Errors that stop one customer's part of a run. @since 0.3.0 @category errors */
export type OutcomeError = StripeError | CustomerRepoError | PlanAdminError | { readonly _tag: string }

/**
 * At most this many failures and anomalies are listed in a report; the counts stay exact.
 *
 * @since 0.3.0
 * @category constants
 */
export const MAX_LISTED = 100

/** The counters of a run's report. @since 0.3.0 @category models */
export interface Counts<A extends AnomalyLike = AnomalyLike> {
  customersSeen: number
  customersReported: number
  customersSkipped: number
  customersContended: number
  customersFailed: number
  /** Candidates this run did not start because its deadline was near. */
  customersLeft: number
  plansRepaired: number
  unitsReported: number
  meterEventsSent: number
  failures: Array<{ customerId: CustomerId; reason: string }>
  anomalies: Array<A>
  /** Customers whose key's GetUsage history vanished, and the first `MAX_LISTED` of them. */
  customersHistoryVanished: number
  historyVanished: Array<{ customerId: CustomerId; apiKeyId: ApiKeyId }>
  /** Customers whose key's counter restarted when put back into the metered plan, and the first `MAX_LISTED`. */
  customersCounterReset: number
  counterReset: Array<{ customerId: CustomerId; apiKeyId: ApiKeyId }>
  /** Units written off because their customer was deleted in Stripe, and the first `MAX_LISTED` customers. */
  unitsUnbillable: number
  unbillable: Array<{ customerId: CustomerId; units: number }>
}

/** Empty counters. @since 0.3.0 @category constructors */
export const emptyCounts = <A extends AnomalyLike>(): Counts<A> => ({
  customersSeen: 0,
  customersReported: 0,
  customersSkipped: 0,
  customersContended: 0,
  customersFailed: 0,
  customersLeft: 0,
  plansRepaired: 0,
  unitsReported: 0,
  meterEventsSent: 0,
  failures: [],
  anomalies: [],
  customersHistoryVanished: 0,
  historyVanished: [],
  customersCounterReset: 0,
  counterReset: [],
  unitsUnbillable: 0,
  unbillable: []
})

/** One line for a customer's failure. @since 0.3.0 @category utils */
export const describe = (error: OutcomeError): string =>
  "reason" in error && "message" in error ?
    `${error._tag}(${String(error.reason)}): ${String(error.message)}` :
    "message" in error ?
    `${error._tag}: ${String(error.message)}` :
    error._tag

/**
 * Count one customer's outcome into `counts` (in place: runs tally thousands of customers a second).
 *
 * @since 0.3.0
 * @category utils
 */
export const count = <A extends AnomalyLike>(
  counts: Counts<A>,
  customerId: CustomerId,
  result: Either.Either<Outcome<A>, OutcomeError>,
  apiKeyId?: ApiKeyId
): void => {
  counts.customersSeen++
  if (result._tag === "Left") {
    counts.customersFailed++
    if (counts.failures.length < MAX_LISTED) counts.failures.push({ customerId, reason: describe(result.left) })
    return
  }
  const r = result.right
  counts.unitsReported += r.unitsReported
  counts.meterEventsSent += r.eventsSent
  if (r.planRepaired === true) counts.plansRepaired++
  if (r.contended) counts.customersContended++
  else if (r.unitsReported > 0) counts.customersReported++
  else counts.customersSkipped++
  for (const a of r.anomalies) if (counts.anomalies.length < MAX_LISTED) counts.anomalies.push(a)
  if (r.historyVanished === true && counts.customersHistoryVanished++ < MAX_LISTED && apiKeyId !== undefined) {
    counts.historyVanished.push({ customerId, apiKeyId })
  }
  if (r.counterReset === true && counts.customersCounterReset++ < MAX_LISTED && apiKeyId !== undefined) {
    counts.counterReset.push({ customerId, apiKeyId })
  }
  const unbillable = r.unitsUnbillable ?? 0
  if (unbillable > 0) {
    counts.unitsUnbillable += unbillable
    if (counts.unbillable.length < MAX_LISTED) counts.unbillable.push({ customerId, units: unbillable })
  }
}

/** A customer-day observed below what was already reported: flagged, never billed. @since 0.3.0 @category models */
export const Anomaly = Schema.Struct({
  customerId: CustomerId,
  day: UtcDay.UtcDay,
  observed: Schema.Number,
  reported: Schema.Number
})
/** A customer-day whose observed count is below what was already reported. @since 0.3.0 @category models */
export type Anomaly = typeof Anomaly.Type

/** The result of one sync run (`UsageSync.syncUsage`, or a fanned-out run's tally). @since 0.3.0 @category models */
export const SyncReport = Schema.Struct({
  startedAt: Schema.Int,
  finishedAt: Schema.Int,
  days: Schema.Array(UtcDay.UtcDay),
  dryRun: Schema.Boolean,
  usagePagesRead: Schema.Int,
  customersSeen: Schema.Int,
  customersReported: Schema.Int,
  customersSkipped: Schema.Int,
  customersContended: Schema.Int,
  customersFailed: Schema.Int,
  // Optional when decoded: reports stored before these fields existed read as a full run.
  /** The run stopped taking customers before its deadline; `customersLeft` were not started. */
  stoppedEarly: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  customersLeft: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Candidates whose API key was in another usage plan than their record says, and was moved. */
  plansRepaired: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Units Stripe accepted in this run. */
  unitsReported: Schema.Int,
  /**
   * Meter events sent: a report resent after a crash counts again, and one Stripe refused because the
   * customer was deleted counts too (its units are in `unitsUnbillable`, not `unitsReported`).
   */
  meterEventsSent: Schema.Int,
  failures: Schema.Array(Schema.Struct({ customerId: CustomerId, reason: Schema.String })),
  anomalies: Schema.Array(Anomaly),
  /** Customers whose key's GetUsage history vanished (`UsageRead.historyVanished`); 0 in older reports. */
  customersHistoryVanished: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Those customers and their keys (at most `MAX_LISTED`). */
  historyVanished: Schema.optionalWith(Schema.Array(UsageRead.KeyOf), { default: () => [] }),
  /**
   * Customers whose key's GetUsage counter restarted when it was put back into the metered plan since the
   * last run (`Customer.counterResetAt`): what it counted within the reporting delay before is not billed.
   */
  customersCounterReset: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Those customers and their keys (at most `MAX_LISTED`). */
  counterReset: Schema.optionalWith(Schema.Array(UsageRead.KeyOf), { default: () => [] }),
  /**
   * Units counted for customers deleted in Stripe, committed without a meter event: Stripe refuses their
   * events and cancelled their subscriptions with no invoice, so nothing can bill them (`Customer.unbillable`).
   */
  unitsUnbillable: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  /** Those customers and their units (at most `MAX_LISTED`). */
  unbillable: Schema.optionalWith(Schema.Array(Schema.Struct({ customerId: CustomerId, units: Schema.Int })), {
    default: () => []
  })
})
/** The result of one sync run. @since 0.3.0 @category models */
export type SyncReport = typeof SyncReport.Type
