/**
 * The sync fanned out: a coordinator reads the metered plan's usage and keys once, and hands the
 * candidates out as work items (a queue carries them: SQS with a Lambda event source mapping in the
 * deployment); workers sync each item's customers with the same per-customer flow as the single-process
 * run (`UsageSync.syncCandidate`). A queue delivers at least once and in any order, so an item may run
 * twice, late, or beside another run's item for the same customer: the record's write-ahead report and
 * versioned ledger make every one of those bill each unit once (`test/FanOut.test.ts` in testkit).
 *
 * @since 0.3.0
 */
import { Clock, Effect, Schema, Stream } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import { ApiKeyId, CustomerId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as MeterBatch from "./MeterBatch.js"
import * as PlanRepair from "./PlanRepair.js"
import { Stripe } from "./Stripe.js"
import * as SyncRun from "./SyncRun.js"
import * as UsageRead from "./UsageRead.js"
import * as UsageSync from "./UsageSync.js"
import * as UtcDay from "./UtcDay.js"

/** One customer of a work item: the counts the coordinator read for its key. @since 0.3.0 @category models */
export const WorkEntry = Schema.Struct({
  customerId: CustomerId,
  apiKeyId: ApiKeyId,
  /**
   * Counts per day of the item's `days`; absent when GetUsage did not list the key, which the worker
   * must see as such (`UsageRead.historyVanished`), not as a key that counted nothing.
   */
  counts: Schema.optional(Schema.Array(Schema.Int)),
  /** Whether the key was in the metered plan's key list. */
  metered: Schema.Boolean
})
/** One customer of a work item. @since 0.3.0 @category models */
export type WorkEntry = typeof WorkEntry.Type

/** A batch of customers for one worker invocation (one queue message). @since 0.3.0 @category models */
export const WorkItem = Schema.Struct({
  /** The coordinator's start (epoch millis): the run the item belongs to. */
  runStartedAt: Schema.Int,
  days: Schema.Array(UtcDay.UtcDay),
  entries: Schema.Array(WorkEntry)
})
/** A batch of customers for one worker invocation. @since 0.3.0 @category models */
export type WorkItem = typeof WorkItem.Type

/**
 * Customers per work item: with 35 days of counts an entry is under 600 bytes of JSON, so an item
 * stays far below SQS's 256 KiB message limit, and one worker invocation syncs them well inside its
 * timeout (100 customers × two Stripe calls of 100-300 ms at the worker's concurrency of 12: a few seconds).
 *
 * @since 0.3.0
 * @category constants
 */
export const ENTRIES_PER_ITEM = 100

/** What a worker's item synced: a run's counts over the item's customers. @since 0.4.0 @category models */
export type WorkCounts = SyncRun.Counts<UsageSync.Anomaly>

/** What a coordinator run planned. @since 0.3.0 @category models */
export interface Plan {
  readonly startedAt: number
  readonly days: ReadonlyArray<UtcDay.UtcDay>
  readonly usagePagesRead: number
  readonly items: ReadonlyArray<WorkItem>
}

/**
 * The coordinator's read: the metered plan's usage (GetUsage, 500 keys a page) and keys, and every
 * sync candidate in `SyncRun.fairOrder`, cut into work items of `ENTRIES_PER_ITEM`.
 *
 * @since 0.3.0
 * @category flows
 */
export const plan = Effect.fn("FanOut.plan")(function*() {
  const config = yield* BillingConfig
  const repo = yield* Ports.repo
  const startedAt = yield* Clock.currentTimeMillis
  const days = UtcDay.range(UtcDay.fromMillis(startedAt), config.lookbackDays)
  // At once: the page sequences' latency, not API Gateway's rate, bounds them (as in `syncUsage`).
  const [observed, metered, candidates] = yield* Effect.all([
    UsageRead.readUsage({ usagePlanId: config.meteredPlanId, days }),
    PlanRepair.meteredKeys(),
    Effect.map(Stream.runCollect(repo.listSyncCandidates()), SyncRun.fairOrder)
  ], { concurrency: "unbounded" })
  const items: Array<WorkItem> = []
  for (let i = 0; i < candidates.length; i += ENTRIES_PER_ITEM) {
    const entries = candidates.slice(i, i + ENTRIES_PER_ITEM).map((c): WorkEntry => ({
      customerId: c.customerId,
      apiKeyId: c.apiKeyId,
      counts: observed.byKey.get(c.apiKeyId),
      metered: metered.has(c.apiKeyId)
    }))
    items.push({ runStartedAt: startedAt, days, entries })
  }
  return { startedAt, days, usagePagesRead: observed.pages, items } satisfies Plan
})

/**
 * A worker's part: sync each customer of `item` against the counts it carries, reading the item's
 * records as they are now, in one `getMany` (one BatchGetItem for an item of `ENTRIES_PER_ITEM`, not
 * one GetItem a customer): a record changed since the coordinator read it is synced as it stands; one
 * unlinked or linked to another key since is left to the next run. A record written between the read
 * and its customer's turn (a webhook) makes that customer contended: versioned writes keep it safe, and
 * the next run takes it. The customers' meter events are gathered into v2 meter event stream
 * requests (`MeterBatch`, for `BillingConfig.meterBatchWindow`), a hundred to a request. The counts say
 * who failed; a queue consumer reports the item as failed when any customer did, so it is delivered again.
 *
 * @since 0.3.0
 * @category flows
 */
export const work = Effect.fn("FanOut.work")(function*(item: WorkItem) {
  const config = yield* BillingConfig
  const repo = yield* Ports.repo
  const counts: WorkCounts = SyncRun.emptyCounts<UsageSync.Anomaly>()
  const records = yield* repo.getMany(item.entries.map((entry) => entry.customerId))
  // The item's meter events gathered into v2 stream requests (`MeterBatch`), for its customers only.
  const stripe = yield* MeterBatch.make(yield* Stripe, { window: config.meterBatchWindow })
  yield* Effect.forEach(item.entries, (entry) => {
    const found = records.get(entry.customerId)
    // Unlinked, or linked to another key since: the counts are not this record's; the next run has it.
    if (found === undefined || found.apiKeyId !== entry.apiKeyId) return Effect.void
    const observed: UsageRead.Observed = {
      days: item.days,
      byKey: new Map(entry.counts === undefined ? [] : [[entry.apiKeyId, entry.counts]]),
      pages: 0
    }
    const metered = new Set(entry.metered ? [entry.apiKeyId] : [])
    return Effect.map(
      Effect.either(UsageSync.syncCandidate(found, observed, metered, item.runStartedAt)),
      (result) => SyncRun.count(counts, entry.customerId, result, entry.apiKeyId)
    )
  }, { concurrency: config.syncConcurrency, discard: true }).pipe(Effect.provideService(Stripe, stripe))
  return counts
}, Effect.scoped)
