/**
 * Collecting what nothing else collects. Stripe stops automatic collection of all a customer's
 * finalized invoices when one of their subscriptions is cancelled: every cancel of ours resumes what was
 * being collected before it (`cancelKeepingCollection`; Smart Retries go on for a demoted customer's
 * failing renewal). An invoice whose retries ran out is collected by no one: a customer who comes back
 * with a card has their open invoices of ours paid with it. Why: see DESIGN.md, "What the real services do".
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import type * as Customer from "./Customer.js"
import type { CustomerId, SubscriptionId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import type { OpenInvoice } from "./Stripe.js"

/**
 * Whether an open invoice is one of ours to collect: an invoice of a subscription this library made,
 * or one the record holds, retires or found orphaned. Other products' and one-off invoices are the
 * merchant's own business.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isCollectable = (customer: Customer.Customer, invoice: OpenInvoice): boolean => {
  const id = invoice.subscriptionId
  if (id === undefined) return false
  return invoice.managed || id === customer.subscriptionId || (customer.retiring ?? []).includes(id) ||
    (customer.orphans ?? []).includes(id)
}

/**
 * What collecting came to: invoices paid, and those Stripe refused (a declined card, an invoice
 * paid or voided meanwhile), each with Stripe's reason.
 *
 * @since 0.2.0
 * @category models
 */
export interface Collected {
  readonly paid: ReadonlyArray<string>
  readonly refused: ReadonlyArray<{ readonly invoiceId: string; readonly reason: string }>
}

/**
 * Pay every open invoice of ours (`isCollectable`) with `paymentMethod`, whether Stripe still collects
 * it by itself or a cancel stopped that. A refusal is logged and left for the next card; transient
 * failures fail the flow, so the webhook is redelivered.
 *
 * @since 0.2.0
 * @category flows
 */
export const collectOpenInvoices = Effect.fn("Collection.collectOpenInvoices")(function*(
  customer: Customer.Customer,
  paymentMethod: string
) {
  yield* Effect.annotateCurrentSpan("customerId", customer.customerId)
  const stripe = yield* Ports.stripe
  const open = yield* stripe.openInvoices(customer.customerId)
  const paid: Array<string> = []
  const refused: Array<{ invoiceId: string; reason: string }> = []
  for (const invoice of open) {
    if (!isCollectable(customer, invoice)) continue
    yield* stripe.payInvoice({ invoiceId: invoice.id, paymentMethod }).pipe(
      Effect.andThen(() => paid.push(invoice.id)),
      Effect.catchIf(
        (e) => e.reason === "InvalidRequest",
        (e) =>
          logRefusal(customer.customerId, invoice.id, e.message).pipe(
            Effect.andThen(() => refused.push({ invoiceId: invoice.id, reason: e.message }))
          )
      )
    )
  }
  return { paid, refused } satisfies Collected
})

const logRefusal = (customerId: CustomerId, invoiceId: string, reason: string) =>
  Effect.logWarning("an open metered invoice could not be paid with the customer's card").pipe(
    Effect.annotateLogs({ customerId, invoiceId, reason })
  )

/**
 * Cancel one of the customer's subscriptions without stopping the collection of anything else. Stripe
 * stops automatic collection of all the customer's finalized invoices on any cancel, and leaves it to
 * the caller to "resume automatic collection of the invoices manually" (docs.stripe.com/api/subscriptions/cancel).
 * After the cancel, collection is resumed for every open invoice that was being collected before it
 * (the merchant's other products' included), and for every open invoice `keep` names (for a promoted
 * customer, every invoice of ours: `isCollectable`): that rule needs no memory, so a crash between the
 * cancel and the resumes is repaired for our invoices when the cancel is retried. Why: see DESIGN.md,
 * "What the real services do".
 *
 * @since 0.4.0
 * @category flows
 */
export const cancelKeepingCollection = Effect.fn("Collection.cancelKeepingCollection")(function*(input: {
  readonly customerId: CustomerId
  readonly subscriptionId: SubscriptionId
  readonly invoiceNow: boolean
  readonly keep?: ((invoice: OpenInvoice) => boolean) | undefined
}) {
  const stripe = yield* Ports.stripe
  const collecting = new Set(
    (yield* stripe.openInvoices(input.customerId)).filter((i) => i.autoAdvance).map((i) => i.id)
  )
  yield* stripe.cancelSubscription({ subscriptionId: input.subscriptionId, invoiceNow: input.invoiceNow })
  for (const invoice of yield* stripe.openInvoices(input.customerId)) {
    if (invoice.autoAdvance) continue
    if (!collecting.has(invoice.id) && input.keep?.(invoice) !== true) continue
    yield* stripe.resumeCollection(invoice.id).pipe(
      // Paid or voided in between: nothing left to collect.
      Effect.catchIf((e) => e.reason === "InvalidRequest", () => Effect.void)
    )
  }
})
