/**
 * The hourly usage sync: API Gateway counts per key and UTC day reported to Stripe as Billing Meter
 * events, exactly once (written ahead, sent with a deterministic identifier, committed). Why: see
 * DESIGN.md, "The hourly sync" and "Exactly-once reporting".
 *
 * @since 0.1.0
 */
import { Array as Arr, Clock, Duration, Effect, Option, Stream } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Customer from "./Customer.js"
import { CustomerRepo, type CustomerRepoError } from "./CustomerRepo.js"
import type { CustomerId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as Report from "./internal/sendReport.js"
import * as MeterReport from "./MeterReport.js"
import * as NewLink from "./NewLink.js"
import * as PlanRepair from "./PlanRepair.js"
import { Stripe, type StripeError } from "./Stripe.js"
import * as Subscriptions from "./Subscriptions.js"
import * as SyncHooks from "./SyncHooks.js"
import * as SyncOne from "./SyncOne.js"
import * as SyncRun from "./SyncRun.js"
import * as UsageRead from "./UsageRead.js"
import * as UtcDay from "./UtcDay.js"

/** @deprecated Use `UsageRead.Observed`. @since 0.1.0 @category models */
export type Observed = UsageRead.Observed
/** @deprecated Use `UsageRead.readUsage`. @since 0.1.0 @category flows */
export const readUsage = UsageRead.readUsage
/** @deprecated Use `NewLink.newLink`. @since 0.1.0 @category flows */
export const newLink = NewLink.newLink
/** @deprecated Use `Subscriptions.retireReplaced`. @since 0.1.0 @category flows */
export const retireReplaced = Subscriptions.retireReplaced
/** @deprecated Use `Subscriptions.hasSubscriptionsToCancel`. @since 0.1.0 @category predicates */
export const hasSubscriptionsToCancel = Subscriptions.hasSubscriptionsToCancel
// A live binding, not a `const`: `SyncOne` imports `syncCustomer` from here, and either module may load first.
/** One candidate of a run (`SyncOne.syncCandidate`); one customer's flush now (`SyncOne.flushCustomer`). @since 0.1.0 @category flows */
export { flushCustomer, syncCandidate } from "./SyncOne.js"

/** A report's meter event identifier (`MeterReport.identifierFor`). @since 0.1.0 @category constructors */
export const identifierFor = MeterReport.identifierFor

/**
 * Resending a pending report is safe while Stripe still dedupes its identifier (24 hours); past this
 * age the sync checks Stripe's meter totals first. The margin covers clock skew and summary lag.
 *
 * @since 0.1.0
 * @category constants
 */
export const RESEND_CHECK_AFTER = Duration.hours(20)

const isPastDedupeWindow = (pending: Customer.PendingReport, nowMillis: number): boolean =>
  pending.writtenAt === undefined || nowMillis - pending.writtenAt >= Duration.toMillis(RESEND_CHECK_AFTER)

/** A meter event timestamp in `day` (epoch seconds): now, or a past day's last second. @since 0.1.0 @category utils */
export const timestampFor = MeterReport.timestampFor
/** A new report's timestamp (`MeterReport.reportStamp`). @since 0.3.0 @category utils */
export const reportStamp = MeterReport.reportStamp

/** A customer-day observed below what was already reported: flagged, never billed. @since 0.1.0 @category models */
export const Anomaly = SyncRun.Anomaly
/** A customer-day whose observed count is below what was already reported. @since 0.1.0 @category models */
export type Anomaly = SyncRun.Anomaly

/** What syncing one customer did. @since 0.1.0 @category models */
export interface CustomerSync {
  readonly customer: Customer.Customer
  /** Units this run got accepted (or found already accepted and committed). */
  readonly unitsReported: number
  /** Meter events sent. */
  readonly eventsSent: number
  readonly anomalies: ReadonlyArray<Anomaly>
  /** Another writer held the record: it is reporting; this run left the customer alone. */
  readonly contended: boolean
  /** GetUsage no longer lists the key's counts the ledger holds (`UsageRead.historyVanished`). */
  readonly historyVanished: boolean
  /** The key's counter restarted when it was put back into the metered plan (`Customer.counterResetAt`). */
  readonly counterReset?: boolean
  /** Units committed without a meter event: the customer was deleted in Stripe (`Customer.unbillable`). */
  readonly unitsUnbillable?: number
}

/** Errors that can stop the sync of one customer. @since 0.1.0 @category errors */
export type CustomerSyncError = StripeError | CustomerRepoError

const commit = (
  repo: CustomerRepo["Type"],
  current: Customer.Customer,
  pending: Customer.PendingReport,
  unbillable = false
): Effect.Effect<Option.Option<Customer.Customer>, CustomerRepoError> =>
  repo.update({
    ...current,
    pending: undefined,
    ledger: Customer.withReported(current.ledger, pending.day, pending.total),
    ...(unbillable ? { unbillable: Customer.withUnbillable(current.unbillable, pending.day, pending.value) } : {})
  }).pipe(
    Effect.map(Option.some),
    Effect.catchTag("VersionConflict", () =>
      // Someone else wrote in between: commit on top of their write if our report is still the pending
      // one; if they already committed it, there is nothing to do.
      repo.get(current.customerId).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (latest) =>
            latest.pending?.identifier === pending.identifier
              ? commit(repo, latest, pending, unbillable)
              : Effect.succeedNone
        }))
      ))
  )

