/**
 * How an applied event changes the customer record, as pure functions: each returns the record to
 * write (`Right`) or why nothing is written (`Left`), so the flows read what happened instead of
 * setting flags inside the read-modify-write callback.
 *
 * @since 0.2.0
 */
import { Duration, Either } from "effect"
import * as Customer from "./Customer.js"
import type { SubscriptionId } from "./Ids.js"

/**
 * When an event was created (epoch seconds) and whether an older one may still change state.
 *
 * @since 0.2.0
 * @category models
 */
export interface EventClock {
  readonly created: number
  readonly guarded: boolean
}

/**
 * Why a change was refused: `Stale`, an event older than the record's newest; `Fenced`, a record a
 * sync is closing, or whose generation moved on since the promotion read it.
 *
 * @since 0.2.0
 * @category models
 */
export type Refusal = "Stale" | "Fenced"

/**
 * The record to write, or why nothing is written.
 *
 * @since 0.2.0
 * @category models
 */
export type Change<L> = Either.Either<Customer.Customer, L>

/**
 * Whether an event created at `created` (epoch seconds) is older than the record's newest.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isStale = (customer: Customer.Customer, created: number): boolean =>
  customer.lastEventAt !== undefined && created < customer.lastEventAt

/**
 * Whether the event may no longer change the record: it is guarded and older than the record's newest.
 *
 * @since 0.2.0
 * @category predicates
 */
export const staleFor = (customer: Customer.Customer, at: EventClock): boolean =>
  at.guarded && isStale(customer, at.created)

// The newest event time the record has seen once this event is applied.
const eventTime = (customer: Customer.Customer, at: EventClock) =>
  Math.max(customer.lastEventAt ?? at.created, at.created)

/**
 * How long a promotion from FREE may take before the sync treats a subscription it made and never
 * wrote down as an orphan: far longer than a webhook handler runs.
 *
 * @since 0.1.0
 * @category constants
 */
export const PROMOTION_WINDOW = Duration.minutes(15)

/**
 * A promotion in progress: its event, when it started (epoch millis) and the generation of the record
 * it read.
 *
 * @since 0.2.0
 * @category models
 */
export interface Promotion {
  readonly at: EventClock
  readonly started: number
  readonly generation: number
}

/**
 * Whether a promotion may write the record as it is now: not for a stale event, and not while a sync
 * closes the settle window or after a close began since the promotion read the record.
 *
 * @since 0.2.0
 * @category predicates
 */
export const admit = (customer: Customer.Customer, promotion: Promotion): Refusal | undefined =>
  staleFor(customer, promotion.at)
    ? "Stale"
    : Customer.isClosing(customer, promotion.started) || (customer.generation ?? 0) !== promotion.generation
    ? "Fenced"
    : undefined

/**
 * The write-ahead of a promotion from FREE: a settle window that outlasts the promotion
 * (`Unchanged` when the record is no longer FREE: nothing to hold).
 *
 * @since 0.2.0
 * @category constructors
 */
export const holdSettleWindow = (
  customer: Customer.Customer,
  promotion: Promotion
): Change<Refusal | "Unchanged"> => {
  const refused = admit(customer, promotion)
  if (refused !== undefined) return Either.left(refused)
  if (customer.plan !== "FREE") return Either.left("Unchanged")
  const until = promotion.started + Duration.toMillis(PROMOTION_WINDOW)
  return Either.right({
    ...customer,
    settleUntil: Math.max(customer.settleUntil ?? until, until),
    // The subscription Stripe answers with may replace the one held: from now on, usage is stamped
    // before it (an earlier mark stays: a crashed promotion may have made one then).
    replacingSince: customer.subscriptionId === undefined
      ? customer.replacingSince
      : Math.min(customer.replacingSince ?? promotion.started, promotion.started),
    updatedAt: promotion.started
  })
}

/**
 * The promotion's write: METERED on `subscriptionId`, a replaced subscription retired, open ones no
 * record knows kept as orphans, the settle window and a crashed close's mark cleared.
 *
 * @since 0.2.0
 * @category constructors
 */
export const adoptSubscription = (
  customer: Customer.Customer,
  promotion: Promotion,
  input: {
    readonly subscriptionId: SubscriptionId
    readonly open: ReadonlyArray<SubscriptionId>
    readonly now: number
  }
): Change<Refusal> => {
  const refused = admit(customer, promotion)
  if (refused !== undefined) return Either.left(refused)
  const { open, subscriptionId } = input
  // A subscription that stopped being live is retired in the same write, so Stripe stops invoicing
  // the meter on two subscriptions. Why: see DESIGN.md, "Retiring and orphans".
  const replaced = customer.subscriptionId !== undefined && customer.subscriptionId !== subscriptionId
    ? [customer.subscriptionId]
    : []
  const retiring = [...(customer.retiring ?? []).filter((id) => id !== subscriptionId), ...replaced]
  const known = new Set([subscriptionId, ...retiring, ...(customer.orphans ?? [])])
  const orphans = [
    ...(customer.orphans ?? []).filter((id) => id !== subscriptionId),
    ...open.filter((id) => !known.has(id))
  ]
  return Either.right({
    ...customer,
    plan: "METERED" as const,
    subscriptionId,
    retiring: retiring.length === 0 ? undefined : retiring,
    orphans: orphans.length === 0 ? undefined : orphans,
    // Stripe made the new subscription after the promotion started: until the retiring ones are
    // cancelled, usage is stamped before that. Why: see DESIGN.md, "Retiring and orphans".
    replacingSince: retiring.length === 0
      ? undefined
      : Math.min(customer.replacingSince ?? promotion.started, promotion.started),
    // A close whose mark outlived its lease crashed or failed: this promotion supersedes it.
    closingSince: undefined,
    paymentFailedAt: undefined,
    settleUntil: undefined,
    lastEventAt: eventTime(customer, promotion.at),
    updatedAt: input.now
  })
}

/**
 * A demotion's write: FREE with a settle window from `now`, a new generation when it leaves METERED,
 * and the payment failure kept when demoted for non-payment (a paid invoice later promotes again).
 *
 * @since 0.2.0
 * @category constructors
 */
export const demote = (
  customer: Customer.Customer,
  at: EventClock,
  input: { readonly nonPayment: boolean; readonly now: number; readonly settleWindow: Duration.Duration }
): Change<"Stale"> =>
  staleFor(customer, at) ? Either.left("Stale") : Either.right({
    ...customer,
    plan: "FREE" as const,
    paymentFailedAt: input.nonPayment ? (customer.paymentFailedAt ?? at.created) : undefined,
    settleUntil: input.now + Duration.toMillis(input.settleWindow),
    generation: customer.plan === "METERED" ? (customer.generation ?? 0) + 1 : customer.generation,
    lastEventAt: eventTime(customer, at),
    updatedAt: input.now
  })

/**
 * A failed payment's write: the start of the current run of failures (the earliest one).
 *
 * @since 0.2.0
 * @category constructors
 */
export const recordFailure = (
  customer: Customer.Customer,
  at: EventClock,
  input: { readonly failedAt: number; readonly now: number }
): Change<"Stale"> =>
  staleFor(customer, at) ? Either.left("Stale") : Either.right({
    ...customer,
    paymentFailedAt: Math.min(customer.paymentFailedAt ?? input.failedAt, input.failedAt),
    lastEventAt: eventTime(customer, at),
    updatedAt: input.now
  })
