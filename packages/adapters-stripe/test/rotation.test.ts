import { BillingConfig, Ids, Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Either, Layer, Redacted, Ref, TestClock } from "effect"
import StripeSdk from "stripe"
import { StripeAdapter, StripeClient } from "../src/index.js"
import * as LocalServer from "./localServer.js"

// Stripe's keys and webhook signing secrets are rolled; a rolled key answers 401
// (docs.stripe.com/keys), and a rolled endpoint secret may keep signing next to the new one for up to
// 24 hours (docs.stripe.com/webhooks, "Roll endpoint secrets").

const customerId = Ids.CustomerId.make("cus_rotated")
const customer = {
  status: 200,
  body: { id: "cus_rotated", object: "customer", metadata: {}, invoice_settings: {}, default_source: null }
}
const cards = {
  status: 200,
  body: { object: "list", has_more: false, url: "/v1/customers/cus_rotated/payment_methods", data: [] }
}
const unauthorized = {
  status: 401,
  body: { error: { type: "invalid_request_error", message: "Expired API Key provided: sk_test_***old" } }
}
const forbidden = {
  status: 403,
  body: { error: { type: "invalid_request_error", message: "The provided key does not have access" } }
}

/** A key source over a Ref: `refresh` moves it to `next` and counts the reads. */
const rotatingKey = (first: string, next: string) =>
  Effect.gen(function*() {
    const key = yield* Ref.make(first)
    const refreshes = yield* Ref.make(0)
    const source: StripeClient.KeySource = {
      current: Effect.map(Ref.get(key), Redacted.make),
      refresh: () =>
        Ref.update(refreshes, (n) => n + 1).pipe(
          Effect.zipRight(Ref.set(key, next)),
          Effect.as(Redacted.make(next))
        )
    }
    return { key, refreshes, source }
  })

const withServer = <A, E>(
  answers: ReadonlyArray<LocalServer.Script>,
  apiKeySource: StripeClient.KeySource,
  f: (stripe: Stripe.StripeService, server: LocalServer.LocalServer) => Effect.Effect<A, E>
) => LocalServer.withAdapter(answers, f, { apiKey: Redacted.make("sk_test_old"), apiKeySource })

const authorizations = (server: LocalServer.LocalServer) => server.seen.map((s) => s.headers.authorization)

describe("a rolled secret key", () => {
  it.live("a 401 reads the key again and the call is made once more with the new key", () =>
    Effect.gen(function*() {
      const { refreshes, source } = yield* rotatingKey("sk_test_old", "sk_test_new")
      yield* withServer([unauthorized, customer, cards], source, (stripe, server) =>
        Effect.gen(function*() {
          const found = yield* stripe.getCustomer(customerId)
          assert.strictEqual(found.id, customerId)
          assert.deepStrictEqual(authorizations(server), [
            "Bearer sk_test_old",
            "Bearer sk_test_new",
            "Bearer sk_test_new"
          ])
        }))
      assert.strictEqual(yield* Ref.get(refreshes), 1)
    }))

  it.live("a key read again that has not changed fails with Authentication after one request", () =>
    Effect.gen(function*() {
      const { refreshes, source } = yield* rotatingKey("sk_test_old", "sk_test_old")
      const error = yield* withServer(
        [unauthorized],
        source,
        (stripe, server) =>
          Effect.flip(stripe.getCustomer(customerId)).pipe(
            Effect.tap(() => Effect.sync(() => assert.lengthOf(server.seen, 1)))
          )
      )
      assert.strictEqual(error.reason, "Authentication")
      assert.strictEqual(yield* Ref.get(refreshes), 1)
    }))

  it.live("a 403 (a permission the key lacks) does not read the key again", () =>
    Effect.gen(function*() {
      const { refreshes, source } = yield* rotatingKey("sk_test_old", "sk_test_new")
      const error = yield* withServer([forbidden], source, (stripe) => Effect.flip(stripe.getCustomer(customerId)))
      assert.strictEqual(error.reason, "Authentication")
      assert.strictEqual(yield* Ref.get(refreshes), 0)
    }))

  it.live("a key that changed at its source is used from the next call on, without a 401", () =>
    Effect.gen(function*() {
      const { key, source } = yield* rotatingKey("sk_test_old", "sk_test_new")
      yield* withServer([customer, cards, customer, cards], source, (stripe, server) =>
        Effect.gen(function*() {
          yield* stripe.getCustomer(customerId)
          yield* Ref.set(key, "sk_test_cached_rotation")
          yield* stripe.getCustomer(customerId)
          assert.deepStrictEqual(authorizations(server).slice(1, 3), [
            "Bearer sk_test_old",
            "Bearer sk_test_cached_rotation"
          ])
        }))
    }))

  it.live("layerConfigWith reads the key through its source and refreshes it after a 401", () =>
    Effect.gen(function*() {
      const { refreshes, source } = yield* rotatingKey("sk_test_old", "sk_test_new")
      const server = yield* LocalServer.make([unauthorized, customer, cards])
      const env = new Map([
        ["METERED_PRICE_ID", "price_local"],
        ["METER_EVENT_NAME", "api_requests"],
        ["STRIPE_API_HOST", "127.0.0.1"],
        ["STRIPE_API_PORT", String(server.port)],
        ["STRIPE_API_PROTOCOL", "http"]
      ])
      const layer = StripeAdapter.layerConfigWith({
        secretKey: source.current,
        refreshSecretKey: source.refresh,
        webhookSecret: StripeAdapter.noWebhookSecret
      }).pipe(Layer.provide(BillingConfig.layer()), Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))))
      const stripe = Context.get(yield* Layer.build(layer), Stripe.Stripe)
      yield* stripe.getCustomer(customerId)
      assert.strictEqual(yield* Ref.get(refreshes), 1)
      assert.strictEqual(authorizations(server)[1], "Bearer sk_test_new")
    }).pipe(Effect.scoped))
})

