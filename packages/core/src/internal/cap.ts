/**
 * The spend cap's pure rules, shared by `SpendCap` and the usage view (kept apart so the usage
 * endpoint's bundle carries no key move).
 *
 * @internal
 */
import { Schema } from "effect"
import type { BillingSettings } from "../BillingConfig.js"
import type * as Customer from "../Customer.js"
import type { UsagePlanId } from "../Ids.js"
import * as UtcDay from "../UtcDay.js"

/** The cap period (UTC month, `YYYY-MM`) of an instant, as spend alerts count it. @since 0.4.0 @category utils */
export const periodOf = (nowMillis: number): string => UtcDay.fromMillis(nowMillis).slice(0, 7)

/**
 * The customer's cap in units per period: its record's (0 is none), else `SPEND_CAP_UNITS`; none when
 * no capped plan is configured.
 *
 * @since 0.4.0
 * @category utils
 */
export const capOf = (customer: Customer.Customer, config: BillingSettings): number | undefined => {
  if (config.cappedPlanId === undefined) return undefined
  const units = customer.capUnits ?? config.spendCapUnits
  return units === undefined || units === 0 ? undefined : units
}

/** Whether the record holds its key capped in the period of `nowMillis`. @since 0.4.0 @category predicates */
export const isCapped = (customer: Customer.Customer, nowMillis: number): boolean =>
  customer.plan === "METERED" && customer.capped?.period === periodOf(nowMillis)

/**
 * The usage plan a record's key belongs in: FREE, METERED, or CAPPED for a metered record capped this
 * period (a cap of an earlier period has renewed).
 *
 * @since 0.4.0
 * @category utils
 */
export const keyPlanOf = (customer: Customer.Customer, config: BillingSettings, nowMillis: number): UsagePlanId =>
  customer.plan === "FREE"
    ? config.freePlanId
    : config.cappedPlanId !== undefined && isCapped(customer, nowMillis)
    ? config.cappedPlanId
    : config.meteredPlanId

/** A customer's cap as the usage view shows it. @since 0.4.0 @category models */
export const CapView = Schema.Struct({
  /** Units per billing period (UTC month). */
  units: Schema.Int,
  /** Whether the key is in the capped plan now. */
  capped: Schema.Boolean,
  /** The UTC month, `YYYY-MM`, the cap counts. */
  period: Schema.String
})
/** A customer's cap as the usage view shows it. @since 0.4.0 @category models */
export type CapView = typeof CapView.Type

/** The customer's cap now, none without one. @since 0.4.0 @category utils */
export const viewOf = (
  customer: Customer.Customer,
  config: BillingSettings,
  nowMillis: number
): CapView | undefined => {
  const units = capOf(customer, config)
  return units === undefined
    ? undefined
    : { units, capped: isCapped(customer, nowMillis), period: periodOf(nowMillis) }
}
