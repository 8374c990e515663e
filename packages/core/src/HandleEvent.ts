/**
 * Applying a Stripe webhook event: decode, dedupe by event id, guard against stale (older than the
 * state) events, decide, then promote, demote, record a failed payment or flush usage. Every step is
 * idempotent, so Stripe's retries and duplicate deliveries are safe.
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Either, Option } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Collection from "./Collection.js"
import * as Customer from "./Customer.js"
import { CustomerRepo, type CustomerRepoError, VersionConflict } from "./CustomerRepo.js"
import type { CustomerId, EventId } from "./Ids.js"
import * as EventLog from "./internal/eventLog.js"
import * as Ports from "./internal/ports.js"
import * as Records from "./internal/records.js"
import * as KeyMove from "./KeyMove.js"
import * as MeterErrors from "./MeterErrors.js"
import * as MeterReport from "./MeterReport.js"
import type { PlanAdmin, PlanAdminError } from "./PlanAdmin.js"
import { decide, Decision } from "./Policy.js"
import * as RecordChange from "./RecordChange.js"
import * as SpendCap from "./SpendCap.js"
import { Stripe, type StripeCustomer, type StripeError } from "./Stripe.js"
import * as StripeEvent from "./StripeEvent.js"
import * as Subscriptions from "./Subscriptions.js"
import * as Transient from "./Transient.js"
import type { UsageSource, UsageSourceError } from "./UsageSource.js"
import * as UsageSync from "./UsageSync.js"

/** What handling an event came to. @since 0.1.0 @category models */
export type Outcome = Data.TaggedEnum<{
  /** A type the flows do not act on: acknowledged. */
  Ignored: { readonly eventId: EventId; readonly type: string }
  /** Processed before: acknowledged, nothing done. */
  Duplicate: { readonly eventId: EventId }
  /** No customer record is linked to the event's customer: acknowledged and logged, nothing changed. */
  UnknownCustomer: { readonly eventId: EventId; readonly customerId: CustomerId | undefined }
  /** Older than the state it would change: recorded as processed and skipped. */
  Stale: { readonly eventId: EventId; readonly customerId: CustomerId }
  /** A meter error report: logged, and the customer-days it names flagged for `reconcile` (`MeterErrors`). */
  MeterErrorReport: { readonly eventId: EventId; readonly flagged: number }
  /** The decision was applied (or, in a dry run, would be). */
  Applied: { readonly eventId: EventId; readonly customerId: CustomerId; readonly decision: Decision }
}>
/** Constructors of `Outcome`. @since 0.1.0 @category constructors */
export const Outcome = Data.taggedEnum<Outcome>()

/** Everything handling an event can fail with. @since 0.1.0 @category errors */
export type HandleEventError =
  | StripeEvent.StripeEventDecodeError
  | StripeError
  | CustomerRepoError
  | VersionConflict
  | PlanAdminError
  | KeyMove.KeyMoveError
  | UsageSourceError

/** The services the flows need. @since 0.1.0 @category services */
export type Services = Stripe | UsageSource | CustomerRepo | PlanAdmin | BillingConfig

/**
 * How a shell answers a failure: `reject` bad input (HTTP 400, nothing changed), `retry` transient
 * failures and a refused Stripe key (HTTP 500, Stripe delivers again), `acknowledge` permanent ones
 * (logged, HTTP 200).
 *
 * @since 0.1.0
 * @category errors
 */
export const classify = (error: HandleEventError): "reject" | "retry" | "acknowledge" =>
  error._tag === "StripeEventDecodeError"
    ? "reject"
    : error._tag === "VersionConflict" || error._tag === "KeyMoveError" || Transient.isTransient(error) ||
        (error._tag === "StripeError" && error.reason === "Authentication")
    // A key move that failed (throttled past its retries, not yet visible) leaves the record's intent
    // unfulfilled; only a redelivery converges it again, so Stripe must retry. So must a delivery that
    // met our own rotated or expired Stripe key (401): acknowledged, the event would be lost for good.
    ? "retry"
    : "acknowledge"

