/**
 * The money path as Stripe really behaves (issue 9): who pays an invoice, which invoices are ours,
 * what a cancel does to collection. Each test names the Stripe behaviour it models and where it is
 * documented.
 */
import { HandleEvent, Stripe, UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, HashMap, Logger, Option, TestClock } from "effect"
import { Driver, Invariants, StripeEvents, StripeMemory } from "../src/index.js"
import { apiKeyId, customerId, METERED, nowSeconds, settle, settleOk, signUp, T0, testLayer } from "./support.js"

const customers = [{ customerId: customerId(1), apiKeyId: apiKeyId(1) }]

const attachAndDeliver = (card?: string) =>
  Effect.gen(function*() {
    const { state } = yield* Driver.Driver
    const id = StripeMemory.attachCard(state, customerId(1), card)!
    yield* settleOk(HandleEvent.handleEvent(
      StripeEvents.paymentMethodAttached({ customerId: customerId(1), created: yield* nowSeconds, paymentMethodId: id })
    ))
    yield* TestClock.adjust("1 second")
    return id
  })

describe("who pays an invoice (issue 9, behaviour 1)", () => {
  // docs.stripe.com/billing/revenue-recovery/smart-retries, "Payment method ordering": the
  // subscription's default_payment_method, then the customer's invoice default, then default_source.
  it.effect("attaching a card makes it no default: a subscription made without one is charged to nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const stripe = yield* Stripe.Stripe
      const card = StripeMemory.attachCard(state, customerId(1))!
      const customer = yield* stripe.getCustomer(customerId(1))
      assert.deepStrictEqual(customer.paymentMethods, [card])
      assert.strictEqual(customer.invoiceDefault, undefined)
      const id = yield* stripe.ensureSubscription({ customerId: customerId(1), idempotencyKey: "k1" })
      assert.strictEqual(StripeMemory.chargedCard(state, state.subscriptions.get(id)!), undefined)
      // With a default payment method it is charged to that card, and the card becomes the invoice default.
      yield* stripe.cancelSubscription({ subscriptionId: id, invoiceNow: false })
      const next = yield* stripe.ensureSubscription({
        customerId: customerId(1),
        idempotencyKey: "k2",
        defaultPaymentMethod: card
      })
      assert.strictEqual(StripeMemory.chargedCard(state, state.subscriptions.get(next)!), card)
      assert.strictEqual((yield* stripe.getCustomer(customerId(1))).invoiceDefault, card)
    }).pipe(Effect.provide(testLayer())))

  it.effect("Stripe refuses a default payment method the customer does not have attached", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const stripe = yield* Stripe.Stripe
      const result = yield* Effect.either(stripe.ensureSubscription({
        customerId: customerId(1),
        idempotencyKey: "k1",
        defaultPaymentMethod: "pm_elsewhere"
      }))
      assert.isTrue(result._tag === "Left" && result.left.reason === "InvalidRequest")
    }).pipe(Effect.provide(testLayer())))

  it.effect("promotion makes the promoting card the subscription's default and the customer's invoice default", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const card = yield* attachAndDeliver()
      const record = state.records.get(customerId(1))!
      assert.strictEqual(record.plan, "METERED")
      const sub = state.subscriptions.get(record.subscriptionId!)!
      assert.strictEqual(sub.defaultPaymentMethod, card)
      assert.strictEqual(state.stripeCustomers.get(customerId(1))!.invoiceDefault, card)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a second card promotes onto the subscription; the invoice default the customer had stays", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const first = yield* attachAndDeliver()
      const second = yield* attachAndDeliver()
      const record = state.records.get(customerId(1))!
      assert.strictEqual(state.subscriptions.get(record.subscriptionId!)!.defaultPaymentMethod, second)
      assert.strictEqual(state.stripeCustomers.get(customerId(1))!.invoiceDefault, first)
    }).pipe(Effect.provide(testLayer())))

  it.effect("setup_intent.succeeded makes the intent's payment_method the subscription's default", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      StripeMemory.attachCard(state, customerId(1))
      const card = StripeMemory.attachCard(state, customerId(1))!
      const event = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      event.data.object.payment_method = card
      yield* settleOk(HandleEvent.handleEvent(event))
      const record = state.records.get(customerId(1))!
      assert.strictEqual(state.subscriptions.get(record.subscriptionId!)!.defaultPaymentMethod, card)
    }).pipe(Effect.provide(testLayer())))

  it.effect("detaching the default card re-points the subscription at a card that remains", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const first = yield* attachAndDeliver()
      const second = StripeMemory.attachCard(state, customerId(1))!
      StripeMemory.detachCard(state, customerId(1), first)
      const sub = state.subscriptions.get(state.records.get(customerId(1))!.subscriptionId!)!
      assert.strictEqual(StripeMemory.chargedCard(state, sub), undefined)
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.paymentMethodDetached({
          customerId: customerId(1),
          created: yield* nowSeconds,
          paymentMethodId: first
        })
      ))
      assert.strictEqual(state.records.get(customerId(1))!.plan, "METERED")
      assert.strictEqual(StripeMemory.chargedCard(state, sub), second)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("invariant: a promoted customer whose renewal would be charged to no card is a violation", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const card = yield* attachAndDeliver()
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
      // The card is detached behind the library's back and no event arrives: nothing pays the renewal.
      StripeMemory.detachCard(state, customerId(1), card)
      const broken = Invariants.violations(state, customers, METERED)
      assert.isTrue(broken.some((line) => line.includes("charged to no card")), broken.join("; "))
      assert.isTrue(Option.isSome(yield* (yield* Driver.Driver).record(customerId(1))))
    }).pipe(Effect.provide(testLayer())))
})

