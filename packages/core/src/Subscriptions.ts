/**
 * Cancelling the metered subscriptions a record no longer needs: the settle close of a demoted
 * customer, and the subscriptions a promotion replaced (`retiring`) or found orphaned (`orphans`).
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect, Either, Option } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import * as Collection from "./Collection.js"
import * as Customer from "./Customer.js"
import type { SubscriptionId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as Records from "./internal/records.js"
import * as KeyMove from "./KeyMove.js"
import type { OpenInvoice } from "./Stripe.js"

/**
 * Close a demoted customer's settle window: fence the record, cancel its subscriptions with a final
 * invoice and any orphan without one, then clear the window. Why: see DESIGN.md, "The settle close".
 *
 * @since 0.2.0
 * @category flows
 */
export const closeSettleWindow = Effect.fn("Subscriptions.closeSettleWindow")(function*(customer: Customer.Customer) {
  yield* Effect.annotateCurrentSpan("customerId", customer.customerId)
  const stripe = yield* Ports.stripe
  const repo = yield* Ports.repo
  if (!(yield* keyOutOfMeteredPlan(customer))) return customer
  const generation = (customer.generation ?? 0) + 1
  const now = yield* Clock.currentTimeMillis
  const fenced = yield* repo.update({ ...customer, generation, closingSince: now }).pipe(
    Effect.map(Option.some),
    Effect.catchTag("VersionConflict", () => Effect.succeedNone)
  )
  if (Option.isNone(fenced)) return customer
  const invoiced = [
    ...(customer.subscriptionId === undefined ? [] : [customer.subscriptionId]),
    ...(customer.retiring ?? [])
  ]
  for (const subscriptionId of invoiced) {
    yield* Collection.cancelKeepingCollection({ customerId: customer.customerId, subscriptionId, invoiceNow: true })
  }
  const orphans = (yield* stripe.openSubscriptions(customer.customerId)).filter((id) => !invoiced.includes(id))
  for (const orphan of orphans) {
    // Still this close's record? A later close (after a lease ran out) may have finished, and a
    // promotion written down the subscription this list just returned.
    const still = yield* repo.get(customer.customerId)
    if (Option.isNone(still) || still.value.generation !== generation || still.value.closingSince !== now) break
    yield* Effect.logWarning("cancelling a metered subscription no record holds").pipe(
      Effect.annotateLogs({ customerId: customer.customerId, subscriptionId: orphan })
    )
    yield* Collection.cancelKeepingCollection({
      customerId: customer.customerId,
      subscriptionId: orphan,
      invoiceNow: false
    })
  }
  // Other writers may have written since the fence (a demotion event, the `subscription.deleted`
  // our cancel caused): clear on top of them, as long as no later close began.
  const closed = yield* Records.updateRecord(
    customer.customerId,
    (c) =>
      c.generation === generation && c.closingSince === now
        ? Option.some({
          ...c,
          settleUntil: undefined,
          subscriptionId: undefined,
          retiring: undefined,
          orphans: undefined,
          closingSince: undefined,
          replacingSince: undefined,
          // A paid invoice promotes a customer demoted for non-payment only until the window closes.
          paymentFailedAt: undefined
        })
        : Option.none()
  )
  return Option.getOrElse(closed, () => fenced.value)
}, (effect, customer) =>
  // Still contended after the retries: the window stays due, and the next sync closes it again.
  Effect.catchTag(effect, "VersionConflict", () => Effect.succeed(customer)))

// A demotion whose key move failed past its retries leaves the key in the metered plan: closing now
// would end the subscription while the key goes on counting metered usage no invoice carries. Such a
// close moves the key and leaves the window due, so the next sync reports what was counted meanwhile.
const keyOutOfMeteredPlan = (customer: Customer.Customer) =>
  Effect.gen(function*() {
    const config = yield* BillingConfig
    const moved = yield* KeyMove.moveKey({
      apiKeyId: customer.apiKeyId,
      from: config.meteredPlanId,
      to: config.freePlanId
    }).pipe(Effect.either)
    if (Either.isRight(moved) && moved.right === "AlreadyThere") return true
    yield* Effect.logWarning("a demoted key was still in the metered plan: the settle window stays open").pipe(
      Effect.annotateLogs({
        customerId: customer.customerId,
        apiKeyId: customer.apiKeyId,
        moved: Either.isRight(moved) ? "yes" : moved.left.message
      })
    )
    return false
  })

