/**
 * The invoice calls of the Stripe adapter: a customer's open invoices, paying one with a card, and turning
 * automatic collection back on (what collects the invoices a subscription's cancel stopped collecting).
 */
import { Ids, Stripe as Port } from "@augint-billing/core"
import { Effect, Schema } from "effect"
import type StripeSdk from "stripe"
import type * as StripeClient from "../StripeClient.js"
import { idOf, listAll } from "./sdk.js"

// An invoice's subscription and its metadata snapshot live under `parent.subscription_details` since
// API 2025-03-31 (docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects).
// A subscription reference that is not a subscription id (stripe-mock's fixtures say "subscription") is
// no subscription of ours: that invoice is left alone rather than failing the whole list.
const toOpenInvoice = (invoice: StripeSdk.Invoice): Port.OpenInvoice => {
  const details = invoice.parent?.subscription_details ?? undefined
  const subscription = idOf(details?.subscription)
  return {
    id: invoice.id ?? "",
    subscriptionId: subscription !== undefined && isSubscriptionId(subscription) ? subscription : undefined,
    managed: details?.metadata?.[Port.MANAGED_BY_KEY] === Port.MANAGED_BY,
    autoAdvance: invoice.auto_advance ?? false
  }
}
const isSubscriptionId = Schema.is(Ids.SubscriptionId)

/** `openInvoices`, `payInvoice` and `resumeCollection` of the port, on the adapter's client. */
export const make = (
  client: StripeClient.StripeClient["Type"]
): Pick<Port.StripeService, "openInvoices" | "payInvoice" | "resumeCollection"> => ({
  openInvoices: (customerId) =>
    listAll((startingAfter) =>
      client.call((sdk) =>
        sdk.invoices.list({
          customer: customerId,
          status: "open",
          limit: 100,
          ...(startingAfter === undefined ? {} : { starting_after: startingAfter })
        })
      )
    ).pipe(
      // A customer Stripe does not know (deleted) has nothing to collect.
      Effect.catchIf(
        (error) => error.reason === "NotFound" && error.message.includes("No such customer"),
        () => Effect.succeed([])
      ),
      Effect.map((invoices) => invoices.map(toOpenInvoice)),
      Effect.withSpan("StripeAdapter.openInvoices", { attributes: { customerId } })
    ),
  // No idempotency key: Stripe never charges an invoice twice (a second pay of a paid invoice is refused
  // as `invoice_already_paid`), and a key would replay a decline to a later attempt with the same card.
  payInvoice: ({ invoiceId, paymentMethod }) =>
    client.call((sdk) => sdk.invoices.pay(invoiceId, { payment_method: paymentMethod })).pipe(
      Effect.asVoid,
      Effect.withSpan("StripeAdapter.payInvoice", { attributes: { invoiceId } })
    ),
  // POST /v1/invoices/:id with auto_advance=true (docs.stripe.com/api/invoices/update): setting it twice
  // is harmless, so no idempotency key is needed.
  resumeCollection: (invoiceId) =>
    client.call((sdk) => sdk.invoices.update(invoiceId, { auto_advance: true })).pipe(
      Effect.asVoid,
      Effect.withSpan("StripeAdapter.resumeCollection", { attributes: { invoiceId } })
    )
})
