// Where IamActions.webhookMethods / scheduleMethods come from: the port methods the two flows really
// call, counted by the in-memory ports over a customer's whole life (promotion, usage, invoices,
// demotion, cancellation, deletion). Each Lambda's policy is these methods' actions (Template.test.ts).
import { IamActions } from "@augint-billing/adapters-aws"
import {
  BillingConfig,
  CardLink,
  CustomerSettings,
  CustomerUsage,
  FanOut,
  HandleEvent,
  Ids,
  UsageSync
} from "@augint-billing/core"
import { Driver, Memory, StripeEvents } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Layer, Option, TestClock } from "effect"

const T0 = Date.parse("2026-03-31T10:00:00.000Z")
const customer = (n: number) => Ids.CustomerId.make(`cus_P${n}`)
const key = (n: number) => Ids.ApiKeyId.make(`keyP${n}`)

// Every port method counted since the last reset, as `Port.method` (Stripe's are not IAM-governed).
const awsMethodsCalled = Effect.gen(function*() {
  const driver = yield* Driver.Driver
  const calls = yield* driver.calls
  yield* driver.resetCalls
  return Object.entries(calls).filter(([m, n]) => !m.startsWith("Stripe.") && (n ?? 0) > 0).map(([m]) => m).sort()
})

const seconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

const handle = (event: unknown) =>
  Effect.flatMap(HandleEvent.handleEvent(event), (outcome) => Effect.as(TestClock.adjust("1 second"), outcome))

// Customer n with a card, promoted by `setup_intent.succeeded`, then billed for `units` today.
const promoted = (n: number, units: number) =>
  Effect.gen(function*() {
    const driver = yield* Driver.Driver
    yield* driver.signUp({ customerId: customer(n), apiKeyId: key(n), paymentMethods: 1 })
    const outcome = yield* handle(
      StripeEvents.setupIntentSucceeded({ customerId: customer(n), created: yield* seconds })
    )
    assert.strictEqual(outcome._tag, "Applied")
    yield* driver.addUsage({ apiKeyId: key(n), units })
    const record = Option.getOrThrow(yield* driver.record(customer(n)))
    assert.strictEqual(record.plan, "METERED")
    return record
  })

// On the TestClock nothing moves time: the worker gathers meter events without a window.
const TestLayer = Layer.merge(Memory.layerMemory(), BillingConfig.layer({ meterBatchWindow: Duration.zero }))

describe("the port methods each Lambda's flow calls", () => {
  it.effect("handleEvent (the webhook) calls exactly IamActions.webhookMethods", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.resetCalls
      const record = yield* promoted(1, 120)
      const subscriptionId = Ids.SubscriptionId.make(record.subscriptionId!)
      const c = customer(1)
      yield* handle(StripeEvents.invoiceCreated({ customerId: c, subscriptionId, created: yield* seconds }))
      yield* handle(StripeEvents.invoicePaid({ customerId: c, subscriptionId, created: yield* seconds }))
      yield* handle(StripeEvents.paymentMethodAttached({ customerId: c, created: yield* seconds }))
      yield* handle(
        StripeEvents.subscriptionUpdated({ customerId: c, created: yield* seconds, subscriptionId, status: "active" })
      )
      // The final failed payment demotes: key moved back, usage flushed.
      const demoted = yield* handle(
        StripeEvents.invoicePaymentFailed({ customerId: c, subscriptionId, created: yield* seconds })
      )
      assert.isTrue(demoted._tag === "Applied" && demoted.decision._tag === "Demote")
      yield* handle(StripeEvents.paymentMethodDetached({ customerId: c, created: yield* seconds }))
      yield* handle(StripeEvents.subscriptionDeleted({ customerId: c, created: yield* seconds, subscriptionId }))
      yield* handle(StripeEvents.customerDeleted({ customerId: c, created: yield* seconds }))
      // A second customer: promoted, then deleted in Stripe while metered.
      yield* promoted(2, 7)
      yield* handle(StripeEvents.customerDeleted({ customerId: customer(2), created: yield* seconds }))

      assert.deepStrictEqual(yield* awsMethodsCalled, [...IamActions.webhookMethods].sort())
    }).pipe(Effect.provide(TestLayer)))

  it.effect("syncUsage (the schedule) calls exactly IamActions.scheduleMethods", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* promoted(1, 300)
      const second = yield* promoted(2, 40)
      // Customer 2 demoted: its settle window is closed by a later sync.
      yield* handle(StripeEvents.invoicePaymentFailed({
        customerId: customer(2),
        subscriptionId: Ids.SubscriptionId.make(second.subscriptionId!),
        created: yield* seconds
      }))
      // Customer 1's key left in the free plan (a key move that never ran): the sync repairs it.
      const driver = yield* Driver.Driver
      driver.state.membership.set(key(1), new Set([Ids.UsagePlanId.make("FREE_10K")]))
      yield* TestClock.adjust("10 minutes")
      yield* awsMethodsCalled
      const first = yield* UsageSync.syncUsage()
      assert.strictEqual(first.plansRepaired, 1)
      assert.isAtLeast(first.customersSeen, 1)
      yield* TestClock.adjust("2 days")
      yield* UsageSync.syncUsage()

      assert.deepStrictEqual(yield* awsMethodsCalled, [...IamActions.scheduleMethods].sort())
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the fan-out's coordinator (FanOut.plan) and worker (FanOut.work) call exactly their IamActions methods", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* promoted(1, 300)
      yield* promoted(2, 40)
      // Customer 1's key left in the free plan: the worker repairs it, as the single-process sync does.
      const driver = yield* Driver.Driver
      driver.state.membership.set(key(1), new Set([Ids.UsagePlanId.make("FREE_10K")]))
      yield* TestClock.adjust("10 minutes")
      yield* awsMethodsCalled
      const plan = yield* FanOut.plan()
      assert.deepStrictEqual(yield* awsMethodsCalled, [...IamActions.coordinatorMethods].sort())
      for (const item of plan.items) yield* FanOut.work(item)
      assert.deepStrictEqual(yield* awsMethodsCalled, [...IamActions.workerMethods].sort())
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the usage endpoint's flows call exactly IamActions.usageMethods", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* promoted(1, 50)
      yield* driver.signUp({ customerId: customer(2), apiKeyId: key(2) })
      yield* awsMethodsCalled
      yield* CustomerUsage.usageOfKey(key(1))
      yield* CustomerUsage.usageOf(customer(2))
      yield* CardLink.cardLink(customer(2))
      assert.deepStrictEqual(yield* awsMethodsCalled, [...IamActions.usageMethods].sort())
    }).pipe(
      Effect.provide(
        Layer.merge(TestLayer, CustomerSettings.layer({ cardLinkSuccessUrl: "https://seller.example/ok" }))
      )
    ))
})
