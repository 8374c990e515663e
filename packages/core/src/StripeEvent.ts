/**
 * The Stripe webhook events the billing flows act on, decoded from raw event JSON. Any other event
 * type decodes to `Ignored`; a handled type with a malformed body is a `StripeEventDecodeError`.
 *
 * @since 0.1.0
 */
import { Effect, ParseResult, Schema } from "effect"
import { CustomerId, EventId, SubscriptionId } from "./Ids.js"
import { MANAGED_BY, MANAGED_BY_KEY } from "./Stripe.js"

/** The event types the flows handle. @since 0.1.0 @category utils */
export const handledTypes = [
  "setup_intent.succeeded",
  "payment_method.attached",
  "payment_method.detached",
  "invoice.payment_failed",
  "invoice.paid",
  "invoice.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.deleted"
] as const
/** An event type the flows handle. @since 0.1.0 @category models */
export type HandledType = typeof handledTypes[number]

/** A Stripe subscription status. @since 0.1.0 @category utils */
export const SubscriptionStatus = Schema.Literal(
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused"
)
/** A Stripe subscription status. @since 0.1.0 @category models */
export type SubscriptionStatus = typeof SubscriptionStatus.Type

interface Envelope {
  /** The Stripe event id; deliveries of one event share it. */
  readonly id: EventId
  /** When Stripe created the event, epoch seconds. */
  readonly created: number
}

/** A card or other payment method was confirmed for future use. @since 0.1.0 @category models */
export interface SetupIntentSucceeded extends Envelope {
  readonly _tag: "SetupIntentSucceeded"
  readonly customerId: CustomerId | undefined
  readonly setupIntentId: string
  /** The payment method the intent set up (`payment_method`), when Stripe names one. */
  readonly paymentMethodId: string | undefined
}
/** A payment method was attached to a customer. @since 0.1.0 @category models */
export interface PaymentMethodAttached extends Envelope {
  readonly _tag: "PaymentMethodAttached"
  readonly customerId: CustomerId | undefined
  readonly paymentMethodId: string
}
/** A payment method was detached; the customer comes from `previous_attributes`. @since 0.1.0 @category models */
export interface PaymentMethodDetached extends Envelope {
  readonly _tag: "PaymentMethodDetached"
  readonly customerId: CustomerId | undefined
  readonly paymentMethodId: string
}
/**
 * An invoice payment attempt failed; `nextPaymentAttempt` is undefined when Stripe will not retry.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvoicePaymentFailed extends Envelope {
  readonly _tag: "InvoicePaymentFailed"
  readonly customerId: CustomerId | undefined
  readonly invoiceId: string
  /** The invoice's subscription (`parent.subscription_details.subscription`); undefined for a one-off invoice. */
  readonly subscriptionId: SubscriptionId | undefined
  /** Whether that subscription was made by this library (its metadata snapshot says `managed_by`). */
  readonly managed: boolean
  readonly nextPaymentAttempt: number | undefined
  readonly attemptCount: number
}
/** An invoice was paid. @since 0.1.0 @category models */
export interface InvoicePaid extends Envelope {
  readonly _tag: "InvoicePaid"
  readonly customerId: CustomerId | undefined
  readonly invoiceId: string
  /** The invoice's subscription (`parent.subscription_details.subscription`); undefined for a one-off invoice. */
  readonly subscriptionId: SubscriptionId | undefined
  /** Whether that subscription was made by this library (its metadata snapshot says `managed_by`). */
  readonly managed: boolean
}
/** An invoice was created; Stripe finalizes it about an hour later. @since 0.1.0 @category models */
export interface InvoiceCreated extends Envelope {
  readonly _tag: "InvoiceCreated"
  readonly customerId: CustomerId | undefined
  readonly invoiceId: string
  /** `period_end` (epoch seconds): usage it bills must be stamped before it; undefined when not sent. */
  readonly periodEnd?: number | undefined
  /** The invoice's subscription (`parent.subscription_details.subscription`); undefined for a one-off invoice. */
  readonly subscriptionId: SubscriptionId | undefined
  /** Whether that subscription was made by this library (its metadata snapshot says `managed_by`). */
  readonly managed: boolean
}
/** A subscription changed (status, items, ...). @since 0.1.0 @category models */
export interface SubscriptionUpdated extends Envelope {
  readonly _tag: "SubscriptionUpdated"
  readonly customerId: CustomerId | undefined
  readonly subscriptionId: SubscriptionId
  readonly status: SubscriptionStatus
}
/** A subscription ended. @since 0.1.0 @category models */
export interface SubscriptionDeleted extends Envelope {
  readonly _tag: "SubscriptionDeleted"
  readonly customerId: CustomerId | undefined
  readonly subscriptionId: SubscriptionId
}
/** The Stripe customer was deleted. @since 0.1.0 @category models */
export interface CustomerDeleted extends Envelope {
  readonly _tag: "CustomerDeleted"
  readonly customerId: CustomerId
}
/** Any event type the flows do not act on. @since 0.1.0 @category models */
export interface Ignored extends Envelope {
  readonly _tag: "Ignored"
  readonly type: string
}

