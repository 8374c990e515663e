/**
 * Builders of Stripe webhook event JSON in the shape Stripe sends (API 2025), for tests, the demo and
 * downstream repos. Each takes the customer, the `created` time (epoch seconds) and an optional id.
 *
 * @since 0.1.0
 */
import type { Ids } from "@augint-billing/core"

/** Common inputs of every builder. @since 0.1.0 @category models */
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
  api_version: "2026-10-28.endive",
  created: input.created,
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type,
  data: previous === undefined ? { object } : { object, previous_attributes: previous }
})

/** `setup_intent.succeeded`: a card was confirmed for future payments. @since 0.1.0 @category utils */
export const setupIntentSucceeded = (input: Input & { readonly setupIntentId?: string }) =>
  envelope("setup_intent.succeeded", input, {
    id: input.setupIntentId ?? nextId("seti"),
    object: "setup_intent",
    customer: input.customerId,
    status: "succeeded",
    usage: "off_session",
    payment_method: nextId("pm")
  })

/** `payment_method.attached`. @since 0.1.0 @category utils */
export const paymentMethodAttached = (input: Input & { readonly paymentMethodId?: string }) =>
  envelope("payment_method.attached", input, {
    id: input.paymentMethodId ?? nextId("pm"),
    object: "payment_method",
    type: "card",
    customer: input.customerId
  })

/**
 * `payment_method.detached`: Stripe reports the former customer in `previous_attributes`.
 *
 * @since 0.1.0
 * @category utils
 */
export const paymentMethodDetached = (input: Input & { readonly paymentMethodId?: string }) =>
  envelope("payment_method.detached", input, {
    id: input.paymentMethodId ?? nextId("pm"),
    object: "payment_method",
    type: "card",
    customer: null
  }, { customer: input.customerId })

/**
 * Whose invoice it is: a subscription's (the default: made by this library), or a one-off (`null`).
 *
 * @since 0.1.0
 * @category models
 */
export interface InvoiceInput extends Input {
  readonly invoiceId?: string
  /** The subscription that generated the invoice; `null` for a one-off invoice. */
  readonly subscriptionId: Ids.SubscriptionId | null
  /** Whether that subscription carries this library's `managed_by` metadata (default true). */
  readonly managed?: boolean
}

// API 2025-03-31 on: `parent.subscription_details` names the subscription and snapshots its metadata.
const parentOf = (input: InvoiceInput) =>
  input.subscriptionId === null ? null : {
    type: "subscription_details",
    quote_details: null,
    subscription_details: {
      subscription: input.subscriptionId,
      metadata: input.managed === false ? {} : { managed_by: "augint-billing" }
    }
  }

/**
 * `invoice.payment_failed`; `nextPaymentAttempt` null (the default) means Stripe will not retry.
 *
 * @since 0.1.0
 * @category utils
 */
export const invoicePaymentFailed = (
  input: InvoiceInput & {
    readonly nextPaymentAttempt?: number | null
    readonly attemptCount?: number
  }
) =>
  envelope("invoice.payment_failed", input, {
    id: input.invoiceId ?? nextId("in"),
    object: "invoice",
    customer: input.customerId,
    parent: parentOf(input),
    status: "open",
    attempt_count: input.attemptCount ?? 4,
    next_payment_attempt: input.nextPaymentAttempt ?? null
  })

/** `invoice.paid`. @since 0.1.0 @category utils */
export const invoicePaid = (input: InvoiceInput) =>
  envelope("invoice.paid", input, {
    id: input.invoiceId ?? nextId("in"),
    object: "invoice",
    customer: input.customerId,
    parent: parentOf(input),
    status: "paid"
  })

/**
 * `invoice.created`: a draft, which Stripe finalizes about an hour later; `periodEnd` (epoch seconds)
 * is the end of the period it invoices (`period_end`), absent when not given.
 *
 * @since 0.1.0
 * @category utils
 */
export const invoiceCreated = (input: InvoiceInput & { readonly periodEnd?: number }) =>
  envelope("invoice.created", input, {
    id: input.invoiceId ?? nextId("in"),
    object: "invoice",
    customer: input.customerId,
    parent: parentOf(input),
    status: "draft",
    ...(input.periodEnd === undefined ? {} : { period_end: input.periodEnd })
  })

/** `customer.subscription.updated`. @since 0.1.0 @category utils */
export const subscriptionUpdated = (
  input: Input & { readonly subscriptionId: Ids.SubscriptionId; readonly status: string }
) =>
  envelope("customer.subscription.updated", input, {
    id: input.subscriptionId,
    object: "subscription",
    customer: input.customerId,
    status: input.status
  })

/** `customer.subscription.deleted`. @since 0.1.0 @category utils */
export const subscriptionDeleted = (input: Input & { readonly subscriptionId: Ids.SubscriptionId }) =>
  envelope("customer.subscription.deleted", input, {
    id: input.subscriptionId,
    object: "subscription",
    customer: input.customerId,
    status: "canceled"
  })

/** `customer.deleted`. @since 0.1.0 @category utils */
export const customerDeleted = (input: Input) =>
  envelope("customer.deleted", input, { id: input.customerId, object: "customer", deleted: true })
