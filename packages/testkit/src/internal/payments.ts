/**
 * The in-memory Stripe's cards and invoices: which card Stripe would charge (the subscription's
 * default payment method, else the customer's invoice default, else its default source), cards that
 * are attached without becoming a default, and the merchant's other invoices. Re-exported by
 * `StripeMemory`.
 */
import type { Ids } from "@augint-billing/core"
import * as MemoryState from "../MemoryState.js"

/**
 * A customer's attached payment methods, oldest first: `cards` brought in line with the count
 * `paymentMethods` (what the driver and the CLI set): a card attached gets a new id, the newest are
 * detached first, and an invoice default that was detached is cleared, as Stripe clears it.
 *
 * @since 0.2.0
 * @category utils
 */
export const attachedCards = (state: MemoryState.State, customer: MemoryState.MemoryStripeCustomer) => {
  const cards = customer.cards ?? (customer.cards = [])
  while (cards.length < customer.paymentMethods) cards.push(`pm_mem${state.nextId++}`)
  while (cards.length > Math.max(0, customer.paymentMethods)) cards.pop()
  if (customer.invoiceDefault !== undefined && !cards.includes(customer.invoiceDefault)) {
    customer.invoiceDefault = undefined
  }
  return cards as ReadonlyArray<string>
}

/**
 * Attach a card (a new id unless given) without making it any default: a SetupIntent or
 * `payment_method.attach` sets neither `invoice_settings.default_payment_method` nor a subscription's
 * `default_payment_method` (docs.stripe.com/billing/revenue-recovery/smart-retries, "Payment method
 * ordering"). Returns its id.
 *
 * @since 0.2.0
 * @category utils
 */
export const attachCard = (state: MemoryState.State, customerId: Ids.CustomerId, id?: string): string | undefined => {
  const c = state.stripeCustomers.get(customerId)
  if (c === undefined) return undefined
  const cards = attachedCards(state, c) as Array<string>
  const card = id ?? `pm_mem${state.nextId++}`
  if (!cards.includes(card)) cards.push(card)
  c.paymentMethods = cards.length
  return card
}

/**
 * Detach a card; a subscription or invoice default that named it no longer charges it (users report
 * Stripe sets `subscription.default_payment_method` to null then: github.com/chdsbd/kodiak/pull/709).
 *
 * @since 0.2.0
 * @category utils
 */
export const detachCard = (state: MemoryState.State, customerId: Ids.CustomerId, id: string): void => {
  const c = state.stripeCustomers.get(customerId)
  if (c === undefined) return
  const cards = (attachedCards(state, c) as Array<string>).filter((card) => card !== id)
  c.cards = cards
  c.paymentMethods = cards.length
  if (c.invoiceDefault === id) c.invoiceDefault = undefined
  for (const s of state.subscriptions.values()) {
    if (s.customerId === customerId && s.defaultPaymentMethod === id) s.defaultPaymentMethod = undefined
  }
}

/**
 * The card Stripe charges an invoice of `subscription` to: its `default_payment_method`, else the
 * customer's `invoice_settings.default_payment_method`, else `default_source`; undefined when none, and
 * then the invoice fails and Smart Retries do not retry (docs.stripe.com/billing/revenue-recovery/
 * smart-retries: "Stripe doesn't retry payments if no payment methods are available").
 *
 * @since 0.2.0
 * @category utils
 */
export const chargedCard = (
  state: MemoryState.State,
  subscription: MemoryState.MemorySubscription
): string | undefined => {
  const c = state.stripeCustomers.get(subscription.customerId)
  if (c === undefined || c.deleted) return undefined
  const cards = attachedCards(state, c)
  const card = [subscription.defaultPaymentMethod, c.invoiceDefault].find((id) =>
    id !== undefined && cards.includes(id)
  )
  return card ?? c.defaultSource
}

/**
 * Give the customer a subscription to another of the merchant's products (another price, made
 * outside this library): its invoices are not the metered subscription's.
 *
 * @since 0.2.0
 * @category utils
 */
export const otherSubscription = (state: MemoryState.State, customerId: Ids.CustomerId, nowMillis = 0) => {
  const id = `sub_other${state.nextId++}` as Ids.SubscriptionId
  state.subscriptions.set(id, {
    id,
    customerId,
    status: "active",
    invoicedNow: false,
    createdAt: nowMillis,
    canceledAt: undefined,
    other: true
  })
  return id
}

const charge = (
  state: MemoryState.State,
  invoice: Omit<MemoryState.MemoryInvoice, "status" | "attemptCount" | "nextPaymentAttempt" | "autoAdvance">,
  card: string | undefined,
  options: { readonly nowSeconds: number; readonly declined?: boolean; readonly retries: boolean }
): MemoryState.MemoryInvoice => {
  const paid = card !== undefined && options.declined !== true
  const made: MemoryState.MemoryInvoice = {
    ...invoice,
    status: paid ? "paid" : "open",
    autoAdvance: !paid,
    attemptCount: 1,
    // Stripe doesn't retry when no payment method is available (docs.stripe.com/billing/revenue-recovery/
    // smart-retries); a declined subscription invoice is retried on the Smart Retries schedule.
    nextPaymentAttempt: paid || card === undefined || !options.retries ? undefined : options.nowSeconds + 3 * 86_400
  }
  state.invoices.set(made.id, made)
  return made
}

