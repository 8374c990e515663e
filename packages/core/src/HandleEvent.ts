/**
 * Applying a Stripe webhook event: decode, dedupe by event id, guard against stale (older than the
 * state) events, decide, then promote, demote, record a failed payment or flush usage. Every step is
 * idempotent, so Stripe's retries and duplicate deliveries are safe.
 *
 * @since 0.1.0
 */
import { Clock, Data, Duration, Effect, Option } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Customer from "./Customer.js"
import { CustomerRepo, type CustomerRepoError, VersionConflict } from "./CustomerRepo.js"
import type { CustomerId, EventId } from "./Ids.js"
import * as Records from "./internal/records.js"
import * as KeyMove from "./KeyMove.js"
import type { PlanAdmin, PlanAdminError } from "./PlanAdmin.js"
import { decide, Decision } from "./Policy.js"
import * as Retry from "./Retry.js"
import { Stripe, type StripeCustomer, type StripeError } from "./Stripe.js"
import * as StripeEvent from "./StripeEvent.js"
import type { UsageSource, UsageSourceError } from "./UsageSource.js"
import * as UsageSync from "./UsageSync.js"

/** What handling an event came to. */
export type Outcome = Data.TaggedEnum<{
  /** A type the flows do not act on: acknowledged. */
  Ignored: { readonly eventId: EventId; readonly type: string }
  /** Processed before: acknowledged, nothing done. */
  Duplicate: { readonly eventId: EventId }
  /** No customer record is linked to the event's customer: acknowledged and logged, nothing changed. */
  UnknownCustomer: { readonly eventId: EventId; readonly customerId: CustomerId | undefined }
  /** Older than the state it would change: recorded as processed and skipped. */
  Stale: { readonly eventId: EventId; readonly customerId: CustomerId }
  /** The decision was applied (or, in a dry run, would be). */
  Applied: { readonly eventId: EventId; readonly customerId: CustomerId; readonly decision: Decision }
}>
/** Constructors of `Outcome`. */
export const Outcome = Data.taggedEnum<Outcome>()

/** Everything handling an event can fail with. */
export type HandleEventError =
  | StripeEvent.StripeEventDecodeError
  | StripeError
  | CustomerRepoError
  | VersionConflict
  | PlanAdminError
  | KeyMove.KeyMoveError
  | UsageSourceError

/** The services the flows need. */
export type Services = Stripe | UsageSource | CustomerRepo | PlanAdmin | BillingConfig

/**
 * How a shell answers a failure: `reject` bad input (HTTP 400, nothing changed), `retry` transient
 * failures (HTTP 500, Stripe delivers again), `acknowledge` permanent ones (logged, HTTP 200).
 */
export const classify = (error: HandleEventError): "reject" | "retry" | "acknowledge" =>
  error._tag === "StripeEventDecodeError"
    ? "reject"
    : error._tag === "VersionConflict" || error._tag === "KeyMoveError" || Retry.isTransient(error)
    // A key move that failed (throttled past its retries, not yet visible) leaves the record's intent
    // unfulfilled; only a redelivery converges it again, so Stripe must retry.
    ? "retry"
    : "acknowledge"

/** A decoded event, the record it concerns and what it calls for, before anything is applied. */
export interface Plan {
  readonly event: StripeEvent.StripeEvent
  readonly outcome: Outcome
  readonly customer: Customer.Customer | undefined
}

