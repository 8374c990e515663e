/**
 * The `Stripe` port contract. The stateless part (request shapes and validation, webhook
 * verification) holds on any implementation, stripe-mock included; the stateful part (identifier
 * dedupe, one subscription per customer, cancel idempotence, summaries) needs a Stripe that remembers.
 * Tests run on the live clock: real adapters compare against wall time.
 *
 * @since 0.1.0
 */
import { type Ids, Stripe, UtcDay } from "@augint-billing/core"
import { assert, layer as vitestLayer } from "@effect/vitest"
import { Clock, Effect, Either, type Layer } from "effect"

/** How the suite gets customers and signed webhooks from the system under test. */
export interface Fixture<R> {
  /** A customer that exists, with a payment method. */
  readonly newCustomer: Effect.Effect<Ids.CustomerId, unknown, R>
  /** A `Stripe-Signature` header for `payload`, signed with the secret the layer verifies with. */
  readonly signWebhook: (payload: string, timestamp: number) => Effect.Effect<string, unknown, R>
  /** Whether the implementation keeps state (false for stripe-mock). */
  readonly stateful: boolean
}

let counter = 0
const identifier = (customerId: string) =>
  `contract:${customerId}:${Date.now().toString(36)}:${counter++}` as Ids.MeterEventIdentifier

const reasonOf = <A>(result: Either.Either<A, Stripe.StripeError>) =>
  Either.isLeft(result) ? result.left.reason : "none"

// Stripe's meter total for the customer over the UTC day of `at` (epoch seconds).
const dayTotal = (stripe: Stripe.StripeService, customerId: Ids.CustomerId, at: number) => {
  const day = UtcDay.fromMillis(at * 1000)
  return stripe.meterEventSummaries({
    customerId,
    start: UtcDay.startMillis(day) / 1000,
    end: (UtcDay.endMillis(day) + 1) / 1000
  }).pipe(Effect.map((summaries) => summaries.reduce((n, s) => n + s.value, 0)))
}

