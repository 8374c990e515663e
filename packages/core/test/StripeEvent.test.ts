import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as StripeEvent from "../src/StripeEvent.js"

const CUSTOMER = "cus_RmX2bQ9sTz4kLp"
const CREATED = 1_767_225_600

// The envelope of a Stripe API 2025 event, with `data.object` and optional `previous_attributes`.
const event = (
  type: string,
  object: Record<string, unknown>,
  options: { readonly id?: string; readonly previousAttributes?: Record<string, unknown> } = {}
) => ({
  id: options.id ?? "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
  object: "event",
  api_version: "2025-03-31.basil",
  created: CREATED,
  data: {
    object,
    ...(options.previousAttributes === undefined ? {} : { previous_attributes: options.previousAttributes })
  },
  livemode: false,
  pending_webhooks: 1,
  request: { id: "req_8fJd92kdLsPq", idempotency_key: "5d1c7c2e-8a5b-4b0b-9b34-0c6e3f1d2a11" },
  type
})

const setupIntent = (customer: unknown) => ({
  id: "seti_1QxYz2LkdIwHu7ixSetup01",
  object: "setup_intent",
  application: null,
  cancellation_reason: null,
  client_secret: "seti_1QxYz2LkdIwHu7ixSetup01_secret_abc",
  created: CREATED - 10,
  customer,
  description: null,
  last_setup_error: null,
  livemode: false,
  metadata: {},
  payment_method: "pm_1QxYz2LkdIwHu7ixCard0001",
  payment_method_types: ["card"],
  status: "succeeded",
  usage: "off_session"
})

const paymentMethod = (customer: unknown) => ({
  id: "pm_1QxYz2LkdIwHu7ixCard0001",
  object: "payment_method",
  allow_redisplay: "unspecified",
  billing_details: { address: null, email: "jenny@example.com", name: "Jenny Rosen", phone: null },
  card: { brand: "visa", country: "US", exp_month: 12, exp_year: 2030, funding: "credit", last4: "4242" },
  created: CREATED - 5,
  customer,
  livemode: false,
  metadata: {},
  type: "card"
})

const invoice = (customer: unknown, extra: Record<string, unknown> = {}) => ({
  id: "in_1QxYz2LkdIwHu7ixInv00001",
  object: "invoice",
  account_country: "US",
  amount_due: 1250,
  amount_paid: 0,
  amount_remaining: 1250,
  attempt_count: 1,
  attempted: true,
  billing_reason: "subscription_cycle",
  collection_method: "charge_automatically",
  created: CREATED - 3600,
  currency: "usd",
  customer,
  customer_email: "jenny@example.com",
  livemode: false,
  next_payment_attempt: null,
  parent: {
    subscription_details: { metadata: {}, subscription: "sub_1QxYz2LkdIwHu7ixSub00001" },
    type: "subscription_details"
  },
  period_end: CREATED - 3600,
  period_start: CREATED - 3600 - 2_592_000,
  status: "open",
  total: 1250,
  ...extra
})

const subscription = (customer: unknown, status: string, id = "sub_1QxYz2LkdIwHu7ixSub00001") => ({
  id,
  object: "subscription",
  billing_cycle_anchor: CREATED - 2_592_000,
  cancel_at: null,
  cancel_at_period_end: false,
  canceled_at: status === "canceled" ? CREATED : null,
  collection_method: "charge_automatically",
  created: CREATED - 2_592_000,
  currency: "usd",
  customer,
  items: {
    object: "list",
    data: [{
      id: "si_RmX2bQ9sTz4kLp",
      object: "subscription_item",
      current_period_end: CREATED + 86_400,
      current_period_start: CREATED - 2_505_600,
      price: {
        id: "price_1QxYz2LkdIwHu7ixMetered",
        object: "price",
        recurring: { interval: "month", meter: "mtr_61RmX2bQ9sTz4kLp", usage_type: "metered" }
      },
      quantity: 1
    }],
    has_more: false,
    url: "/v1/subscription_items?subscription=sub_1QxYz2LkdIwHu7ixSub00001"
  },
  livemode: false,
  metadata: {},
  status
})

const customerObject = {
  id: CUSTOMER,
  object: "customer",
  address: null,
  balance: 0,
  created: CREATED - 86_400,
  currency: "usd",
  deleted: undefined,
  email: "jenny@example.com",
  invoice_settings: { default_payment_method: null },
  livemode: false,
  metadata: { api_key_id: "k7abc123" },
  name: "Jenny Rosen"
}

