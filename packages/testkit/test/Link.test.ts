import { HandleEvent, Link } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, TestClock } from "effect"
import { Driver, StripeEvents } from "../src/index.js"
import { apiKeyId, customerId, FREE, METERED, nowSeconds, settle, settleOk, T0, testLayer } from "./support.js"

const link = (n: number) => Link.link({ customerId: customerId(n), apiKeyId: apiKeyId(n) })

describe("Link.link", () => {
  // Issue 9: "A customer who already has a usable card when linked is promoted at link time": a card
  // added before the link produced its setup_intent/payment_method events before any record existed.
  it.effect("a customer who already has a card is promoted at link time, the card charged first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.createStripeCustomer(customerId(1), 1)
      yield* driver.createApiKey(apiKeyId(1), FREE)
      const linked = yield* settleOk(link(1))
      assert.isTrue(linked.promoted)
      assert.strictEqual(linked.customer.plan, "METERED")
      const subs = yield* driver.subscriptions(customerId(1))
      assert.strictEqual(subs.length, 1)
      assert.strictEqual(linked.customer.subscriptionId, subs[0]!.id)
      // Attaching a card makes it no default (docs.stripe.com/api/subscriptions/object, default_payment_method):
      // the promotion names it on the subscription.
      assert.isDefined(subs[0]!.defaultPaymentMethod)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a customer without a card stays FREE, and a key in no plan is put in the free plan", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.createStripeCustomer(customerId(2), 0)
      yield* driver.createApiKey(apiKeyId(2))
      const linked = yield* settleOk(link(2))
      assert.isFalse(linked.promoted)
      assert.strictEqual(linked.customer.plan, "FREE")
      assert.strictEqual((yield* driver.subscriptions(customerId(2))).length, 0)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(2)), [FREE])
    }).pipe(Effect.provide(testLayer())))

  it.effect("linking a linked customer again fails with VersionConflict and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.createStripeCustomer(customerId(3), 1)
      yield* driver.createApiKey(apiKeyId(3), FREE)
      yield* settleOk(link(3))
      const before = Option.getOrThrow(yield* driver.record(customerId(3)))
      const again = yield* settle(link(3))
      assert.isTrue(Exit.isFailure(again))
      if (Exit.isFailure(again) && again.cause._tag === "Fail") {
        assert.strictEqual(again.cause.error._tag, "VersionConflict")
      }
      assert.deepStrictEqual(Option.getOrThrow(yield* driver.record(customerId(3))), before)
      assert.strictEqual((yield* driver.subscriptions(customerId(3))).length, 1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a link cut off after its record was written is finished by linking again, promoted once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.createStripeCustomer(customerId(5), 1)
      yield* driver.createApiKey(apiKeyId(5), FREE)
      // The record is written, then the process dies: the link ends before it could promote.
      yield* driver.failNext("Stripe.getCustomer", { times: 1, die: true })
      assert.isTrue(Exit.isFailure(yield* settle(link(5))))
      assert.strictEqual(Option.getOrThrow(yield* driver.record(customerId(5))).plan, "FREE")
      const again = yield* settleOk(link(5))
      assert.isTrue(again.promoted)
      assert.strictEqual(again.customer.plan, "METERED")
      assert.strictEqual((yield* driver.subscriptions(customerId(5))).length, 1)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(5)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("linking a customer linked to another key fails with VersionConflict and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.createStripeCustomer(customerId(6), 0)
      yield* driver.createApiKey(apiKeyId(6), FREE)
      yield* driver.createApiKey(apiKeyId(7), FREE)
      yield* settleOk(link(6))
      const before = Option.getOrThrow(yield* driver.record(customerId(6)))
      const other = yield* settle(Link.link({ customerId: customerId(6), apiKeyId: apiKeyId(7) }))
      assert.isTrue(Exit.isFailure(other))
      if (Exit.isFailure(other) && other.cause._tag === "Fail") {
        assert.strictEqual(other.cause.error._tag, "VersionConflict")
        assert.include(other.cause.error.message, "unlink it first")
      }
      assert.deepStrictEqual(Option.getOrThrow(yield* driver.record(customerId(6))), before)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(7)), [FREE])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a card event delivered after a link-time promotion makes no second subscription", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.createStripeCustomer(customerId(4), 1)
      yield* driver.createApiKey(apiKeyId(4), FREE)
      yield* settleOk(link(4))
      // The setup_intent.succeeded of the card added before the link, delivered late (Stripe retries).
      yield* TestClock.adjust("1 minute")
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.setupIntentSucceeded({ customerId: customerId(4), created: yield* nowSeconds })
      ))
      const open = (yield* driver.subscriptions(customerId(4))).filter((s) => s.canceledAt === undefined)
      assert.strictEqual(open.length, 1)
      assert.strictEqual(Option.getOrThrow(yield* driver.record(customerId(4))).subscriptionId, open[0]!.id)
    }).pipe(Effect.provide(testLayer())))
})
