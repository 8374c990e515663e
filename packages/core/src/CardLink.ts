/**
 * A link where a free customer adds a card: a Stripe Checkout Session in setup mode. Completing it
 * sends `setup_intent.succeeded`, which `handleEvent` promotes on (the card becomes the subscription's
 * default payment method there).
 *
 * @since 0.2.0
 */
import { Clock, Effect, Option, Schema } from "effect"
import type * as Customer from "./Customer.js"
import { CustomerSettings } from "./CustomerSettings.js"
import type { CustomerId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as UtcDay from "./UtcDay.js"

/** Why no card link was made. @since 0.2.0 @category errors */
export class CardLinkError extends Schema.TaggedError<CardLinkError>()("CardLinkError", {
  reason: Schema.Literal("UnknownCustomer", "NotFree", "NotConfigured"),
  message: Schema.String
}) {}

/** A card link and when it stops working. @since 0.2.0 @category models */
export const CardLink = Schema.Struct({
  url: Schema.String,
  /** Epoch seconds. */
  expiresAt: Schema.Int
})
/** A card link and when it stops working. @since 0.2.0 @category models */
export type CardLink = typeof CardLink.Type

/**
 * The idempotency key of a customer's card link on `day`: one Checkout Session per link and UTC day,
 * so a customer who asks again that day (or a retry) gets the same page, not a new session (Stripe
 * replays a key for 24 hours; a session lives 24 hours by default).
 *
 * @since 0.2.0
 * @category utils
 */
export const idempotencyKey = (customer: Customer.Customer, day: UtcDay.UtcDay): string =>
  `ab-cardlink:${customer.customerId}:${customer.linkedAt ?? 0}:${day}`

/**
 * A card link for a FREE customer record; `NotFree` for a metered one, `NotConfigured` without
 * `CARD_LINK_SUCCESS_URL`.
 *
 * @since 0.2.0
 * @category flows
 */
export const linkFor = Effect.fn("CardLink.linkFor")(function*(customer: Customer.Customer) {
  const settings = yield* CustomerSettings
  if (customer.plan !== "FREE") {
    return yield* new CardLinkError({ reason: "NotFree", message: `${customer.customerId} is already metered` })
  }
  if (settings.cardLinkSuccessUrl === undefined) {
    return yield* new CardLinkError({ reason: "NotConfigured", message: "CARD_LINK_SUCCESS_URL is not set" })
  }
  const now = yield* Clock.currentTimeMillis
  const session = yield* (yield* Ports.stripe).createSetupSession({
    customerId: customer.customerId,
    idempotencyKey: idempotencyKey(customer, UtcDay.fromMillis(now)),
    successUrl: settings.cardLinkSuccessUrl,
    cancelUrl: settings.cardLinkCancelUrl,
    currency: settings.cardLinkCurrency
  })
  return { url: session.url, expiresAt: session.expiresAt } satisfies CardLink
})

/**
 * A card link for the customer with this id (`ai-billing customers card-link`).
 *
 * @since 0.2.0
 * @category flows
 */
export const cardLink = Effect.fn("CardLink.cardLink")(function*(customerId: CustomerId) {
  const record = yield* (yield* Ports.repo).get(customerId)
  if (Option.isNone(record)) {
    return yield* new CardLinkError({ reason: "UnknownCustomer", message: `no customer record for ${customerId}` })
  }
  return yield* linkFor(record.value)
})
