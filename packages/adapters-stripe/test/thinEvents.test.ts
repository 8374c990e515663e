import { Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Redacted, TestClock } from "effect"
import StripeSdk from "stripe"
import * as LocalServer from "./localServer.js"

// Event destinations with `event_payload=thin` send v2 event notifications: `object: "v2.core.event"`,
// no `data`; the full event is read from GET /v2/core/events/:id
// (docs.stripe.com/api/v2/core/events/event-types, v1.billing.meter.error_report_triggered).
const secret = "whsec_thin_test"
const signedAt = 1_700_000_000
const notification = JSON.stringify({
  id: "evt_test_65RTnotice",
  object: "v2.core.event",
  type: "v1.billing.meter.error_report_triggered",
  created: "2023-11-14T22:13:20.000Z",
  livemode: false,
  context: null,
  reason: null,
  related_object: { id: "mtr_123", type: "billing.meter", url: "/v1/billing/meters/mtr_123" }
})

// Verification needs no network: the client is built but never called.
const adapter = LocalServer.adapterOn(9, {
  apiKey: Redacted.make("sk_test_unit"),
  webhookSecret: Redacted.make(secret)
})

const sign = (body: string) =>
  Effect.promise(() => StripeSdk.webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp: signedAt }))

describe("thin events", () => {
  it.effect("verifyWebhook accepts a signed thin event notification and returns its JSON", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime((signedAt + 5) * 1000)
      const stripe = yield* Stripe.Stripe
      const event = yield* stripe.verifyWebhook({ payload: notification, signature: yield* sign(notification) })
      assert.deepStrictEqual(event, JSON.parse(notification))
    }).pipe(Effect.provide(adapter)))

  it.effect("a tampered thin event notification is BadSignature", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime((signedAt + 5) * 1000)
      const stripe = yield* Stripe.Stripe
      const tampered = notification.replace("error_report_triggered", "no_meter_found")
      const result = yield* Effect.either(
        stripe.verifyWebhook({ payload: tampered, signature: yield* sign(notification) })
      )
      assert.strictEqual(Either.isLeft(result) ? result.left.reason : "ok", "BadSignature")
    }).pipe(Effect.provide(adapter)))

  it.live("retrieveEvent reads GET /v2/core/events/:id (local server: stripe-mock does not serve /v2)", () =>
    LocalServer.withAdapter([{
      status: 200,
      body: {
        ...JSON.parse(notification),
        data: {
          developer_message_summary: "1 meter event was rejected",
          reason: {
            error_count: 1,
            error_types: [{
              code: "meter_event_customer_not_found",
              error_count: 1,
              sample_errors: [{ error_message: "no customer", request: { identifier: "ab2:cus_1:key1:2023-11-14:5" } }]
            }]
          },
          validation_start: "2023-11-14T21:00:00.000Z",
          validation_end: "2023-11-14T22:00:00.000Z"
        }
      }
    }], (stripe, server) =>
      Effect.gen(function*() {
        const event = (yield* stripe.retrieveEvent("evt_test_65RTnotice")) as {
          readonly data: { readonly reason: { readonly error_count: number } }
        }
        assert.strictEqual(event.data.reason.error_count, 1)
        assert.deepStrictEqual(
          server.seen.map((s) => [s.method, s.url, s.headers.authorization]),
          [["GET", "/v2/core/events/evt_test_65RTnotice", "Bearer sk_test_local"]]
        )
      })))
})
