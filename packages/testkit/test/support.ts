import { BillingConfig, FanOut, HandleEvent, type Ids, UtcDay } from "@augint-billing/core"
import { Clock, type Duration, Effect, Exit, FastCheck as fc, Fiber, Layer, Option, TestClock } from "effect"
import { Driver, Memory, StripeEvents } from "../src/index.js"

/** 2026-03-31T10:00:00Z: an ordinary day, one day before a month boundary. */
export const T0 = Date.parse("2026-03-31T10:00:00.000Z")

export const testLayer = (settings: Partial<BillingConfig.BillingSettings> = {}) =>
  Layer.merge(Memory.layerMemory(), BillingConfig.layer(settings))

export const customerId = (n: number) => `cus_T${n}` as Ids.CustomerId
export const apiKeyId = (n: number) => `key${n}` as Ids.ApiKeyId
export const FREE = "FREE_10K" as Ids.UsagePlanId
export const METERED = "METERED" as Ids.UsagePlanId

export const nowSeconds = Clock.currentTimeMillis.pipe(Effect.map((ms) => Math.floor(ms / 1000)))

/**
 * Run an effect under the TestClock to completion, moving time forward in small steps while it
 * sleeps (retry backoff, latency). Returns its Exit.
 */
export const settle = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  step: Duration.DurationInput = "200 millis",
  maxSteps = 5_000
) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    for (let i = 0; i < maxSteps; i++) {
      // Let the effect run as far as it can before moving the clock: each TestClock adjustment waits
      // for a real timer tick, and most operations never sleep.
      for (let k = 0; k < 64; k++) {
        yield* Effect.yieldNow()
        const done = yield* Fiber.poll(fiber)
        if (done._tag === "Some") return done.value
      }
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(fiber)
    return Exit.die(new Error("did not settle"))
  })

/** Like `settle`, failing the test when the effect fails. */
export const settleOk = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.flatMap(settle(self), (exit) => exit)

/**
 * The subscription an invoice event of customer n names: the one its record holds, else its newest
 * (the record forgot it), else `null` (a one-off invoice).
 */
export const heldSubscription = (n: number) =>
  Effect.map(
    Driver.Driver,
    ({ state }): Ids.SubscriptionId | null =>
      state.records.get(customerId(n))?.subscriptionId ??
        [...state.subscriptions.values()].filter((s) => s.customerId === customerId(n)).at(-1)?.id ?? null
  )

/** Sign up customer n (FREE, no card). */
export const signUp = (n: number, paymentMethods = 0) =>
  Effect.flatMap(Driver.Driver, (d) => d.signUp({ customerId: customerId(n), apiKeyId: apiKeyId(n), paymentMethods }))

/** Sign up customer n, attach a card and deliver `setup_intent.succeeded`. */
export const signUpMetered = (n: number) =>
  Effect.gen(function*() {
    yield* signUp(n, 1)
    const created = yield* nowSeconds
    return yield* settleOk(
      HandleEvent.handleEvent(StripeEvents.setupIntentSucceeded({ customerId: customerId(n), created }))
    )
  })

/** Customer 1 promoted at T0, whose subscription then went `status` (dunning); returns that subscription. */
export const meteredThen = (status: "past_due" | "unpaid") =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    yield* signUpMetered(1)
    const [sub] = yield* driver.subscriptions(customerId(1))
    driver.state.subscriptions.get(sub!.id)!.status = status
    return sub!
  })

/** Customer 1 promoted at T0, then demoted by a final failed payment a second later; returns the record. */
export const demotedForNonPayment = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  const driver = yield* Driver.Driver
  yield* signUpMetered(1)
  yield* settleOk(HandleEvent.handleEvent(
    StripeEvents.invoicePaymentFailed({
      customerId: customerId(1),
      subscriptionId: yield* heldSubscription(1),
      created: (yield* nowSeconds) + 1
    })
  ))
  return Option.getOrThrow(yield* driver.record(customerId(1)))
})

/**
 * Queue deliveries of a fan-out's work items: which of two runs' items, how many copies at once, and
 * whether a worker dies mid-item (after Stripe took a report, before its commit).
 */
export const arbitraryDeliveries = (maxLength: number) =>
  fc.array(
    fc.record({ run: fc.integer({ min: 0, max: 1 }), copies: fc.integer({ min: 1, max: 3 }), crash: fc.boolean() }),
    { minLength: 1, maxLength }
  )

/** New units for each of `customers` customers. */
export const arbitraryUnits = (customers: number) =>
  fc.array(fc.integer({ min: 0, max: 50 }), { minLength: customers, maxLength: customers })

/**
 * Two overlapping fan-out runs over customers 1..count (`usage[n - 1]` units each, then `more[n - 1]`
 * between the two plans), their items delivered as `deliveries` say (each item cut by `split`), then
 * every item once more by workers that are not killed (the visibility timeout ran out, or a redrive).
 * Answers, per customer, the units expected, billed by the ledger, and counted by Stripe.
 */
export const deliverTwoRuns = (input: {
  readonly count: number
  readonly usage: ReadonlyArray<number>
  readonly more: ReadonlyArray<number>
  readonly deliveries: ReadonlyArray<{ readonly run: number; readonly copies: number; readonly crash: boolean }>
  readonly split?: (item: FanOut.WorkItem) => ReadonlyArray<FanOut.WorkItem>
}) =>
  Effect.gen(function*() {
    const { count, deliveries, more, usage } = input
    const split = input.split ?? ((item: FanOut.WorkItem) => [item])
    const customers = Array.from({ length: count }, (_, i) => i + 1)
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    for (const n of customers) yield* signUpMetered(n)
    for (const n of customers) yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: usage[n - 1]! })
    const first = (yield* settleOk(FanOut.plan())).items.flatMap(split)
    for (const n of customers) yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: more[n - 1]! })
    const second = (yield* settleOk(FanOut.plan())).items.flatMap(split)
    const runs = [first, second]
    let next = 0
    for (const d of deliveries) {
      const items = runs[d.run]!
      const item = items[next++ % items.length]!
      // A worker killed after Stripe took the event but before the commit: the message comes back.
      if (d.crash) yield* driver.failNext("CustomerRepo.update", { skip: 1, die: true })
      yield* settle(Effect.all(Array.from({ length: d.copies }, () => FanOut.work(item)), { concurrency: "unbounded" }))
    }
    // Workers that are not killed: a crash armed for a customer with nothing to write is not left to
    // kill the last delivery, after which only the next hourly run would finish the report.
    yield* driver.clearFaults
    for (const item of [...second, ...first]) yield* settle(FanOut.work(item))
    const day = UtcDay.fromMillis(T0)
    return {
      expected: customers.map((n) => usage[n - 1]! + more[n - 1]!),
      billed: yield* Effect.forEach(customers, (n) => driver.billed({ customerId: customerId(n), day })),
      sent: yield* Effect.forEach(
        customers,
        (n) => Effect.map(driver.meterEvents(customerId(n)), (events) => events.reduce((sum, e) => sum + e.value, 0))
      )
    }
  })
