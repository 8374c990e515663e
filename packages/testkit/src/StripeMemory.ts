/**
 * An in-memory `Stripe` that behaves like Stripe where billing depends on it: meter event identifiers
 * deduped over 24 hours, timestamps accepted only from 35 days back to 5 minutes ahead, one concurrent
 * meter event per customer (`Locked`), idempotent subscription creation, cancel of a cancelled
 * subscription is success, webhook signatures in Stripe's scheme with a 300 s tolerance, and who pays
 * an invoice: the subscription's default payment method, else the customer's invoice default, else
 * its default source; attaching a card makes it none of these.
 *
 * @since 0.1.0
 */
import { type Ids, Stripe, UtcDay } from "@augint-billing/core"
import { Clock, Duration, Effect, Layer, Stream } from "effect"
import { preview, setupSession } from "./internal/billing.js"
import { instrument, instrumentStream } from "./internal/instrument.js"
import { attachedCards, cancel, payWith } from "./internal/payments.js"
import { parseHeader, safeEqual, sign } from "./internal/signature.js"
import * as MemoryState from "./MemoryState.js"

const invalid = (message: string) => new Stripe.StripeError({ reason: "InvalidRequest", message })
const notFound = (message: string) => new Stripe.StripeError({ reason: "NotFound", message })

/** The webhook timestamp tolerance, as the Stripe adapter uses it. @since 0.1.0 @category constants */
export const WEBHOOK_TOLERANCE_SECONDS = 300

// The billing helpers answer a value or the error Stripe would send.
const orFail = <A>(result: A | Stripe.StripeError): Effect.Effect<A, Stripe.StripeError> =>
  result instanceof Stripe.StripeError ? Effect.fail(result) : Effect.succeed(result)

const LIVE_STATUSES: ReadonlySet<string> = new Set(["active", "trialing", "past_due"])

export { addMonths, completeSetupSession, currentPeriod } from "./internal/billing.js"
export {
  attachCard,
  attachedCards,
  chargedCard,
  detachCard,
  merchantCancel,
  oneOffInvoice,
  otherSubscription,
  payWith,
  renewalInvoice
} from "./internal/payments.js"

