/**
 * Linking a Stripe customer to an API key, as an operator or a sign-up flow does it: the record, the
 * key in the plan the record asks for, and a promotion when the customer can already pay.
 *
 * @since 0.4.0
 */
import { Effect, Option } from "effect"
import type * as Customer from "./Customer.js"
import * as HandleEvent from "./HandleEvent.js"
import type { ApiKeyId, CustomerId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import { newLink } from "./NewLink.js"
import { usablePaymentMethod } from "./Stripe.js"

/** What a link came to: the record as it stands, and whether the link promoted it. @since 0.4.0 @category models */
export interface Linked {
  readonly customer: Customer.Customer
  /** The Stripe customer already had a card Stripe would charge, so the link promoted them. */
  readonly promoted: boolean
}

/**
 * Link `customerId` to `apiKeyId`: create the record (`NewLink.newLink`, failing with
 * `VersionConflict` when the customer is already linked, nothing changed), put the key in the free
 * plan (a key in no plan, or left in the metered one, is moved), and promote at once when the Stripe
 * customer already has a payment method Stripe would charge: no card event will come for a card added
 * before the link.
 *
 * @since 0.4.0
 * @category flows
 */
export const link = Effect.fn("Link.link")(function*(
  input: { readonly customerId: CustomerId; readonly apiKeyId: ApiKeyId }
) {
  yield* Effect.annotateCurrentSpan("customerId", input.customerId)
  const repo = yield* Ports.repo
  const stripe = yield* Ports.stripe
  const created = yield* repo.create(yield* newLink(input))
  const paymentMethod = usablePaymentMethod(yield* stripe.getCustomer(input.customerId))
  let promoted = false
  if (paymentMethod === undefined) yield* HandleEvent.converge(created.customerId)
  else promoted = yield* HandleEvent.promoteWithCard(created, paymentMethod)
  const after = yield* repo.get(created.customerId)
  return { customer: Option.getOrElse(after, () => created), promoted } satisfies Linked
})
