/**
 * The spend cap's invariants (issue 12), checked on the in-memory state after a sync settled, beside
 * `Invariants.violations`: a key is capped exactly while its record is capped this period (never left
 * capped after a renewal), a customer at its cap is capped, and a capped key is never billed past its
 * cap plus what API Gateway counted in the metered plan before the move landed.
 *
 * @since 0.4.0
 */
import { type BillingConfig, type Ids, SpendCap, UtcDay } from "@augint-billing/core"
import { billed } from "./Invariants.js"
import type { State } from "./MemoryState.js"

/** Units a customer was billed, and its key counted in a plan, over the UTC month of `now` to date. @since 0.4.0 @category utils */
export const periodTotals = (
  state: State,
  customer: { readonly customerId: Ids.CustomerId; readonly apiKeyId: Ids.ApiKeyId },
  usagePlanId: Ids.UsagePlanId,
  now: number
): { readonly billed: number; readonly counted: number } => {
  const today = UtcDay.fromMillis(now)
  const days = UtcDay.between(`${today.slice(0, 8)}01` as UtcDay.UtcDay, today)
  const counts = state.usage.get(usagePlanId)?.get(customer.apiKeyId)
  return {
    billed: days.reduce((sum, day) => sum + billed(state, customer.customerId, day), 0),
    counted: days.reduce((sum, day) => sum + (counts?.get(day) ?? 0), 0)
  }
}

/**
 * Every cap violation, one line each (empty when all hold), at `now` after a sync settled:
 * 1. a key in the capped plan belongs to a metered record capped this period (a cap renews at
 *    midnight UTC on the 1st: no key is left capped after it);
 * 2. a record capped this period has its key in the capped plan;
 * 3. a metered record whose reported units this period reached its cap is capped;
 * 4. a capped key is billed this period no more than the metered plan counted (its cap, reached, plus
 *    what API Gateway counted before the move landed): nothing counted in the capped plan is billed.
 *
 * @since 0.4.0
 * @category utils
 */
export const capViolations = (
  state: State,
  customers: ReadonlyArray<{ readonly customerId: Ids.CustomerId; readonly apiKeyId: Ids.ApiKeyId }>,
  config: BillingConfig.BillingSettings,
  now: number
): ReadonlyArray<string> => {
  const out: Array<string> = []
  const cappedPlanId = config.cappedPlanId
  if (cappedPlanId === undefined) return out
  for (const customer of customers) {
    const record = state.records.get(customer.customerId)
    const inCapped = state.membership.get(customer.apiKeyId)?.has(cappedPlanId) ?? false
    if (record === undefined) continue
    const capped = SpendCap.isCapped(record, now)
    if (inCapped && !capped) {
      out.push(
        `${customer.customerId}: key in the capped plan, record ${record.plan} capped for ${
          record.capped?.period ?? "no period"
        } (now ${SpendCap.periodOf(now)})`
      )
    }
    if (capped && !inCapped) out.push(`${customer.customerId}: record capped this period, key not in the capped plan`)
    const cap = SpendCap.capOf(record, config)
    const units = SpendCap.periodUnits(record, now)
    if (record.plan === "METERED" && cap !== undefined && units >= cap && !capped) {
      out.push(`${customer.customerId}: ${units} units reported this period, cap ${cap}, not capped`)
    }
    if (inCapped) {
      const totals = periodTotals(state, customer, config.meteredPlanId, now)
      if (totals.billed > totals.counted) {
        out.push(
          `${customer.customerId}: capped, billed ${totals.billed} this period, more than the ${totals.counted} the metered plan counted`
        )
      }
    }
  }
  return out
}