/** Decide what an event calls for without changing anything (the CLI's `--dry-run`). */
export const plan = (raw: unknown): Effect.Effect<Plan, HandleEventError, Stripe | CustomerRepo | BillingConfig> =>
  Effect.gen(function*() {
    const event = yield* StripeEvent.decode(raw, { livemode: (yield* Stripe).livemode })
    if (event._tag === "Ignored") {
      return { event, customer: undefined, outcome: Outcome.Ignored({ eventId: event.id, type: event.type }) }
    }
    const repo = yield* CustomerRepo
    if (yield* Retry.repo(repo.isProcessed(event.id))) {
      return { event, customer: undefined, outcome: Outcome.Duplicate({ eventId: event.id }) }
    }
    const customerId = event.customerId
    const found = customerId === undefined ? Option.none() : yield* Retry.repo(repo.get(customerId))
    if (customerId === undefined || Option.isNone(found)) {
      return { event, customer: undefined, outcome: Outcome.UnknownCustomer({ eventId: event.id, customerId }) }
    }
    const customer = found.value
    const config = yield* BillingConfig
    let stripeCustomer: StripeCustomer | undefined = undefined
    if (readsPaymentMethod.has(event._tag)) {
      const stripe = yield* Stripe
      stripeCustomer = yield* Retry.stripe(stripe.getCustomer(customer.customerId))
    }
    const decision = decide(event, customer, {
      policy: config.demotionPolicy,
      ...(stripeCustomer === undefined ? {} : { stripeCustomer })
    })
    if (isStale(customer, event.created) && guardedAgainstStaleness(event, decision)) {
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

const isStale = (customer: Customer.Customer, created: number) =>
  customer.lastEventAt !== undefined && created < customer.lastEventAt

/**
 * Whether an old event must not override newer state. A flush changes no state, and a detach decides
 * on what Stripe says now (is a payment method left?), so neither can be stale.
 */
const guardedAgainstStaleness = (event: StripeEvent.StripeEvent, decision: Decision): boolean =>
  decision._tag !== "Flush" && event._tag !== "PaymentMethodDetached"

/**
 * Read-modify-write a record with the version check, re-reading on a lost race. `f` returns the new
 * record, or `None` when the change no longer applies (a newer event got there first).
 */
export const updateRecord = Records.updateRecord

/** When an event was created and whether an older one may still change state. */
interface EventClock {
  readonly created: number
  readonly guarded: boolean
}

const staleFor = (c: Customer.Customer, at: EventClock) => at.guarded && isStale(c, at.created)

const eventTime = (customer: Customer.Customer, at: EventClock) =>
  Math.max(customer.lastEventAt ?? at.created, at.created)

/**
 * Bring the key's usage plan and the subscription in line with the record, which holds the intent:
 * METERED means the key belongs in the metered plan; FREE with a subscription still set means a
 * demotion that has not finished (move the key, report the usage counted so far, cancel with a final
 * invoice, forget the subscription). Every step is idempotent, so a crash anywhere is repaired by the
 * next event for the customer, including one judged stale.
 */
export const converge = (
  customerId: CustomerId
): Effect.Effect<void, HandleEventError, Services> =>
  Effect.gen(function*() {
    const config = yield* BillingConfig
    const repo = yield* CustomerRepo
    // A concurrent delivery may change the intent while the key moves: move again until the record
    // read after the move asks for the plan the key was moved to.
    for (let round = 0; round < 3; round++) {
      const found = yield* Retry.repo(repo.get(customerId))
      if (Option.isNone(found)) return
      const customer = found.value
      const [from, to] = customer.plan === "METERED"
        ? [config.freePlanId, config.meteredPlanId]
        : [config.meteredPlanId, config.freePlanId]
      yield* KeyMove.moveKey({ apiKeyId: customer.apiKeyId, from, to })
      const after = yield* Retry.repo(repo.get(customerId))
      if (Option.isNone(after)) return
      if (after.value.plan !== customer.plan) continue
      // Subscriptions a promotion replaced or found orphaned (it may have crashed before cancelling).
      yield* UsageSync.retireReplaced(after.value)
      if (after.value.plan === "FREE" && after.value.subscriptionId !== undefined) {
        // A demotion to finish: report the usage counted so far. The subscription is cancelled with
        // a final invoice by the sync that closes the settle window, once late counts are in.
        const flushed = yield* UsageSync.flushCustomer(after.value)
        if (flushed.contended || flushed.customer.pending !== undefined) {
          return yield* new VersionConflict({
            customerId,
            message: "another writer is reporting this customer's usage; retry the demotion after it"
          })
        }
      }
      return
    }
    return yield* new VersionConflict({ customerId, message: "the plan kept changing while the key moved" })
  }).pipe(Effect.withSpan("HandleEvent.converge"))

/**
 * How long a promotion from FREE may take before the sync treats a subscription it made and never
 * wrote down as an orphan: far longer than a webhook handler runs.
 */
export const PROMOTION_WINDOW = Duration.minutes(15)

// Promotion and demotion write the intent first (with the stale guard), then converge. A record that
// says METERED is synced even before its key moves; one that says FREE stays a sync candidate through
// its settle window, so metered usage counted around the move is still reported.
const promote = (customer: Customer.Customer, at: EventClock, paymentMethodId?: string) =>
  Effect.gen(function*() {
    const stripe = yield* Stripe
    // Both writes refuse a record that a sync is closing, or whose generation moved on since it was
    // read (a close began in between): the subscription Stripe answers with may be one the close
    // cancels. Refused, the promotion is retried after the close. A close that has not begun is fenced
    // off by these writes instead, so a promotion inside or just after a demotion's settle window
    // keeps that subscription.
    const guard = { stale: false, fenced: false }
    const started = yield* Clock.currentTimeMillis
    const admit = (c: Customer.Customer) => {
      guard.stale = staleFor(c, at)
      guard.fenced = !guard.stale &&
        (Customer.isClosing(c, started) || (c.generation ?? 0) !== (customer.generation ?? 0))
      return !guard.stale && !guard.fenced
    }
    const fencedOff = new VersionConflict({
      customerId: customer.customerId,
      message: "a sync is closing this customer's settle window; retry the promotion after it"
    })
    if (customer.plan === "FREE") {
      // Write ahead before Stripe makes anything: a FREE record gets a settle window that outlasts
      // the promotion. Should the promotion crash after the subscription exists and never write it
      // down (its redelivery may find the card gone, or be overtaken), the sync that closes the
      // window cancels the subscription no record holds.
      const until = started + Duration.toMillis(PROMOTION_WINDOW)
      yield* updateRecord(customer.customerId, (c) =>
        admit(c) && c.plan === "FREE"
          ? Option.some({ ...c, settleUntil: Math.max(c.settleUntil ?? until, until), updatedAt: started })
          : Option.none())
      if (guard.stale) return false
      if (guard.fenced) return yield* fencedOff
    }
    const subscriptionId = yield* Retry.stripe(stripe.ensureSubscription({
      customerId: customer.customerId,
      defaultPaymentMethod: paymentMethodId,
      // One key per state the promotion starts from: concurrent promotions of one customer
      // (setup_intent.succeeded and payment_method.attached arrive together) create one subscription;
      // once the known subscription stopped being live, or after a demotion or a settle close
      // (generation), a promotion must not be answered with the old subscription by Stripe's 24-hour
      // idempotency replay.
      idempotencyKey: `promote:${customer.customerId}:g${customer.generation ?? 0}:${customer.subscriptionId ?? "none"}`
    }))
    // Any other open subscription is one a promotion made and never wrote down (it crashed, or lost):
    // the record will hold this one, so those are orphans to cancel.
    const open = yield* Retry.stripe(stripe.openSubscriptions(customer.customerId))
    const now = yield* Clock.currentTimeMillis
    const written = yield* updateRecord(customer.customerId, (c) => {
      if (!admit(c)) return Option.none()
      // The record held a subscription that stopped being live (unpaid, say) and Stripe answered with
      // a new one: the old one is retired in the same write, then cancelled with a final invoice for
      // the usage reported while it was the record's, so Stripe does not go on invoicing the meter on
      // two subscriptions. Cancelled only once the record no longer holds it, the
      // `customer.subscription.deleted` Stripe sends for it changes nothing.
      const replaced = c.subscriptionId !== undefined && c.subscriptionId !== subscriptionId
        ? [c.subscriptionId]
        : []
      const retiring = [...(c.retiring ?? []).filter((id) => id !== subscriptionId), ...replaced]
      const known = new Set([subscriptionId, ...retiring, ...(c.orphans ?? [])])
      const orphans = [
        ...(c.orphans ?? []).filter((id) => id !== subscriptionId),
        ...open.filter((id) => !known.has(id))
      ]
      return Option.some({
        ...c,
        plan: "METERED" as const,
        subscriptionId,
        retiring: retiring.length === 0 ? undefined : retiring,
        orphans: orphans.length === 0 ? undefined : orphans,
        // A close whose mark outlived its lease crashed or failed: this promotion supersedes it.
        closingSince: undefined,
        paymentFailedAt: undefined,
        settleUntil: undefined,
        lastEventAt: eventTime(c, at),
        updatedAt: now
      })
    })
    if (guard.fenced) return yield* fencedOff
    if (Option.isSome(written)) yield* UsageSync.retireReplaced(written.value)
    return Option.isSome(written)
  }).pipe(Effect.withSpan("HandleEvent.promote"))

const demote = (customer: Customer.Customer, at: EventClock, nonPayment: boolean) =>
  Effect.gen(function*() {
    const config = yield* BillingConfig
    const now = yield* Clock.currentTimeMillis
    const written = yield* updateRecord(customer.customerId, (c) =>
      staleFor(c, at) ? Option.none() : Option.some({
        ...c,
        plan: "FREE" as const,
        // Demoted for non-payment, the failure is kept: a paid invoice later promotes again.
        paymentFailedAt: nonPayment ? (c.paymentFailedAt ?? at.created) : undefined,
        settleUntil: now + Duration.toMillis(config.settleWindow),
        generation: c.plan === "METERED" ? (c.generation ?? 0) + 1 : c.generation,
        lastEventAt: eventTime(c, at),
        updatedAt: now
      }))
    return Option.isSome(written)
  }).pipe(Effect.withSpan("HandleEvent.demote"))

const apply = (customer: Customer.Customer, at: EventClock, decision: Decision) =>
  Decision.$match(decision, {
    Promote: ({ paymentMethodId }) => promote(customer, at, paymentMethodId),
    Demote: ({ nonPayment }) => demote(customer, at, nonPayment),
    RecordFailure: ({ failedAt }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const written = yield* updateRecord(customer.customerId, (c) =>
          staleFor(c, at) ? Option.none() : Option.some({
            ...c,
            paymentFailedAt: Math.min(c.paymentFailedAt ?? failedAt, failedAt),
            lastEventAt: eventTime(c, at),
            updatedAt: now
          }))
        return Option.isSome(written)
      }),
    Flush: () => UsageSync.flushCustomer(customer).pipe(Effect.as(true)),
    NoChange: () => Effect.succeed(true)
  })

/**
 * Handle one verified Stripe event (parsed JSON). Fails only with errors a shell maps through
 * `classify`; on success the outcome says what happened.
 */
export const handleEvent = (raw: unknown): Effect.Effect<Outcome, HandleEventError, Services> =>
  Effect.gen(function*() {
    const planned = yield* plan(raw)
    const { customer, event, outcome } = planned
    if (outcome._tag === "Ignored" || outcome._tag === "Duplicate") return outcome
    if (outcome._tag === "UnknownCustomer") {
      yield* Effect.logWarning("event for a customer with no link: acknowledged, nothing changed")
      return outcome
    }
    const config = yield* BillingConfig
    const repo = yield* CustomerRepo
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
    yield* Retry.repo(repo.markProcessed({
      eventId: event.id,
      expiresAt: Math.floor((now + Duration.toMillis(config.processedEventTtl)) / 1000)
    }))
    yield* Effect.logInfo(`event ${result._tag}`).pipe(
      Effect.annotateLogs(result._tag === "Applied" ? { decision: result.decision._tag } : {})
    )
    return result
  }).pipe(
    Effect.annotateLogs(eventAnnotations(raw)),
    Effect.withSpan("HandleEvent.handleEvent")
  )

// Event id and type for logs, read defensively: never the body.
function eventAnnotations(raw: unknown): Record<string, string> {
  if (typeof raw !== "object" || raw === null) return {}
  const { id, type } = raw as { readonly id?: unknown; readonly type?: unknown }
  return {
    ...(typeof id === "string" ? { eventId: id } : {}),
    ...(typeof type === "string" ? { eventType: type } : {})
  }
}
