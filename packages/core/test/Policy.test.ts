import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import { DemotionPolicy } from "../src/BillingConfig.js"
import * as Customer from "../src/Customer.js"
import { ApiKeyId, CustomerId, EventId, SubscriptionId } from "../src/Ids.js"
import { changesState, decide, Decision } from "../src/Policy.js"
import { type StripeCustomer, usablePaymentMethod } from "../src/Stripe.js"
import type * as StripeEvent from "../src/StripeEvent.js"

type Handled = Exclude<StripeEvent.StripeEvent, { readonly _tag: "Ignored" }>

const customerId = CustomerId.make("cus_PolicyTest01")
const ours = SubscriptionId.make("sub_Ours0001")
const theirs = SubscriptionId.make("sub_SomeoneElse01")
const T0 = 1_767_225_600
const DAY = 86_400

const free = Customer.make({ customerId, apiKeyId: ApiKeyId.make("key_policy01"), now: T0 * 1000 })
const metered: Customer.Customer = { ...free, plan: "METERED", subscriptionId: ours, version: 3 }
const failing = (since: number): Customer.Customer => ({ ...metered, paymentFailedAt: since })
const settling: Customer.Customer = { ...free, settleUntil: T0 * 1000 + 3_600_000, version: 5 }
// The plan was moved back but the subscription is still recorded (e.g. a demotion half done).
const freeWithSubscription: Customer.Customer = { ...free, subscriptionId: ours }

const records = { free, metered, failing: failing(T0 - DAY), settling, freeWithSubscription } as const

const immediately = DemotionPolicy.Immediately()
const finalAttempt = DemotionPolicy.FinalAttempt()
const grace = DemotionPolicy.GracePeriod({ grace: Duration.days(3) })
const policies = { immediately, finalAttempt, grace } as const

const envelope = (created = T0) => ({ id: EventId.make("evt_policy01"), created })

const setupIntentSucceeded: Handled = {
  ...envelope(),
  _tag: "SetupIntentSucceeded",
  customerId,
  setupIntentId: "seti_123",
  paymentMethodId: undefined
}
const paymentMethodAttached: Handled = {
  ...envelope(),
  _tag: "PaymentMethodAttached",
  customerId,
  paymentMethodId: "pm_123"
}
const paymentMethodDetached: Handled = {
  ...envelope(),
  _tag: "PaymentMethodDetached",
  customerId,
  paymentMethodId: "pm_123"
}
const paymentFailed = (nextPaymentAttempt: number | undefined, created = T0): Handled => ({
  ...envelope(created),
  _tag: "InvoicePaymentFailed",
  customerId,
  invoiceId: "in_123",
  subscriptionId: ours,
  managed: true,
  nextPaymentAttempt,
  attemptCount: nextPaymentAttempt === undefined ? 4 : 1
})
const ownInvoice = { subscriptionId: ours, managed: true }
const invoicePaid: Handled = { ...envelope(), _tag: "InvoicePaid", customerId, invoiceId: "in_456", ...ownInvoice }
const invoiceCreated: Handled = {
  ...envelope(),
  _tag: "InvoiceCreated",
  customerId,
  invoiceId: "in_789",
  ...ownInvoice
}
const subscriptionUpdated = (subscriptionId: SubscriptionId, status: StripeEvent.SubscriptionStatus): Handled => ({
  ...envelope(),
  _tag: "SubscriptionUpdated",
  customerId,
  subscriptionId,
  status
})
const subscriptionDeleted = (subscriptionId: SubscriptionId): Handled => ({
  ...envelope(),
  _tag: "SubscriptionDeleted",
  customerId,
  subscriptionId
})
const customerDeleted: Handled = { ...envelope(), _tag: "CustomerDeleted", customerId }

const tagOf = (
  event: Handled,
  customer: Customer.Customer,
  policy: DemotionPolicy = finalAttempt,
  hasPaymentMethod?: boolean
) => decide(event, customer, { policy, ...(hasPaymentMethod === undefined ? {} : { hasPaymentMethod }) })._tag

