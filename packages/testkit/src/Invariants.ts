/**
 * DESIGN.md's invariants, checked on the in-memory state after the events settled: the demo and the
 * property tests use it, and downstream repos can assert the same on their own histories.
 *
 * @since 0.1.0
 */
import { type Ids, UtcDay } from "@augint-billing/core"
import type { State } from "./MemoryState.js"
import { chargedCard } from "./StripeMemory.js"

/** Subscription statuses under which Stripe keeps invoicing. @since 0.1.0 @category constants */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(["active", "trialing", "past_due"])

/** Units of a customer's accepted meter events with a timestamp inside `day`. @since 0.1.0 @category utils */
export const billed = (state: State, customerId: Ids.CustomerId, day: UtcDay.UtcDay): number => {
  const from = UtcDay.startMillis(day) / 1000
  const to = (UtcDay.endMillis(day) + 1) / 1000
  let sum = 0
  for (const e of state.meterEvents) {
    if (e.customerId === customerId && e.timestamp >= from && e.timestamp < to) sum += e.value
  }
  return sum
}

/**
 * Whether the customer has a live subscription that Stripe would charge to a card: its default payment
 * method, else the customer's invoice default, else its default source (an attached card that is none
 * of these pays nothing).
 *
 * @since 0.1.0
 * @category utils
 */
export const canPay = (state: State, customerId: Ids.CustomerId): boolean =>
  [...state.subscriptions.values()].some((s) =>
    s.customerId === customerId && s.other !== true && LIVE_STATUSES.has(s.status) &&
    chargedCard(state, s) !== undefined
  )

/**
 * The customer's subscriptions whose invoices carry a meter event: Stripe invoices it on every
 * subscription to the meter's price (not the merchant's other products) whose life holds its timestamp
 * (from the creation second), and only if it arrived before that subscription's final invoice (a cancel
 * with `invoice_now`). A subscription the merchant cancelled makes no final invoice and counts for none
 * (`lostToMerchantCancel`). Billing Meters map a customer's usage to each of the customer's subscriptions to
 * the price (docs.stripe.com/billing/subscriptions/usage-based/implementation-guide).
 *
 * @since 0.3.0
 * @category utils
 */
export const invoicesOf = (
  state: State,
  event: { readonly customerId: Ids.CustomerId; readonly timestamp: number; readonly acceptedAt: number }
): ReadonlyArray<Ids.SubscriptionId> => {
  const out: Array<Ids.SubscriptionId> = []
  for (const s of state.subscriptions.values()) {
    if (s.customerId !== event.customerId || s.other === true || Math.floor(s.createdAt / 1000) > event.timestamp) {
      continue
    }
    // Cancelled by the merchant without a final invoice: what it had not invoiced is on no invoice (the
    // model keeps no renewal periods, so none of its life counts; `lostToMerchantCancel` excuses it).
    if (s.canceledByMerchant === true) continue
    if (s.canceledAt === undefined || (event.timestamp * 1000 < s.canceledAt && event.acceptedAt <= s.canceledAt)) {
      out.push(s.id)
    }
  }
  return out
}

/**
 * Whether a meter event is on no invoice because the merchant cancelled the subscription that would
 * have billed it, without a final invoice (Dashboard or API: cancelling "does not generate a final
 * invoice" unless `invoice_now`, docs.stripe.com/api/subscriptions/cancel). Either the event's
 * timestamp is in that subscription's life (the model keeps no renewal periods, so its whole life counts
 * as not yet invoiced), or it was stamped after the cancel and before the customer's next subscription
 * began (the demotion the cancel causes still reports what the key counted while metered). Nothing
 * stamped in a later subscription's life is excused: an event on no invoice there is a violation.
 *
 * @since 0.4.0
 * @category utils
 */
export const lostToMerchantCancel = (
  state: State,
  event: { readonly customerId: Ids.CustomerId; readonly timestamp: number; readonly acceptedAt: number }
): boolean => {
  const stamped = event.timestamp * 1000
  const ours = [...state.subscriptions.values()].filter((s) => s.customerId === event.customerId && s.other !== true)
  return ours.some((s) => {
    if (s.canceledByMerchant !== true || s.canceledAt === undefined) return false
    const canceledAt = s.canceledAt
    if (Math.floor(s.createdAt / 1000) > event.timestamp) return false
    if (stamped < canceledAt) return true
    const next = Math.min(
      ...ours.filter((o) => o.id !== s.id && o.createdAt > canceledAt).map((o) => Math.floor(o.createdAt / 1000))
    )
    return event.timestamp < next
  })
}

