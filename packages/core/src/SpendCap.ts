/**
 * The optional hard spend cap: once a metered customer's units reported this billing period (a UTC
 * calendar month, as for spend alerts) reach its cap, its key moves from the metered usage plan to the
 * capped one (`CAPPED_USAGE_PLAN_ID`, which the seller sets up to reject or throttle), and back when the
 * period renews or the cap is raised. The plan ladder is FREE, METERED, CAPPED: `keyPlanOf` says where a
 * record's key belongs, `moveKeyTo` moves it there from wherever on the ladder it is, with the
 * guarantees of `KeyMove.moveCustomerKey` when it rejoins the metered plan (usage read first, counter
 * baseline after). Decided from the ledger the sync just committed: no extra API Gateway read.
 *
 * @since 0.4.0
 */
import { Clock, Effect, Option, Schema } from "effect"
import { BillingConfig, type BillingSettings } from "./BillingConfig.js"
import type * as Customer from "./Customer.js"
import type { CustomerId, UsagePlanId } from "./Ids.js"
import * as Cap from "./internal/cap.js"
import { reportedThisMonth } from "./internal/ledger.js"
import * as Ports from "./internal/ports.js"
import * as Records from "./internal/records.js"
import * as KeyMove from "./KeyMove.js"
import * as UsageSync from "./UsageSync.js"

/** A cap that cannot be set. @since 0.4.0 @category errors */
export class SpendCapError extends Schema.TaggedError<SpendCapError>()("SpendCapError", {
  reason: Schema.Literal("NotConfigured", "InvalidUnits", "UnknownCustomer"),
  message: Schema.String
}) {}

/** The cap period (UTC month, `YYYY-MM`) of an instant, as spend alerts count it. @since 0.4.0 @category utils */
export const periodOf: (nowMillis: number) => string = Cap.periodOf

/**
 * The customer's cap in units per period: its record's (0 is none), else `SPEND_CAP_UNITS`; none when
 * no capped plan is configured.
 *
 * @since 0.4.0
 * @category utils
 */
export const capOf: (customer: Customer.Customer, config: BillingSettings) => number | undefined = Cap.capOf

/** Whether the record holds its key capped in the period of `nowMillis`. @since 0.4.0 @category predicates */
export const isCapped: (customer: Customer.Customer, nowMillis: number) => boolean = Cap.isCapped

/**
 * The usage plan a record's key belongs in: FREE, METERED, or CAPPED for a metered record capped this
 * period (a cap of an earlier period has renewed).
 *
 * @since 0.4.0
 * @category utils
 */
export const keyPlanOf: (customer: Customer.Customer, config: BillingSettings, nowMillis: number) => UsagePlanId =
  Cap.keyPlanOf

/** A customer's cap as the usage view shows it. @since 0.4.0 @category models */
export const CapView = Cap.CapView
/** A customer's cap as the usage view shows it. @since 0.4.0 @category models */
export type CapView = Cap.CapView

/** The customer's cap now, none without one. @since 0.4.0 @category utils */
export const viewOf: (customer: Customer.Customer, config: BillingSettings, nowMillis: number) => CapView | undefined =
  Cap.viewOf

/** Units Stripe accepted for the customer this period (UTC month to date). @since 0.4.0 @category utils */
export const periodUnits = (customer: Customer.Customer, nowMillis: number): number =>
  reportedThisMonth(customer, nowMillis)

/** The ladder's plans, those configured. @since 0.4.0 @category utils */
export const ladder = (config: BillingSettings): ReadonlyArray<UsagePlanId> =>
  config.cappedPlanId === undefined
    ? [config.freePlanId, config.meteredPlanId]
    : [config.freePlanId, config.meteredPlanId, config.cappedPlanId]

/** What a record's cap calls for. @since 0.4.0 @category models */
export type Decision = "Cap" | "Uncap" | "Stay"

/**
 * `Cap` a metered record at or past its cap and not capped this period; `Uncap` a capped record whose
 * period renewed, whose cap was raised past its units or removed; else `Stay`.
 *
 * @since 0.4.0
 * @category utils
 */
export const decide = (
  customer: Customer.Customer,
  input: { readonly now: number; readonly cap: number | undefined; readonly units: number }
): Decision => {
  const current = customer.capped?.period === periodOf(input.now)
  if (customer.plan === "METERED" && !current && input.cap !== undefined && input.units >= input.cap) return "Cap"
  if (customer.capped !== undefined && (!current || input.cap === undefined || input.units < input.cap)) {
    return "Uncap"
  }
  return "Stay"
}

/**
 * Move the customer's key to `to` from whichever plan of the ladder it is in (a key in a plan off the
 * ladder is not moved: `KeyMoveError`). With `report`, a move that leaves or rejoins the metered plan
 * reads its usage first and takes the counter baseline after (`KeyMove.moveCustomerKey`).
 *
 * @since 0.4.0
 * @category flows
 */