describe("invoices belong to subscriptions (issue 9, behaviour 3)", () => {
  // docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects: an invoice
  // names its subscription under parent.subscription_details; a one-off invoice has no such parent.
  const promoted = Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    yield* signUp(1)
    yield* attachAndDeliver()
    const { state } = yield* Driver.Driver
    return state.records.get(customerId(1))!.subscriptionId!
  })
  const snapshot = Effect.map(Driver.Driver, ({ state }) =>
    JSON.stringify({
      record: { ...state.records.get(customerId(1)), version: 0, updatedAt: 0 },
      membership: [...state.membership.entries()].map(([k, v]) => [k, [...v]]),
      subscriptions: [...state.subscriptions.values()]
    }))
  const handle = (event: unknown) => settleOk(HandleEvent.handleEvent(event))

  it.effect("an event about another subscription changes nothing: another product's final failure does not demote", () =>
    Effect.gen(function*() {
      yield* promoted
      const { state } = yield* Driver.Driver
      const other = StripeMemory.otherSubscription(state, customerId(1), T0)
      const before = yield* snapshot
      for (
        const event of [
          StripeEvents.invoicePaymentFailed({
            customerId: customerId(1),
            created: yield* nowSeconds,
            subscriptionId: other,
            managed: false
          }),
          StripeEvents.invoicePaymentFailed({
            customerId: customerId(1),
            created: yield* nowSeconds,
            subscriptionId: null
          }),
          StripeEvents.invoiceCreated({ customerId: customerId(1), created: yield* nowSeconds, subscriptionId: other })
        ]
      ) {
        // Issue 9: "others are ignored with a log line": the line names the decision and its reason.
        const logged: Array<Record<string, unknown>> = []
        const capture = Logger.make(({ annotations, message }) => {
          if (String(message).includes("event Applied")) logged.push(Object.fromEntries(HashMap.toEntries(annotations)))
        })
        const outcome = yield* handle(event).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
        assert.isTrue(outcome._tag === "Applied" && outcome.decision._tag === "NoChange", JSON.stringify(outcome))
        assert.strictEqual(logged.length, 1)
        assert.strictEqual(logged[0]!.decision, "NoChange")
        assert.match(String(logged[0]!.reason), /subscription|invoice/)
        yield* TestClock.adjust("1 second")
      }
      assert.strictEqual(yield* snapshot, before)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a one-off invoice fails once with next_payment_attempt null; it neither demotes nor, paid, promotes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const invoice = StripeMemory.oneOffInvoice(state, customerId(1), { nowSeconds: yield* nowSeconds })
      assert.strictEqual(invoice.nextPaymentAttempt, undefined)
      assert.strictEqual(invoice.status, "open")
      yield* promoted
      const before = yield* snapshot
      const paid = yield* handle(
        StripeEvents.invoicePaid({ customerId: customerId(1), created: yield* nowSeconds, subscriptionId: null })
      )
      assert.isTrue(paid._tag === "Applied" && paid.decision._tag === "NoChange")
      assert.strictEqual(yield* snapshot, before)
    }).pipe(Effect.provide(testLayer())))

  it.effect("the record's own subscription still demotes on its final failure", () =>
    Effect.gen(function*() {
      const sub = yield* promoted
      const outcome = yield* handle(
        StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          created: yield* nowSeconds,
          subscriptionId: sub
        })
      )
      assert.isTrue(outcome._tag === "Applied" && outcome.decision._tag === "Demote")
    }).pipe(Effect.provide(testLayer())))
})