describe("Policy.decide", () => {
  describe("setup_intent.succeeded / payment_method.attached", () => {
    it("promote a customer in any state, under any policy, naming the cause", () => {
      for (const customer of Object.values(records)) {
        for (const policy of Object.values(policies)) {
          assert.deepStrictEqual(
            decide(setupIntentSucceeded, customer, { policy }),
            Decision.Promote({ cause: "seti_123" })
          )
          assert.deepStrictEqual(
            decide(paymentMethodAttached, customer, { policy }),
            Decision.Promote({ cause: "pm_123" })
          )
        }
      }
    })
  })

  describe("payment_method.detached", () => {
    it("demotes a metered customer with no payment method left", () => {
      for (const policy of Object.values(policies)) {
        assert.strictEqual(tagOf(paymentMethodDetached, metered, policy, false), "Demote")
        assert.strictEqual(tagOf(paymentMethodDetached, records.failing, policy, false), "Demote")
        assert.strictEqual(tagOf(paymentMethodDetached, freeWithSubscription, policy, false), "Demote")
      }
    })

    it("changes nothing when another payment method remains", () => {
      for (const customer of Object.values(records)) {
        assert.strictEqual(tagOf(paymentMethodDetached, customer, finalAttempt, true), "NoChange")
      }
    })

    it("changes nothing when whether a payment method remains is unknown", () => {
      assert.strictEqual(tagOf(paymentMethodDetached, metered, finalAttempt), "NoChange")
    })

    it("changes nothing for a free customer, payment method or not", () => {
      assert.strictEqual(tagOf(paymentMethodDetached, free, immediately, false), "NoChange")
      assert.strictEqual(tagOf(paymentMethodDetached, free, immediately, true), "NoChange")
    })

    it("demotes a free customer inside a window (a promotion may be writing ahead) when no card is left", () => {
      assert.strictEqual(tagOf(paymentMethodDetached, settling, immediately, false), "Demote")
      assert.strictEqual(tagOf(paymentMethodDetached, settling, immediately, true), "NoChange")
    })
  })

  describe("invoice.payment_failed", () => {
    const retrying = paymentFailed(T0 + 3 * DAY)
    const final = paymentFailed(undefined)

    it("Immediately demotes on the first failure, final or not", () => {
      assert.deepStrictEqual(
        decide(retrying, metered, { policy: immediately }),
        Decision.Demote({ reason: "payment failed", nonPayment: true })
      )
      assert.strictEqual(tagOf(final, metered, immediately), "Demote")
      assert.strictEqual(tagOf(retrying, records.failing, immediately), "Demote")
    })

    it("FinalAttempt records the failure while Stripe will retry", () => {
      assert.deepStrictEqual(
        decide(retrying, metered, { policy: finalAttempt }),
        Decision.RecordFailure({ failedAt: T0 })
      )
      assert.deepStrictEqual(
        decide(retrying, records.failing, { policy: finalAttempt }),
        Decision.RecordFailure({ failedAt: T0 })
      )
    })

    it("FinalAttempt demotes when no further attempt is scheduled", () => {
      assert.deepStrictEqual(
        decide(final, metered, { policy: finalAttempt }),
        Decision.Demote({ reason: "final payment attempt failed", nonPayment: true })
      )
      assert.strictEqual(tagOf(final, records.failing, finalAttempt), "Demote")
    })

    it("GracePeriod records the first failure", () => {
      assert.deepStrictEqual(decide(retrying, metered, { policy: grace }), Decision.RecordFailure({ failedAt: T0 }))
    })

    it("GracePeriod records a failure while the grace has not elapsed", () => {
      const since = T0 - 3 * DAY + 1
      assert.strictEqual(tagOf(retrying, failing(since), grace), "RecordFailure")
    })

    it("GracePeriod demotes once payments have been failing for the grace period", () => {
      const exactly = decide(retrying, failing(T0 - 3 * DAY), { policy: grace })
      assert.strictEqual(exactly._tag, "Demote")
      if (exactly._tag === "Demote") assert.include(exactly.reason, Duration.format(Duration.days(3)))
      assert.strictEqual(tagOf(retrying, failing(T0 - 10 * DAY), grace), "Demote")
    })

    it("GracePeriod demotes on the final attempt even inside the grace", () => {
      assert.strictEqual(tagOf(final, metered, grace), "Demote")
      assert.strictEqual(tagOf(final, failing(T0 - 60), grace), "Demote")
    })

    it("GracePeriod measures from the earliest failure when an older event arrives late", () => {
      // The recorded failure is newer than the event: the event itself is the start of the run.
      assert.strictEqual(tagOf(retrying, failing(T0 + DAY), grace), "RecordFailure")
    })

    it("GracePeriod honours a short grace", () => {
      const hour = DemotionPolicy.GracePeriod({ grace: Duration.hours(1) })
      assert.strictEqual(tagOf(retrying, failing(T0 - 3599), hour), "RecordFailure")
      assert.strictEqual(tagOf(retrying, failing(T0 - 3600), hour), "Demote")
    })

    it("changes nothing for a customer who is not billed, under any policy", () => {
      for (const policy of Object.values(policies)) {
        for (const event of [retrying, final]) {
          assert.strictEqual(tagOf(event, free, policy), "NoChange")
          assert.strictEqual(tagOf(event, settling, policy), "NoChange")
        }
      }
    })

    it("still acts on a free record that holds a subscription", () => {
      assert.strictEqual(tagOf(final, freeWithSubscription, finalAttempt), "Demote")
      assert.strictEqual(tagOf(retrying, freeWithSubscription, finalAttempt), "RecordFailure")
    })
  })

  describe("invoice.paid", () => {
    it("promotes after a recorded failure", () => {
      for (const policy of Object.values(policies)) {
        assert.deepStrictEqual(
          decide(invoicePaid, records.failing, { policy }),
          Decision.Promote({ cause: "in_456" })
        )
      }
      assert.strictEqual(tagOf(invoicePaid, { ...free, paymentFailedAt: T0 - DAY }), "Promote")
    })

    it("changes nothing without a recorded failure", () => {
      for (const customer of [free, metered, settling, freeWithSubscription]) {
        assert.strictEqual(tagOf(invoicePaid, customer), "NoChange")
      }
    })
  })

  describe("invoice.created", () => {
    it("flushes a metered customer", () => {
      assert.deepStrictEqual(
        decide(invoiceCreated, metered, { policy: finalAttempt }),
        Decision.Flush({ periodEnd: undefined })
      )
      assert.strictEqual(tagOf(invoiceCreated, records.failing), "Flush")
      assert.strictEqual(tagOf(invoiceCreated, freeWithSubscription), "Flush")
    })

    it("flushes a demoted customer still inside the settle window", () => {
      assert.strictEqual(tagOf(invoiceCreated, settling), "Flush")
    })

    it("changes nothing for a free customer", () => {
      for (const policy of Object.values(policies)) assert.strictEqual(tagOf(invoiceCreated, free, policy), "NoChange")
    })
  })

  describe("customer.subscription.updated", () => {
    it("demotes when our subscription becomes unpaid, canceled or incomplete_expired", () => {
      for (const status of ["unpaid", "canceled", "incomplete_expired"] as const) {
        const decision = decide(subscriptionUpdated(ours, status), metered, { policy: finalAttempt })
        assert.strictEqual(decision._tag, "Demote", status)
        if (decision._tag === "Demote") {
          assert.include(decision.reason, status)
          // Only unpaid is a payment failure: a paid invoice later promotes again.
          assert.strictEqual(decision.nonPayment, status === "unpaid")
        }
      }
    })

    it("demotes under every policy", () => {
      for (const policy of Object.values(policies)) {
        assert.strictEqual(tagOf(subscriptionUpdated(ours, "unpaid"), metered, policy), "Demote")
      }
    })

    it("changes nothing while our subscription can still be paid", () => {
      for (const status of ["active", "trialing", "past_due", "incomplete", "paused"] as const) {
        assert.strictEqual(tagOf(subscriptionUpdated(ours, status), metered), "NoChange", status)
      }
    })

    it("changes nothing when someone else's subscription ends", () => {
      for (const status of ["unpaid", "canceled"] as const) {
        assert.strictEqual(tagOf(subscriptionUpdated(theirs, status), metered), "NoChange", status)
      }
    })

    it("changes nothing for a customer with no subscription recorded", () => {
      assert.strictEqual(tagOf(subscriptionUpdated(ours, "canceled"), free), "NoChange")
      assert.strictEqual(tagOf(subscriptionUpdated(ours, "canceled"), settling), "NoChange")
    })
  })

  describe("customer.subscription.deleted", () => {
    it("demotes when our subscription is deleted", () => {
      assert.deepStrictEqual(
        decide(subscriptionDeleted(ours), metered, { policy: finalAttempt }),
        Decision.Demote({ reason: "subscription deleted", nonPayment: false })
      )
      assert.strictEqual(tagOf(subscriptionDeleted(ours), records.failing, immediately), "Demote")
    })

    it("changes nothing when the customer is already demoted (the settle close ends it)", () => {
      assert.strictEqual(tagOf(subscriptionDeleted(ours), freeWithSubscription), "NoChange")
      assert.strictEqual(tagOf(subscriptionUpdated(ours, "unpaid"), freeWithSubscription, finalAttempt), "NoChange")
    })

    it("changes nothing when someone else's subscription is deleted", () => {
      assert.strictEqual(tagOf(subscriptionDeleted(theirs), metered), "NoChange")
      assert.strictEqual(tagOf(subscriptionDeleted(theirs), free), "NoChange")
    })
  })

  describe("customer.deleted", () => {
    it("demotes a billed customer", () => {
      for (const customer of [metered, records.failing, freeWithSubscription]) {
        assert.strictEqual(tagOf(customerDeleted, customer), "Demote")
      }
    })

    it("changes nothing for a free customer", () => {
      assert.strictEqual(tagOf(customerDeleted, free), "NoChange")
    })

    it("demotes a free customer inside a window (a promotion may be writing ahead)", () => {
      assert.strictEqual(tagOf(customerDeleted, settling), "Demote")
    })
  })
})

