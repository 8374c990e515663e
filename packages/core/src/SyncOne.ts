/**
 * One customer's usage sync outside the run's loop: a run's candidate (its report, then its key's plan
 * checked) and a webhook's flush of one key's unreported usage (demotion, key move, `invoice.created`).
 * Both wrap `UsageSync.syncCustomer`. Why: see DESIGN.md, "The hourly sync" and "Moving a key".
 *
 * @since 0.3.0
 */
import { Clock, Effect } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import type * as Customer from "./Customer.js"
import type { ApiKeyId } from "./Ids.js"
import * as PlanRepair from "./PlanRepair.js"
import * as SpendCap from "./SpendCap.js"
import * as UsageRead from "./UsageRead.js"
import { syncCustomer } from "./UsageSync.js"
import * as UtcDay from "./UtcDay.js"

/**
 * One candidate of a run: its usage, then its key's plan against the run's list of metered keys (a
 * dry run, `metered` undefined, only reports). The single-process run and fanned-out workers share it.
 *
 * @since 0.3.0
 * @category flows
 */
export const syncCandidate = (
  customer: Customer.Customer,
  observed: UsageRead.Observed,
  metered: ReadonlySet<ApiKeyId> | undefined,
  runStartedAt: number
) =>
  metered === undefined
    ? syncCustomer(customer, observed, { dryRun: true })
    : Effect.flatMap(syncCustomer(customer, observed), (sync) =>
      sync.contended ? Effect.succeed(sync) : SpendCap.enforce(sync.customer, { fresh: true }).pipe(
        Effect.zipRight(PlanRepair.repair(customer, metered, { runStartedAt, flush: flushCustomer })),
        Effect.map((planRepaired) => ({ ...sync, planRepaired }))
      ))

/**
 * Report one customer's unreported metered usage now (demotion, `invoice.created`): reads only that
 * key's usage.
 *
 * @since 0.1.0
 * @category flows
 */
export const flushCustomer = Effect.fn("UsageSync.flushCustomer")(function*(
  customer: Customer.Customer,
  options: { readonly periodEnd?: number | undefined } = {}
) {
  const config = yield* BillingConfig
  const now = yield* Clock.currentTimeMillis
  const days = UtcDay.range(UtcDay.fromMillis(now), config.lookbackDays)
  const observed = yield* UsageRead.readUsage({
    usagePlanId: config.meteredPlanId,
    days,
    apiKeyId: customer.apiKeyId
  })
  // Only the hourly sync closes settle windows: a webhook's flush (the close's own cancel sends some)
  // must not start a second close beside a running one.
  return yield* syncCustomer(customer, observed, { close: false, stampBefore: options.periodEnd })
})