/** A decoded Stripe event. @since 0.1.0 @category models */
export type StripeEvent =
  | SetupIntentSucceeded
  | PaymentMethodAttached
  | PaymentMethodDetached
  | InvoicePaymentFailed
  | InvoicePaid
  | InvoiceCreated
  | SubscriptionUpdated
  | SubscriptionDeleted
  | CustomerDeleted
  | Ignored

/** A handled event type whose body does not have the shape Stripe documents. @since 0.1.0 @category errors */
export class StripeEventDecodeError extends Schema.TaggedError<StripeEventDecodeError>()("StripeEventDecodeError", {
  message: Schema.String,
  eventId: Schema.optional(Schema.String),
  eventType: Schema.optional(Schema.String)
}) {}

// Stripe sends `customer` as an id, an expanded object, or null.
const CustomerRefValue = Schema.NullOr(Schema.Union(CustomerId, Schema.Struct({ id: CustomerId })))
const CustomerRef = Schema.optional(CustomerRefValue)
const customerOf = (ref: typeof CustomerRefValue.Type | undefined): CustomerId | undefined =>
  ref === null || ref === undefined ? undefined : typeof ref === "string" ? ref : ref.id

const Header = Schema.Struct({
  id: EventId,
  type: Schema.String,
  created: Schema.Int,
  livemode: Schema.optional(Schema.Boolean)
})

// Since API 2025-03-31 an invoice names its subscription under `parent.subscription_details` (null for
// a one-off invoice); endpoints on older versions send the top-level `subscription` instead
// (docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects).
const SubscriptionRefValue = Schema.NullOr(Schema.Union(SubscriptionId, Schema.Struct({ id: SubscriptionId })))
const SubscriptionRef = Schema.optional(SubscriptionRefValue)
const InvoiceParentValue = Schema.NullOr(Schema.Struct({
  subscription_details: Schema.optional(Schema.NullOr(Schema.Struct({
    subscription: SubscriptionRef,
    metadata: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String })))
  })))
}))
const InvoiceParent = Schema.optional(InvoiceParentValue)
const invoice = <F extends Schema.Struct.Fields>(fields: F) =>
  object({ id: Schema.String, customer: CustomerRef, parent: InvoiceParent, subscription: SubscriptionRef, ...fields })

interface InvoiceFields {
  readonly id: string
  readonly customer?: typeof CustomerRefValue.Type | undefined
  readonly parent?: typeof InvoiceParentValue.Type | undefined
  readonly subscription?: typeof SubscriptionRefValue.Type | undefined
}
const invoiceOf = (o: InvoiceFields) => {
  const details = o.parent?.subscription_details
  const ref = details?.subscription ?? o.subscription
  return {
    customerId: customerOf(o.customer),
    invoiceId: o.id,
    subscriptionId: ref === null || ref === undefined ? undefined : typeof ref === "string" ? ref : ref.id,
    managed: details?.metadata?.[MANAGED_BY_KEY] === MANAGED_BY
  }
}

const object = <F extends Schema.Struct.Fields>(fields: F) =>
  Schema.Struct({ object: Schema.Struct(fields), previous_attributes: Schema.optional(Schema.Unknown) })

const Bodies = {
  "setup_intent.succeeded": object({
    id: Schema.String,
    customer: CustomerRef,
    payment_method: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Struct({ id: Schema.String }))))
  }),
  "payment_method.attached": object({ id: Schema.String, customer: CustomerRef }),
  "payment_method.detached": Schema.Struct({
    object: Schema.Struct({ id: Schema.String, customer: CustomerRef }),
    previous_attributes: Schema.optional(Schema.Struct({ customer: CustomerRef }))
  }),
  "invoice.payment_failed": invoice({
    next_payment_attempt: Schema.optional(Schema.NullOr(Schema.Int)),
    attempt_count: Schema.optionalWith(Schema.Int, { default: () => 1 })
  }),
  "invoice.paid": invoice({}),
  "invoice.created": invoice({ period_end: Schema.optional(Schema.NullOr(Schema.Int)) }),
  "customer.subscription.updated": object({ id: SubscriptionId, customer: CustomerRef, status: SubscriptionStatus }),
  "customer.subscription.deleted": object({ id: SubscriptionId, customer: CustomerRef }),
  "customer.deleted": object({ id: CustomerId })
} as const satisfies Record<HandledType, Schema.Schema.Any>

const isHandled = (type: string): type is HandledType => Object.hasOwn(Bodies, type)