/**
 * A renewal invoice of a subscription, charged the way Stripe charges it (`chargedCard`): paid, or
 * open after a failed attempt, with a next attempt only when a card was there to decline.
 *
 * @since 0.2.0
 * @category utils
 */
export const renewalInvoice = (
  state: MemoryState.State,
  subscriptionId: Ids.SubscriptionId,
  options: { readonly nowSeconds: number; readonly declined?: boolean }
): MemoryState.MemoryInvoice => {
  const sub = state.subscriptions.get(subscriptionId)!
  return charge(
    state,
    {
      id: `in_mem${state.nextId++}`,
      customerId: sub.customerId,
      subscriptionId,
      metered: sub.other !== true
    },
    chargedCard(state, sub),
    { ...options, retries: true }
  )
}

/**
 * A one-off invoice (no subscription), charged to the customer's invoice default: one that fails is
 * not retried automatically (`next_payment_attempt` null after one failure).
 *
 * @since 0.2.0
 * @category utils
 */
export const oneOffInvoice = (
  state: MemoryState.State,
  customerId: Ids.CustomerId,
  options: { readonly nowSeconds: number; readonly declined?: boolean }
): MemoryState.MemoryInvoice => {
  const c = state.stripeCustomers.get(customerId)
  const cards = c === undefined ? [] : attachedCards(state, c)
  const card = c?.invoiceDefault !== undefined && cards.includes(c.invoiceDefault) ? c.invoiceDefault : c?.defaultSource
  return charge(state, { id: `in_mem${state.nextId++}`, customerId, subscriptionId: undefined, metered: false }, card, {
    ...options,
    retries: false
  })
}

/**
 * Pay an open invoice now with `card` (`POST /v1/invoices/:id/pay` with `payment_method`): it is paid
 * whether or not Stripe still collected it by itself, since paying "out of the normal collection
 * schedule" is what the endpoint is for (docs.stripe.com/api/invoices/pay). Returns why Stripe refuses
 * (an invoice that is not open, a card the customer does not have, a declined card), or undefined.
 *
 * @since 0.2.0
 * @category utils
 */
export const payWith = (state: MemoryState.State, invoiceId: string, card: string): string | undefined => {
  const invoice = state.invoices.get(invoiceId)
  if (invoice === undefined) return `No such invoice: '${invoiceId}'`
  // "Automatic advancement and collection never occur on invoices that are marked uncollectible, void,
  // or paid" (docs.stripe.com/invoicing/integration/automatic-advancement-collection).
  if (invoice.status !== "open") return `Invoice ${invoiceId} is ${invoice.status}: only an open invoice can be paid`
  const c = state.stripeCustomers.get(invoice.customerId)
  if (c === undefined || c.deleted || !attachedCards(state, c).includes(card)) {
    return `The customer does not have a payment method with the ID ${card}`
  }
  invoice.attemptCount++
  if (state.declinedCards.has(card)) return `Your card was declined (${card})`
  invoice.status = "paid"
  invoice.autoAdvance = false
  invoice.nextPaymentAttempt = undefined
  return undefined
}

/**
 * Cancel a subscription as Stripe does: at `now`, with a final invoice when `invoiceNow`, and "by
 * default, upon subscription cancellation, Stripe stops automatic collection of all finalized invoices
 * for the customer" (docs.stripe.com/api/subscriptions/cancel). An already cancelled one is left as is.
 *
 * @since 0.4.0
 * @category utils
 */
export const cancel = (
  state: MemoryState.State,
  s: MemoryState.MemorySubscription,
  options: { readonly now: number; readonly invoiceNow: boolean }
): void => {
  if (s.status === "canceled") return
  s.status = "canceled"
  s.invoicedNow = options.invoiceNow
  s.canceledAt = options.now
  for (const invoice of state.invoices.values()) {
    if (invoice.customerId === s.customerId && invoice.status === "open" && invoice.autoAdvance) {
      invoice.autoAdvance = false
      invoice.stoppedAttempt = invoice.nextPaymentAttempt
      invoice.nextPaymentAttempt = undefined
    }
  }
}

/**
 * The merchant cancels a subscription themselves (Dashboard, or their own API call) with no final
 * invoice: what it had not invoiced is on no invoice (`Invariants.lostToMerchantCancel`).
 *
 * @since 0.4.0
 * @category utils
 */
export const merchantCancel = (state: MemoryState.State, subscriptionId: Ids.SubscriptionId, now: number): void => {
  const s = state.subscriptions.get(subscriptionId)
  if (s === undefined || s.status === "canceled") return
  cancel(state, s, { now, invoiceNow: false })
  s.canceledByMerchant = true
}