/**
 * Sync one customer against observed counts: resend a pending report first, then report each day's
 * new units oldest first. Stops at the first conflict (another writer is at work on the record).
 * Then, unless `close` is false, closes a settle window that has ended.
 *
 * @since 0.1.0
 * @category flows
 */
// Untraced: a span per customer (Effect.fn) cost 3032 ms CPU against 2099 at 10k customers (bench medians).
export const syncCustomer = Effect.fnUntraced(function*(
  customer: Customer.Customer,
  observed: UsageRead.Observed,
  options: {
    readonly dryRun?: boolean
    readonly close?: boolean
    /** Stamp new reports before this instant (epoch seconds) where their day allows: an invoice's period end. */
    readonly stampBefore?: number | undefined
  } = {}
) {
  const now = yield* Clock.currentTimeMillis
  const dryRun = options.dryRun === true
  const ports: SyncPorts = { stripe: yield* Ports.stripe, repo: yield* Ports.repoInSync }
  const historyVanished = UsageRead.historyVanished(customer, observed)
  let sync: CustomerSync = {
    customer,
    unitsReported: 0,
    eventsSent: 0,
    anomalies: [],
    contended: false,
    historyVanished
  }
  if (customer.pending !== undefined && !dryRun) sync = yield* resendPending(ports, sync, customer.pending, now)
  // Before a new link's baseline is taken, what GetUsage shows of the key is not this link's; a key whose
  // history vanished did not count down to zero. Why: see DESIGN.md, "Counter baselines".
  const counts = customer.baselineDue === "Link" || historyVanished ? [] : UsageRead.countsOf(customer, observed) ?? []
  for (let i = 0; i < counts.length && !sync.contended; i++) {
    sync = yield* reportDay(ports, sync, observed.days[i]!, counts[i]!, {
      now,
      dryRun,
      stampBefore: options.stampBefore
    })
  }
  if (dryRun) return { ...sync, counterReset: customer.counterResetAt !== undefined }
  if (sync.contended) return sync
  // Only the run tallies a counter reset (a webhook's flush leaves the mark for it): counted once, as cleared.
  if (options.close !== false && sync.customer.counterResetAt !== undefined) {
    sync = yield* countCounterReset(ports, sync)
  }
  const done = yield* finish(sync, { now, close: options.close !== false })
  // Hooks (spend alerts) read the ledger just committed.
  const after = yield* Effect.serviceOption(SyncHooks.AfterReport)
  return done.contended || Option.isNone(after) ? done : { ...done, customer: yield* after.value(done.customer) }
})

// The ports as the per-customer steps call them, read once per customer.
interface SyncPorts {
  readonly stripe: Stripe["Type"]
  readonly repo: CustomerRepo["Type"]
}

const contended = (sync: CustomerSync): CustomerSync => ({ ...sync, contended: true })

// Clear the record's counter-reset mark and say so in this run's outcome; another writer in between
// leaves the mark for the next run.
const countCounterReset = (ports: SyncPorts, sync: CustomerSync) =>
  ports.repo.update({ ...sync.customer, counterResetAt: undefined }).pipe(
    Effect.map((customer): CustomerSync => ({ ...sync, customer, counterReset: true })),
    Effect.catchTag("VersionConflict", () => Effect.succeed(sync))
  )

// What a committed report adds to the customer's tally: units reported, or written off as unbillable.
const credited = (
  sync: CustomerSync,
  customer: Customer.Customer,
  pending: Customer.PendingReport,
  unbillable: boolean,
  eventsSent: number
): CustomerSync =>
  unbillable
    ? { ...sync, customer, eventsSent, unitsUnbillable: (sync.unitsUnbillable ?? 0) + pending.value }
    : { ...sync, customer, eventsSent, unitsReported: sync.unitsReported + pending.value }

