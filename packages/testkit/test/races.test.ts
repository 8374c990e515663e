/**
 * Interleavings found by review, each driven by injected latency or a crash at one exact call: a
 * promotion against a settle close, a promotion that replaced a subscription and crashed, a card
 * removed while a promotion runs, a payment that succeeds after a demotion.
 */
import { BillingConfig, Customer, HandleEvent, Stripe, UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import { Driver, Invariants, StripeEvents } from "../src/index.js"
import {
  apiKeyId,
  customerId,
  demotedForNonPayment,
  heldSubscription,
  METERED,
  meteredThen,
  nowSeconds,
  settle,
  settleOk,
  signUp,
  signUpMetered,
  T0,
  testLayer
} from "./support.js"

const customers = [{ customerId: customerId(1), apiKeyId: apiKeyId(1) }]

// Let forked fibers run up to their next sleep.
const runForked = Effect.forEach(Array.from({ length: 200 }), () => Effect.yieldNow(), { discard: true })

const openSubscriptions = Effect.gen(function*() {
  const driver = yield* Driver.Driver
  return (yield* driver.subscriptions(customerId(1))).filter((s) => s.status !== "canceled").map((s) => s.id)
})

const isRetry = (exit: Exit.Exit<unknown, HandleEvent.HandleEventError>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && HandleEvent.classify(exit.cause.error) === "retry"

// Customer 1 promoted at T0, then its card removed (demoted, the subscription live through the settle
// window); the clock is moved just past the window. Returns the demoted record.
const demotedPastWindow = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  const driver = yield* Driver.Driver
  yield* signUpMetered(1)
  yield* driver.setPaymentMethods(customerId(1), 0)
  yield* settleOk(HandleEvent.handleEvent(
    StripeEvents.paymentMethodDetached({ customerId: customerId(1), created: (yield* nowSeconds) + 1 })
  ))
  const demoted = Option.getOrThrow(yield* driver.record(customerId(1)))
  yield* TestClock.setTime(demoted.settleUntil! + 1_000)
  return demoted
})