const decoded = (input: unknown) => Effect.runSync(StripeEvent.decode(input))

const decodeError = (input: unknown): StripeEvent.StripeEventDecodeError => {
  const exit = Effect.runSyncExit(StripeEvent.decode(input))
  assert.isTrue(Exit.isFailure(exit), "expected a decode failure")
  if (Exit.isSuccess(exit)) throw new Error("unreachable")
  assert.isFalse(exit.cause._tag === "Die", "a decode failure is an error, not a defect")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.instanceOf(error, StripeEvent.StripeEventDecodeError)
  return error as StripeEvent.StripeEventDecodeError
}

describe("StripeEvent.decode", () => {
  describe("customer references", () => {
    it.effect("reads the customer given as an id", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(event("setup_intent.succeeded", setupIntent(CUSTOMER)))
        assert.strictEqual(e._tag, "SetupIntentSucceeded")
        assert.strictEqual(StripeEvent.customerOfEvent(e), CUSTOMER)
      }))

    it.effect("reads the customer given as an expanded object", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(event("setup_intent.succeeded", setupIntent(customerObject)))
        assert.strictEqual(StripeEvent.customerOfEvent(e), CUSTOMER)
      }))

    // Issue 9: a handled event without its customer is malformed (400), not an unknown customer.
    it("is a decode error when its customer is null or absent", () => {
      assert.include(decodeError(event("setup_intent.succeeded", setupIntent(null))).message, "must name its customer")
      const { customer: _, ...withoutCustomer } = setupIntent(null)
      assert.strictEqual(
        decodeError(event("setup_intent.succeeded", withoutCustomer)).eventType,
        "setup_intent.succeeded"
      )
      assert.strictEqual(decodeError(event("invoice.paid", invoice(null))).eventType, "invoice.paid")
    })

    it("refuses a customer that is not a Stripe customer id", () => {
      const error = decodeError(event("payment_method.attached", paymentMethod("acct_1QxYz2")))
      assert.strictEqual(error.eventType, "payment_method.attached")
      assert.include(error.message, "cus_")
      decodeError(event("payment_method.attached", paymentMethod({ id: 42 })))
    })
  })

  describe("handled types", () => {
    it.effect("setup_intent.succeeded", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(event("setup_intent.succeeded", setupIntent(CUSTOMER)))
        assert.deepStrictEqual(e, {
          _tag: "SetupIntentSucceeded",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          setupIntentId: "seti_1QxYz2LkdIwHu7ixSetup01",
          // The card the intent set up: promotion makes it the subscription's default payment method.
          paymentMethodId: "pm_1QxYz2LkdIwHu7ixCard0001"
        } as StripeEvent.StripeEvent)
        const expanded = yield* StripeEvent.decode(
          event("setup_intent.succeeded", { ...setupIntent(CUSTOMER), payment_method: { id: "pm_expanded" } })
        )
        assert.isTrue(expanded._tag === "SetupIntentSucceeded" && expanded.paymentMethodId === "pm_expanded")
        const none = yield* StripeEvent.decode(
          event("setup_intent.succeeded", { ...setupIntent(CUSTOMER), payment_method: null })
        )
        assert.isTrue(none._tag === "SetupIntentSucceeded" && none.paymentMethodId === undefined)
      }))

    it.effect("payment_method.attached", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(event("payment_method.attached", paymentMethod({ id: CUSTOMER })))
        assert.deepStrictEqual(e, {
          _tag: "PaymentMethodAttached",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          paymentMethodId: "pm_1QxYz2LkdIwHu7ixCard0001"
        } as StripeEvent.StripeEvent)
      }))

    it.effect("payment_method.detached takes the customer from previous_attributes", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(
          event("payment_method.detached", paymentMethod(null), { previousAttributes: { customer: CUSTOMER } })
        )
        assert.deepStrictEqual(e, {
          _tag: "PaymentMethodDetached",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          paymentMethodId: "pm_1QxYz2LkdIwHu7ixCard0001"
        } as StripeEvent.StripeEvent)
        const expanded = yield* StripeEvent.decode(
          event("payment_method.detached", paymentMethod(null), { previousAttributes: { customer: customerObject } })
        )
        assert.strictEqual(StripeEvent.customerOfEvent(expanded), CUSTOMER)
      }))

    it("payment_method.detached naming its customer nowhere is a decode error", () => {
      assert.include(decodeError(event("payment_method.detached", paymentMethod(null))).message, "customer")
    })

    it.effect("an event of the other mode than the key's is refused; one of the same mode is decoded", () =>
      Effect.gen(function*() {
        const live = { ...event("invoice.paid", invoice(CUSTOMER)), livemode: true }
        const refused = yield* Effect.flip(StripeEvent.decode(live, { livemode: false }))
        assert.include(refused.message, "live-mode event reached a test-mode key")
        assert.strictEqual(refused.eventId, live.id)
        // Even a type the flows ignore: nothing of the other mode is acknowledged as ours.
        const ignoredType = { ...event("charge.succeeded", {}), livemode: false }
        assert.strictEqual(
          (yield* Effect.flip(StripeEvent.decode(ignoredType, { livemode: true })))._tag,
          "StripeEventDecodeError"
        )
        assert.strictEqual((yield* StripeEvent.decode(live, { livemode: true }))._tag, "InvoicePaid")
        assert.strictEqual((yield* StripeEvent.decode(live))._tag, "InvoicePaid")
      }))

    it.effect("invoice.payment_failed with a further attempt scheduled", () =>
      Effect.gen(function*() {
        const next = CREATED + 3 * 86_400
        const e = yield* StripeEvent.decode(
          event("invoice.payment_failed", invoice(CUSTOMER, { next_payment_attempt: next, attempt_count: 2 }))
        )
        assert.deepStrictEqual(e, {
          _tag: "InvoicePaymentFailed",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          invoiceId: "in_1QxYz2LkdIwHu7ixInv00001",
          subscriptionId: "sub_1QxYz2LkdIwHu7ixSub00001",
          managed: false,
          nextPaymentAttempt: next,
          attemptCount: 2
        } as StripeEvent.StripeEvent)
      }))

    it.effect("invoice.payment_failed on the final attempt (next_payment_attempt null)", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(
          event("invoice.payment_failed", invoice(CUSTOMER, { next_payment_attempt: null, attempt_count: 4 }))
        )
        assert.strictEqual(e._tag, "InvoicePaymentFailed")
        if (e._tag !== "InvoicePaymentFailed") return
        assert.isUndefined(e.nextPaymentAttempt)
        assert.strictEqual(e.attemptCount, 4)
      }))

    // docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects
    it.effect("an invoice's subscription: parent.subscription_details (expanded or not), the legacy field, or none", () =>
      Effect.gen(function*() {
        const ownership = (body: Record<string, unknown>) =>
          StripeEvent.decode(event("invoice.paid", body)).pipe(
            Effect.map((e): unknown => e._tag === "InvoicePaid" ? [e.subscriptionId, e.managed] : "wrong tag")
          )
        const managed = {
          subscription_details: { metadata: { managed_by: "augint-billing" }, subscription: { id: "sub_Expanded01" } },
          type: "subscription_details"
        }
        assert.deepStrictEqual(yield* ownership(invoice(CUSTOMER, { parent: managed })), ["sub_Expanded01", true])
        // A one-off invoice has no subscription parent.
        assert.deepStrictEqual(yield* ownership(invoice(CUSTOMER, { parent: null })), [undefined, false])
        // An endpoint on an API version before 2025-03-31 sends the top-level field.
        const { parent: _, ...legacy } = invoice(CUSTOMER, { subscription: "sub_Legacy001" })
        assert.deepStrictEqual(yield* ownership(legacy), ["sub_Legacy001", false])
      }))

    it.effect("invoice.payment_failed without attempt_count counts one attempt", () =>
      Effect.gen(function*() {
        const { attempt_count: _, ...body } = invoice(CUSTOMER)
        const e = yield* StripeEvent.decode(event("invoice.payment_failed", body))
        assert.strictEqual(e._tag, "InvoicePaymentFailed")
        if (e._tag === "InvoicePaymentFailed") assert.strictEqual(e.attemptCount, 1)
      }))

    it.effect("invoice.paid", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(
          event("invoice.paid", invoice(CUSTOMER, { status: "paid", amount_paid: 1250, amount_remaining: 0 }))
        )
        assert.deepStrictEqual(e, {
          _tag: "InvoicePaid",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          invoiceId: "in_1QxYz2LkdIwHu7ixInv00001",
          subscriptionId: "sub_1QxYz2LkdIwHu7ixSub00001",
          managed: false
        } as StripeEvent.StripeEvent)
      }))

    it.effect("invoice.created", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(
          event("invoice.created", invoice(CUSTOMER, { status: "draft", attempted: false, attempt_count: 0 }))
        )
        assert.deepStrictEqual(e, {
          _tag: "InvoiceCreated",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          invoiceId: "in_1QxYz2LkdIwHu7ixInv00001",
          subscriptionId: "sub_1QxYz2LkdIwHu7ixSub00001",
          managed: false,
          // The period the invoice bills ended here: the flush stamps its usage before it.
          periodEnd: CREATED - 3600
        } as StripeEvent.StripeEvent)
      }))

    it.effect("customer.subscription.updated", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(
          event("customer.subscription.updated", subscription(CUSTOMER, "unpaid"), {
            previousAttributes: { status: "past_due" }
          })
        )
        assert.deepStrictEqual(e, {
          _tag: "SubscriptionUpdated",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          subscriptionId: "sub_1QxYz2LkdIwHu7ixSub00001",
          status: "unpaid"
        } as StripeEvent.StripeEvent)
      }))

    it.effect("customer.subscription.updated accepts every subscription status", () =>
      Effect.gen(function*() {
        const statuses = [
          "incomplete",
          "incomplete_expired",
          "trialing",
          "active",
          "past_due",
          "canceled",
          "unpaid",
          "paused"
        ] as const
        for (const status of statuses) {
          const e = yield* StripeEvent.decode(event("customer.subscription.updated", subscription(CUSTOMER, status)))
          assert.strictEqual(e._tag === "SubscriptionUpdated" ? e.status : undefined, status)
        }
      }))

    it.effect("customer.subscription.deleted", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(
          event("customer.subscription.deleted", subscription(customerObject, "canceled"))
        )
        assert.deepStrictEqual(e, {
          _tag: "SubscriptionDeleted",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER,
          subscriptionId: "sub_1QxYz2LkdIwHu7ixSub00001"
        } as StripeEvent.StripeEvent)
      }))

    it.effect("customer.deleted", () =>
      Effect.gen(function*() {
        const e = yield* StripeEvent.decode(event("customer.deleted", { ...customerObject, deleted: true }))
        assert.deepStrictEqual(e, {
          _tag: "CustomerDeleted",
          id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
          created: CREATED,
          customerId: CUSTOMER
        } as StripeEvent.StripeEvent)
      }))

    it("covers every handled type", () => {
      assert.deepStrictEqual([...StripeEvent.handledTypes].sort(), [
        "customer.deleted",
        "customer.subscription.deleted",
        "customer.subscription.updated",
        "invoice.created",
        "invoice.paid",
        "invoice.payment_failed",
        "payment_method.attached",
        "payment_method.detached",
        "setup_intent.succeeded"
      ])
    })
  })

  describe("unknown types", () => {
    it.effect("decode to Ignored, whatever their body", () =>
      Effect.gen(function*() {
        for (const type of ["customer.created", "charge.succeeded", "invoice.finalized", "billing.meter.created"]) {
          const e = yield* StripeEvent.decode(event(type, { id: "x_1", object: "whatever", nested: { deep: [1, 2] } }))
          assert.deepStrictEqual(e, {
            _tag: "Ignored",
            id: "evt_1QxYz2LkdIwHu7ixAbCdEfGh",
            created: CREATED,
            type
          } as StripeEvent.StripeEvent)
          assert.isUndefined(StripeEvent.customerOfEvent(e))
        }
        const noData = yield* StripeEvent.decode({ id: "evt_123", type: "ping", created: CREATED })
        assert.strictEqual(noData._tag, "Ignored")
      }))

    it.effect("are not mistaken for handled types by prototype names", () =>
      Effect.gen(function*() {
        for (const type of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
          const e = yield* StripeEvent.decode({ id: "evt_proto", type, created: CREATED, data: { object: {} } })
          assert.strictEqual(e._tag, "Ignored", type)
        }
      }))
  })

  describe("malformed handled types", () => {
    it("name the event id and type", () => {
      const id = "evt_1QxYz2LkdIwHuBroken0001"
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
        ["setup_intent.succeeded", { object: "setup_intent", customer: CUSTOMER }],
        ["payment_method.attached", { ...paymentMethod(CUSTOMER), id: 12 }],
        ["invoice.payment_failed", invoice(CUSTOMER, { next_payment_attempt: "tomorrow" })],
        ["invoice.payment_failed", invoice(CUSTOMER, { attempt_count: 1.5 })],
        ["invoice.paid", { object: "invoice", customer: CUSTOMER }],
        ["customer.subscription.updated", subscription(CUSTOMER, "exploded")],
        ["customer.subscription.updated", subscription(CUSTOMER, "active", "si_notASubscription")],
        ["customer.subscription.deleted", { ...subscription(CUSTOMER, "canceled"), id: undefined }],
        ["customer.deleted", { ...customerObject, id: "acct_123" }]
      ]
      for (const [type, object] of cases) {
        const error = decodeError(event(type, object, { id }))
        assert.strictEqual(error._tag, "StripeEventDecodeError")
        assert.strictEqual(error.eventId, id, type)
        assert.strictEqual(error.eventType, type)
        assert.isAbove(error.message.length, 0)
      }
    })

    it("name the event when data or data.object is missing or not an object", () => {
      for (const data of [undefined, null, "oops", 42, {}, { object: null }, { object: "in_123" }]) {
        const input = { id: "evt_noData", object: "event", type: "invoice.paid", created: CREATED, data }
        const error = decodeError(input)
        assert.strictEqual(error.eventId, "evt_noData")
        assert.strictEqual(error.eventType, "invoice.paid")
      }
    })

    it("reports a malformed previous_attributes of payment_method.detached", () => {
      const error = decodeError(
        event("payment_method.detached", paymentMethod(null), { previousAttributes: { customer: 7 } })
      )
      assert.strictEqual(error.eventType, "payment_method.detached")
    })
  })

  describe("input that is not an event", () => {
    it("fails with a clear error, never a crash", () => {
      for (const input of [null, undefined, 42, "evt_123", true, [], [1, 2]]) {
        const error = decodeError(input)
        assert.isUndefined(error.eventId)
        assert.isAbove(error.message.length, 0)
      }
    })

    it("refuses a bad envelope: id, type or created missing or malformed", () => {
      const good = event("invoice.paid", invoice(CUSTOMER))
      const bad: ReadonlyArray<unknown> = [
        { ...good, id: undefined },
        { ...good, id: "in_123" },
        { ...good, type: undefined },
        { ...good, type: 42 },
        { ...good, created: undefined },
        { ...good, created: "yesterday" },
        { ...good, created: 1.5 }
      ]
      for (const input of bad) {
        const error = decodeError(input)
        assert.strictEqual(error._tag, "StripeEventDecodeError")
        assert.isAbove(error.message.length, 0)
      }
      assert.include(decodeError({ ...good, id: "in_123" }).message, "evt_")
    })
  })
})

