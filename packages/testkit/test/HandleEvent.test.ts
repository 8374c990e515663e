import { HandleEvent, type Ids, KeyMove, PlanAdmin, Stripe, UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import { Driver, StripeEvents } from "../src/index.js"
import {
  apiKeyId,
  customerId,
  demotedForNonPayment,
  FREE,
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

const snapshot = Effect.gen(function*() {
  const { state } = yield* Driver.Driver
  return JSON.stringify({
    records: [...state.records.entries()],
    membership: [...state.membership.entries()].map(([k, v]) => [k, [...v]]),
    subscriptions: [...state.subscriptions.values()],
    meterEvents: state.meterEvents,
    processed: [...state.processed.entries()]
  })
})

describe("handleEvent", () => {
  it.effect("setup_intent.succeeded promotes: one subscription, key in METERED, record METERED", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      const outcome = yield* signUpMetered(1)
      assert.strictEqual(outcome._tag, "Applied")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      const subs = yield* driver.subscriptions(customerId(1))
      assert.strictEqual(subs.length, 1)
      assert.strictEqual(record.subscriptionId, subs[0]!.id)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a duplicate delivery is acknowledged and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1, 1)
      const event = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(event)))._tag, "Applied")
      const before = yield* snapshot
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(event)))._tag, "Duplicate")
      assert.strictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an event for a customer with no link is UnknownCustomer and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1, 1)
      const before = yield* snapshot
      const outcome = yield* settleOk(
        HandleEvent.handleEvent(StripeEvents.setupIntentSucceeded({ customerId: customerId(99), created: 1 }))
      )
      assert.strictEqual(outcome._tag, "UnknownCustomer")
      assert.strictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a malformed handled event is a decode error (rejected) and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1, 1)
      const before = yield* snapshot
      const event = StripeEvents.invoicePaymentFailed({
        customerId: customerId(1),
        subscriptionId: yield* heldSubscription(1),
        created: 5
      })
      const broken = { ...event, data: { object: { ...event.data.object, next_payment_attempt: "tomorrow" } } }
      const exit = yield* settle(HandleEvent.handleEvent(broken))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(exit.cause.error._tag, "StripeEventDecodeError")
        assert.strictEqual(HandleEvent.classify(exit.cause.error), "reject")
      } else {
        assert.fail("expected a typed failure")
      }
      assert.strictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an unknown event type is Ignored", () =>
    Effect.gen(function*() {
      const outcome = yield* HandleEvent.handleEvent({ id: "evt_x1", type: "charge.refunded", created: 1, data: {} })
      assert.strictEqual(outcome._tag, "Ignored")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a card confirmed but removed before the event arrives does not promote", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 0)
      const outcome = yield* settleOk(
        HandleEvent.handleEvent(
          StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
        )
      )
      assert.isTrue(outcome._tag === "Applied" && outcome.decision._tag === "NoChange")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      assert.strictEqual((yield* driver.subscriptions(customerId(1))).length, 0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a failed payment with a retry scheduled records the failure and keeps the plan", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      const created = yield* nowSeconds
      const outcome = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created,
          nextPaymentAttempt: created + 86_400
        })
      ))
      assert.isTrue(outcome._tag === "Applied" && outcome.decision._tag === "RecordFailure")
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.strictEqual(record.paymentFailedAt, created)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("the final failed payment demotes: usage reported, key moved to free, cancelled when the settle window closes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 321 })
      yield* TestClock.adjust("10 minutes")
      const outcome = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: yield* nowSeconds
        })
      ))
      assert.isTrue(outcome._tag === "Applied" && outcome.decision._tag === "Demote")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      const events = yield* driver.meterEvents(customerId(1))
      assert.strictEqual(events.reduce((n, e) => n + e.value, 0), 321)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "FREE")
      assert.isDefined(record.settleUntil)
      // Usage after the move lands in the free plan and is never billed.
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 50 })
      assert.strictEqual(
        yield* driver.usage({ usagePlanId: FREE, apiKeyId: apiKeyId(1), day: "2026-03-31" as never }),
        50
      )
      // API Gateway counts 9 metered requests late; the subscription waits for them.
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 9, usagePlanId: METERED })
      assert.strictEqual((yield* driver.subscriptions(customerId(1)))[0]!.status, "active")
      yield* TestClock.adjust("2 hours")
      yield* settleOk(UsageSync.syncUsage())
      const [sub] = yield* driver.subscriptions(customerId(1))
      assert.strictEqual(sub!.status, "canceled")
      assert.isTrue(sub!.invoicedNow)
      const all = yield* driver.meterEvents(customerId(1))
      assert.strictEqual(all.reduce((n, e) => n + e.value, 0), 330)
      for (const e of all) assert.isAtMost(e.acceptedAt, sub!.canceledAt!)
      const closed = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.isUndefined(closed.subscriptionId)
      assert.isUndefined(closed.settleUntil)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an event older than the state it would change is recorded and skipped", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      const t = yield* nowSeconds
      const late = StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: t - 60 })
      yield* settleOk(
        HandleEvent.handleEvent(
          StripeEvents.invoicePaymentFailed({
            customerId: customerId(1),
            subscriptionId: yield* heldSubscription(1),
            created: t + 5
          })
        )
      )
      const outcome = yield* settleOk(HandleEvent.handleEvent(late))
      assert.strictEqual(outcome._tag, "Stale")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      // Recorded: a redelivery is a duplicate.
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(late)))._tag, "Duplicate")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a promotion overtaken by a newer demotion: the settle close sweeps the subscription it made", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      // The last invoice went unpaid; the customer adds another card.
      const first = yield* meteredThen("unpaid")
      const t = yield* nowSeconds
      const promotion = StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: t + 1 })
      // The promotion makes a new subscription, then crashes before it writes the record down ...
      yield* driver.failNext("CustomerRepo.update", { die: true })
      assert.isTrue(Exit.isFailure(yield* settle(HandleEvent.handleEvent(promotion))))
      const orphan = (yield* driver.subscriptions(customerId(1))).find((s) => s.id !== first.id)
      assert.strictEqual(orphan?.status, "active")
      // ... the final failed payment (newer) demotes, and the promotion's redelivery is stale.
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: t + 5
        })
      ))
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(promotion)))._tag, "Stale")
      const demoted = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(demoted.subscriptionId, first.id)
      // The sync that closes the settle window cancels the record's subscription with a final invoice
      // and the one no record holds without one.
      yield* TestClock.adjust("2 hours")
      yield* settleOk(UsageSync.syncUsage())
      const after = new Map((yield* driver.subscriptions(customerId(1))).map((s) => [s.id, s]))
      assert.strictEqual(after.get(first.id)?.status, "canceled")
      assert.isTrue(after.get(first.id)?.invoicedNow)
      assert.strictEqual(after.get(orphan!.id)?.status, "canceled")
      assert.isFalse(after.get(orphan!.id)?.invoicedNow)
      const closed = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.isUndefined(closed.settleUntil)
      assert.strictEqual(closed.generation, (demoted.generation ?? 0) + 1)
      // A later promotion gets a new subscription, never a swept one back.
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      ))
      const promoted = Option.getOrThrow(yield* driver.record(customerId(1)))
      const open = (yield* driver.subscriptions(customerId(1))).filter((s) => s.status !== "canceled")
      assert.strictEqual(promoted.plan, "METERED")
      assert.deepStrictEqual(open.map((s) => s.id), [promoted.subscriptionId])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a promotion that crashed after Stripe made the subscription and never promotes: the sync sweeps it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 1)
      const promotion = StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: yield* nowSeconds })
      // The write-ahead succeeds, Stripe makes the subscription, the record write crashes.
      yield* driver.failNext("CustomerRepo.update", { skip: 1, die: true })
      assert.isTrue(Exit.isFailure(yield* settle(HandleEvent.handleEvent(promotion))))
      const [made] = yield* driver.subscriptions(customerId(1))
      assert.strictEqual(made!.status, "active")
      const marked = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(marked.plan, "FREE")
      assert.isDefined(marked.settleUntil)
      // The card is removed before Stripe redelivers: the promotion no longer applies.
      yield* driver.setPaymentMethods(customerId(1), 0)
      const redelivered = yield* settleOk(HandleEvent.handleEvent(promotion))
      assert.isTrue(redelivered._tag === "Applied" && redelivered.decision._tag === "NoChange")
      // A sync inside the promotion window leaves the subscription alone; the first one after it sweeps.
      yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual((yield* driver.subscriptions(customerId(1)))[0]!.status, "active")
      yield* TestClock.adjust(HandleEvent.PROMOTION_WINDOW)
      yield* settleOk(UsageSync.syncUsage())
      const [swept] = yield* driver.subscriptions(customerId(1))
      assert.strictEqual(swept!.status, "canceled")
      assert.isFalse(swept!.invoicedNow)
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(1))).settleUntil)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a sync closing a settle window while a promotion runs never cancels the subscription it keeps", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const demoted = yield* demotedForNonPayment
      // The customer adds a card a moment before the window ends; the sync starts as it ends, reads the
      // record before the promotion writes, and is slow to cancel.
      yield* TestClock.setTime(demoted.settleUntil! - 1)
      yield* driver.setLatency("CustomerRepo.update", "10 millis")
      yield* driver.setLatency("Stripe.cancelSubscription", "100 millis")
      const promotion = yield* Effect.fork(settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: (yield* nowSeconds) + 1 })
      )))
      yield* TestClock.adjust("1 millis")
      const sync = yield* Effect.fork(settleOk(UsageSync.syncUsage()))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(promotion)
      yield* Fiber.join(sync)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      const open = (yield* driver.subscriptions(customerId(1))).filter((s) => s.status !== "canceled")
      assert.deepStrictEqual(open.map((s) => s.id), [record.subscriptionId])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a promotion that read the record before a settle close began refuses the closing subscription", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const demoted = yield* demotedForNonPayment
      const [closing] = yield* driver.subscriptions(customerId(1))
      // The promotion finds the window still open, then its record reads are slow: the sync's close
      // writes its fence first, and cancels slowly.
      yield* TestClock.setTime(demoted.settleUntil! - 15)
      yield* driver.setLatency("CustomerRepo.get", "10 millis")
      yield* driver.setLatency("CustomerRepo.update", "1 millis")
      yield* driver.setLatency("Stripe.cancelSubscription", "100 millis")
      const attached = StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: yield* nowSeconds })
      const promotion = yield* Effect.fork(settle(HandleEvent.handleEvent(attached)))
      yield* TestClock.adjust("15 millis")
      const sync = yield* Effect.fork(settleOk(UsageSync.syncUsage()))
      yield* TestClock.adjust("1 second")
      const first = yield* Fiber.join(promotion)
      yield* Fiber.join(sync)
      // Refused and retried: Stripe redelivers, and the promotion gets a new subscription.
      assert.isTrue(
        Exit.isFailure(first) && first.cause._tag === "Fail" && HandleEvent.classify(first.cause.error) === "retry"
      )
      yield* driver.clearFaults
      yield* settleOk(HandleEvent.handleEvent(attached))
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.notStrictEqual(record.subscriptionId, closing!.id)
      const open = (yield* driver.subscriptions(customerId(1))).filter((s) => s.status !== "canceled")
      assert.deepStrictEqual(open.map((s) => s.id), [record.subscriptionId])
    }).pipe(Effect.provide(testLayer())))

  // Kept open for a settle window, its late counts stamped before the replacement (DESIGN.md, "Retiring
  // and orphans"), then cancelled by the first sync after it.
  it.effect("a promotion that replaces an unpaid subscription cancels it with a final invoice after a settle window", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      const first = yield* meteredThen("unpaid")
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: (yield* nowSeconds) + 1 })
      ))
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.notStrictEqual(record.subscriptionId, first.id)
      assert.deepStrictEqual(record.retiring, [first.id])
      assert.strictEqual(driver.state.subscriptions.get(first.id)?.status, "unpaid")
      yield* TestClock.adjust("1 hour")
      yield* settleOk(UsageSync.syncUsage())
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(1))).replacingSince)
      const after = new Map((yield* driver.subscriptions(customerId(1))).map((s) => [s.id, s]))
      assert.strictEqual(after.get(first.id)?.status, "canceled")
      assert.isTrue(after.get(first.id)?.invoicedNow)
      assert.strictEqual(after.get(record.subscriptionId!)?.status, "active")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("transient Stripe failures are retried with backoff and the promotion completes once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 1)
      yield* driver.failNext("Stripe.ensureSubscription", { times: 3 })
      const outcome = yield* settleOk(
        HandleEvent.handleEvent(
          StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
        )
      )
      assert.strictEqual(outcome._tag, "Applied")
      assert.strictEqual((yield* driver.calls)["Stripe.ensureSubscription"], 4)
      assert.strictEqual((yield* driver.subscriptions(customerId(1))).length, 1)
    }).pipe(Effect.provide(testLayer())))

  // A rotated or expired secret key answers 401 until the new one is read (docs.stripe.com/keys): the
  // delivery must come again, in every shell that classifies with core (the CLI's serve included).
  it.effect("a refused Stripe key (Authentication) is classified for retry, changes nothing, and a redelivery completes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 1)
      yield* driver.failNext("Stripe.ensureSubscription", {
        error: new Stripe.StripeError({ reason: "Authentication", message: "Expired API Key provided" })
      })
      const event = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      const exit = yield* settle(HandleEvent.handleEvent(event))
      assert.isTrue(
        Exit.isFailure(exit) && exit.cause._tag === "Fail" && HandleEvent.classify(exit.cause.error) === "retry"
      )
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(event)))._tag, "Applied")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a permanent failure is not retried and is classified for acknowledgement; a redelivery completes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 1)
      yield* driver.failNext("Stripe.ensureSubscription", {
        error: new Stripe.StripeError({ reason: "InvalidRequest", message: "no metered price" })
      })
      const event = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      const exit = yield* settle(HandleEvent.handleEvent(event))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(HandleEvent.classify(exit.cause.error), "acknowledge")
      } else {
        assert.fail("expected a typed failure")
      }
      assert.strictEqual((yield* driver.calls)["Stripe.ensureSubscription"], 1)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(event)))._tag, "Applied")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("invoice.created flushes the customer's unreported usage", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 77 })
      const outcome = yield* settleOk(
        HandleEvent.handleEvent(
          StripeEvents.invoiceCreated({
            customerId: customerId(1),
            subscriptionId: yield* heldSubscription(1),
            created: yield* nowSeconds
          })
        )
      )
      assert.isTrue(outcome._tag === "Applied" && outcome.decision._tag === "Flush")
      assert.strictEqual((yield* driver.meterEvents(customerId(1))).reduce((n, e) => n + e.value, 0), 77)
    }).pipe(Effect.provide(testLayer())))

  it.effect("subscription deleted (ours) demotes; someone else's subscription changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      const t = yield* nowSeconds
      const other = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.subscriptionDeleted({
          customerId: customerId(1),
          created: t + 1,
          subscriptionId: "sub_other" as never
        })
      ))
      assert.isTrue(other._tag === "Applied" && other.decision._tag === "NoChange")
      const ours = yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.subscriptionDeleted({
          customerId: customerId(1),
          created: t + 2,
          subscriptionId: record.subscriptionId!
        })
      ))
      assert.isTrue(ours._tag === "Applied" && ours.decision._tag === "Demote")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a key move whose add fails is compensated: the key is back in its plan", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1, 1)
      yield* driver.failNext("PlanAdmin.addKey", {
        error: new PlanAdmin.PlanAdminError({ reason: "BadRequest", message: "rejected" })
      })
      const exit = yield* settle(KeyMove.moveKey({ apiKeyId: apiKeyId(1), from: FREE, to: METERED }))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.isTrue(error._tag === "KeyMoveError" && error.reason === "AddFailed" && error.compensated)
        assert.strictEqual(HandleEvent.classify(error), "retry")
      } else {
        assert.fail("expected a typed failure")
      }
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a key in an unexpected plan is not moved", () =>
    Effect.gen(function*() {
      const driver = yield* Driver.Driver
      yield* driver.createUsagePlan("GOLD" as never)
      yield* driver.createApiKey(apiKeyId(1), "GOLD" as never)
      const exit = yield* settle(KeyMove.moveKey({ apiKeyId: apiKeyId(1), from: FREE, to: METERED }))
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), ["GOLD" as Ids.UsagePlanId])
    }).pipe(Effect.provide(testLayer())))
})
