/**
 * Reading the ledger, shared by the usage view and the spend alerts (kept out of `CustomerUsage` so
 * the sync does not bundle the view).
 *
 * @internal
 */
import * as Customer from "../Customer.js"
import * as UtcDay from "../UtcDay.js"

/** Units Stripe accepted for the customer on `days`: the ledger plus `stripeOffset`, less what was written off. */
export const reportedOn = (customer: Customer.Customer, days: ReadonlyArray<UtcDay.UtcDay>): number =>
  days.reduce(
    (sum, d) =>
      sum +
      Math.max(0, Customer.reported(customer, d) + (customer.stripeOffset?.[d] ?? 0) - (customer.unbillable?.[d] ?? 0)),
    0
  )

/** Units Stripe accepted for the customer over the UTC month of `nowMillis` to date (a billing period of alerts and caps). */
export const reportedThisMonth = (customer: Customer.Customer, nowMillis: number): number => {
  const today = UtcDay.fromMillis(nowMillis)
  return reportedOn(customer, UtcDay.between(`${today.slice(0, 8)}01` as UtcDay.UtcDay, today))
}