describe("Policy.decide with what Stripe says about the customer's cards (issue 9)", () => {
  const stripeCustomer = (paymentMethods: ReadonlyArray<string>, invoiceDefault?: string): StripeCustomer => ({
    id: customerId,
    deleted: false,
    hasPaymentMethod: paymentMethods.length > 0 || invoiceDefault !== undefined,
    paymentMethods,
    invoiceDefault,
    metadata: {}
  })
  const attachedCard: Handled = { ...paymentMethodAttached, paymentMethodId: "pm_new" }
  const context = (customer: StripeCustomer) => ({ policy: finalAttempt, stripeCustomer: customer })

  it("promotes with the event's card while it is attached: it becomes the subscription's default", () => {
    assert.deepStrictEqual(
      decide(attachedCard, free, context(stripeCustomer(["pm_new", "pm_old"], "pm_old"))),
      Decision.Promote({ cause: "pm_new", paymentMethodId: "pm_new" })
    )
    const seti: Handled = {
      ...envelope(),
      _tag: "SetupIntentSucceeded",
      customerId,
      setupIntentId: "seti_123",
      paymentMethodId: "pm_new"
    }
    assert.deepStrictEqual(
      decide(seti, free, context(stripeCustomer(["pm_new"]))),
      Decision.Promote({ cause: "seti_123", paymentMethodId: "pm_new" })
    )
  })

  it("a card detached since: the invoice default, else the newest attached card; none: no promotion", () => {
    assert.deepStrictEqual(
      decide(attachedCard, free, context(stripeCustomer(["pm_b", "pm_a"], "pm_a"))),
      Decision.Promote({ cause: "pm_new", paymentMethodId: "pm_a" })
    )
    assert.deepStrictEqual(
      decide(attachedCard, free, context(stripeCustomer(["pm_b", "pm_a"]))),
      Decision.Promote({ cause: "pm_new", paymentMethodId: "pm_b" })
    )
    assert.strictEqual(decide(attachedCard, free, context(stripeCustomer([])))._tag, "NoChange")
  })

  it("a detach that leaves a card re-points a metered customer's subscription at it", () => {
    assert.deepStrictEqual(
      decide(paymentMethodDetached, metered, context(stripeCustomer(["pm_left"]))),
      Decision.Promote({ cause: "pm_123", paymentMethodId: "pm_left" })
    )
    // A free customer (or one being demoted) is not promoted by a card being removed.
    assert.strictEqual(decide(paymentMethodDetached, free, context(stripeCustomer(["pm_left"])))._tag, "NoChange")
    assert.strictEqual(
      decide(paymentMethodDetached, freeWithSubscription, context(stripeCustomer(["pm_left"])))._tag,
      "NoChange"
    )
    assert.strictEqual(decide(paymentMethodDetached, metered, context(stripeCustomer([])))._tag, "Demote")
  })

  it("a paid invoice after a failure promotes onto the invoice default", () => {
    assert.deepStrictEqual(
      decide(invoicePaid, records.failing, context(stripeCustomer(["pm_b", "pm_a"], "pm_a"))),
      Decision.Promote({ cause: "in_456", paymentMethodId: "pm_a" })
    )
  })

  it("a deleted customer has no usable card", () => {
    const deleted = { ...stripeCustomer(["pm_a"], "pm_a"), deleted: true }
    assert.strictEqual(usablePaymentMethod(deleted), undefined)
    assert.strictEqual(decide(attachedCard, free, context(deleted))._tag, "NoChange")
  })
})