const signedAt = 1_700_000_000
const payload = JSON.stringify({ id: "evt_rot", object: "event", type: "invoice.paid", created: signedAt, data: {} })
const signed = (...secrets: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    // During a roll Stripe signs each delivery with every valid secret: one v1 entry per secret.
    const headers = await Promise.all(
      secrets.map((secret) =>
        StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp: signedAt })
      )
    )
    return `t=${signedAt},${headers.map((h) => h.split(",").find((p) => p.startsWith("v1="))).join(",")}`
  })

const webhookAdapter = (webhookSecretSource: StripeClient.KeySource) =>
  StripeAdapter.layer({
    apiKey: Redacted.make("sk_test_unit"),
    webhookSecret: Redacted.make("whsec_old"),
    webhookSecretSource,
    meteredPrice: { priceId: "price_unit" },
    host: "127.0.0.1",
    port: 9,
    protocol: "http"
  }).pipe(Layer.provide(BillingConfig.layer()))

const verifyAt = (stripe: Stripe.StripeService, signature: string, atSeconds: number) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(atSeconds * 1000)
    const result = yield* Effect.either(stripe.verifyWebhook({ payload, signature }))
    return Either.isLeft(result) ? result.left.reason : "ok"
  })

describe("a rolled webhook signing secret", () => {
  it.effect("a delivery signed only with the new secret reads the secret again and verifies", () =>
    Effect.gen(function*() {
      const { refreshes, source } = yield* rotatingKey("whsec_old", "whsec_new")
      const stripe = Context.get(yield* Layer.build(webhookAdapter(source)), Stripe.Stripe)
      assert.strictEqual(yield* verifyAt(stripe, yield* signed("whsec_new"), signedAt + 1), "ok")
      assert.strictEqual(yield* Ref.get(refreshes), 1)
      // Next deliveries use the new secret without another read.
      assert.strictEqual(yield* verifyAt(stripe, yield* signed("whsec_new"), signedAt + 2), "ok")
      assert.strictEqual(yield* Ref.get(refreshes), 1)
    }).pipe(Effect.scoped))

  it.effect("the replaced secret still verifies for 24 hours, then not", () =>
    Effect.gen(function*() {
      const { key, source } = yield* rotatingKey("whsec_old", "whsec_new")
      const stripe = Context.get(yield* Layer.build(webhookAdapter(source)), Stripe.Stripe)
      assert.strictEqual(yield* verifyAt(stripe, yield* signed("whsec_old", "whsec_new"), signedAt + 1), "ok")
      // The source now gives the new secret (its cache lifetime ended).
      yield* Ref.set(key, "whsec_new")
      assert.strictEqual(yield* verifyAt(stripe, yield* signed("whsec_new"), signedAt + 2), "ok")
      // A redelivery signed before the roll reached Stripe's endpoint (only the old signature).
      assert.strictEqual(yield* verifyAt(stripe, yield* signed("whsec_old"), signedAt + 3), "ok")
      // A day later the replaced secret is no longer accepted (timestamp tolerance aside: re-signed).
      const later = signedAt + 25 * 3600
      const stale = yield* Effect.promise(() =>
        StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_old", timestamp: later })
      )
      assert.strictEqual(yield* verifyAt(stripe, stale, later), "BadSignature")
    }).pipe(Effect.scoped))

  it.effect("bad signatures read the secret again at most once a minute", () =>
    Effect.gen(function*() {
      const { refreshes, source } = yield* rotatingKey("whsec_old", "whsec_old")
      const stripe = Context.get(yield* Layer.build(webhookAdapter(source)), Stripe.Stripe)
      const forged = yield* signed("whsec_forged")
      for (const at of [1, 2, 30]) assert.strictEqual(yield* verifyAt(stripe, forged, signedAt + at), "BadSignature")
      assert.strictEqual(yield* Ref.get(refreshes), 1)
      assert.strictEqual(yield* verifyAt(stripe, forged, signedAt + 62), "BadSignature")
      assert.strictEqual(yield* Ref.get(refreshes), 2)
    }).pipe(Effect.scoped))
})
