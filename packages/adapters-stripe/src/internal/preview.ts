/**
 * Invoice previews and card setup pages on the stripe SDK: `invoices.createPreview` (the
 * upcoming-invoice endpoint was removed in API 2025-03-31) and Checkout Sessions in setup mode.
 */
import type { Ids, Stripe as Port } from "@augint-billing/core"
import { Effect } from "effect"
import type StripeSdk from "stripe"
import type * as StripeClient from "../StripeClient.js"
import * as Errors from "./errors.js"
import { idOf } from "./sdk.js"

/**
 * The port's preview of an invoice: the metered price's lines give the units and the billing period
 * (a subscription invoice's own `period_start`/`period_end` name the period before it).
 */
export const fromInvoice = (invoice: StripeSdk.Invoice, priceId: string): Port.InvoicePreview => {
  const metered = invoice.lines.data.filter((line) => idOf(line.pricing?.price_details?.price) === priceId)
  const first = metered[0]
  return {
    currency: invoice.currency,
    total: invoice.total,
    amountDue: invoice.amount_due,
    units: metered.reduce((sum, line) => sum + Number(line.quantity_decimal ?? line.quantity ?? 0), 0),
    periodStart: first?.period.start ?? invoice.period_start,
    periodEnd: first?.period.end ?? invoice.period_end
  }
}

/** `Stripe.previewInvoice` over a client; `priceId` is the metered price. */
export const previewInvoice = (
  client: StripeClient.StripeClientService,
  priceId: Effect.Effect<string, Port.StripeError>
) =>
(input: { readonly customerId: Ids.CustomerId; readonly subscriptionId: Ids.SubscriptionId }) =>
  Effect.gen(function*() {
    const price = yield* priceId
    const invoice = yield* client.call((sdk) =>
      sdk.invoices.createPreview({ customer: input.customerId, subscription: input.subscriptionId })
    )
    return fromInvoice(invoice, price)
  }).pipe(Effect.withSpan("StripeAdapter.previewInvoice", { attributes: { ...input } }))

/** `Stripe.createSetupSession` over a client: Checkout in setup mode for an existing customer. */
export const createSetupSession =
  (client: StripeClient.StripeClientService): Port.StripeService["createSetupSession"] => (input) =>
    client.call((sdk) =>
      sdk.checkout.sessions.create(
        {
          mode: "setup",
          customer: input.customerId,
          // Setup mode needs a currency to choose the payment methods it offers.
          currency: input.currency,
          success_url: input.successUrl,
          ...(input.cancelUrl === undefined ? {} : { cancel_url: input.cancelUrl })
        },
        { idempotencyKey: input.idempotencyKey }
      )
    ).pipe(
      Effect.flatMap((session) =>
        session.url === null
          ? Effect.fail(Errors.invalid(`Checkout Session ${session.id} has no url`))
          : Effect.succeed({ id: session.id, url: session.url, expiresAt: session.expires_at })
      ),
      Effect.withSpan("StripeAdapter.createSetupSession", { attributes: { customerId: input.customerId } })
    )