// Step 1: a report a crash left pending is sent again with its identifier (Stripe dedupes it), then
// committed. Stripe dedupes identifiers for 24 hours only: an older pending report is resent only when
// Stripe's own totals for the day show it was not accepted.
const resendPending = (ports: SyncPorts, sync: CustomerSync, pending: Customer.PendingReport, now: number) =>
  Effect.gen(function*() {
    const current = sync.customer
    const acceptedBefore = isPastDedupeWindow(pending, now)
      ? yield* Report.acceptedByStripe(ports.stripe, current, pending)
      : false
    // Refused as deleted: unbillable, unless it reached Stripe before the deletion (a crash after Stripe
    // accepted it, before the commit).
    const unbillable = !acceptedBefore && (yield* Report.send(ports.stripe, current.customerId, pending)) &&
      !(yield* Report.acceptedByStripe(ports.stripe, current, pending))
    const eventsSent = sync.eventsSent + (acceptedBefore ? 0 : 1)
    const committed = yield* commit(ports.repo, current, pending, unbillable)
    return Option.isNone(committed)
      ? contended({ ...sync, eventsSent })
      : credited(sync, committed.value, pending, unbillable, eventsSent)
  })

// Step 2, for each day: the units observed beyond what the ledger holds are written ahead as the
// pending report, sent, then committed to the ledger. Fewer observed than reported is an anomaly.
const reportDay = (
  ports: SyncPorts,
  sync: CustomerSync,
  day: UtcDay.UtcDay,
  seen: number,
  options: { readonly now: number; readonly dryRun: boolean; readonly stampBefore?: number | undefined }
): Effect.Effect<CustomerSync, CustomerSyncError, Stripe | CustomerRepo> => {
  const current = sync.customer
  const before = Customer.reported(current, day)
  if (seen < before) {
    const anomaly: Anomaly = { customerId: current.customerId, day, observed: seen, reported: before }
    return Effect.succeed({ ...sync, anomalies: [...sync.anomalies, anomaly] })
  }
  if (seen === before) return Effect.succeed(sync)
  const timestamp = reportStamp(current, day, options.now, options.stampBefore)
  if (timestamp === undefined) return Effect.succeed(sync)
  const pending: Customer.PendingReport = {
    day,
    total: seen,
    value: seen - before,
    identifier: identifierFor(current.customerId, current.apiKeyId, day, seen),
    timestamp,
    writtenAt: options.now
  }
  if (options.dryRun) return Effect.succeed({ ...sync, unitsReported: sync.unitsReported + pending.value })
  return Effect.gen(function*() {
    // `updatedAt` orders the next run's candidates (`SyncRun.fairOrder`): a synced customer goes last.
    const written = yield* ports.repo.update({ ...current, pending, updatedAt: options.now }).pipe(
      Effect.map(Option.some),
      Effect.catchTag("VersionConflict", () => Effect.succeedNone)
    )
    if (Option.isNone(written)) return contended(sync)
    const unbillable = yield* Report.send(ports.stripe, current.customerId, pending)
    const eventsSent = sync.eventsSent + 1
    const committed = yield* commit(ports.repo, written.value, pending, unbillable)
    return Option.isNone(committed)
      ? contended({ ...sync, eventsSent })
      : credited(sync, committed.value, pending, unbillable, eventsSent)
  })
}

// Step 3: a settle window that has ended is closed (only the hourly sync passes `close`); otherwise
// subscriptions the record names to cancel are cancelled.
const finish = (sync: CustomerSync, options: { readonly now: number; readonly close: boolean }) => {
  const current = sync.customer
  const due = options.close && Subscriptions.settleWindowDue(current, options.now)
  // Most customers have nothing to close or cancel: no generator for them on the hot path.
  if (!due && !Subscriptions.hasSubscriptionsToCancel(current)) return Effect.succeed(sync)
  return Effect.gen(function*() {
    if (due) {
      // Meter events are stamped in whole seconds; a final invoice covers its period up to the cancel.
      // When this run just reported the last counts, cancel in a later second than their stamp.
      if (sync.eventsSent > 0) yield* MeterReport.nextSecond
      return { ...sync, customer: yield* Subscriptions.closeSettleWindow(current) }
    }
    const retired = yield* Subscriptions.retireReplaced(current).pipe(
      Effect.catchTag("VersionConflict", () => Effect.succeedNone)
    )
    return Option.isSome(retired) ? { ...sync, customer: retired.value } : sync
  })
}