describe("races", () => {
  it.effect("a card added while a sync closes the settle window waits for the close, then gets a new subscription", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const demoted = yield* demotedPastWindow
      // The sync closes the window and is slow to cancel; a card is added after its fence.
      yield* driver.setLatency("Stripe.cancelSubscription", "100 millis")
      const sync = yield* Effect.fork(settleOk(UsageSync.syncUsage()))
      yield* runForked
      assert.isDefined(Option.getOrThrow(yield* driver.record(customerId(1))).closingSince)
      yield* driver.setPaymentMethods(customerId(1), 1)
      const added = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: (yield* nowSeconds) + 2 })
      assert.isTrue(isRetry(yield* settle(HandleEvent.handleEvent(added))), "refused while closing")
      yield* Fiber.join(sync)
      // Stripe redelivers after the close.
      yield* settleOk(HandleEvent.handleEvent(added))
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.notStrictEqual(record.subscriptionId, demoted.subscriptionId)
      assert.deepStrictEqual(yield* openSubscriptions, [record.subscriptionId])
      assert.deepStrictEqual(Invariants.violations(driver.state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a close that crashed after its fence is finished by the first sync after its lease, even inside a new window", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      yield* demotedForNonPayment
      const [sub] = yield* driver.subscriptions(customerId(1))
      yield* TestClock.adjust("2 hours")
      // The close writes its fence, then crashes at the cancel.
      yield* driver.failNext("Stripe.cancelSubscription", { die: true })
      assert.isTrue(Exit.isFailure(yield* settle(UsageSync.syncUsage())))
      assert.isDefined(Option.getOrThrow(yield* driver.record(customerId(1))).closingSince)
      // A later event opens a new window (the card is removed too) ...
      yield* driver.setPaymentMethods(customerId(1), 0)
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodDetached({ customerId: customerId(1), created: yield* nowSeconds })
      ))
      // A sync inside the close's lease leaves it alone (it may still be running) ...
      yield* settleOk(UsageSync.syncUsage())
      assert.isDefined(Option.getOrThrow(yield* driver.record(customerId(1))).closingSince)
      // ... the first one after the lease finishes it, though the new window is still open.
      yield* TestClock.adjust(Duration.millis(Customer.CLOSE_LEASE_MILLIS))
      yield* settleOk(UsageSync.syncUsage())
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.isUndefined(record.closingSince)
      assert.isUndefined(record.subscriptionId)
      assert.strictEqual(driver.state.subscriptions.get(sub!.id)?.status, "canceled")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a webhook during a settle close does not start a second close beside it", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const demoted = yield* demotedPastWindow
      // Close A stalls in its sweep's list call.
      yield* driver.setLatency("Stripe.openSubscriptions", "30 seconds")
      const a = yield* Effect.fork(settleOk(UsageSync.syncUsage()))
      yield* runForked
      yield* driver.setLatency("Stripe.openSubscriptions", undefined)
      // Stripe's deletion event for the cancel A just made, and an overlapping sync, arrive meanwhile.
      yield* settleOk(HandleEvent.handleEvent(StripeEvents.subscriptionDeleted({
        customerId: customerId(1),
        subscriptionId: demoted.subscriptionId!,
        created: (yield* nowSeconds) + 2
      })))
      yield* settleOk(UsageSync.syncUsage())
      assert.isDefined(Option.getOrThrow(yield* driver.record(customerId(1))).closingSince, "A still closing")
      // A card added now waits for A (refused, retried) ...
      yield* driver.setPaymentMethods(customerId(1), 1)
      const added = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: (yield* nowSeconds) + 5 })
      assert.isTrue(isRetry(yield* settle(HandleEvent.handleEvent(added))))
      yield* TestClock.adjust("31 seconds")
      yield* Fiber.join(a)
      // ... and after it, promotes onto a subscription nobody cancels.
      yield* settleOk(HandleEvent.handleEvent(added))
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.deepStrictEqual(yield* openSubscriptions, [record.subscriptionId])
      assert.deepStrictEqual(Invariants.violations(driver.state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a close that fails for good blocks promotions for its lease only", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      yield* demotedPastWindow
      // Stripe refuses the final invoice, every time.
      yield* driver.failNext("Stripe.cancelSubscription", {
        times: 1_000,
        error: new Stripe.StripeError({ reason: "InvalidRequest", message: "customer_tax_location_invalid" })
      })
      const failed = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(failed.customersFailed, 1)
      yield* TestClock.adjust(Duration.millis(Customer.CLOSE_LEASE_MILLIS))
      yield* driver.setPaymentMethods(customerId(1), 1)
      const promoted = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: (yield* nowSeconds) + 5 })
      ))
      assert.isTrue(promoted._tag === "Applied" && promoted.decision._tag === "Promote")
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.isUndefined(record.closingSince)
    }).pipe(Effect.provide(testLayer())))

  it.effect("once the settle window closed, a paid invoice no longer promotes a customer demoted for non-payment", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const sub = yield* meteredThen("past_due")
      const t = yield* nowSeconds
      yield* settleOk(
        HandleEvent.handleEvent(
          StripeEvents.invoicePaymentFailed({
            customerId: customerId(1),
            subscriptionId: yield* heldSubscription(1),
            created: t + 1
          })
        )
      )
      // The customer cancels on purpose; the window closes.
      driver.state.subscriptions.get(sub.id)!.status = "canceled"
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.subscriptionDeleted({ customerId: customerId(1), subscriptionId: sub.id, created: t + 60 })
      ))
      yield* TestClock.adjust("3 hours")
      yield* settleOk(UsageSync.syncUsage())
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(1))).paymentFailedAt)
      // Weeks later some other invoice is paid.
      yield* TestClock.adjust("20 days")
      const paid = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaid({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: yield* nowSeconds
        })
      ))
      assert.isTrue(paid._tag === "Applied" && paid.decision._tag === "NoChange")
      assert.strictEqual(Option.getOrThrow(yield* driver.record(customerId(1))).plan, "FREE")
    }).pipe(Effect.provide(testLayer())))

  // The replaced subscription is cancelled once a settle window has passed since the replacement
  // (DESIGN.md, "Retiring and orphans"), by whichever event or sync comes next.
  it.effect("a promotion that replaced an unpaid subscription: a crash at its later cancel is repaired by the next event", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const unpaid = yield* meteredThen("unpaid")
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: (yield* nowSeconds) + 1 })
      ))
      assert.deepStrictEqual(Option.getOrThrow(yield* driver.record(customerId(1))).retiring, [unpaid.id])
      yield* TestClock.adjust("1 hour")
      const created = (yield* nowSeconds) + 1
      const event = StripeEvents.invoiceCreated({
        customerId: customerId(1),
        subscriptionId: yield* heldSubscription(1),
        created
      })
      yield* driver.failNext("Stripe.cancelSubscription", { die: true })
      assert.isTrue(Exit.isFailure(yield* settle(HandleEvent.handleEvent(event))))
      assert.deepStrictEqual(Option.getOrThrow(yield* driver.record(customerId(1))).retiring, [unpaid.id])
      yield* settleOk(HandleEvent.handleEvent(event))
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.isUndefined(record.retiring)
      const old = (yield* driver.subscriptions(customerId(1))).find((s) => s.id === unpaid.id)
      assert.strictEqual(old?.status, "canceled")
      assert.isTrue(old?.invoicedNow)
      assert.deepStrictEqual(yield* openSubscriptions, [record.subscriptionId])
    }).pipe(Effect.provide(testLayer())))

  it.effect("the sync cancels a retired subscription when no event comes", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const unpaid = yield* meteredThen("unpaid")
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: (yield* nowSeconds) + 1 })
      ))
      yield* TestClock.adjust("1 hour")
      yield* settleOk(UsageSync.syncUsage())
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(1))).retiring)
      assert.strictEqual(driver.state.subscriptions.get(unpaid.id)?.status, "canceled")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a card removed while the promotion makes the subscription: Stripe refuses it as the default", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 1)
      const attached = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      yield* driver.setLatency("Stripe.ensureSubscription", "500 millis")
      const promotion = yield* Effect.fork(settle(HandleEvent.handleEvent(attached)))
      yield* runForked
      yield* driver.setLatency("Stripe.ensureSubscription", undefined)
      yield* driver.setPaymentMethods(customerId(1), 0)
      const detached = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodDetached({ customerId: customerId(1), created: (yield* nowSeconds) + 1 })
      ))
      assert.isTrue(detached._tag === "Applied" && detached.decision._tag === "Demote")
      yield* TestClock.adjust("1 second")
      const promoted = yield* Fiber.join(promotion)
      // Stripe refuses a default_payment_method the customer no longer has: acknowledged, nothing promoted.
      assert.isTrue(
        Exit.isFailure(promoted) && promoted.cause._tag === "Fail" &&
          HandleEvent.classify(promoted.cause.error) === "acknowledge"
      )
      assert.strictEqual(Option.getOrThrow(yield* driver.record(customerId(1))).plan, "FREE")
      // The subscription it made is swept when the window closes.
      yield* TestClock.adjust("3 hours")
      yield* settleOk(UsageSync.syncUsage())
      assert.deepStrictEqual(yield* openSubscriptions, [])
      assert.deepStrictEqual(Invariants.violations(driver.state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("dunning deletes the subscription after the final failure; a card added before it still promotes", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const unpaid = yield* meteredThen("unpaid")
      const t = yield* nowSeconds
      yield* settleOk(
        HandleEvent.handleEvent(
          StripeEvents.invoicePaymentFailed({
            customerId: customerId(1),
            subscriptionId: yield* heldSubscription(1),
            created: t + 1
          })
        )
      )
      // The customer adds a card; then Stripe's dunning cancels the unpaid subscription. The deletion
      // is delivered first.
      const attached = StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: t + 2 })
      driver.state.subscriptions.get(unpaid.id)!.status = "canceled"
      const deleted = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.subscriptionDeleted({ customerId: customerId(1), subscriptionId: unpaid.id, created: t + 3 })
      ))
      assert.isTrue(deleted._tag === "Applied" && deleted.decision._tag === "NoChange")
      const promoted = yield* settleOk(HandleEvent.handleEvent(attached))
      assert.isTrue(promoted._tag === "Applied" && promoted.decision._tag === "Promote")
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.deepStrictEqual(yield* openSubscriptions, [record.subscriptionId])
    }).pipe(Effect.provide(testLayer())))

  it.effect("demoted on the first failure, a retried payment that succeeds promotes again", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const sub = yield* meteredThen("past_due")
      const t = yield* nowSeconds
      const failed = yield* settleOk(HandleEvent.handleEvent(StripeEvents.invoicePaymentFailed({
        customerId: customerId(1),
        subscriptionId: yield* heldSubscription(1),
        created: t + 1,
        nextPaymentAttempt: t + 86_400,
        attemptCount: 1
      })))
      assert.isTrue(failed._tag === "Applied" && failed.decision._tag === "Demote")
      yield* TestClock.adjust("30 minutes")
      driver.state.subscriptions.get(sub.id)!.status = "active"
      const paid = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaid({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: yield* nowSeconds
        })
      ))
      assert.isTrue(paid._tag === "Applied" && paid.decision._tag === "Promote")
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.strictEqual(record.subscriptionId, sub.id)
      assert.isUndefined(record.paymentFailedAt)
      // The window's close does not cancel it: the customer is metered again.
      yield* TestClock.adjust("3 hours")
      yield* settleOk(UsageSync.syncUsage())
      assert.deepStrictEqual(yield* openSubscriptions, [sub.id])
      assert.deepStrictEqual(Invariants.violations(driver.state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer({ demotionPolicy: BillingConfig.DemotionPolicy.Immediately() }))))
})
