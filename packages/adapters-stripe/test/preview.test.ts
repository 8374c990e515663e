/**
 * Invoice previews and card setup sessions on stripe-mock (started by globalSetup), which validates
 * every request against Stripe's OpenAPI spec: `POST /v1/invoices/create_preview` (the upcoming-invoice
 * endpoint was removed in API 2025-03-31, docs.stripe.com/changelog/basil/2025-03-31/invoice-preview-api-deprecations)
 * and `POST /v1/checkout/sessions` in setup mode.
 */
import { BillingConfig, Ids, Stripe } from "@augint-billing/core"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import type StripeSdk from "stripe"
import { StripeAdapter } from "../src/index.js"
import { fromInvoice } from "../src/internal/preview.js"

const mockOptions = {
  apiKey: Redacted.make("sk_test_123"),
  host: "127.0.0.1",
  port: 12111,
  protocol: "http" as const,
  meteredPrice: { priceId: "price_metered" }
}

const adapter = StripeAdapter.layer(mockOptions).pipe(Layer.provide(BillingConfig.layer()))

layer(adapter, { excludeTestServices: true })("previews and setup sessions on stripe-mock", (it) => {
  it.effect("previewInvoice sends create_preview with the customer and subscription and reads the totals", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const preview = yield* stripe.previewInvoice({
        customerId: Ids.CustomerId.make("cus_preview1"),
        subscriptionId: Ids.SubscriptionId.make("sub_preview1")
      })
      // stripe-mock's fixture invoice: 1000 cents due in usd, one line of another price (no metered units).
      assert.strictEqual(preview.currency, "usd")
      assert.strictEqual(preview.total, 1000)
      assert.strictEqual(preview.amountDue, 1000)
      assert.strictEqual(preview.units, 0)
      assert.isTrue(Number.isInteger(preview.periodStart) && preview.periodEnd >= preview.periodStart)
    }))

  it.effect("createSetupSession creates a setup-mode Checkout Session stripe-mock accepts", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const session = yield* stripe.createSetupSession({
        customerId: Ids.CustomerId.make("cus_setup1"),
        idempotencyKey: "ab-cardlink:cus_setup1:0:2026-03-31",
        successUrl: "https://seller.example/card-added",
        cancelUrl: "https://seller.example/account",
        currency: "usd"
      })
      assert.match(session.url, /^https:\/\/checkout\.stripe\.com\//)
      assert.match(session.id, /^cs_/)
      assert.isTrue(Number.isInteger(session.expiresAt))
    }))
})

describe("fromInvoice", () => {
  const line = (price: string, quantity: number, period: { start: number; end: number }) =>
    ({
      pricing: { type: "price_details", price_details: { price, product: "prod_1" }, unit_amount_decimal: "0.1" },
      quantity,
      quantity_decimal: String(quantity),
      period
    }) as unknown as StripeSdk.InvoiceLineItem

  it("takes the units and the billing period from the metered price's lines only", () => {
    const invoice = {
      currency: "eur",
      total: 2_345,
      amount_due: 2_000,
      // A subscription invoice's own period is the one before its lines' (docs: period_start/period_end).
      period_start: 100,
      period_end: 100,
      lines: {
        data: [
          line("price_metered", 12_345, { start: 1_000, end: 2_000 }),
          line("price_other", 7, { start: 1_500, end: 2_500 })
        ]
      }
    } as unknown as StripeSdk.Invoice
    assert.deepStrictEqual(fromInvoice(invoice, "price_metered"), {
      currency: "eur",
      total: 2_345,
      amountDue: 2_000,
      units: 12_345,
      periodStart: 1_000,
      periodEnd: 2_000
    })
  })
})
