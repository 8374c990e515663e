/**
 * The `Stripe` port: metered subscriptions, Billing Meter events, customers, events and webhook
 * verification.
 *
 * @since 0.1.0
 */
import type { Effect, Stream } from "effect"
import { Context, Duration, Schema } from "effect"
import { CustomerId, MeterEventIdentifier, SubscriptionId } from "./Ids.js"
import { fnv1a64 } from "./internal/hash.js"

/**
 * Why a Stripe call failed. Only `RateLimited`, `Transport`, `Server`, `Timeout` and `Locked` are transient.
 *
 * @since 0.1.0
 * @category utils
 */
export const StripeErrorReason = Schema.Literal(
  "RateLimited",
  "Transport",
  "Server",
  "Timeout",
  "Locked",
  "InvalidRequest",
  "Authentication",
  "IdempotencyConflict",
  "NotFound"
)
/** Why a Stripe call failed. @since 0.1.0 @category models */
export type StripeErrorReason = typeof StripeErrorReason.Type

/** A failed Stripe call. @since 0.1.0 @category errors */
export class StripeError extends Schema.TaggedError<StripeError>()("StripeError", {
  reason: StripeErrorReason,
  message: Schema.String,
  /** Stripe's `Retry-After`, in milliseconds, when it sent one. */
  retryAfterMillis: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect)
}) {
  /** Whether retrying the same call may succeed. */
  get isTransient(): boolean {
    return transientReasons.has(this.reason)
  }
}

const transientReasons: ReadonlySet<StripeErrorReason> = new Set([
  "RateLimited",
  "Transport",
  "Server",
  "Timeout",
  "Locked"
])

/** Why a webhook delivery was refused. @since 0.1.0 @category utils */
export const WebhookErrorReason = Schema.Literal("MissingHeader", "BadSignature", "StaleTimestamp", "MalformedPayload")

/** A webhook delivery that failed verification; nothing may change because of it. @since 0.1.0 @category errors */
export class WebhookVerificationError
  extends Schema.TaggedError<WebhookVerificationError>()("WebhookVerificationError", {
    reason: WebhookErrorReason,
    message: Schema.String
  })
{}

/** A Billing Meter event to send. @since 0.1.0 @category models */
export interface MeterEvent {
  readonly customerId: CustomerId
  /** Whole units, at least 1. */
  readonly value: number
  /** Deterministic identifier Stripe dedupes on. */
  readonly identifier: MeterEventIdentifier
  /** Epoch seconds inside the UTC day the units belong to. */
  readonly timestamp: number
}

/**
 * What Stripe did with a meter event: accepted it, or recognised its identifier as already accepted.
 *
 * @since 0.1.0
 * @category models
 */
export type MeterEventResult = "Accepted" | "Duplicate"