/**
 * Every violation, one line each (empty when all hold):
 * 1. per customer and UTC day, units accepted by Stripe == units counted in the metered plan, less what the
 *    record wrote off as unbillable (`Customer.unbillable`), which only a customer deleted in Stripe may have;
 * 2. the key is in exactly one plan, METERED (or `cappedPlanId`, the spend cap's) exactly when the record
 *    says METERED, exactly when the customer has a live subscription and a payment method; no report is
 *    left pending (`CapInvariants` checks when a key may be capped);
 * 3. every accepted meter event is on exactly one invoice: its timestamp falls inside the billed life of
 *    exactly one of the customer's subscriptions (`invoicesOf`): Billing Meters bill a customer's events
 *    on every live subscription to the meter's price, so two lives holding it bill it twice; on none
 *    only when the merchant cancelled the subscription without a final invoice (`lostToMerchantCancel`);
 * 4. no usage is billed twice: a METERED customer has one open subscription, the record's; a FREE one
 *    whose settle window closed has none;
 * 5. a renewal invoice of a promoted customer is charged to a card Stripe would use: the record's
 *    subscription has a default payment method, or the customer an invoice default, that is attached;
 * 6. every invoice that carries metered usage is paid or still collectable: open with automatic
 *    collection on and a next attempt scheduled, or (a cancel or exhausted retries stopped that) the
 *    customer has no card to pay it with yet; once the customer is promoted again (a card Stripe
 *    charges), none is written off.
 *
 * @since 0.1.0
 * @category utils
 */
export const violations = (
  state: State,
  customers: ReadonlyArray<{ readonly customerId: Ids.CustomerId; readonly apiKeyId: Ids.ApiKeyId }>,
  meteredPlanId: Ids.UsagePlanId,
  cappedPlanId?: Ids.UsagePlanId
): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const { apiKeyId, customerId } of customers) {
    const metered = state.usage.get(meteredPlanId)?.get(apiKeyId) ?? new Map<UtcDay.UtcDay, number>()
    const days = new Set<UtcDay.UtcDay>(metered.keys())
    for (const e of state.meterEvents) {
      if (e.customerId === customerId) days.add(UtcDay.fromMillis(e.timestamp * 1000))
    }
    const record = state.records.get(customerId)
    const unbillable = record?.unbillable ?? {}
    for (const day of days) {
      const used = metered.get(day) ?? 0
      const got = billed(state, customerId, day)
      const writtenOff = unbillable[day] ?? 0
      if (got + writtenOff !== used) {
        const off = writtenOff === 0 ? "" : ` (and ${writtenOff} unbillable)`
        out.push(`${customerId} on ${day}: billed ${got}${off}, used while metered ${used}`)
      }
    }
    if (Object.keys(unbillable).length > 0 && state.stripeCustomers.get(customerId)?.deleted !== true) {
      out.push(`${customerId}: usage written off as unbillable, but the customer is not deleted in Stripe`)
    }
    const plans = [...(state.membership.get(apiKeyId) ?? [])]
    const pays = canPay(state, customerId)
    if (record === undefined) {
      out.push(`${customerId}: no record`)
      continue
    }
    const inMetered = plans.length === 1 && (plans[0] === meteredPlanId || plans[0] === cappedPlanId)
    if (plans.length !== 1 || inMetered !== (record.plan === "METERED") || (record.plan === "METERED") !== pays) {
      out.push(`${customerId}: record ${record.plan}, key in [${plans.join(",")}], live subscription and card: ${pays}`)
    }
    if (record.pending !== undefined) out.push(`${customerId}: a report is still pending`)
    for (const invoice of state.invoices.values()) {
      if (invoice.customerId !== customerId || !invoice.metered || invoice.status === "paid") continue
      // A write-off waits for the customer's next card; a promoted customer has one. Stripe collects an
      // open invoice by itself only while automatic collection is on and it has an attempt to make.
      const collecting = invoice.autoAdvance && invoice.nextPaymentAttempt !== undefined
      if (invoice.status !== "open" || (!collecting && record.plan === "METERED")) {
        out.push(`${customerId}: invoice ${invoice.id} carries metered usage and is written off (${invoice.status})`)
      }
    }
    const held = record.subscriptionId === undefined ? undefined : state.subscriptions.get(record.subscriptionId)
    if (record.plan === "METERED" && (held === undefined || chargedCard(state, held) === undefined)) {
      out.push(
        `${customerId}: promoted, but a renewal invoice of ${
          record.subscriptionId ?? "no subscription"
        } is charged to no card`
      )
    }
    // The merchant's other products are not ours to hold or to cancel.
    const open = [...state.subscriptions.values()].filter((s) =>
      s.customerId === customerId && s.status !== "canceled" && s.other !== true
    )
    const expected = record.plan === "METERED" && record.subscriptionId !== undefined
      ? [record.subscriptionId]
      : record.settleUntil === undefined
      ? []
      : open.filter((s) => s.id === record.subscriptionId).map((s) => s.id)
    if (open.length !== expected.length || open.some((s) => !expected.includes(s.id))) {
      out.push(
        `${customerId}: open subscriptions [${open.map((s) => s.id).join(",")}], record ${record.plan} holds ${
          record.subscriptionId ?? "none"
        }`
      )
    }
    for (const e of state.meterEvents) {
      if (e.customerId !== customerId) continue
      const on = invoicesOf(state, e).length
      if (on === 0 && lostToMerchantCancel(state, e)) continue
      if (on === 0) {
        out.push(
          `${customerId}: a meter event stamped ${e.timestamp}, accepted at ${e.acceptedAt}, is on no subscription's invoice`
        )
      } else if (on > 1) {
        out.push(
          `${customerId}: a meter event stamped ${e.timestamp}, accepted at ${e.acceptedAt}, is on ${on} subscriptions' invoices`
        )
      }
    }
  }
  return out
}