/** Build the Stripe port over shared state. @since 0.1.0 @category constructors */
export const make: Effect.Effect<Stripe.StripeService, never, MemoryState.MemoryState> = Effect.map(
  MemoryState.MemoryState,
  (state): Stripe.StripeService => {
    const customer = (id: Ids.CustomerId) => {
      const c = state.stripeCustomers.get(id)
      return c === undefined || c.deleted ? undefined : c
    }
    // What Stripe checks of an event before it takes it, on both paths (the adapter checks the same
    // before a v2 stream request).
    const shape = (event: Stripe.MeterEvent) =>
      Effect.gen(function*() {
        if (!Number.isInteger(event.value) || event.value < 1) {
          return yield* invalid(`value must be a whole number of at least 1, got ${event.value}`)
        }
        if (event.identifier.length === 0 || event.identifier.length > 100) {
          return yield* invalid("identifier must be 1-100 characters")
        }
        const now = yield* Clock.currentTimeMillis
        const ts = event.timestamp * 1000
        if (ts > now + Duration.toMillis(Stripe.MAX_METER_EVENT_LEAD)) {
          return yield* invalid("timestamp is more than 5 minutes in the future")
        }
        if (ts < now - Duration.toMillis(Stripe.MAX_METER_EVENT_AGE)) {
          return yield* invalid("timestamp is more than 35 days in the past")
        }
        return now
      })
    // Counted once per identifier within the dedupe window.
    const record = (event: Stripe.MeterEvent, now: number): Stripe.MeterEventResult => {
      const seen = state.identifiers.get(event.identifier)
      if (seen !== undefined && now - seen < Duration.toMillis(Stripe.IDENTIFIER_DEDUPE_WINDOW)) return "Duplicate"
      state.identifiers.set(event.identifier, now)
      state.meterEvents.push({ ...event, acceptedAt: now })
      return "Accepted"
    }
    // v1: the shape validated at once; the customer too, unless `v1ValidatesCustomerLater` (then as the stream).
    const accept = (event: Stripe.MeterEvent) =>
      Effect.flatMap(shape(event), (now) => {
        if (customer(event.customerId) !== undefined) return Effect.succeed(record(event, now))
        if (!state.v1ValidatesCustomerLater) return Effect.fail(notFound(`No such customer: '${event.customerId}'`))
        state.streamRejections.push({ identifier: event.identifier, code: "meter_event_customer_not_found" })
        return Effect.succeed<Stripe.MeterEventResult>("Accepted")
      })
    // The v2 stream: every event's shape checked first (one bad event fails the request), its customer
    // only later: an event for a customer Stripe does not know is answered `Accepted`, never counted,
    // and comes back in a meter error report (docs.stripe.com/api/v2/billing-meter-stream: the stream
    // validates events asynchronously). It does not say which identifiers it had already seen.
    const stream = (events: ReadonlyArray<Stripe.MeterEvent>) =>
      Effect.map(Effect.forEach(events, shape), (nows) =>
        events.map((event, i): Stripe.MeterEventResult => {
          if (customer(event.customerId) === undefined) {
            state.streamRejections.push({ identifier: event.identifier, code: "meter_event_customer_not_found" })
          } else {
            record(event, nows[i]!)
          }
          return "Accepted"
        }))
    const webhookError = (reason: typeof Stripe.WebhookErrorReason.Type, message: string) =>
      new Stripe.WebhookVerificationError({ reason, message })
    return {
      // The in-memory Stripe is a test-mode account: its events say `livemode: false`.
      livemode: false,
      ensureSubscription: ({ customerId, defaultPaymentMethod, idempotencyKey }) =>
        instrument(
          state,
          "Stripe.ensureSubscription",
          Effect.gen(function*() {
            const c = customer(customerId)
            if (c === undefined) return yield* notFound(`No such customer: '${customerId}'`)
            if (defaultPaymentMethod !== undefined && !attachedCards(state, c).includes(defaultPaymentMethod)) {
              // Stripe refuses a default payment method the customer does not have attached.
              return yield* invalid(`The customer does not have a payment method with the ID ${defaultPaymentMethod}`)
            }
            // The card becomes the customer's invoice default only when none is set (customers.update).
            const adopt = () => {
              if (defaultPaymentMethod !== undefined && c.invoiceDefault === undefined) {
                c.invoiceDefault = defaultPaymentMethod
              }
            }
            const notLive: Array<Ids.SubscriptionId> = []
            for (const s of state.subscriptions.values()) {
              if (s.customerId !== customerId || s.other === true) continue
              if (LIVE_STATUSES.has(s.status)) {
                if (defaultPaymentMethod !== undefined) s.defaultPaymentMethod = defaultPaymentMethod
                adopt()
                return s.id
              }
              if (s.status !== "canceled") notLive.push(s.id)
            }
            // Like the adapter (list, then create), two concurrent callers can both find none here:
            // only the idempotency key keeps them to one subscription.
            yield* Effect.yieldNow()
            const now = yield* Clock.currentTimeMillis
            const key = Stripe.creationKey(idempotencyKey, notLive, defaultPaymentMethod)
            const previous = state.idempotency.get(key)
            if (previous !== undefined && now - previous.at < Duration.toMillis(Duration.hours(24))) {
              return previous.subscriptionId
            }
            const id = `sub_mem${state.nextId++}` as Ids.SubscriptionId
            state.subscriptions.set(id, {
              id,
              customerId,
              status: "active",
              invoicedNow: false,
              createdAt: now,
              canceledAt: undefined,
              defaultPaymentMethod
            })
            adopt()
            state.idempotency.set(key, { subscriptionId: id, at: now })
            return id
          })
        ),
      openSubscriptions: (customerId) =>
        instrument(
          state,
          "Stripe.openSubscriptions",
          Effect.sync(() =>
            [...state.subscriptions.values()].filter((s) =>
              s.customerId === customerId && s.status !== "canceled" && s.other !== true
            )
              .map((s) => s.id)
          )
        ),
      cancelSubscription: ({ invoiceNow, subscriptionId }) =>
        instrument(
          state,
          "Stripe.cancelSubscription",
          Effect.suspend(() => {
            const s = state.subscriptions.get(subscriptionId)
            if (s === undefined) return Effect.fail(notFound(`No such subscription: '${subscriptionId}'`))
            return Clock.currentTimeMillis.pipe(Effect.map((now) => cancel(state, s, { now, invoiceNow })))
          })
        ),
      openInvoices: (customerId) =>
        instrument(
          state,
          "Stripe.openInvoices",
          Effect.sync(() =>
            [...state.invoices.values()].filter((i) => i.customerId === customerId && i.status === "open").map((i) => ({
              id: i.id,
              subscriptionId: i.subscriptionId,
              managed: i.subscriptionId !== undefined && state.subscriptions.get(i.subscriptionId)?.other !== true,
              autoAdvance: i.autoAdvance
            }))
          )
        ),
      payInvoice: ({ invoiceId, paymentMethod }) =>
        instrument(
          state,
          "Stripe.payInvoice",
          Effect.suspend(() => {
            const refused = payWith(state, invoiceId, paymentMethod)
            return refused === undefined
              ? Effect.void
              : Effect.fail(refused.startsWith("No such") ? notFound(refused) : invalid(refused))
          })
        ),
      resumeCollection: (invoiceId) =>
        instrument(
          state,
          "Stripe.resumeCollection",
          Effect.suspend(() => {
            const invoice = state.invoices.get(invoiceId)
            if (invoice === undefined) return Effect.fail(notFound(`No such invoice: '${invoiceId}'`))
            // "An invoice must be in a draft or open state to update automatic advancement"
            // (docs.stripe.com/invoicing/integration/automatic-advancement-collection).
            if (invoice.status !== "open") {
              return Effect.fail(invalid(`Invoice ${invoiceId} is ${invoice.status}: auto_advance cannot be changed`))
            }
            if (!invoice.autoAdvance) {
              invoice.autoAdvance = true
              invoice.nextPaymentAttempt = invoice.stoppedAttempt
              invoice.stoppedAttempt = undefined
            }
            return Effect.void
          })
        ),
      reportUsage: (event) =>
        Effect.suspend(() =>
          // Stripe allows one in-flight meter event per customer; the lock is held through latency too.
          state.inFlight.has(event.customerId)
            ? instrument(
              state,
              "Stripe.reportUsage",
              Effect.fail(
                new Stripe.StripeError({
                  reason: "Locked",
                  message: `another meter event for ${event.customerId} is in flight`
                })
              )
            )
            : Effect.acquireUseRelease(
              Effect.sync(() => state.inFlight.add(event.customerId)),
              () => instrument(state, "Stripe.reportUsage", accept(event)),
              () => Effect.sync(() => state.inFlight.delete(event.customerId))
            )
        ),
      // One call for the batch, as the adapter sends it: below `MIN_STREAM_BATCH` each event as v1
      // (the first refusal fails the call), else one v2 stream request. No per-customer concurrency limit.
      reportUsageBatch: (events) =>
        instrument(
          state,
          "Stripe.reportUsageBatch",
          events.length < Stripe.MIN_STREAM_BATCH ? Effect.forEach(events, accept) : stream(events)
        ),
      getCustomer: (customerId) =>
        instrument(
          state,
          "Stripe.getCustomer",
          Effect.suspend(() => {
            const c = state.stripeCustomers.get(customerId)
            if (c === undefined) return Effect.fail(notFound(`No such customer: '${customerId}'`))
            const cards = c.deleted ? [] : [...attachedCards(state, c)].reverse()
            const invoiceDefault = c.deleted ? undefined : c.invoiceDefault ?? c.defaultSource
            return Effect.succeed({
              id: c.id,
              deleted: c.deleted,
              hasPaymentMethod: cards.length > 0 || invoiceDefault !== undefined,
              paymentMethods: cards,
              invoiceDefault,
              metadata: { ...c.metadata }
            })
          })
        ),
      meterEventSummaries: ({ customerId, end, start }) =>
        instrument(
          state,
          "Stripe.meterEventSummaries",
          Effect.sync(() => {
            const perDay = new Map<UtcDay.UtcDay, number>()
            for (const e of state.meterEvents) {
              if (e.customerId !== customerId || e.timestamp < start || e.timestamp >= end) continue
              const day = UtcDay.fromMillis(e.timestamp * 1000)
              perDay.set(day, (perDay.get(day) ?? 0) + e.value)
            }
            return Array.from(perDay.entries()).sort(([a], [b]) => UtcDay.compare(a, b)).map(([day, value]) => ({
              start: UtcDay.startMillis(day) / 1000,
              end: (UtcDay.endMillis(day) + 1) / 1000,
              value
            }))
          })
        ),
      retrieveEvent: (eventId) =>
        instrument(
          state,
          "Stripe.retrieveEvent",
          Effect.suspend(() => {
            const event = state.v2Events.get(eventId)
            return event === undefined ? Effect.fail(notFound(`No such event: '${eventId}'`)) : Effect.succeed(event)
          })
        ),
      previewInvoice: (input) =>
        instrument(
          state,
          "Stripe.previewInvoice",
          Effect.flatMap(Clock.currentTimeMillis, (now) => orFail(preview(state, input, now)))
        ),
      createSetupSession: (input) =>
        instrument(
          state,
          "Stripe.createSetupSession",
          Effect.flatMap(Clock.currentTimeMillis, (now) => orFail(setupSession(state, input, now)))
        ),
      listEvents: ({ since }) =>
        instrumentStream(
          state,
          "Stripe.listEvents",
          () =>
            Stream.fromIterable(
              state.events.filter((e) => e.created >= since).sort((a, b) => a.created - b.created).map((e) => e.json)
            )
        ),
      verifyWebhook: ({ payload, signature }) =>
        instrument(
          state,
          "Stripe.verifyWebhook",
          Effect.gen(function*() {
            if (signature === undefined || signature.length === 0) {
              return yield* webhookError("MissingHeader", "no Stripe-Signature header")
            }
            const { timestamp, v1 } = parseHeader(signature)
            if (!Number.isFinite(timestamp) || v1.length === 0) {
              return yield* webhookError("BadSignature", "the Stripe-Signature header is malformed")
            }
            const text = typeof payload === "string" ? payload : new TextDecoder().decode(payload)
            const expected = yield* Effect.promise(() => sign(state.webhookSecret, timestamp, text))
            if (!v1.some((s) => safeEqual(s, expected))) {
              return yield* webhookError("BadSignature", "no signature matches the payload")
            }
            const now = yield* Clock.currentTimeMillis
            if (Math.abs(now / 1000 - timestamp) > WEBHOOK_TOLERANCE_SECONDS) {
              return yield* webhookError("StaleTimestamp", "the signature timestamp is outside the 300 s tolerance")
            }
            return yield* Effect.try({
              try: () => JSON.parse(text) as unknown,
              catch: () => webhookError("MalformedPayload", "the payload is not JSON")
            })
          })
        )
    }
  }
)

/** `Stripe` over the shared `MemoryState`. @since 0.1.0 @category layers */
export const layer: Layer.Layer<Stripe.Stripe, never, MemoryState.MemoryState> = Layer.effect(Stripe.Stripe, make)

/** `Stripe` on fresh state of its own. @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<Stripe.Stripe> = layer.pipe(Layer.provide(MemoryState.layer()))

/**
 * A `Stripe-Signature` header for `payload` signed with `secret` at `timestamp` (epoch seconds).
 *
 * @since 0.1.0
 * @category utils
 */
export const signatureHeader = (secret: string, timestamp: number, payload: string): Effect.Effect<string> =>
  Effect.promise(() => sign(secret, timestamp, payload)).pipe(Effect.map((v1) => `t=${timestamp},v1=${v1}`))