/**
 * A decoded event, the record it concerns and what it calls for, before anything is applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  readonly event: StripeEvent.StripeEvent
  readonly outcome: Outcome
  readonly customer: Customer.Customer | undefined
}

/** Decide what an event calls for without changing anything (the CLI's `--dry-run`). @since 0.1.0 @category flows */
export const plan = Effect.fn("HandleEvent.plan")(function*(raw: unknown) {
  // An event of the other mode (a test event at a live key, or the reverse) is refused as malformed.
  const event = yield* StripeEvent.decode(raw, { livemode: (yield* Stripe).livemode })
  if (event._tag === "Ignored") {
    return { event, customer: undefined, outcome: Outcome.Ignored({ eventId: event.id, type: event.type }) }
  }
  const repo = yield* Ports.repo
  if (yield* repo.isProcessed(event.id)) {
    return { event, customer: undefined, outcome: Outcome.Duplicate({ eventId: event.id }) }
  }
  const customerId = event.customerId
  const found = customerId === undefined ? Option.none() : yield* repo.get(customerId)
  if (customerId === undefined || Option.isNone(found)) {
    return { event, customer: undefined, outcome: Outcome.UnknownCustomer({ eventId: event.id, customerId }) }
  }
  const customer = found.value
  const config = yield* BillingConfig
  let stripeCustomer: StripeCustomer | undefined = undefined
  if (readsPaymentMethod.has(event._tag)) {
    const stripe = yield* Ports.stripe
    stripeCustomer = yield* stripe.getCustomer(customer.customerId)
  }
  const decision = decide(event, customer, {
    policy: config.demotionPolicy,
    ...(stripeCustomer === undefined ? {} : { stripeCustomer })
  })
  if (RecordChange.isStale(customer, event.created) && guardedAgainstStaleness(event, decision)) {
    return { event, customer, outcome: Outcome.Stale({ eventId: event.id, customerId: customer.customerId }) }
  }
  return {
    event,
    customer,
    outcome: Outcome.Applied({ eventId: event.id, customerId: customer.customerId, decision })
  }
})

// Events whose decision depends on whether the customer can pay right now.
const readsPaymentMethod: ReadonlySet<StripeEvent.StripeEvent["_tag"]> = new Set([
  "SetupIntentSucceeded",
  "PaymentMethodAttached",
  "PaymentMethodDetached",
  "InvoicePaid"
])

/**
 * Whether an old event must not override newer state. A flush changes no state, and a detach decides
 * on what Stripe says now (is a payment method left?), so neither can be stale.
 */
const guardedAgainstStaleness = (event: StripeEvent.StripeEvent, decision: Decision): boolean =>
  decision._tag !== "Flush" && event._tag !== "PaymentMethodDetached"

/**
 * Read-modify-write a record with the version check, re-reading on a lost race. `f` returns the new
 * record, or `None` when the change no longer applies (a newer event got there first).
 *
 * @since 0.1.0
 * @category flows
 */
export const updateRecord = Records.updateRecord

/**
 * Bring the key's usage plan and the subscriptions in line with the record, which holds the intent;
 * every step is idempotent, so the next event repairs a crash. Why: see DESIGN.md, "Architecture".
 *
 * @since 0.1.0
 * @category flows
 */
export const converge = Effect.fn("HandleEvent.converge")(function*(
  customerId: CustomerId
) {
  const config = yield* BillingConfig
  const repo = yield* Ports.repo
  // A concurrent delivery may change the intent while the key moves: move again until the record
  // read after the move asks for the plan the key was moved to.
  for (let round = 0; round < 3; round++) {
    const found = yield* repo.get(customerId)
    if (Option.isNone(found)) return
    const customer = found.value
    // The plan ladder: FREE, METERED, or CAPPED for a metered customer at its spend cap (`SpendCap`).
    const to = SpendCap.keyPlanOf(customer, config, yield* Clock.currentTimeMillis)
    // A demotion to finish: report the key's usage while the key is still in the metered plan (GetUsage
    // lists the keys in a plan; a removed key's counts may be gone), then move it. The subscription is
    // cancelled with a final invoice by the sync that closes the settle window, once late counts are in.
    // The move never waits on Stripe: a failed report is raised after it.
    const flushed = customer.plan === "FREE" && customer.subscriptionId !== undefined
      ? Option.some(yield* Effect.either(UsageSync.flushCustomer(customer)))
      : Option.none()
    // A key put back into the metered plan gets its counter baseline (DESIGN.md, "Counter baselines").
    yield* SpendCap.moveKeyTo(customer, to, { report: to === config.meteredPlanId })
    if (Option.isSome(flushed)) {
      const result = flushed.value
      if (Either.isLeft(result)) return yield* result.left
      if (result.right.contended || result.right.customer.pending !== undefined) {
        return yield* new VersionConflict({
          customerId,
          message: "another writer is reporting this customer's usage; retry the demotion after it"
        })
      }
    }
    const after = yield* repo.get(customerId)
    if (Option.isNone(after)) return
    if (after.value.plan !== customer.plan) continue
    // Subscriptions a promotion replaced or found orphaned (it may have crashed before cancelling).
    yield* retire(after.value)
    return
  }
  return yield* new VersionConflict({ customerId, message: "the plan kept changing while the key moved" })
})