describe("StripeEvent.decodeJson", () => {
  it.effect("parses and decodes the JSON text of an event", () =>
    Effect.gen(function*() {
      const e = yield* StripeEvent.decodeJson(JSON.stringify(event("invoice.paid", invoice(CUSTOMER))))
      assert.strictEqual(e._tag, "InvoicePaid")
      assert.strictEqual(StripeEvent.customerOfEvent(e), CUSTOMER)
    }))

  it.effect("fails with a clear error on text that is not JSON", () =>
    Effect.gen(function*() {
      for (const text of ["", "{", "not json", "{\"id\": \"evt_1\",}", "<html>502 Bad Gateway</html>"]) {
        const error = yield* Effect.flip(StripeEvent.decodeJson(text))
        assert.strictEqual(error._tag, "StripeEventDecodeError")
        assert.include(error.message, "not JSON")
        assert.isUndefined(error.eventId)
      }
    }))

  it.effect("fails with a decode error on JSON that is not an event", () =>
    Effect.gen(function*() {
      for (const text of ["null", "42", "\"evt_1\"", "[]", "{}"]) {
        const error = yield* Effect.flip(StripeEvent.decodeJson(text))
        assert.strictEqual(error._tag, "StripeEventDecodeError")
        assert.notInclude(error.message, "not JSON")
      }
    }))

  it.effect("names a malformed handled event", () =>
    Effect.gen(function*() {
      const text = JSON.stringify(event("invoice.created", { object: "invoice" }, { id: "evt_jsonBroken" }))
      const error = yield* Effect.flip(StripeEvent.decodeJson(text))
      assert.strictEqual(error.eventId, "evt_jsonBroken")
      assert.strictEqual(error.eventType, "invoice.created")
    }))

  it("agrees with decode on the same event", () => {
    for (const raw of [event("charge.refunded", {}), event("invoice.payment_failed", invoice({ id: CUSTOMER }))]) {
      assert.deepStrictEqual(Effect.runSync(StripeEvent.decodeJson(JSON.stringify(raw))), decoded(raw))
    }
  })
})