describe("Policy.decide: invoices belong to subscriptions (issue 9)", () => {
  // Since API 2025-03-31 an invoice names its subscription under parent.subscription_details.
  const of = <E extends Handled>(event: E, subscriptionId: SubscriptionId | undefined, managed = false): E => ({
    ...event,
    subscriptionId,
    managed
  })
  const retiringRecord: Customer.Customer = {
    ...metered,
    subscriptionId: SubscriptionId.make("sub_New0001"),
    retiring: [ours]
  }

  it("another product's or a one-off invoice neither demotes, records a failure, promotes nor flushes", () => {
    for (const sub of [theirs, undefined]) {
      for (const policy of Object.values(policies)) {
        assert.strictEqual(tagOf(of(paymentFailed(undefined), sub), metered, policy), "NoChange")
        assert.strictEqual(tagOf(of(paymentFailed(T0 + DAY), sub), records.failing, policy), "NoChange")
      }
      assert.strictEqual(tagOf(of(invoicePaid, sub), records.failing), "NoChange")
      assert.strictEqual(tagOf(of(invoiceCreated, sub), metered), "NoChange")
    }
    const decision = decide(of(paymentFailed(undefined), theirs), metered, { policy: finalAttempt })
    assert.isTrue(decision._tag === "NoChange" && decision.reason.includes(theirs), JSON.stringify(decision))
  })

  it("a subscription the record retires: its invoices flush and, paid, promote; its failure does not demote", () => {
    assert.strictEqual(tagOf(of(invoiceCreated, ours), retiringRecord), "Flush")
    assert.strictEqual(tagOf(of(invoicePaid, ours), { ...retiringRecord, paymentFailedAt: T0 - DAY }), "Promote")
    assert.strictEqual(tagOf(of(paymentFailed(undefined), ours), retiringRecord), "NoChange")
  })

  it("after a settle close forgot the subscription, a paid invoice of one this library made promotes again", () => {
    const forgot: Customer.Customer = { ...free, paymentFailedAt: T0 - DAY }
    assert.strictEqual(tagOf(of(invoicePaid, theirs, true), forgot), "Promote")
    assert.strictEqual(tagOf(of(invoicePaid, theirs, false), forgot), "NoChange")
  })
})

describe("Policy.changesState", () => {
  it("is true for promotion, demotion and a recorded failure only", () => {
    assert.isTrue(changesState(Decision.Promote({ cause: "seti_1" })))
    assert.isTrue(changesState(Decision.Demote({ reason: "x", nonPayment: false })))
    assert.isTrue(changesState(Decision.RecordFailure({ failedAt: T0 })))
    assert.isFalse(changesState(Decision.Flush({})))
    assert.isFalse(changesState(Decision.NoChange({ reason: "x" })))
  })
})
