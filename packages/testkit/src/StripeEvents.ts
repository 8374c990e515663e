/**
 * Builders of Stripe webhook event JSON in the shape Stripe sends (API 2025), for tests, the demo and
 * downstream repos. Each takes the customer, the `created` time (epoch seconds) and an optional id.
 *
 * @since 0.1.0
 */
import type { Ids } from "@augint-billing/core"

/** Common inputs of every builder. */
export interface Input {
  readonly customerId: Ids.CustomerId
  /** Epoch seconds. */
  readonly created: number
  /** The event id (default: derived from a counter). */
  readonly id?: string
}

let sequence = 0
const nextId = (prefix: string) => `${prefix}_${(++sequence).toString(36).padStart(8, "0")}${Date.now().toString(36)}`

const envelope = (type: string, input: Input, object: Record<string, unknown>, previous?: Record<string, unknown>) => ({
  id: input.id ?? nextId("evt"),
  object: "event",
  api_version: "2025-03-31.basil",
  created: input.created,
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type,
  data: previous === undefined ? { object } : { object, previous_attributes: previous }
})

/** `setup_intent.succeeded`: a card was confirmed for future payments. */
export const setupIntentSucceeded = (input: Input & { readonly setupIntentId?: string }) =>
  envelope("setup_intent.succeeded", input, {
    id: input.setupIntentId ?? nextId("seti"),
    object: "setup_intent",
    customer: input.customerId,
    status: "succeeded",
    usage: "off_session",
    payment_method: nextId("pm")
  })

/** `payment_method.attached`. */
export const paymentMethodAttached = (input: Input & { readonly paymentMethodId?: string }) =>
  envelope("payment_method.attached", input, {
    id: input.paymentMethodId ?? nextId("pm"),
    object: "payment_method",
    type: "card",
    customer: input.customerId
  })

/** `payment_method.detached`: Stripe reports the former customer in `previous_attributes`. */
export const paymentMethodDetached = (input: Input & { readonly paymentMethodId?: string }) =>
  envelope("payment_method.detached", input, {
    id: input.paymentMethodId ?? nextId("pm"),
    object: "payment_method",
    type: "card",
    customer: null
  }, { customer: input.customerId })

/** `invoice.payment_failed`; `nextPaymentAttempt` null (the default) means Stripe will not retry. */
export const invoicePaymentFailed = (
  input: Input & {
    readonly invoiceId?: string
    readonly nextPaymentAttempt?: number | null
    readonly attemptCount?: number
  }
) =>
  envelope("invoice.payment_failed", input, {
    id: input.invoiceId ?? nextId("in"),
    object: "invoice",
    customer: input.customerId,
    status: "open",
    attempt_count: input.attemptCount ?? 4,
    next_payment_attempt: input.nextPaymentAttempt ?? null
  })

/** `invoice.paid`. */
export const invoicePaid = (input: Input & { readonly invoiceId?: string }) =>
  envelope("invoice.paid", input, {
    id: input.invoiceId ?? nextId("in"),
    object: "invoice",
    customer: input.customerId,
    status: "paid"
  })

/** `invoice.created`. */
export const invoiceCreated = (input: Input & { readonly invoiceId?: string }) =>
  envelope("invoice.created", input, {
    id: input.invoiceId ?? nextId("in"),
    object: "invoice",
    customer: input.customerId,
    status: "draft"
  })

/** `customer.subscription.updated`. */
export const subscriptionUpdated = (
  input: Input & { readonly subscriptionId: Ids.SubscriptionId; readonly status: string }
) =>
  envelope("customer.subscription.updated", input, {
    id: input.subscriptionId,
    object: "subscription",
    customer: input.customerId,
    status: input.status
  })

/** `customer.subscription.deleted`. */
export const subscriptionDeleted = (input: Input & { readonly subscriptionId: Ids.SubscriptionId }) =>
  envelope("customer.subscription.deleted", input, {
    id: input.subscriptionId,
    object: "subscription",
    customer: input.customerId,
    status: "canceled"
  })

/** `customer.deleted`. */
export const customerDeleted = (input: Input) =>
  envelope("customer.deleted", input, { id: input.customerId, object: "customer", deleted: true })
