/**
 * Linking a Stripe customer to an API key, as an operator or a sign-up flow does it: the record, the
 * key in the plan the record asks for, and a promotion when the customer can already pay.
 *
 * @since 0.4.0
 */
import { Effect, Option } from "effect"
import type * as Customer from "./Customer.js"
import { VersionConflict } from "./CustomerRepo.js"
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
 * Whether `existing` is a link to `apiKeyId` that nothing has acted on since it was made: FREE, no
 * subscription held, no settle window, no Stripe event applied (operators' `plan promote|demote` go
 * through events too). Linking it again finishes what an interrupted link left undone.
 *
 * @since 0.4.0
 * @category utils
 */
export const isUntouchedLink = (existing: Customer.Customer, apiKeyId: ApiKeyId): boolean =>
  existing.apiKeyId === apiKeyId && existing.plan === "FREE" && existing.subscriptionId === undefined &&
  existing.settleUntil === undefined && existing.lastEventAt === undefined && existing.paymentFailedAt === undefined

/**
 * Link `customerId` to `apiKeyId`: create the record (`NewLink.newLink`), put the key in the free
 * plan (a key in no plan, or left in the metered one, is moved), and promote at once when the Stripe
 * customer already has a payment method Stripe would charge: no card event will come for a card added
 * before the link. Running it again after an interrupted link (a crash or a timeout after the record
 * was written) finishes the link (`isUntouchedLink`); a customer linked to another key, or one events
 * have acted on since, fails with `VersionConflict` and nothing changes.
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
  const existing = yield* repo.get(input.customerId)
  if (Option.isSome(existing) && !isUntouchedLink(existing.value, input.apiKeyId)) {
    return yield* new VersionConflict({
      customerId: input.customerId,
      message: existing.value.apiKeyId === input.apiKeyId
        ? `${input.customerId} is already linked to ${input.apiKeyId}`
        : `${input.customerId} is already linked to ${existing.value.apiKeyId}; unlink it first`
    })
  }
  const created = Option.isSome(existing) ? existing.value : yield* repo.create(yield* newLink(input))
  const paymentMethod = usablePaymentMethod(yield* stripe.getCustomer(input.customerId))
  let promoted = false
  if (paymentMethod === undefined) yield* HandleEvent.converge(created.customerId)
  else promoted = yield* HandleEvent.promoteWithCard(created, paymentMethod)
  const after = yield* repo.get(created.customerId)
  return { customer: Option.getOrElse(after, () => created), promoted } satisfies Linked
})