/** The parts of a Stripe customer the flows read. @since 0.1.0 @category models */
export interface StripeCustomer {
  readonly id: CustomerId
  readonly deleted: boolean
  /**
   * Whether a payment method is attached or set as the invoice default: one a promotion can make the
   * subscription's default, so that Stripe charges it (`usablePaymentMethod` picks which).
   */
  readonly hasPaymentMethod: boolean
  /** The attached payment methods, newest first. Attaching one does not make it a default. */
  readonly paymentMethods: ReadonlyArray<string>
  /**
   * What Stripe charges an invoice whose subscription has no default of its own:
   * `invoice_settings.default_payment_method`, else `default_source`.
   */
  readonly invoiceDefault: string | undefined
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * The payment method a promotion makes the subscription's `default_payment_method`: `preferred` (the
 * card the event is about) while it is still attached, else the customer's invoice default, else the
 * newest attached one. Stripe charges a subscription's invoices to its `default_payment_method`, else
 * the customer's `invoice_settings.default_payment_method`, else `default_source`, and attaching a
 * card makes it none of these (docs.stripe.com/billing/revenue-recovery/smart-retries, "Payment method
 * ordering"). Undefined when the customer has nothing Stripe could charge.
 *
 * @since 0.2.0
 * @category utils
 */
export const usablePaymentMethod = (customer: StripeCustomer, preferred?: string): string | undefined => {
  if (customer.deleted) return undefined
  const attached = customer.paymentMethods
  if (preferred !== undefined && attached.includes(preferred)) return preferred
  return customer.invoiceDefault ?? attached[0]
}

/** An aggregated meter value for a customer over `[start, end)` (epoch seconds). @since 0.1.0 @category models */
export interface MeterEventSummary {
  readonly start: number
  readonly end: number
  readonly value: number
}

/**
 * An open invoice of a customer, as `openInvoices` lists it.
 *
 * @since 0.2.0
 * @category models
 */
export interface OpenInvoice {
  readonly id: string
  /** `parent.subscription_details.subscription`; undefined for a one-off invoice. */
  readonly subscriptionId: SubscriptionId | undefined
  /** Whether its subscription was made by `ensureSubscription` (`MANAGED_BY` in its metadata snapshot). */
  readonly managed: boolean
  /** `auto_advance`: whether Stripe still collects it by itself (a cancel turns it off). */
  readonly autoAdvance: boolean
}

/**
 * What Stripe would invoice a subscription now (`POST /v1/invoices/create_preview`; the upcoming-invoice
 * endpoint was removed in API 2025-03-31): amounts in the currency's smallest unit.
 *
 * @since 0.2.0
 * @category models
 */
export interface InvoicePreview {
  readonly currency: string
  /** The invoice total before the customer's credit balance. */
  readonly total: number
  /** What the customer would be charged. */
  readonly amountDue: number
  /** Metered units on the preview's usage lines. */
  readonly units: number
  /** The billing period the usage lines cover, epoch seconds, `[periodStart, periodEnd)`. */
  readonly periodStart: number
  readonly periodEnd: number
}

/**
 * A hosted page where a customer adds a card: a Checkout Session in setup mode. Completing it sends
 * `setup_intent.succeeded`, which promotes.
 *
 * @since 0.2.0
 * @category models
 */
export interface SetupSession {
  readonly id: string
  readonly url: string
  /** Epoch seconds after which the page no longer works. */
  readonly expiresAt: number
}

/** The Stripe operations billing needs. @since 0.1.0 @category models */
export interface StripeService {
  /**
   * Whether the key is a live-mode key (`sk_live_`, `rk_live_`); test-mode and sandbox keys are not.
   * Events of the other mode are refused (`StripeEvent.decode`).
   */
  readonly livemode: boolean
  /**
   * Ensure the customer has one metered subscription (active, trialing or past due) and return it.
   * Creation uses `creationKey(idempotencyKey, ...)`: callers derive `idempotencyKey` from the
   * customer and the cause, never time; the implementation adds the subscriptions that stopped being
   * live, so it never answers with one of them.
   */
  readonly ensureSubscription: (
    input: {
      readonly customerId: CustomerId
      readonly idempotencyKey: string
      /**
       * The card Stripe is to charge: made the subscription's `default_payment_method` (at creation, or
       * on the live subscription found), and the customer's `invoice_settings.default_payment_method`
       * when it has none. Without it, Stripe charges the customer's invoice default, if any.
       */
      readonly defaultPaymentMethod?: string | undefined
    }
  ) => Effect.Effect<SubscriptionId, StripeError>
  /**
   * The customer's metered subscriptions made by `ensureSubscription` (not one the merchant made to
   * the same price) that Stripe has not ended (every status but `canceled` and `incomplete_expired`):
   * what it may still invoice. Closing a demotion sweeps them; a promotion cancels the ones it does
   * not hold. A customer Stripe does not know has none.
   */
  readonly openSubscriptions: (customerId: CustomerId) => Effect.Effect<ReadonlyArray<SubscriptionId>, StripeError>
  /**
   * Cancel the subscription, with a final invoice for its un-invoiced usage when `invoiceNow`; an
   * already cancelled one is success.
   */
  readonly cancelSubscription: (
    input: { readonly subscriptionId: SubscriptionId; readonly invoiceNow: boolean }
  ) => Effect.Effect<void, StripeError>
  /** The customer's open invoices (finalized, not paid, voided or written off); none for a customer Stripe does not know. */
  readonly openInvoices: (customerId: CustomerId) => Effect.Effect<ReadonlyArray<OpenInvoice>, StripeError>
  /**
   * Pay an open invoice now with `paymentMethod` (`POST /v1/invoices/:id/pay`), whether or not Stripe
   * still collects it by itself; a declined card or an invoice no longer open is `InvalidRequest`.
   */
  readonly payInvoice: (
    input: { readonly invoiceId: string; readonly paymentMethod: string }
  ) => Effect.Effect<void, StripeError>
  /**
   * Turn automatic collection of an open invoice back on (`auto_advance: true`): a subscription's cancel
   * stops it for all the customer's finalized invoices, and Stripe's answer is to "resume automatic
   * collection of the invoices manually" (docs.stripe.com/api/subscriptions/cancel). An invoice that is
   * no longer open (paid, voided, written off) is `InvalidRequest`.
   */
  readonly resumeCollection: (invoiceId: string) => Effect.Effect<void, StripeError>
  /** Send a Billing Meter event. */
  readonly reportUsage: (event: MeterEvent) => Effect.Effect<MeterEventResult, StripeError>
  /**
   * Send many meter events, one result each, in order. Large batches go through Stripe's v2 meter
   * event stream (100 events a request, validated asynchronously: a rejection comes back later as a
   * meter error report, so every event there is `"Accepted"`), small ones through `reportUsage`. The
   * identifiers are the same on both paths, so Stripe's dedupe holds across them. On failure some
   * events may have been accepted: send them all again (identifiers dedupe).
   */
  readonly reportUsageBatch: (
    events: ReadonlyArray<MeterEvent>
  ) => Effect.Effect<ReadonlyArray<MeterEventResult>, StripeError>
  /** Read a customer. */
  readonly getCustomer: (customerId: CustomerId) => Effect.Effect<StripeCustomer, StripeError>
  /** Meter event summaries for a customer, one per UTC day in `[start, end)` (epoch seconds). */
  readonly meterEventSummaries: (
    input: { readonly customerId: CustomerId; readonly start: number; readonly end: number }
  ) => Effect.Effect<ReadonlyArray<MeterEventSummary>, StripeError>
  /** The invoice Stripe would send for the subscription's current period if it ended now. */
  readonly previewInvoice: (
    input: { readonly customerId: CustomerId; readonly subscriptionId: SubscriptionId }
  ) => Effect.Effect<InvoicePreview, StripeError>
  /**
   * A Checkout Session in setup mode for the customer; the same `idempotencyKey` within 24 hours
   * answers the same session.
   */
  readonly createSetupSession: (
    input: {
      readonly customerId: CustomerId
      readonly idempotencyKey: string
      readonly successUrl: string
      readonly cancelUrl?: string | undefined
      readonly currency: string
    }
  ) => Effect.Effect<SetupSession, StripeError>
  /**
   * A v2 event in full, as raw JSON (`GET /v2/core/events/:id`): a thin event notification (a meter
   * error report) carries its id and type only.
   */
  readonly retrieveEvent: (eventId: string) => Effect.Effect<unknown, StripeError>
  /** Events created at or after `since` (epoch seconds), oldest first, as raw JSON. */
  readonly listEvents: (input: { readonly since: number }) => Stream.Stream<unknown, StripeError>
  /** Verify a webhook delivery against its exact raw body and return the parsed event JSON. */
  readonly verifyWebhook: (
    input: { readonly payload: string | Uint8Array; readonly signature: string | undefined }
  ) => Effect.Effect<unknown, WebhookVerificationError>
}

/**
 * The metadata key and value on every subscription this library creates; an invoice carries a snapshot
 * of its subscription's metadata, so a webhook can tell our subscriptions' invoices from others'.
 *
 * @since 0.2.0
 * @category constants
 */
export const MANAGED_BY_KEY = "managed_by"
/**
 * The value of `MANAGED_BY_KEY` on every subscription this library creates.
 *
 * @since 0.2.0
 * @category constants
 */
export const MANAGED_BY = "augint-billing"

/** Stripe accepts idempotency keys up to this many characters. @since 0.1.0 @category constants */
export const MAX_IDEMPOTENCY_KEY = 255

/**
 * The idempotency key an implementation of `ensureSubscription` creates with: the caller's key plus
 * the customer's subscriptions that stopped being live (unpaid, say), so Stripe's 24-hour replay of an
 * earlier creation never answers with one of them. Concurrent callers see the same subscriptions and
 * still create one. Hashed past Stripe's 255 characters.
 *
 * @since 0.1.0
 * @category utils
 */
export const creationKey = (
  idempotencyKey: string,
  notLive: ReadonlyArray<string>,
  defaultPaymentMethod?: string
): string => {
  // Stripe refuses a key replayed with other parameters (`idempotency_error`, not transient): two
  // promotions with different cards get a key each, and the orphan sweep cancels the loser's.
  const parts = [...[...notLive].sort(), ...(defaultPaymentMethod === undefined ? [] : [defaultPaymentMethod])]
  if (parts.length === 0) return idempotencyKey
  const key = `${idempotencyKey}:${parts.join(",")}`
  return key.length <= MAX_IDEMPOTENCY_KEY
    ? key
    : `${idempotencyKey.slice(0, MAX_IDEMPOTENCY_KEY - 22)}:h${fnv1a64(parts.join(","))}`
}

/** The `Stripe` port. @since 0.1.0 @category models */
export class Stripe extends Context.Tag("@augint-billing/core/Stripe")<Stripe, StripeService>() {}

/** Stripe accepts meter event timestamps up to 35 days old ... @since 0.1.0 @category constants */
export const MAX_METER_EVENT_AGE = Duration.days(35)
/** ... and at most 5 minutes in the future. @since 0.1.0 @category constants */
export const MAX_METER_EVENT_LEAD = Duration.minutes(5)
/** Events in one v2 meter event stream request, at most. @since 0.2.0 @category constants */
export const MAX_STREAM_BATCH = 100
/**
 * The smallest batch worth the v2 stream: below it, v1 meter events (validated at once, each with its
 * own answer) cost no more and say more. `reportUsageBatch` implementations and `MeterBatch` share it.
 *
 * @since 0.4.0
 * @category constants
 */
export const MIN_STREAM_BATCH = 50
/** Stripe dedupes meter event identifiers over at least this window. @since 0.1.0 @category constants */
export const IDENTIFIER_DEDUPE_WINDOW = Duration.hours(24)