/**
 * How long a promotion from FREE may take before the sync treats a subscription it made and never
 * wrote down as an orphan. @deprecated Use `RecordChange.PROMOTION_WINDOW`. @since 0.1.0 @category constants
 */
export const PROMOTION_WINDOW = RecordChange.PROMOTION_WINDOW

/**
 * The idempotency key of a promotion's subscription: the customer, the link (a relinked customer is a
 * new link), the generation and the known subscription, so concurrent promotions from one state share
 * it and no later one is ever answered with an earlier one's subscription. Why: see DESIGN.md,
 * "Promotion".
 *
 * @since 0.2.0
 * @category utils
 */
export const promotionKey = (customer: Customer.Customer): string =>
  `promote:${customer.customerId}${customer.linkedAt === undefined ? "" : `:l${customer.linkedAt}`}` +
  `:g${customer.generation ?? 0}:${customer.subscriptionId ?? "none"}`

// A replaced subscription's final invoice must carry its last days' usage: counts reported after its
// cancel and stamped before the new subscription began land on no invoice. So report what the key
// counted first, as the sync does before it retires; under contention leave the cancel to the next
// event or the sync. Why: see DESIGN.md, "Retiring and orphans".
const retire = Effect.fn("HandleEvent.retire")(function*(customer: Customer.Customer) {
  if ((customer.retiring?.length ?? 0) === 0) return yield* Subscriptions.retireReplaced(customer)
  const flushed = yield* UsageSync.flushCustomer(customer)
  if (flushed.contended || flushed.customer.pending !== undefined) return Option.none()
  // Meter events are stamped in whole seconds; cancel in a later second than the last stamp.
  if (flushed.eventsSent > 0) yield* MeterReport.nextSecond
  return yield* Subscriptions.retireReplaced(flushed.customer)
})

// Promotion and demotion write the intent first (with the stale guard), then converge.
// Why: see DESIGN.md, "Promotion".
const promote = Effect.fn("HandleEvent.promote")(function*(
  customer: Customer.Customer,
  at: RecordChange.EventClock,
  paymentMethodId?: string
) {
  const stripe = yield* Ports.stripe
  // Both writes refuse a record a sync is closing or that a close fenced since it was read (`Fenced`,
  // retried after the close). Why: see DESIGN.md, "The settle close".
  const promotion: RecordChange.Promotion = {
    at,
    started: yield* Clock.currentTimeMillis,
    generation: customer.generation ?? 0
  }
  const fencedOff = new VersionConflict({
    customerId: customer.customerId,
    message: "a sync is closing this customer's settle window; retry the promotion after it"
  })
  if (customer.plan === "FREE") {
    // Write ahead before Stripe makes anything, so a subscription a crash leaves unrecorded is an
    // orphan the settle close cancels. Why: see DESIGN.md, "Promotion".
    const held = yield* Records.change(customer.customerId, (c) => RecordChange.holdSettleWindow(c, promotion))
    const refused = Records.refusalOf(held)
    if (refused === "Stale") return false
    if (refused === "Fenced") return yield* fencedOff
    if (customer.subscriptionId !== undefined) {
      // A replacement's period starts at its creation second, and Billing Meters bill an event on every
      // live subscription whose period holds its stamp: a report sent before the write-ahead (the
      // demotion's flush) may carry this second, so the replacement is made in a later one.
      yield* MeterReport.nextSecond
    }
  }
  const subscriptionId = yield* stripe.ensureSubscription({
    defaultPaymentMethod: paymentMethodId,
    customerId: customer.customerId,
    // One key per state the promotion starts from (generation, known subscription): concurrent
    // promotions share it; a later one is never replayed an old one. Why: see DESIGN.md, "Promotion".
    idempotencyKey: promotionKey(customer)
  })
  // Any other open subscription is an orphan. Why: see DESIGN.md, "Retiring and orphans".
  const open = yield* stripe.openSubscriptions(customer.customerId)
  const now = yield* Clock.currentTimeMillis
  const written = yield* Records.change(
    customer.customerId,
    (c) => RecordChange.adoptSubscription(c, promotion, { subscriptionId, open, now })
  )
  if (Records.refusalOf(written) === "Fenced") return yield* fencedOff
  const adopted = Option.flatMap(written, Either.getRight)
  if (Option.isNone(adopted)) return false
  yield* retire(adopted.value)
  // After the retire, whose cancel leaves collection as it was: what no one collects any more is paid
  // with the card. Why: see DESIGN.md, "What the real services do".
  if (paymentMethodId !== undefined) yield* Collection.collectOpenInvoices(adopted.value, paymentMethodId)
  return true
})

