/**
 * Branded identifiers of the billing domain.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A Stripe customer id, `cus_...`. @since 0.1.0 @category models */
export const CustomerId = Schema.String.pipe(
  Schema.pattern(/^cus_[A-Za-z0-9]{1,250}$/, { message: () => "a Stripe customer id looks like cus_..." }),
  Schema.brand("CustomerId")
)
/** A Stripe customer id, `cus_...`. @since 0.1.0 @category models */
export type CustomerId = typeof CustomerId.Type

/** An API Gateway API key id. @since 0.1.0 @category models */
export const ApiKeyId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,128}$/, { message: () => "an API key id is 1-128 letters, digits, _ or -" }),
  Schema.brand("ApiKeyId")
)
/** An API Gateway API key id. @since 0.1.0 @category models */
export type ApiKeyId = typeof ApiKeyId.Type

/** An API Gateway usage plan id. @since 0.1.0 @category models */
export const UsagePlanId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,128}$/, { message: () => "a usage plan id is 1-128 letters, digits, _ or -" }),
  Schema.brand("UsagePlanId")
)
/** An API Gateway usage plan id. @since 0.1.0 @category models */
export type UsagePlanId = typeof UsagePlanId.Type

/** A Stripe subscription id, `sub_...`. @since 0.1.0 @category models */
export const SubscriptionId = Schema.String.pipe(
  Schema.pattern(/^sub_[A-Za-z0-9]{1,250}$/, { message: () => "a Stripe subscription id looks like sub_..." }),
  Schema.brand("SubscriptionId")
)
/** A Stripe subscription id, `sub_...`. @since 0.1.0 @category models */
export type SubscriptionId = typeof SubscriptionId.Type

/** A Stripe event id, `evt_...`. @since 0.1.0 @category models */
export const EventId = Schema.String.pipe(
  Schema.pattern(/^evt_[A-Za-z0-9_]{1,250}$/, { message: () => "a Stripe event id looks like evt_..." }),
  Schema.brand("EventId")
)
/** A Stripe event id, `evt_...`. @since 0.1.0 @category models */
export type EventId = typeof EventId.Type

/** The identifier of a Billing Meter event: deterministic, at most 100 characters. @since 0.1.0 @category models */
export const MeterEventIdentifier = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(100),
  Schema.brand("MeterEventIdentifier")
)
/** The identifier of a Billing Meter event: deterministic, at most 100 characters. @since 0.1.0 @category models */
export type MeterEventIdentifier = typeof MeterEventIdentifier.Type