/** Whether the record names subscriptions to cancel (`retiring` or `orphans`). @since 0.1.0 @category predicates */
export const hasSubscriptionsToCancel = (customer: Customer.Customer): boolean =>
  (customer.retiring?.length ?? 0) > 0 || (customer.orphans?.length ?? 0) > 0

/**
 * Cancel the subscriptions a promotion replaced (with a final invoice) and the orphans it found
 * (without one), then drop them from the record. Why: see DESIGN.md, "Retiring and orphans".
 *
 * @since 0.1.0
 * @category flows
 */
export const retireReplaced = Effect.fn("Subscriptions.retireReplaced")(function*(
  customer: Customer.Customer
) {
  yield* Effect.annotateCurrentSpan("customerId", customer.customerId)
  if (!hasSubscriptionsToCancel(customer)) return Option.none()
  // Work from the record as it is now, never from an older copy: a promotion since may have adopted
  // one of these (it is then the record's subscription, and no longer listed here).
  const repo = yield* Ports.repo
  const latest = yield* repo.get(customer.customerId)
  if (Option.isNone(latest)) return Option.none()
  const held = latest.value.subscriptionId
  const config = yield* BillingConfig
  const now = yield* Clock.currentTimeMillis
  // A replaced subscription stays open for a settle window after its replacement began: its late counts
  // (a day's last ones read after midnight, say) are stamped before that (`replacingSince`) and land on
  // its final invoice. Why: see DESIGN.md, "Retiring and orphans".
  const since = latest.value.replacingSince
  const settled = since === undefined || now >= since + Duration.toMillis(config.settleWindow)
  const retiring = settled ? (latest.value.retiring ?? []).filter((id) => id !== held) : []
  const orphans = (latest.value.orphans ?? []).filter((id) => id !== held)
  if (retiring.length === 0 && orphans.length === 0) return Option.none()
  // A promoted customer's invoices of ours go on being collected (the held subscription's renewal may
  // be failing this hour; the one being retired may still owe its last).
  const keep = latest.value.plan === "METERED"
    ? (invoice: OpenInvoice) => Collection.isCollectable(latest.value, invoice)
    : undefined
  for (const subscriptionId of retiring) {
    yield* Collection.cancelKeepingCollection({
      customerId: customer.customerId,
      subscriptionId,
      invoiceNow: true,
      keep
    })
  }
  for (const subscriptionId of orphans) {
    yield* Collection.cancelKeepingCollection({
      customerId: customer.customerId,
      subscriptionId,
      invoiceNow: false,
      keep
    })
  }
  const done = [...retiring, ...orphans]
  return yield* Records.updateRecord(customer.customerId, (c) => {
    const keep = (ids: ReadonlyArray<SubscriptionId> | undefined) => {
      // Cancelled now, or the record's own subscription again: neither is left to cancel.
      const left = (ids ?? []).filter((id) => !done.includes(id) && id !== c.subscriptionId)
      return left.length === 0 ? undefined : left
    }
    if (!hasSubscriptionsToCancel(c)) return Option.none()
    const retiringLeft = keep(c.retiring)
    return Option.some({
      ...c,
      retiring: retiringLeft,
      orphans: keep(c.orphans),
      // No replaced subscription left open: usage is stamped now again, on the record's subscription only.
      replacingSince: retiringLeft === undefined && c.plan === "METERED" ? undefined : c.replacingSince
    })
  })
})

/**
 * Whether a FREE record's settle window has ended and the sync closes it now. A close that is running
 * (its mark younger than the lease) is left to finish; one whose mark outlived the lease crashed or
 * failed and is due at once.
 *
 * @since 0.2.0
 * @category predicates
 */
export const settleWindowDue = (customer: Customer.Customer, now: number): boolean =>
  customer.plan === "FREE" && customer.pending === undefined && !Customer.isClosing(customer, now) &&
  (customer.closingSince !== undefined ||
    ((customer.settleUntil !== undefined || customer.subscriptionId !== undefined) &&
      (customer.settleUntil ?? 0) <= now))