/** Register the contract tests for `layer`. */
export const suite = <R, E>(
  name: string,
  layer: Layer.Layer<Stripe.Stripe | R, E>,
  fixture: Fixture<R>,
  options: { readonly timeout?: number } = {}
) =>
  vitestLayer(layer, { timeout: options.timeout ?? 120_000, excludeTestServices: true })(
    `Stripe contract: ${name}`,
    (it) => {
      const timeout = options.timeout ?? 30_000
      const nowSeconds = Clock.currentTimeMillis.pipe(Effect.map((ms) => Math.floor(ms / 1000)))

      it.effect("ensureSubscription returns a subscription id", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const id = yield* stripe.ensureSubscription({ customerId, idempotencyKey: `contract-${customerId}-1` })
          assert.match(id, /^sub_/)
        }), timeout)

      it.effect("reportUsage accepts a whole, positive, timely event", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const result = yield* stripe.reportUsage({
            customerId,
            value: 12,
            identifier: identifier(customerId),
            timestamp: yield* nowSeconds
          })
          assert.strictEqual(result, "Accepted")
        }), timeout)

      it.effect("reportUsageBatch answers one result per event, in order", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const timestamp = yield* nowSeconds
          const events = [3, 4].map((value) => ({ customerId, value, identifier: identifier(customerId), timestamp }))
          assert.deepStrictEqual(yield* stripe.reportUsageBatch(events), ["Accepted", "Accepted"])
          assert.deepStrictEqual(yield* stripe.reportUsageBatch([]), [])
        }), timeout)

      it.effect("reportUsage refuses zero, fractions, the far future and the distant past as InvalidRequest", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const now = yield* nowSeconds
          const attempt = (value: number, timestamp: number) =>
            Effect.either(stripe.reportUsage({ customerId, value, identifier: identifier(customerId), timestamp }))
          assert.strictEqual(reasonOf(yield* attempt(0, now)), "InvalidRequest")
          assert.strictEqual(reasonOf(yield* attempt(1.5, now)), "InvalidRequest")
          assert.strictEqual(reasonOf(yield* attempt(1, now + 10 * 60)), "InvalidRequest")
          assert.strictEqual(reasonOf(yield* attempt(1, now - 36 * 86_400)), "InvalidRequest")
        }), timeout)

      // The customer-facing calls (issue 12): the preview is invoices.createPreview (the upcoming-invoice
      // endpoint is gone since API 2025-03-31: docs.stripe.com/api/invoices/create_preview), the card link
      // a Checkout Session in setup mode (docs.stripe.com/api/checkout/sessions/create, `mode: setup`).
      it.effect("previewInvoice of the customer's subscription answers a currency, whole totals and a period", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const subscriptionId = yield* stripe.ensureSubscription({
            customerId,
            idempotencyKey: `contract-${customerId}-p`
          })
          const preview = yield* stripe.previewInvoice({ customerId, subscriptionId })
          assert.match(preview.currency, /^[a-z]{3}$/)
          for (const n of [preview.total, preview.amountDue, preview.units]) {
            assert.isTrue(Number.isInteger(n) && n >= 0)
          }
          assert.isTrue(preview.periodStart <= preview.periodEnd)
        }), timeout)

      it.effect("createSetupSession answers a hosted Checkout URL (expiring in the future, where state is kept)", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const session = yield* stripe.createSetupSession({
            customerId,
            idempotencyKey: `contract-${customerId}-s`,
            successUrl: "https://example.com/done",
            currency: "usd"
          })
          assert.match(session.id, /^cs_/)
          assert.match(session.url, /^https:\/\//)
          // stripe-mock answers a fixture with a fixed `expires_at` in the past; a Stripe that keeps state
          // sets it 24 hours ahead by default.
          if (fixture.stateful) {
            assert.isTrue(session.expiresAt > (yield* nowSeconds))
          }
        }), timeout)

      it.effect("getCustomer reads the customer", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const customerId = yield* fixture.newCustomer
          const customer = yield* stripe.getCustomer(customerId)
          assert.isString(customer.id)
          assert.isFalse(customer.deleted)
        }), timeout)

      it.effect("verifyWebhook accepts a correctly signed payload and returns the event", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const payload = JSON.stringify({
            id: "evt_contract1",
            type: "invoice.created",
            created: 1,
            data: { object: {} }
          })
          const signature = yield* fixture.signWebhook(payload, yield* nowSeconds)
          const event = yield* stripe.verifyWebhook({ payload, signature })
          assert.deepStrictEqual(event, JSON.parse(payload))
          const bytes = yield* stripe.verifyWebhook({ payload: new TextEncoder().encode(payload), signature })
          assert.deepStrictEqual(bytes, JSON.parse(payload))
        }), timeout)

      it.effect("verifyWebhook refuses missing, forged, stale and re-serialized deliveries", () =>
        Effect.gen(function*() {
          const stripe = yield* Stripe.Stripe
          const payload = JSON.stringify(
            { id: "evt_contract2", type: "invoice.created", created: 1, data: {} },
            null,
            2
          )
          const now = yield* nowSeconds
          const good = yield* fixture.signWebhook(payload, now)
          const reason = (p: string, signature: string | undefined) =>
            Effect.either(stripe.verifyWebhook({ payload: p, signature })).pipe(
              Effect.map((r) =>
                Either.isLeft(r) ? r.left.reason : "none"
              )
            )
          assert.strictEqual(yield* reason(payload, undefined), "MissingHeader")
          assert.strictEqual(yield* reason(payload, "t=1,v1=deadbeef"), "BadSignature")
          assert.strictEqual(yield* reason(payload.replace("evt_contract2", "evt_contract3"), good), "BadSignature")
          assert.strictEqual(yield* reason(JSON.stringify(JSON.parse(payload)), good), "BadSignature")
          const stale = yield* fixture.signWebhook(payload, now - 600)
          assert.strictEqual(yield* reason(payload, stale), "StaleTimestamp")
        }), timeout)

      if (fixture.stateful) {
        it.effect("a meter event identifier is accepted once, alone or in a batch", () =>
          Effect.gen(function*() {
            const stripe = yield* Stripe.Stripe
            const customerId = yield* fixture.newCustomer
            const now = yield* nowSeconds
            const event = { customerId, value: 5, identifier: identifier(customerId), timestamp: now }
            assert.strictEqual(yield* stripe.reportUsage(event), "Accepted")
            assert.strictEqual(yield* stripe.reportUsage(event), "Duplicate")
            assert.strictEqual(yield* dayTotal(stripe, customerId, now), 5)
            // A batch dedupes against single reports and within itself.
            const next = { customerId, value: 2, identifier: identifier(customerId), timestamp: now }
            assert.deepStrictEqual(yield* stripe.reportUsageBatch([event, next, next]), [
              "Duplicate",
              "Accepted",
              "Duplicate"
            ])
            assert.strictEqual(yield* dayTotal(stripe, customerId, now), 7)
          }), timeout)

        it.effect("ensureSubscription keeps one live subscription per customer", () =>
          Effect.gen(function*() {
            const stripe = yield* Stripe.Stripe
            const customerId = yield* fixture.newCustomer
            const a = yield* stripe.ensureSubscription({ customerId, idempotencyKey: `contract-${customerId}-a` })
            const b = yield* stripe.ensureSubscription({ customerId, idempotencyKey: `contract-${customerId}-b` })
            assert.strictEqual(a, b)
          }), timeout)

        it.effect("openSubscriptions lists the open subscription until it is cancelled", () =>
          Effect.gen(function*() {
            const stripe = yield* Stripe.Stripe
            const customerId = yield* fixture.newCustomer
            assert.deepStrictEqual(yield* stripe.openSubscriptions(customerId), [])
            const a = yield* stripe.ensureSubscription({ customerId, idempotencyKey: `contract-${customerId}-o1` })
            assert.deepStrictEqual(yield* stripe.openSubscriptions(customerId), [a])
            yield* stripe.cancelSubscription({ subscriptionId: a, invoiceNow: false })
            assert.deepStrictEqual(yield* stripe.openSubscriptions(customerId), [])
          }), timeout)

        it.effect("cancelling twice is success, and a later ensure makes a new subscription", () =>
          Effect.gen(function*() {
            const stripe = yield* Stripe.Stripe
            const customerId = yield* fixture.newCustomer
            const a = yield* stripe.ensureSubscription({ customerId, idempotencyKey: `contract-${customerId}-c1` })
            yield* stripe.cancelSubscription({ subscriptionId: a, invoiceNow: true })
            yield* stripe.cancelSubscription({ subscriptionId: a, invoiceNow: true })
            const b = yield* stripe.ensureSubscription({ customerId, idempotencyKey: `contract-${customerId}-c2` })
            assert.notStrictEqual(a, b)
          }), timeout)
      }
    }
  )
