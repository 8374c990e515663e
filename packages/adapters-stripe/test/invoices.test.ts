/**
 * The adapter's invoice calls against stripe-mock (started by globalSetup), which validates each
 * request against Stripe's OpenAPI spec. stripe-mock is stateless: it answers with fixtures, so what an
 * invoice is (open, ours, paid) is the in-memory model's job; here, that the calls are well formed and
 * their answers read.
 */
import { BillingConfig, Ids, Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { StripeAdapter } from "../src/index.js"
import * as LocalServer from "./localServer.js"

const adapter = StripeAdapter.layer({
  apiKey: Redacted.make("sk_test_123"),
  host: "127.0.0.1",
  port: 12111,
  protocol: "http",
  meteredPrice: { priceId: "price_invoices" }
}).pipe(Layer.provide(BillingConfig.layer({ meterEventName: "test-meter-event-name" })))

describe("invoices on stripe-mock", () => {
  // GET /v1/invoices?customer=...&status=open (docs.stripe.com/api/invoices/list).
  it.effect("openInvoices lists with status=open and reads parent.subscription_details", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const invoices = yield* stripe.openInvoices(Ids.CustomerId.make("cus_invoices1"))
      assert.isAbove(invoices.length, 0)
      for (const invoice of invoices) {
        assert.match(invoice.id, /^in_/)
        // The fixture's parent names "subscription", not a sub_ id, and carries no metadata: not ours.
        assert.isUndefined(invoice.subscriptionId)
        assert.isFalse(invoice.managed)
        assert.isBoolean(invoice.autoAdvance)
      }
    }).pipe(Effect.provide(adapter)))

  // POST /v1/invoices/:id/pay with payment_method (docs.stripe.com/api/invoices/pay).
  it.effect("payInvoice sends payment_method and succeeds on a 200", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      yield* stripe.payInvoice({ invoiceId: "in_1MtHbELkdIwHu7ixl4OzzPMv", paymentMethod: "pm_card_visa" })
    }).pipe(Effect.provide(adapter)))

  // POST /v1/invoices/:id with auto_advance=true (docs.stripe.com/api/invoices/update): how collection a
  // cancel stopped is resumed (docs.stripe.com/api/subscriptions/cancel).
  it.effect("resumeCollection sends auto_advance=true and succeeds on a 200", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      yield* stripe.resumeCollection("in_1MtHbELkdIwHu7ixl4OzzPMv")
    }).pipe(Effect.provide(adapter)))
})

describe("invoices as Stripe answers them (local server)", () => {
  const adapterOn = (port: number) =>
    Effect.map(
      Layer.build(
        StripeAdapter.layer({
          apiKey: Redacted.make("sk_test_local"),
          meteredPrice: { priceId: "price_local" },
          host: "127.0.0.1",
          port,
          protocol: "http"
        }).pipe(Layer.provide(BillingConfig.layer({ meterEventName: "api_requests" })))
      ),
      (context) => Context.get(context, Stripe.Stripe)
    )
  const invoice = (id: string, details: unknown, autoAdvance: boolean) => ({
    object: "invoice",
    id,
    status: "open",
    auto_advance: autoAdvance,
    parent: details === null ? null : { type: "subscription_details", subscription_details: details }
  })

  // An invoice's subscription and metadata snapshot are under parent.subscription_details since
  // 2025-03-31 (docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects).
  it.scoped("openInvoices reads the subscription, managed_by and auto_advance of each invoice", () =>
    Effect.gen(function*() {
      const server = yield* LocalServer.make([{
        status: 200,
        body: {
          object: "list",
          has_more: false,
          url: "/v1/invoices",
          data: [
            invoice("in_ours", { subscription: "sub_ours", metadata: { managed_by: "augint-billing" } }, false),
            invoice("in_other", { subscription: "sub_other", metadata: {} }, true),
            invoice("in_oneoff", null, true)
          ]
        }
      }])
      const stripe = yield* adapterOn(server.port)
      const invoices = yield* stripe.openInvoices(Ids.CustomerId.make("cus_local"))
      assert.deepStrictEqual(invoices, [
        { id: "in_ours", subscriptionId: Ids.SubscriptionId.make("sub_ours"), managed: true, autoAdvance: false },
        { id: "in_other", subscriptionId: Ids.SubscriptionId.make("sub_other"), managed: false, autoAdvance: true },
        { id: "in_oneoff", subscriptionId: undefined, managed: false, autoAdvance: true }
      ])
      assert.include(server.seen[0]!.url, "status=open")
      assert.include(server.seen[0]!.url, "customer=cus_local")
    }))

  // A declined card answers 402 card_error (docs.stripe.com/api/errors): not transient, never retried.
  it.scoped("a declined card on payInvoice is InvalidRequest, sent once", () =>
    Effect.gen(function*() {
      const server = yield* LocalServer.make([{
        status: 402,
        body: { error: { type: "card_error", code: "card_declined", message: "Your card was declined." } }
      }])
      const stripe = yield* adapterOn(server.port)
      const result = yield* Effect.either(stripe.payInvoice({ invoiceId: "in_ours", paymentMethod: "pm_1" }))
      assert.isTrue(result._tag === "Left" && result.left.reason === "InvalidRequest", String(result))
      assert.strictEqual(server.seen.length, 1)
      assert.strictEqual(server.seen[0]!.url, "/v1/invoices/in_ours/pay")
    }))

  // "An invoice must be in a draft or open state to update automatic advancement"
  // (docs.stripe.com/invoicing/integration/automatic-advancement-collection): Stripe answers 400.
  it.scoped("resumeCollection posts auto_advance=true; a paid invoice's 400 is InvalidRequest", () =>
    Effect.gen(function*() {
      const server = yield* LocalServer.make([
        { status: 200, body: invoice("in_ours", null, true) },
        {
          status: 400,
          body: {
            error: {
              type: "invalid_request_error",
              message: "You can only update auto_advance on draft or open invoices."
            }
          }
        }
      ])
      const stripe = yield* adapterOn(server.port)
      yield* stripe.resumeCollection("in_ours")
      assert.strictEqual(server.seen[0]!.url, "/v1/invoices/in_ours")
      assert.include(server.seen[0]!.body, "auto_advance=true")
      const paid = yield* Effect.either(stripe.resumeCollection("in_paid"))
      assert.isTrue(paid._tag === "Left" && paid.left.reason === "InvalidRequest", String(paid))
    }))
})
