import { BillingConfig, Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, TestClock } from "effect"
import StripeSdk from "stripe"
import { StripeAdapter } from "../src/index.js"

const secret = "whsec_unit_test_secret"
const signedAt = 1_700_000_000

// Verification needs no network: the client is built but never called.
const adapter = StripeAdapter.layer({
  apiKey: Redacted.make("sk_test_unit"),
  webhookSecret: Redacted.make(secret),
  meteredPrice: { priceId: "price_unit" },
  host: "127.0.0.1",
  port: 9,
  protocol: "http"
}).pipe(Layer.provide(BillingConfig.layer()))

const payload = JSON.stringify({ id: "evt_unit", object: "event", type: "invoice.paid", data: { object: {} } }, null, 2)

const sign = (body: string, options: { readonly timestamp?: number; readonly secret?: string } = {}) =>
  Effect.promise(() =>
    StripeSdk.webhooks.generateTestHeaderStringAsync({
      payload: body,
      secret: options.secret ?? secret,
      timestamp: options.timestamp ?? signedAt
    })
  )

/** Verify at `receivedAt` (epoch seconds) on the TestClock; the failure reason or "ok". */
const verify = (body: string | Uint8Array, signature: string | undefined, receivedAt = signedAt + 10) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(receivedAt * 1000)
    const stripe = yield* Stripe.Stripe
    const result = yield* Effect.either(stripe.verifyWebhook({ payload: body, signature }))
    return Either.isLeft(result) ? result.left.reason : "ok"
  }).pipe(Effect.provide(adapter))

describe("verifyWebhook", () => {
  it.effect("accepts a correctly signed payload and returns the event JSON", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime((signedAt + 10) * 1000)
      const signature = yield* sign(payload)
      const stripe = yield* Stripe.Stripe
      const event = yield* stripe.verifyWebhook({ payload, signature })
      assert.deepStrictEqual(event, JSON.parse(payload))
    }).pipe(Effect.provide(adapter)))

  it.effect("accepts the exact raw bytes", () =>
    Effect.gen(function*() {
      const signature = yield* sign(payload)
      assert.strictEqual(yield* verify(new TextEncoder().encode(payload), signature), "ok")
    }))

  it.effect("refuses a tampered body as BadSignature", () =>
    Effect.gen(function*() {
      const signature = yield* sign(payload)
      assert.strictEqual(
        yield* verify(payload.replace("invoice.paid", "invoice.payment_failed"), signature),
        "BadSignature"
      )
    }))

  it.effect("refuses a payload signed with another secret as BadSignature", () =>
    Effect.gen(function*() {
      const signature = yield* sign(payload, { secret: "whsec_someone_else" })
      assert.strictEqual(yield* verify(payload, signature), "BadSignature")
    }))

  it.effect("refuses re-serialized JSON (same event, other bytes) as BadSignature", () =>
    Effect.gen(function*() {
      const signature = yield* sign(payload)
      assert.strictEqual(yield* verify(JSON.stringify(JSON.parse(payload)), signature), "BadSignature")
    }))

  it.effect("refuses a garbled header as BadSignature", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* verify(payload, "not-a-signature"), "BadSignature")
      assert.strictEqual(yield* verify(payload, `t=${signedAt},v0=abc`), "BadSignature")
    }))

  it.effect("refuses a missing or blank header as MissingHeader", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* verify(payload, undefined), "MissingHeader")
      assert.strictEqual(yield* verify(payload, ""), "MissingHeader")
    }))

  it.effect("uses a 300 s tolerance: 299 s old is accepted, 301 s old is StaleTimestamp", () =>
    Effect.gen(function*() {
      const signature = yield* sign(payload)
      assert.strictEqual(yield* verify(payload, signature, signedAt + 299), "ok")
      assert.strictEqual(yield* verify(payload, signature, signedAt + 301), "StaleTimestamp")
    }))

  it.effect("a correctly signed body that is not a JSON object is MalformedPayload", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* verify("{not json", yield* sign("{not json")), "MalformedPayload")
      assert.strictEqual(yield* verify("[1,2]", yield* sign("[1,2]")), "MalformedPayload")
      assert.strictEqual(yield* verify("", yield* sign("")), "MalformedPayload")
    }))

  it.effect("the error message never contains the secret", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime((signedAt + 10) * 1000)
      const stripe = yield* Stripe.Stripe
      const signature = yield* sign(payload, { secret: "whsec_someone_else" })
      const result = yield* Effect.either(stripe.verifyWebhook({ payload, signature }))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.notInclude(result.left.message, secret)
    }).pipe(Effect.provide(adapter)))
})

describe("verifyWebhook without a webhook secret", () => {
  const unconfigured = StripeAdapter.layer({
    apiKey: Redacted.make("sk_test_unit"),
    meteredPrice: { priceId: "price_unit" },
    host: "127.0.0.1",
    port: 9,
    protocol: "http"
  }).pipe(Layer.provide(BillingConfig.layer()))

  it.effect("refuses every delivery, signed or not, with a message saying the secret is not configured", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime((signedAt + 10) * 1000)
      const stripe = yield* Stripe.Stripe
      const signed = yield* sign(payload)
      for (const signature of [signed, undefined, "not-a-signature"]) {
        const result = yield* Effect.either(stripe.verifyWebhook({ payload, signature }))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left.reason, "BadSignature")
          assert.strictEqual(
            result.left.message,
            "webhook refused: the webhook signing secret is not configured (STRIPE_WEBHOOK_SECRET)"
          )
        }
      }
    }).pipe(Effect.provide(unconfigured)))
})