describe("bad input (issue 9 flow changes)", () => {
  const rejected = (event: unknown) =>
    Effect.gen(function*() {
      const exit = yield* settle(HandleEvent.handleEvent(event))
      assert.isTrue(
        Exit.isFailure(exit) && exit.cause._tag === "Fail" && HandleEvent.classify(exit.cause.error) === "reject",
        String(exit)
      )
    })

  it.effect("a handled event missing its customer is a decode error (400), not an unknown customer", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1, 1)
      const event = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      yield* rejected({ ...event, data: { object: { ...event.data.object, customer: null } } })
      assert.strictEqual(((yield* Driver.Driver).state.records.get(customerId(1)))!.plan, "FREE")
    }).pipe(Effect.provide(testLayer())))

  it.effect("an event whose livemode differs from the key's mode is rejected and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1, 1)
      const { state } = yield* Driver.Driver
      // The in-memory Stripe is a test-mode account; a live-mode event must not promote anyone.
      assert.isFalse((yield* Stripe.Stripe).livemode)
      const event = StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
      yield* rejected({ ...event, livemode: true })
      assert.strictEqual(state.records.get(customerId(1))!.plan, "FREE")
      assert.strictEqual(state.processed.size, 0)
      const outcome = yield* settleOk(HandleEvent.handleEvent(event))
      assert.strictEqual(outcome._tag, "Applied")
    }).pipe(Effect.provide(testLayer())))
})

describe("cancelling stops collection (issue 9, behaviour 2)", () => {
  // docs.stripe.com/api/subscriptions/cancel: "By default, upon subscription cancellation, Stripe stops
  // automatic collection of all finalized invoices for the customer."
  it.effect("a cancel stops automatic collection of the customer's open invoices; the invariant sees the write-off", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1)
      const { state } = yield* Driver.Driver
      const stripe = yield* Stripe.Stripe
      yield* attachAndDeliver()
      const sub = state.records.get(customerId(1))!.subscriptionId!
      const renewal = StripeMemory.renewalInvoice(state, sub, { nowSeconds: yield* nowSeconds, declined: true })
      // A declined card: Smart Retries will try again.
      assert.strictEqual(renewal.status, "open")
      assert.isTrue(renewal.autoAdvance)
      assert.isDefined(renewal.nextPaymentAttempt)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
      yield* stripe.cancelSubscription({ subscriptionId: sub, invoiceNow: true })
      assert.isFalse(renewal.autoAdvance)
      assert.isUndefined(renewal.nextPaymentAttempt)
      const broken = Invariants.violations(state, customers, METERED)
      assert.isTrue(broken.some((line) => line.includes(`invoice ${renewal.id}`)), broken.join("; "))
    }).pipe(Effect.provide(testLayer())))

  it.effect("a renewal charged to no card fails with next_payment_attempt null (no Smart Retries)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUp(1, 1)
      const { state } = yield* Driver.Driver
      const stripe = yield* Stripe.Stripe
      // Made without a default payment method, with the card only attached: Stripe charges nothing.
      const sub = yield* stripe.ensureSubscription({ customerId: customerId(1), idempotencyKey: "bare" })
      const renewal = StripeMemory.renewalInvoice(state, sub, { nowSeconds: yield* nowSeconds })
      assert.strictEqual(renewal.status, "open")
      assert.isUndefined(renewal.nextPaymentAttempt)
    }).pipe(Effect.provide(testLayer())))
})

