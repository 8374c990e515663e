/**
 * The sync's check of plan membership: every candidate's API key is compared with the plan its record
 * holds, and moved when they differ (a webhook killed between its record write and its key move, a
 * move throttled past its retries). The metered plan's keys are read once a run (`GetUsagePlanKeys`,
 * 500 a page), so the check costs no call per customer; only a mismatch, or a free record (which the
 * metered list cannot place), asks about one key.
 *
 * @since 0.3.0
 */
import { Clock, Duration, Effect, Option } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import type * as Customer from "./Customer.js"
import type { ApiKeyId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as SpendCap from "./SpendCap.js"

/**
 * A record written this recently before the run is left alone: the webhook that wrote it may still be
 * moving its key (the webhook's timeout is 25 s). A key it left wrong is repaired by the next run.
 *
 * @since 0.3.0
 * @category constants
 */
export const REPAIR_GRACE: Duration.Duration = Duration.minutes(2)

/**
 * Every key in the metered plan, all pages.
 *
 * @since 0.3.0
 * @category flows
 */
export const meteredKeys = Effect.fn("PlanRepair.meteredKeys")(function*() {
  const config = yield* BillingConfig
  const admin = yield* Ports.planAdmin
  const keys = new Set<ApiKeyId>()
  let position: string | undefined = undefined
  do {
    const page: { readonly keys: ReadonlyArray<ApiKeyId>; readonly position?: string } = yield* admin.keysPage({
      usagePlanId: config.meteredPlanId,
      ...(position === undefined ? {} : { position })
    })
    for (const key of page.keys) keys.add(key)
    position = page.position
  } while (position !== undefined)
  return keys as ReadonlySet<ApiKeyId>
})

/**
 * Whether the metered list already shows the record's key where the record says (free or capped: not
 * metered).
 *
 * @since 0.3.0
 * @category predicates
 */
export const listedRight = (
  customer: Customer.Customer,
  metered: ReadonlySet<ApiKeyId>,
  nowMillis: number
): boolean =>
  (customer.plan === "METERED" && !SpendCap.isCapped(customer, nowMillis)) === metered.has(customer.apiKeyId)

/**
 * Move `listed`'s key to the plan its record holds now, if it is elsewhere. `listed` is the record as
 * the run read it (for the grace check), `metered` the run's list of metered keys. Before a key leaves
 * the metered plan, `flush` reports what it counted there (GetUsage is indexed over a plan's keys).
 * Returns whether the key was moved.
 *
 * @since 0.3.0
 * @category flows
 */
export const repair = <E, R>(
  listed: Customer.Customer,
  metered: ReadonlySet<ApiKeyId>,
  input: {
    readonly runStartedAt: number
    readonly flush: (customer: Customer.Customer) => Effect.Effect<{ readonly contended: boolean }, E, R>
  }
) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const offMetered = (listed.plan === "FREE" || SpendCap.isCapped(listed, now)) && !metered.has(listed.apiKeyId)
    // A free or capped key outside the metered plan may be in another plan or none: only its own lookup can tell.
    if (listedRight(listed, metered, now) && !offMetered) return false
    if (input.runStartedAt - listed.updatedAt < Duration.toMillis(REPAIR_GRACE)) return false
    const config = yield* BillingConfig
    const admin = yield* Ports.planAdmin
    const repo = yield* Ports.repo
    // As `HandleEvent.converge`: the record read after the move must still ask for the plan moved to.
    for (let round = 0; round < 3; round++) {
      const found = yield* repo.get(listed.customerId)
      if (Option.isNone(found) || found.value.apiKeyId !== listed.apiKeyId) return false
      const current = found.value
      const plans = yield* admin.plansOf(current.apiKeyId)
      const target = SpendCap.keyPlanOf(current, config, yield* Clock.currentTimeMillis)
      if (plans.length === 1 && plans[0] === target) return round > 0
      if (target !== config.meteredPlanId && plans.includes(config.meteredPlanId)) {
        const flushed = yield* input.flush(current)
        if (flushed.contended) return false
      }
      // As the webhook's moves: usage read before the key leaves or rejoins the metered plan, and a
      // counter baseline taken after it rejoins (`KeyMove.moveCustomerKey`), from wherever on the plan
      // ladder (FREE, METERED, CAPPED) the key is. Another writer reporting the customer now: leave
      // the key to the next run.
      const moved = yield* SpendCap.moveKeyTo(current, target, { report: true }).pipe(
        Effect.as(true),
        Effect.catchTag("VersionConflict", () => Effect.succeed(false))
      )
      if (!moved) return false
      const after = yield* repo.get(listed.customerId)
      if (Option.isNone(after) || SpendCap.keyPlanOf(after.value, config, yield* Clock.currentTimeMillis) === target) {
        yield* Effect.logWarning("sync moved a key into the plan its record holds").pipe(
          Effect.annotateLogs({ customerId: current.customerId, apiKeyId: current.apiKeyId, plan: current.plan })
        )
        return true
      }
    }
    return false
  })
