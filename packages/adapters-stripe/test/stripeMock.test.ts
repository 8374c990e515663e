/**
 * The adapter against stripe-mock (started by globalSetup): every request is validated against
 * Stripe's OpenAPI spec. stripe-mock is stateless, so only answers that hold without state are
 * asserted here; state (dedupe, one subscription, cancel twice) is the in-memory contract's job.
 */
import { BillingConfig, Ids, Stripe } from "@augint-billing/core"
import { StripeContract } from "@augint-billing/testkit/contracts"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, ConfigProvider, Effect, Either, Layer, Redacted, Stream } from "effect"
import StripeSdk from "stripe"
import { StripeAdapter, StripeClient } from "../src/index.js"

const webhookSecret = "whsec_stripe_mock_tests"
// stripe-mock's fixtures: one active meter with this event name, and this (licensed) price.
const fixtureMeterEventName = "test-meter-event-name"
const fixturePriceId = "price_1PgafmB7WZ01zgkW6dKueIc5"

const mockOptions = {
  apiKey: Redacted.make("sk_test_123"),
  host: "127.0.0.1",
  port: 12111,
  protocol: "http" as const,
  webhookSecret: Redacted.make(webhookSecret)
}

/** The adapter and the client it uses, so tests can also look at raw answers. */
const adapterAndClient = (
  options: Pick<StripeAdapter.Options, "meteredPrice"> & Partial<StripeAdapter.Options>,
  meterEventName = fixtureMeterEventName
) =>
  Layer.effect(Stripe.Stripe, StripeAdapter.make({ ...mockOptions, ...options })).pipe(
    Layer.provideMerge(StripeClient.layer({ ...mockOptions, ...options })),
    Layer.provide(BillingConfig.layer({ meterEventName }))
  )

let customers = 0
const newCustomer = Effect.sync(() => Ids.CustomerId.make(`cus_mock${Date.now().toString(36)}${customers++}`))

// The stateless part of the testkit's Stripe contract, on the real adapter and stripe-mock.
StripeContract.suite(
  "adapters-stripe on stripe-mock",
  StripeAdapter.layer({ ...mockOptions, meteredPrice: { priceId: "price_contract" } }).pipe(
    Layer.provide(BillingConfig.layer({ meterEventName: fixtureMeterEventName }))
  ),
  {
    newCustomer,
    signWebhook: (payload, timestamp) =>
      Effect.promise(() =>
        StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret: webhookSecret, timestamp })
      ),
    stateful: false
  }
)

const nowSeconds = Effect.sync(() => Math.floor(Date.now() / 1000))

const webhookSecrets = [["with", Redacted.make(webhookSecret)], ["without", undefined]] as const

// The same calls with and without a webhook signing secret: only verifyWebhook may differ.
for (const [variant, secret] of webhookSecrets) {
  layer(adapterAndClient({ meteredPrice: { priceId: "price_mock_metered" }, webhookSecret: secret }), {
    excludeTestServices: true
  })(
    `adapter on stripe-mock, ${variant} a webhook secret`,
    (it) => {
      it.effect(
        secret === undefined
          ? "verifyWebhook refuses even a correctly signed delivery: the secret is not configured"
          : "verifyWebhook accepts a correctly signed delivery",
        () =>
          Effect.gen(function*() {
            const stripe = yield* Stripe.Stripe
            const payload = JSON.stringify({ id: "evt_mock_webhook", object: "event", type: "invoice.paid" })
            const signature = yield* Effect.promise(() =>
              StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret: webhookSecret })
            )
            const result = yield* Effect.either(stripe.verifyWebhook({ payload, signature }))
            if (secret === undefined) {
              assert.isTrue(Either.isLeft(result))
              if (Either.isLeft(result)) {
                assert.strictEqual(result.left.reason, "BadSignature")
                assert.include(result.left.message, "webhook signing secret is not configured")
              }
            } else {
              assert.deepStrictEqual(result, Either.right(JSON.parse(payload)))
            }
          })
      )

      it.effect("ensureSubscription: lists, finds no subscription with the price, creates one with the idempotency key", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const id = yield* stripe.ensureSubscription({
            customerId: yield* newCustomer,
            idempotencyKey: "promote-cus-1-seti-1"
          })
          assert.match(id, /^sub_/)
        }))

      it.effect("cancelSubscription with invoice_now and prorate=false is accepted", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          yield* stripe.cancelSubscription({ subscriptionId: Ids.SubscriptionId.make("sub_mock1"), invoiceNow: true })
          yield* stripe.cancelSubscription({ subscriptionId: Ids.SubscriptionId.make("sub_mock2"), invoiceNow: false })
        }))

      it.effect("reportUsage sends a meter event stripe-mock accepts", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* newCustomer
          const result = yield* stripe.reportUsage({
            customerId,
            value: 1234,
            identifier: Ids.MeterEventIdentifier.make(`${customerId}:2026-01-01:1234`),
            timestamp: (yield* nowSeconds) - 3600
          })
          assert.strictEqual(result, "Accepted")
        }))

      it.effect("getCustomer reads metadata and finds the attached payment method", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* newCustomer
          const customer = yield* stripe.getCustomer(customerId)
          assert.strictEqual(customer.id, customerId)
          assert.isFalse(customer.deleted)
          // stripe-mock's customer has no default payment method; its payment method list has a card.
          assert.isTrue(customer.hasPaymentMethod)
          assert.isObject(customer.metadata)
        }))

      it.effect("meterEventSummaries discovers the meter by event name and reads daily summaries", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const start = Math.floor(Date.UTC(2026, 0, 1) / 1000)
          const summaries = yield* stripe.meterEventSummaries({
            customerId: yield* newCustomer,
            start,
            end: start + 86_400
          })
          assert.isAbove(summaries.length, 0)
          for (const s of summaries) assert.isNumber(s.value)
        }))

      it.effect("listEvents pages through events since a time", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const events = yield* Stream.runCollect(stripe.listEvents({ since: (yield* nowSeconds) - 86_400 }))
          for (const event of Chunk.toReadonlyArray(events)) {
            assert.isObject(event)
            assert.match(String((event as { readonly id?: unknown }).id), /^evt_/)
          }
        }))

      it.effect("a request stripe-mock finds invalid against the spec is InvalidRequest, not retried", () =>
        Effect.gen(function*() {
          const client = yield* StripeClient.StripeClient
          const result = yield* Effect.either(
            client.call((sdk) =>
              sdk.billing.meterEvents.create({ event_name: "x", payload: { value: "1" }, timestamp: Number.NaN })
            )
          )
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left.reason, "InvalidRequest")
            assert.isFalse(result.left.isTransient)
            assert.include(result.left.message, "timestamp")
          }
        }))
    }
  )
}