describe("a cancel of ours stops no other collection (issue 9, behaviour 2)", () => {
  // docs.stripe.com/api/subscriptions/cancel: a cancel stops automatic collection of all the customer's
  // finalized invoices, "however, you can resume automatic collection of the invoices manually".
  // Customer 1's subscription went unpaid; a second card replaced it; the replacement's renewal then
  // failed with Smart Retries to come, as did another product's invoice. The replaced subscription's
  // deferred cancel (after the settle window, by the sync) must leave both being collected.
  const replacedThenFailing = Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    yield* signUp(1)
    const { state } = yield* Driver.Driver
    yield* attachAndDeliver()
    const old = state.records.get(customerId(1))!.subscriptionId!
    state.subscriptions.get(old)!.status = "unpaid"
    yield* attachAndDeliver()
    const record = state.records.get(customerId(1))!
    assert.notStrictEqual(record.subscriptionId, old)
    assert.deepStrictEqual(record.retiring, [old])
    const created = yield* nowSeconds
    const renewal = StripeMemory.renewalInvoice(state, record.subscriptionId!, { nowSeconds: created, declined: true })
    const other = StripeMemory.renewalInvoice(state, StripeMemory.otherSubscription(state, customerId(1), T0), {
      nowSeconds: created,
      declined: true
    })
    assert.isDefined(renewal.nextPaymentAttempt)
    return { old, renewal, other }
  })

  it.effect("the replaced subscription's cancel resumes the held one's failing renewal and another product's invoice", () =>
    Effect.gen(function*() {
      const { old, other, renewal } = yield* replacedThenFailing
      const { state } = yield* Driver.Driver
      const attempt = renewal.nextPaymentAttempt
      yield* TestClock.adjust("3 hours")
      yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(state.subscriptions.get(old)!.status, "canceled")
      assert.isTrue(renewal.autoAdvance)
      assert.strictEqual(renewal.nextPaymentAttempt, attempt)
      assert.isTrue(other.autoAdvance)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a crash right after the cancel: the retried retire resumes the held subscription's renewal", () =>
    Effect.gen(function*() {
      const { old, renewal } = yield* replacedThenFailing
      const driver = yield* Driver.Driver
      yield* TestClock.adjust("3 hours")
      yield* driver.failNext("Stripe.cancelSubscription", { when: "after", die: true })
      yield* settle(UsageSync.syncUsage())
      assert.strictEqual(driver.state.subscriptions.get(old)!.status, "canceled")
      assert.isFalse(renewal.autoAdvance)
      yield* TestClock.adjust("1 hour")
      yield* settleOk(UsageSync.syncUsage())
      assert.isTrue(renewal.autoAdvance)
      assert.isUndefined(driver.state.records.get(customerId(1))!.retiring)
      assert.deepStrictEqual(Invariants.violations(driver.state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))
})

describe("collecting what a cancel stopped (issue 9, flow change 2)", () => {
  // A customer promoted at T0 whose renewal was declined on every attempt (the last one leaves
  // next_payment_attempt null), demoted for it, and whose settle window the sync then closed: the
  // close's cancel stopped collection of that invoice (docs.stripe.com/api/subscriptions/cancel).
  const writtenOff = Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    yield* signUp(1)
    const { state } = yield* Driver.Driver
    const card = yield* attachAndDeliver()
    const sub = state.records.get(customerId(1))!.subscriptionId!
    const renewal = StripeMemory.renewalInvoice(state, sub, { nowSeconds: yield* nowSeconds, declined: true })
    renewal.nextPaymentAttempt = undefined
    yield* settleOk(HandleEvent.handleEvent(
      StripeEvents.invoicePaymentFailed({ customerId: customerId(1), subscriptionId: sub, created: yield* nowSeconds })
    ))
    yield* TestClock.adjust("2 hours")
    yield* settleOk(UsageSync.syncUsage())
    assert.strictEqual(state.subscriptions.get(sub)!.status, "canceled")
    // Retries exhausted: open, with no attempt left for Stripe to make; only a new card collects it.
    assert.strictEqual(renewal.status, "open")
    assert.isUndefined(renewal.nextPaymentAttempt)
    return { card, renewal }
  })

  it.effect("a demoted customer who adds a card has the invoice the cancel wrote off paid with it (POST /v1/invoices/:id/pay)", () =>
    Effect.gen(function*() {
      const { renewal } = yield* writtenOff
      const { state } = yield* Driver.Driver
      // Another product's open invoice is the merchant's business, not ours to charge.
      const other = StripeMemory.renewalInvoice(state, StripeMemory.otherSubscription(state, customerId(1), T0), {
        nowSeconds: yield* nowSeconds,
        declined: true
      })
      const card = yield* attachAndDeliver()
      assert.strictEqual(state.records.get(customerId(1))!.plan, "METERED")
      assert.strictEqual(renewal.status, "paid")
      assert.strictEqual(other.status, "open")
      assert.strictEqual(renewal.attemptCount, 2)
      assert.isTrue(StripeMemory.attachedCards(state, state.stripeCustomers.get(customerId(1))!).includes(card))
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a declined new card leaves the invoice open and the promotion stands; the invariant sees it", () =>
    Effect.gen(function*() {
      const { renewal } = yield* writtenOff
      const { state } = yield* Driver.Driver
      state.declinedCards.add("pm_declined")
      yield* attachAndDeliver("pm_declined")
      assert.strictEqual(state.records.get(customerId(1))!.plan, "METERED")
      assert.strictEqual(renewal.status, "open")
      const broken = Invariants.violations(state, customers, METERED)
      assert.isTrue(broken.some((line) => line.includes(`invoice ${renewal.id}`)), broken.join("; "))
    }).pipe(Effect.provide(testLayer())))

  it.effect("Stripe refuses to pay an invoice that is not open, or with a card the customer does not have", () =>
    Effect.gen(function*() {
      const { card, renewal } = yield* writtenOff
      const stripe = yield* Stripe.Stripe
      const foreign = yield* Effect.either(stripe.payInvoice({ invoiceId: renewal.id, paymentMethod: "pm_elsewhere" }))
      assert.isTrue(foreign._tag === "Left" && foreign.left.reason === "InvalidRequest")
      yield* stripe.payInvoice({ invoiceId: renewal.id, paymentMethod: card })
      const again = yield* Effect.either(stripe.payInvoice({ invoiceId: renewal.id, paymentMethod: card }))
      assert.isTrue(again._tag === "Left" && again.left.reason === "InvalidRequest")
      assert.deepStrictEqual(yield* stripe.openInvoices(customerId(1)), [])
    }).pipe(Effect.provide(testLayer())))
})