/**
 * Promote a customer who can already pay without an event (a link made when the Stripe customer
 * already had a card), then converge the key's plan: the same steps as a card event's promotion.
 * Nothing is stale against it, and it makes no later event stale.
 *
 * @since 0.4.0
 * @category flows
 */
export const promoteWithCard = Effect.fn("HandleEvent.promoteWithCard")(function*(
  customer: Customer.Customer,
  paymentMethodId: string
) {
  const promoted = yield* promote(customer, { created: 0, guarded: false }, paymentMethodId)
  yield* converge(customer.customerId)
  return promoted
})

// Whether a change was written (not refused as stale, and the record exists).
const wasWritten = <L>(result: Option.Option<Either.Either<Customer.Customer, L>>): boolean =>
  Option.isSome(result) && Either.isRight(result.value)

const demote = Effect.fn("HandleEvent.demote")(
  function*(customer: Customer.Customer, at: RecordChange.EventClock, nonPayment: boolean) {
    const config = yield* BillingConfig
    const now = yield* Clock.currentTimeMillis
    const written = yield* Records.change(
      customer.customerId,
      (c) => RecordChange.demote(c, at, { nonPayment, now, settleWindow: config.settleWindow })
    )
    return wasWritten(written)
  }
)

const apply = (customer: Customer.Customer, at: RecordChange.EventClock, decision: Decision) =>
  Decision.$match(decision, {
    Promote: ({ paymentMethodId }) => promote(customer, at, paymentMethodId),
    Demote: ({ nonPayment }) => demote(customer, at, nonPayment),
    RecordFailure: ({ failedAt }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const written = yield* Records.change(
          customer.customerId,
          (c) => RecordChange.recordFailure(c, at, { failedAt, now })
        )
        return wasWritten(written)
      }),
    Flush: ({ periodEnd }) => UsageSync.flushCustomer(customer, { periodEnd }).pipe(Effect.as(true)),
    NoChange: () => Effect.succeed(true)
  })

/**
 * Handle one verified Stripe event (parsed JSON). Fails only with errors a shell maps through
 * `classify`; on success the outcome says what happened.
 *
 * @since 0.1.0
 * @category flows
 */
export const handleEvent = Effect.fn("HandleEvent.handleEvent")(function*(raw: unknown) {
  if (MeterErrors.isThinEvent(raw)) {
    const r = yield* MeterErrors.handle(raw)
    return r._tag === "Handled"
      ? Outcome.MeterErrorReport({ eventId: r.eventId, flagged: r.flagged })
      : r._tag === "Duplicate"
      ? Outcome.Duplicate({ eventId: r.eventId })
      : Outcome.Ignored({ eventId: r.eventId, type: r.type })
  }
  const planned = yield* plan(raw)
  const { customer, event, outcome } = planned
  if (outcome._tag === "Ignored" || outcome._tag === "Duplicate") return outcome
  if (outcome._tag === "UnknownCustomer") {
    yield* Effect.logWarning("event for a customer with no link: acknowledged, nothing changed")
    return outcome
  }
  const config = yield* BillingConfig
  const repo = yield* Ports.repo
  let result: Outcome = outcome
  if (outcome._tag === "Applied" && customer !== undefined) {
    const applied = yield* apply(customer, {
      created: event.created,
      guarded: guardedAgainstStaleness(event, outcome.decision)
    }, outcome.decision)
    if (!applied) result = Outcome.Stale({ eventId: event.id, customerId: customer.customerId })
  }
  // Stale or not, finish whatever an earlier, interrupted delivery left half done.
  if (customer !== undefined) yield* converge(customer.customerId)
  const now = yield* Clock.currentTimeMillis
  yield* repo.markProcessed({
    eventId: event.id,
    expiresAt: Math.floor((now + Duration.toMillis(config.processedEventTtl)) / 1000)
  })
  yield* Effect.logInfo(`event ${result._tag}`).pipe(
    Effect.annotateLogs(result._tag === "Applied" ? EventLog.decisionAnnotations(result.decision) : {})
  )
  return result
}, (effect, raw) => Effect.annotateLogs(effect, EventLog.eventAnnotations(raw)))
