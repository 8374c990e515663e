/**
 * The in-memory Stripe's invoice previews and card setup pages: a subscription's billing periods
 * (monthly from its creation, Stripe's default billing cycle anchor), what its invoice would bill for
 * the meter's usage so far, and Checkout Sessions in setup mode. Re-exported by `StripeMemory`.
 */
import { type Ids, Stripe } from "@augint-billing/core"
import * as MemoryState from "../MemoryState.js"
import * as StripeEvents from "../StripeEvents.js"
import { attachCard } from "./payments.js"

const invalid = (message: string) => new Stripe.StripeError({ reason: "InvalidRequest", message })
const notFound = (message: string) => new Stripe.StripeError({ reason: "NotFound", message })

/**
 * `anchorMillis` moved by `months` calendar months in UTC, its day clamped to the month's last day
 * (a subscription anchored on the 31st renews on the 30th, or February's last day, and back on the 31st).
 *
 * @since 0.2.0
 * @category utils
 */
export const addMonths = (anchorMillis: number, months: number): number => {
  const a = new Date(anchorMillis)
  const y = a.getUTCFullYear()
  const m = a.getUTCMonth() + months
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate()
  return Date.UTC(y, m, Math.min(a.getUTCDate(), last), a.getUTCHours(), a.getUTCMinutes(), a.getUTCSeconds())
}

/**
 * The monthly billing period of a subscription created at `createdAt` that contains `now` (epoch
 * millis), `[start, end)`.
 *
 * @since 0.2.0
 * @category utils
 */
export const currentPeriod = (createdAt: number, now: number): { readonly start: number; readonly end: number } => {
  let k = 0
  while (addMonths(createdAt, k + 1) <= now) k++
  return { start: addMonths(createdAt, k), end: addMonths(createdAt, k + 1) }
}

/**
 * The invoice Stripe would send for the subscription's current period: the meter's sum over the
 * customer's events in the period (a meter bills a customer's usage, whichever key sent it) times the
 * price's `unit_amount_decimal`, the line amount rounded to a whole smallest unit.
 *
 * @since 0.2.0
 * @category utils
 */
export const preview = (
  state: MemoryState.State,
  input: { readonly customerId: Ids.CustomerId; readonly subscriptionId: Ids.SubscriptionId },
  now: number
): Stripe.InvoicePreview | Stripe.StripeError => {
  const sub = state.subscriptions.get(input.subscriptionId)
  if (sub === undefined) return notFound(`No such subscription: '${input.subscriptionId}'`)
  if (sub.customerId !== input.customerId) {
    return invalid(`subscription ${input.subscriptionId} does not belong to customer ${input.customerId}`)
  }
  if (sub.status === "canceled") return invalid(`subscription ${input.subscriptionId} is canceled: no upcoming invoice`)
  const period = currentPeriod(sub.createdAt, now)
  const start = Math.floor(period.start / 1000)
  const end = Math.floor(period.end / 1000)
  const units = state.meterEvents
    .filter((e) => e.customerId === input.customerId && e.timestamp >= start && e.timestamp < end)
    .reduce((sum, e) => sum + e.value, 0)
  const total = Math.round(units * state.meteredPrice.unitAmountDecimal)
  return { currency: state.meteredPrice.currency, total, amountDue: total, units, periodStart: start, periodEnd: end }
}

/**
 * A Checkout Session in setup mode; the same idempotency key within 24 hours answers the session it
 * made, as Stripe replays an idempotent request.
 *
 * @since 0.2.0
 * @category utils
 */
export const setupSession = (
  state: MemoryState.State,
  input: { readonly customerId: Ids.CustomerId; readonly idempotencyKey: string; readonly currency: string },
  now: number
): Stripe.SetupSession | Stripe.StripeError => {
  const customer = state.stripeCustomers.get(input.customerId)
  if (customer === undefined || customer.deleted) return notFound(`No such customer: '${input.customerId}'`)
  if (!/^[a-z]{3}$/.test(input.currency)) return invalid(`Invalid currency: ${input.currency}`)
  for (const s of state.setupSessions.values()) {
    if (s.idempotencyKey === input.idempotencyKey && now - s.createdAt < 86_400_000) {
      return { id: s.id, url: s.url, expiresAt: s.expiresAt }
    }
  }
  const id = `cs_test_mem${state.nextId++}`
  // Checkout Sessions expire 24 hours after creation by default (`expires_at`).
  const session: MemoryState.MemorySetupSession = {
    id,
    customerId: input.customerId,
    url: `https://checkout.stripe.com/c/pay/${id}`,
    idempotencyKey: input.idempotencyKey,
    createdAt: now,
    expiresAt: Math.floor(now / 1000) + 86_400,
    status: "open"
  }
  state.setupSessions.set(id, session)
  return { id, url: session.url, expiresAt: session.expiresAt }
}

/**
 * The customer completes a setup-mode Checkout Session: a card is attached (not made a default, as
 * with any SetupIntent) and Stripe sends `setup_intent.succeeded` naming it, returned here as event
 * JSON (also listed by `listEvents`). Undefined for an unknown, completed or expired session.
 *
 * @since 0.2.0
 * @category utils
 */
export const completeSetupSession = (
  state: MemoryState.State,
  sessionId: string,
  nowSeconds: number
): unknown => {
  const session = state.setupSessions.get(sessionId)
  if (session === undefined || session.status !== "open" || nowSeconds >= session.expiresAt) return undefined
  const card = attachCard(state, session.customerId)
  if (card === undefined) return undefined
  session.status = "complete"
  const event = StripeEvents.setupIntentSucceeded({ customerId: session.customerId, created: nowSeconds })
  const json = { ...event, data: { object: { ...event.data.object, payment_method: card } } }
  state.events.push({ created: nowSeconds, json })
  return json
}