export const moveKeyTo = Effect.fn("SpendCap.moveKeyTo")(function*(
  customer: Customer.Customer,
  to: UsagePlanId,
  options: { readonly report: boolean }
) {
  const config = yield* BillingConfig
  const admin = yield* Ports.planAdmin
  const plans = yield* admin.plansOf(customer.apiKeyId)
  const rungs = ladder(config)
  const from = plans.find((p) => p !== to && rungs.includes(p)) ??
    (to === config.meteredPlanId ? config.freePlanId : config.meteredPlanId)
  const metered = from === config.meteredPlanId || to === config.meteredPlanId
  return options.report && metered
    ? yield* KeyMove.moveCustomerKey(customer, { from, to, plans })
    : yield* KeyMove.moveKey({ apiKeyId: customer.apiKeyId, from, to, plans })
})

// Move the key where the record read after the move still wants it (a webhook may demote or promote
// meanwhile); a key left wrong is repaired by the next sync (`PlanRepair`).
const settleKey = Effect.fnUntraced(function*(customerId: CustomerId, options: { readonly fresh: boolean }) {
  const config = yield* BillingConfig
  const repo = yield* Ports.repo
  for (let round = 0; round < 3; round++) {
    const found = yield* repo.get(customerId)
    if (Option.isNone(found)) return
    const now = yield* Clock.currentTimeMillis
    const to = keyPlanOf(found.value, config, now)
    // Rejoining the metered plan always takes the baseline; leaving it reads usage first unless the
    // caller (the sync) has just reported everything GetUsage shows.
    yield* moveKeyTo(found.value, to, { report: to === config.meteredPlanId || !options.fresh })
    const after = yield* repo.get(customerId)
    if (Option.isNone(after) || keyPlanOf(after.value, config, yield* Clock.currentTimeMillis) === to) return
  }
})

/**
 * Cap or uncap the customer as its ledger and cap call for: the intent is written on the record (with
 * the version check: of two overlapping syncs one decides), then the key is moved. `fresh` says the
 * caller has just reported the key's counts (the sync), so capping reads no usage. Another writer
 * reporting the customer leaves the move to the next run. Without a capped plan configured, does
 * nothing.
 *
 * @since 0.4.0
 * @category flows
 */
export const enforce = Effect.fn("SpendCap.enforce")(function*(
  customer: Customer.Customer,
  options: { readonly fresh: boolean } = { fresh: false }
) {
  const config = yield* BillingConfig
  if (config.cappedPlanId === undefined) return customer
  const now = yield* Clock.currentTimeMillis
  const units = periodUnits(customer, now)
  const decision = decide(customer, { now, cap: capOf(customer, config), units })
  if (decision === "Stay") return customer
  const repo = yield* Ports.repoInSync
  const written = yield* repo.update({
    ...customer,
    capped: decision === "Cap" ? { period: periodOf(now), units, at: now } : undefined
  }).pipe(Effect.map(Option.some), Effect.catchTag("VersionConflict", () => Effect.succeedNone))
  if (Option.isNone(written)) return customer
  yield* Effect.logInfo(decision === "Cap" ? "spend cap reached: key capped" : "spend cap lifted").pipe(
    Effect.annotateLogs({ customerId: customer.customerId, units, cap: capOf(customer, config) ?? "none" })
  )
  if (written.value.plan !== "METERED") return written.value
  yield* settleKey(customer.customerId, options).pipe(Effect.catchTag("VersionConflict", () => Effect.void))
  return Option.getOrElse(yield* repo.get(customer.customerId), () => written.value)
})

/**
 * Set a customer's cap (`undefined`: no cap for it, even over `SPEND_CAP_UNITS`), then report its
 * metered key's usage so far and cap or uncap it at once. Fails without `CAPPED_USAGE_PLAN_ID`, with units that are not a positive
 * whole number, or for an unknown customer, and then changes nothing.
 *
 * @since 0.4.0
 * @category flows
 */
export const setCap = Effect.fn("SpendCap.setCap")(function*(customerId: CustomerId, units: number | undefined) {
  const config = yield* BillingConfig
  if (config.cappedPlanId === undefined) {
    return yield* new SpendCapError({
      reason: "NotConfigured",
      message: "no capped usage plan is configured (CAPPED_USAGE_PLAN_ID): a cap could not move the key anywhere"
    })
  }
  if (units !== undefined && !(Number.isSafeInteger(units) && units > 0)) {
    return yield* new SpendCapError({
      reason: "InvalidUnits",
      message: `a cap is a positive whole number of units, not ${units}`
    })
  }
  const written = yield* Records.updateRecord(customerId, (c) => Option.some({ ...c, capUnits: units ?? 0 }))
  if (Option.isNone(written)) {
    return yield* new SpendCapError({ reason: "UnknownCustomer", message: `no customer ${customerId}` })
  }
  // Report what the metered key counted since the last sync first, so a cap lowered to the usage so
  // far caps now.
  const now = yield* Clock.currentTimeMillis
  const current = written.value.plan === "METERED" && !isCapped(written.value, now)
    ? (yield* UsageSync.flushCustomer(written.value)).customer
    : written.value
  return yield* enforce(current, { fresh: true })
})