describe("adapter on stripe-mock: discovery and failures", () => {
  it.live("layerConfig without STRIPE_WEBHOOK_SECRET: the calls work, verifyWebhook says the secret is missing", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const customerId = yield* newCustomer
      assert.strictEqual((yield* stripe.getCustomer(customerId)).id, customerId)
      const payload = JSON.stringify({ id: "evt_mock_config", object: "event" })
      const signature = yield* Effect.promise(() =>
        StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret: webhookSecret })
      )
      const result = yield* Effect.either(stripe.verifyWebhook({ payload, signature }))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "BadSignature")
        assert.include(result.left.message, "not configured")
      }
    }).pipe(
      Effect.provide(
        StripeAdapter.layerConfig.pipe(
          Layer.provide(BillingConfig.layer({ meterEventName: fixtureMeterEventName })),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({
            STRIPE_SECRET_KEY: "sk_test_123",
            METERED_PRICE_ID: "price_mock_metered",
            STRIPE_API_HOST: "127.0.0.1",
            STRIPE_API_PORT: "12111",
            STRIPE_API_PROTOCOL: "http"
          })))
        )
      )
    ))

  // What stripe-mock lists for the customer and the fixture's price, read past the adapter.
  const fixtureSubscriptions = (customerId: string) =>
    Effect.flatMap(
      StripeClient.StripeClient,
      (client) => client.call((sdk) => sdk.subscriptions.list({ customer: customerId, price: fixturePriceId }))
    )

  it.live("ensureSubscription finds an existing live subscription with the price instead of creating one", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const customerId = yield* newCustomer
      const listed = yield* fixtureSubscriptions(customerId)
      const expected = listed.data.find((s) => s.items.data.some((i) => i.price.id === fixturePriceId))
      assert.isDefined(expected)
      const id = yield* stripe.ensureSubscription({ customerId, idempotencyKey: "promote-existing" })
      assert.strictEqual(id, expected?.id)
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: fixturePriceId } }))))

  // Record the parameters of SDK calls the adapter makes, then let them through to stripe-mock.
  const spy = <K extends "subscriptions" | "customers">(resource: K, method: "create" | "update") =>
    Effect.map(StripeClient.StripeClient, (client) => {
      const calls: Array<ReadonlyArray<unknown>> = []
      const target = client.sdk[resource] as unknown as Record<string, (...args: Array<unknown>) => unknown>
      const original = target[method]!.bind(target)
      target[method] = (...args: Array<unknown>) => {
        calls.push(args)
        return original(...args)
      }
      return calls
    })

  // Stripe charges the subscription's default_payment_method, else the customer's invoice default
  // (docs.stripe.com/billing/revenue-recovery/smart-retries, "Payment method ordering").
  it.live("ensureSubscription with a card: subscriptions.create with default_payment_method, customers.update with invoice_settings.default_payment_method", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const created = yield* spy("subscriptions", "create")
      const updated = yield* spy("customers", "update")
      const customerId = yield* newCustomer
      const id = yield* stripe.ensureSubscription({
        customerId,
        idempotencyKey: "promote-with-card",
        defaultPaymentMethod: "pm_card_visa"
      })
      assert.match(id, /^sub_/)
      assert.strictEqual(created.length, 1)
      assert.deepInclude(created[0]![0] as object, { customer: customerId, default_payment_method: "pm_card_visa" })
      assert.deepStrictEqual(created[0]![1], { idempotencyKey: "promote-with-card:pm_card_visa" })
      // stripe-mock's customer has no invoice default: the card becomes it.
      assert.deepStrictEqual(updated.map((args) => args.slice(0, 2)), [
        [customerId, { invoice_settings: { default_payment_method: "pm_card_visa" } }]
      ])
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: "price_mock_metered" } }))))

  it.live("ensureSubscription with a card finds the live subscription and makes the card its default (subscriptions.update)", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const created = yield* spy("subscriptions", "create")
      const updated = yield* spy("subscriptions", "update")
      const customerId = yield* newCustomer
      const expected = (yield* fixtureSubscriptions(customerId)).data.find((s) =>
        s.items.data.some((i) => i.price.id === fixturePriceId)
      )
      const id = yield* stripe.ensureSubscription({
        customerId,
        idempotencyKey: "promote-existing-card",
        defaultPaymentMethod: "pm_card_mastercard"
      })
      assert.strictEqual(id, expected?.id)
      assert.strictEqual(created.length, 0)
      assert.deepStrictEqual(updated.map((args) => args.slice(0, 2)), [
        [expected?.id, { default_payment_method: "pm_card_mastercard" }]
      ])
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: fixturePriceId } }))))

  it.live("a test-mode key (stripe-mock's sk_test_) makes a port that refuses live-mode events", () =>
    Effect.gen(function*() {
      assert.isFalse((yield* Stripe.Stripe).livemode)
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: fixturePriceId } }))))

  it.live("getCustomer lists the attached cards, newest first, and reads no invoice default from stripe-mock's customer", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const customer = yield* stripe.getCustomer(yield* newCustomer)
      assert.isAbove(customer.paymentMethods.length, 0)
      for (const id of customer.paymentMethods) assert.match(id, /^pm_/)
      assert.strictEqual(customer.invoiceDefault, undefined)
      assert.strictEqual(Stripe.usablePaymentMethod(customer), customer.paymentMethods[0])
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: fixturePriceId } }))))

  it.live("openSubscriptions: stripe-mock accepts the list request; its fixtures are none of ours", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const customerId = yield* newCustomer
      const listed = yield* fixtureSubscriptions(customerId)
      // stripe-mock's fixture subscriptions carry no managed_by: the request is accepted, none is ours.
      assert.isAbove(listed.data.length, 0)
      const expected = listed.data
        .filter((s) =>
          s.status !== "canceled" && s.items.data.some((i) => i.price.id === fixturePriceId) &&
          s.metadata["managed_by"] === StripeAdapter.MANAGED_BY
        )
        .map((s) => s.id)
      assert.deepStrictEqual<ReadonlyArray<string>>(yield* stripe.openSubscriptions(customerId), expected)
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: fixturePriceId } }))))

  it.live("openSubscriptions leaves out subscriptions to any other price", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      assert.deepStrictEqual(yield* stripe.openSubscriptions(yield* newCustomer), [])
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: "price_mock_other" } }))))

  it.live("price discovery from API_USAGE_PRODUCT_ID refuses a product without a metered price, clearly", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const result = yield* Effect.either(
        stripe.ensureSubscription({ customerId: yield* newCustomer, idempotencyKey: "k" })
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "InvalidRequest")
        assert.include(result.left.message, "prod_mock")
        assert.include(result.left.message, "metered price")
      }
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { productId: "prod_mock" } }))))

  it.live("meterEventSummaries names a meter event name no active meter has", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const result = yield* Effect.either(
        stripe.meterEventSummaries({ customerId: yield* newCustomer, start: 0, end: 86_400 })
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.include(result.left.message, "no_such_meter_event")
    }).pipe(Effect.provide(adapterAndClient({ meteredPrice: { priceId: "price_x" } }, "no_such_meter_event"))))

  it.live("a key stripe-mock refuses is Authentication, and the key is not in the error", () =>
    Effect.gen(function*() {
      const stripe = yield* Stripe.Stripe
      const result = yield* Effect.either(stripe.getCustomer(yield* newCustomer))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "Authentication")
        assert.notInclude(result.left.message, "sk_live_refused")
        assert.notInclude(result.left.message, Buffer.from("sk_live_refused:").toString("base64"))
      }
    }).pipe(
      Effect.provide(
        adapterAndClient({ meteredPrice: { priceId: "price_x" }, apiKey: Redacted.make("sk_live_refused") })
      )
    ))
})