/** The result of one sync run. @since 0.1.0 @category models */
export const SyncReport = SyncRun.SyncReport
/** The result of one sync run. @since 0.1.0 @category models */
export type SyncReport = SyncRun.SyncReport

/**
 * At most this many failures and anomalies are listed in a report; the counts stay exact.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_LISTED = SyncRun.MAX_LISTED

/** Options of a sync run. @since 0.1.0 @category models */
export interface SyncOptions {
  /** Only these customers (default: every sync candidate). */
  readonly customerIds?: ReadonlyArray<CustomerId>
  /** Compute what would be reported; write and send nothing. */
  readonly dryRun?: boolean
  /** Called after each customer, for progress display. */
  readonly onProgress?: (done: number) => void
  /**
   * When (epoch millis, by the `Clock`) the run must be over, e.g. the Lambda's remaining time less a
   * margin: no customer is started after `SyncRun.stopAt(deadline)`. Default: none.
   */
  readonly deadline?: number
}

/**
 * Report every sync candidate's new metered usage for today and the days before it (lookback). One
 * customer's failure never stops the others; the report says who failed and why. Candidates are taken
 * least recently written first, and a run with a deadline stops starting customers before it, so a
 * run cut short leaves the next one to start where it stopped (`SyncRun.fairOrder`).
 *
 * @since 0.1.0
 * @category flows
 */
export const syncUsage = Effect.fn("UsageSync.syncUsage")(function*(
  options: SyncOptions = {}
) {
  const config = yield* BillingConfig
  const repo = yield* Ports.repo
  const startedAt = yield* Clock.currentTimeMillis
  const days = UtcDay.range(UtcDay.fromMillis(startedAt), config.lookbackDays)
  const stopAt = SyncRun.stopAt(options.deadline)
  // The three reads at once: each is a sequence of pages whose latency, not API Gateway's rate, bounds
  // it (the latency bench: at 1M keys, one after the other took twice as long). A dry run moves no
  // key; a real one checks every candidate's plan against the metered list. The candidates are read
  // whole before syncing, to order them: a record is small next to the usage map.
  const [observed, metered, candidates] = yield* Effect.all([
    UsageRead.readUsage({ usagePlanId: config.meteredPlanId, days }),
    options.dryRun ? Effect.succeed(undefined) : PlanRepair.meteredKeys(),
    options.customerIds === undefined
      ? Effect.map(Stream.runCollect(repo.listSyncCandidates()), SyncRun.fairOrder)
      : Effect.map(Effect.forEach(options.customerIds, (id) => repo.get(id)), Arr.getSomes)
  ], { concurrency: "unbounded" })

  const counts = SyncRun.emptyCounts<Anomaly>()
  const one = (customer: Customer.Customer) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (now >= stopAt) return Effect.sync(() => void counts.customersLeft++)
      return Effect.either(SyncOne.syncCandidate(customer, observed, metered, startedAt)).pipe(
        Effect.map((result) => {
          SyncRun.count(counts, customer.customerId, result, customer.apiKeyId)
          options.onProgress?.(counts.customersSeen)
        })
      )
    })
  // `Effect.forEach` over the list costs about 5 µs a customer; `Stream.mapEffect` with concurrency
  // forks a stream fiber per element (250-590 µs each).
  yield* Effect.forEach(candidates, one, { concurrency: config.syncConcurrency, discard: true })
  const finishedAt = yield* Clock.currentTimeMillis
  const result: SyncReport = {
    startedAt,
    finishedAt,
    days,
    dryRun: options.dryRun === true,
    usagePagesRead: observed.pages,
    stoppedEarly: counts.customersLeft > 0,
    ...counts
  }
  yield* Effect.logInfo("usage sync finished").pipe(Effect.annotateLogs({
    customersSeen: result.customersSeen,
    customersReported: result.customersReported,
    customersFailed: result.customersFailed,
    customersLeft: result.customersLeft,
    unitsReported: result.unitsReported,
    durationMs: Duration.toMillis(Duration.millis(finishedAt - startedAt))
  }))
  if (result.stoppedEarly) {
    yield* Effect.logWarning("usage sync stopped before its deadline; the next run starts with the customers left")
      .pipe(Effect.annotateLogs({ customersLeft: result.customersLeft }))
  }
  return result
})