const toEvent = (envelope: Envelope, type: HandledType, data: unknown): StripeEvent => {
  switch (type) {
    case "setup_intent.succeeded": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      const pm = o.payment_method
      return {
        ...envelope,
        _tag: "SetupIntentSucceeded",
        customerId: customerOf(o.customer),
        setupIntentId: o.id,
        paymentMethodId: pm === null || pm === undefined ? undefined : typeof pm === "string" ? pm : pm.id
      }
    }
    case "payment_method.attached": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return { ...envelope, _tag: "PaymentMethodAttached", customerId: customerOf(o.customer), paymentMethodId: o.id }
    }
    case "payment_method.detached": {
      const d = data as typeof Bodies[typeof type]["Type"]
      return {
        ...envelope,
        _tag: "PaymentMethodDetached",
        customerId: customerOf(d.object.customer) ?? customerOf(d.previous_attributes?.customer),
        paymentMethodId: d.object.id
      }
    }
    case "invoice.payment_failed": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return {
        ...envelope,
        _tag: "InvoicePaymentFailed",
        ...invoiceOf(o),
        nextPaymentAttempt: o.next_payment_attempt ?? undefined,
        attemptCount: o.attempt_count
      }
    }
    case "invoice.paid": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return { ...envelope, _tag: "InvoicePaid", ...invoiceOf(o) }
    }
    case "invoice.created": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return { ...envelope, _tag: "InvoiceCreated", ...invoiceOf(o), periodEnd: o.period_end ?? undefined }
    }
    case "customer.subscription.updated": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return {
        ...envelope,
        _tag: "SubscriptionUpdated",
        customerId: customerOf(o.customer),
        subscriptionId: o.id,
        status: o.status
      }
    }
    case "customer.subscription.deleted": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return { ...envelope, _tag: "SubscriptionDeleted", customerId: customerOf(o.customer), subscriptionId: o.id }
    }
    case "customer.deleted": {
      const { object: o } = data as typeof Bodies[typeof type]["Type"]
      return { ...envelope, _tag: "CustomerDeleted", customerId: o.id }
    }
  }
}

const failure = (error: ParseResult.ParseError, id?: string, type?: string) =>
  new StripeEventDecodeError({
    message: ParseResult.TreeFormatter.formatErrorSync(error),
    ...(id === undefined ? {} : { eventId: id }),
    ...(type === undefined ? {} : { eventType: type })
  })

const refuse = (message: string, id: string, type: string) =>
  new StripeEventDecodeError({ message, eventId: id, eventType: type })

/**
 * Decode a verified Stripe event (parsed JSON). With `livemode` (the mode of the key the port calls
 * Stripe with), an event of the other mode is refused: a test event must never change a live
 * customer, nor a live one a test deployment. A handled event that names no customer is refused too.
 *
 * @since 0.1.0
 * @category utils
 */
export const decode = (
  input: unknown,
  options: { readonly livemode?: boolean | undefined } = {}
): Effect.Effect<StripeEvent, StripeEventDecodeError> =>
  Effect.gen(function*() {
    const header = yield* Schema.decodeUnknown(Header)(input).pipe(Effect.mapError((e) => failure(e)))
    if (options.livemode !== undefined && header.livemode !== undefined && header.livemode !== options.livemode) {
      return yield* refuse(
        `a ${header.livemode ? "live" : "test"}-mode event reached a ${options.livemode ? "live" : "test"}-mode key`,
        header.id,
        header.type
      )
    }
    const envelope: Envelope = { id: header.id, created: header.created }
    if (!isHandled(header.type)) {
      return { ...envelope, _tag: "Ignored", type: header.type } satisfies Ignored
    }
    const type = header.type
    const data = yield* Schema.decodeUnknown(Bodies[type] as Schema.Schema<unknown>)(
      (input as { readonly data?: unknown }).data
    ).pipe(Effect.mapError((e) => failure(e, header.id, type)))
    const event = toEvent(envelope, type, data)
    if (event._tag !== "Ignored" && event.customerId === undefined) {
      // Every handled type is about a customer; one without is malformed, not an unknown customer.
      return yield* refuse(`a ${type} event must name its customer`, header.id, type)
    }
    return event
  })

/** Parse the JSON text of an event and decode it. @since 0.1.0 @category utils */
export const decodeJson = (text: string): Effect.Effect<StripeEvent, StripeEventDecodeError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) => new StripeEventDecodeError({ message: `the event body is not JSON: ${String(e)}` })
  }).pipe(Effect.flatMap(decode))

/** The customer an event is about, if it names one. @since 0.1.0 @category utils */
export const customerOfEvent = (event: StripeEvent): CustomerId | undefined =>
  event._tag === "Ignored" ? undefined : event.customerId
