import { BillingConfig, Ids, Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Either, Fiber, Layer, Redacted } from "effect"
import { StripeAdapter } from "../src/index.js"
import * as KeyedLock from "../src/internal/keyedLock.js"
import * as LocalServer from "./localServer.js"

const now = Date.parse("2026-03-10T12:00:00Z")
const customerId = Ids.CustomerId.make("cus_meter")
const event = (overrides: Partial<Stripe.MeterEvent> = {}): Stripe.MeterEvent => ({
  customerId,
  value: 10,
  identifier: Ids.MeterEventIdentifier.make("cus_meter:2026-03-10:10"),
  timestamp: Math.floor(now / 1000),
  ...overrides
})

const reasonOf = (result: Either.Either<Stripe.MeterEvent, Stripe.StripeError>) =>
  Either.isLeft(result) ? result.left.reason : "ok"

describe("meter event rules (checked before sending)", () => {
  it("accepts a whole value >= 1 with a timestamp inside the window", () => {
    assert.strictEqual(reasonOf(StripeAdapter.validateMeterEvent(event(), now)), "ok")
    assert.strictEqual(reasonOf(StripeAdapter.validateMeterEvent(event({ value: 1 }), now)), "ok")
  })

  it("refuses zero, negative, fractional and unsafe values", () => {
    for (const value of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      const result = StripeAdapter.validateMeterEvent(event({ value }), now)
      assert.strictEqual(reasonOf(result), "InvalidRequest", `value ${value}`)
    }
  })

  it("refuses identifiers longer than 100 characters", () => {
    const identifier = "x".repeat(101) as Ids.MeterEventIdentifier
    const result = StripeAdapter.validateMeterEvent(event({ identifier }), now)
    assert.strictEqual(reasonOf(result), "InvalidRequest")
    assert.strictEqual(
      reasonOf(
        StripeAdapter.validateMeterEvent(event({ identifier: "x".repeat(100) as Ids.MeterEventIdentifier }), now)
      ),
      "ok"
    )
  })

  it("refuses timestamps older than 35 days, with a clear message", () => {
    const limit = Math.floor((now - Duration.toMillis(Stripe.MAX_METER_EVENT_AGE)) / 1000)
    assert.strictEqual(reasonOf(StripeAdapter.validateMeterEvent(event({ timestamp: limit }), now)), "ok")
    const result = StripeAdapter.validateMeterEvent(event({ timestamp: limit - 1 }), now)
    assert.strictEqual(reasonOf(result), "InvalidRequest")
    if (Either.isLeft(result)) assert.include(result.left.message, "35 days")
  })

  it("refuses timestamps more than 5 minutes ahead, with a clear message", () => {
    const limit = Math.floor(now / 1000) + 300
    assert.strictEqual(reasonOf(StripeAdapter.validateMeterEvent(event({ timestamp: limit }), now)), "ok")
    const result = StripeAdapter.validateMeterEvent(event({ timestamp: limit + 1 }), now)
    assert.strictEqual(reasonOf(result), "InvalidRequest")
    if (Either.isLeft(result)) assert.include(result.left.message, "5 minutes")
  })

  it("refuses fractional timestamps", () => {
    assert.strictEqual(
      reasonOf(StripeAdapter.validateMeterEvent(event({ timestamp: Math.floor(now / 1000) + 0.5 }), now)),
      "InvalidRequest"
    )
  })
})

describe("KeyedLock", () => {
  it.effect("serialises holders of one key and lets other keys run", () =>
    Effect.gen(function*() {
      const lock = yield* KeyedLock.make<string>()
      const gate = yield* Deferred.make<void>()
      let inA = 0
      let maxInA = 0
      const holdA = lock.withLock("a")(Effect.gen(function*() {
        inA++
        maxInA = Math.max(maxInA, inA)
        yield* Deferred.await(gate)
        inA--
      }))
      const first = yield* Effect.fork(holdA)
      const second = yield* Effect.fork(holdA)
      yield* Effect.yieldNow()
      // "b" is free while "a" is held.
      const b = yield* lock.withLock("b")(Effect.succeed("b ran"))
      assert.strictEqual(b, "b ran")
      assert.strictEqual(inA, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.strictEqual(maxInA, 1)
    }))
})

describe("reportUsage on the wire (local HTTP server)", () => {
  it.live("sends event_name, payload, identifier and timestamp; never more than one call per customer at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* LocalServer.make([{
        status: 200,
        body: { object: "billing.meter_event" },
        delayMillis: 50
      }])
      const stripe = Context.get(
        yield* Layer.build(
          StripeAdapter.layer({
            apiKey: Redacted.make("sk_test_local"),
            webhookSecret: Redacted.make("whsec_local"),
            meteredPrice: { priceId: "price_local" },
            host: "127.0.0.1",
            port: server.port,
            protocol: "http"
          }).pipe(Layer.provide(BillingConfig.layer({ meterEventName: "api_requests" })))
        ),
        Stripe.Stripe
      )
      const nowSeconds = Math.floor(Date.now() / 1000)
      const results = yield* Effect.all(
        [1, 2, 3].map((n) =>
          stripe.reportUsage({
            customerId,
            value: n,
            identifier: Ids.MeterEventIdentifier.make(`id-${n}`),
            timestamp: nowSeconds
          })
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results, ["Accepted", "Accepted", "Accepted"])
      assert.strictEqual(server.seen.length, 3)
      for (const seen of server.seen) {
        assert.strictEqual(seen.method, "POST")
        assert.strictEqual(seen.url, "/v1/billing/meter_events")
      }
      assert.strictEqual(server.maxInFlight(), 1)
    })))

  it.live("a duplicate-identifier refusal from Stripe is Duplicate, other 400s stay InvalidRequest", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* LocalServer.make([
        {
          status: 400,
          body: {
            error: {
              type: "invalid_request_error",
              message: "An event with identifier `dup-1` already exists."
            }
          }
        },
        { status: 400, body: { error: { type: "invalid_request_error", message: "No such meter event name" } } }
      ])
      const stripe = Context.get(
        yield* Layer.build(
          StripeAdapter.layer({
            apiKey: Redacted.make("sk_test_local"),
            webhookSecret: Redacted.make("whsec_local"),
            meteredPrice: { priceId: "price_local" },
            host: "127.0.0.1",
            port: server.port,
            protocol: "http"
          }).pipe(Layer.provide(BillingConfig.layer()))
        ),
        Stripe.Stripe
      )
      const nowSeconds = Math.floor(Date.now() / 1000)
      const send = (id: string) =>
        stripe.reportUsage({
          customerId,
          value: 1,
          identifier: Ids.MeterEventIdentifier.make(id),
          timestamp: nowSeconds
        })
      assert.strictEqual(yield* send("dup-1"), "Duplicate")
      const other = yield* Effect.either(send("dup-2"))
      assert.isTrue(Either.isLeft(other) && other.left.reason === "InvalidRequest")
    })))
})
