/**
 * Moving an API key between usage plans. API Gateway allows one plan per key per stage, so a move is
 * remove-then-add, verified afterwards, and compensated (the key put back) when the add fails.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Option, Schema } from "effect"
import { BillingConfig } from "./BillingConfig.js"
import type * as Customer from "./Customer.js"
import { VersionConflict } from "./CustomerRepo.js"
import type { ApiKeyId, CustomerId, UsagePlanId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import * as Records from "./internal/records.js"
import type { PlanAdmin } from "./PlanAdmin.js"
import { readUsage, withBaseline } from "./UsageRead.js"
import * as UsageSync from "./UsageSync.js"
import * as UtcDay from "./UtcDay.js"

/**
 * A move that could not be made or verified; the key is back where it was when `compensated`.
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyMoveError extends Schema.TaggedError<KeyMoveError>()("KeyMoveError", {
  reason: Schema.Literal("UnexpectedPlan", "NotVerified", "AddFailed"),
  apiKeyId: Schema.String,
  message: Schema.String,
  compensated: Schema.Boolean,
  cause: Schema.optional(Schema.Defect)
}) {}

/** What a move did. @since 0.1.0 @category models */
export type MoveResult = "Moved" | "AlreadyThere"

/**
 * Move `apiKeyId` from plan `from` to plan `to`; a key already (and only) in `to` is success.
 *
 * @since 0.1.0
 * @category flows
 */
export const moveKey = Effect.fn("KeyMove.moveKey")(function*(
  input: {
    readonly apiKeyId: ApiKeyId
    readonly from: UsagePlanId
    readonly to: UsagePlanId
    /** The key's plans, when the caller has just read them (saves a management API call). */
    readonly plans?: ReadonlyArray<UsagePlanId>
  }
) {
  yield* Effect.annotateCurrentSpan({ apiKeyId: input.apiKeyId, to: input.to })
  const admin = yield* Ports.planAdmin
  const { apiKeyId, from, to } = input
  const before = input.plans ?? (yield* admin.plansOf(apiKeyId))
  const foreign = before.filter((p) => p !== from && p !== to)
  if (foreign.length > 0) {
    return yield* new KeyMoveError({
      reason: "UnexpectedPlan",
      apiKeyId,
      compensated: false,
      message: `key ${apiKeyId} is in usage plan ${foreign.join(", ")}, neither ${from} nor ${to}: not moved`
    })
  }
  if (before.includes(to) && !before.includes(from)) return "AlreadyThere" as const

  const wasInFrom = before.includes(from)
  if (wasInFrom) {
    yield* admin.removeKey({ usagePlanId: from, apiKeyId }).pipe(
      Effect.catchIf((e) => e.reason === "NotFound", () => Effect.void)
    )
  }
  if (!before.includes(to)) {
    yield* admin.addKey({ usagePlanId: to, apiKeyId }).pipe(
      // A conflict after a retry may mean our own earlier attempt landed: the verify step decides.
      Effect.catchIf((e) => e.reason === "Conflict", () => Effect.void),
      Effect.catchAll((cause) =>
        compensate(admin, input, wasInFrom).pipe(
          Effect.flatMap((compensated) =>
            new KeyMoveError({
              reason: "AddFailed",
              apiKeyId,
              compensated,
              message: `adding key ${apiKeyId} to ${to} failed (${cause.message})${
                compensated ? `; it is back in ${from}` : ""
              }`,
              cause
            })
          )
        )
      )
    )
  }
  const after = yield* admin.plansOf(apiKeyId)
  if (!after.includes(to) || after.includes(from)) {
    const compensated = after.includes(to) ? false : yield* compensate(admin, input, wasInFrom)
    return yield* new KeyMoveError({
      reason: "NotVerified",
      apiKeyId,
      compensated,
      message: `key ${apiKeyId} is in [${after.join(", ")}] after moving it from ${from} to ${to}`
    })
  }
  return "Moved" as const
})

// Put the key back into `from` when the move took it out; never fails, says whether it worked.
const compensate = (
  admin: PlanAdmin["Type"],
  input: { readonly apiKeyId: ApiKeyId; readonly from: UsagePlanId },
  wasInFrom: boolean
): Effect.Effect<boolean> =>
  wasInFrom
    ? admin.addKey({ usagePlanId: input.from, apiKeyId: input.apiKeyId }).pipe(
      Effect.catchIf((e) => e.reason === "Conflict", () => Effect.void),
      Effect.as(true),
      Effect.catchAll((e) =>
        Effect.logError(`could not put key ${input.apiKeyId} back into ${input.from}`, e).pipe(Effect.as(false))
      )
    )
    : Effect.succeed(false)

/**
 * Move a customer's key between its plans, reading GetUsage where API Gateway may hide counts: before
 * the key leaves the metered plan or is put back into it, its counts so far are reported (under "history
 * dropped" a removed key's counts vanish; under "counter reset" a re-added key's old counter does); right
 * after it is added to the metered plan, the record's counter baseline is taken (`UsageRead.withBaseline`).
 * Fails with `VersionConflict` when another writer is reporting the customer's usage: the key is not
 * moved, and a redelivery moves it. Why: see DESIGN.md, "Counter baselines".
 *
 * @since 0.3.0
 * @category flows
 */
export const moveCustomerKey = Effect.fn("KeyMove.moveCustomerKey")(function*(
  customer: Customer.Customer,
  input: {
    readonly from: UsagePlanId
    readonly to: UsagePlanId
    /** The key's plans, when the caller has just read them (saves a management API call). */
    readonly plans?: ReadonlyArray<UsagePlanId>
  }
) {
  const config = yield* BillingConfig
  const admin = yield* Ports.planAdmin
  const metered = config.meteredPlanId
  const plans = input.plans ?? (yield* admin.plansOf(customer.apiKeyId))
  const moving = !(plans.includes(input.to) && !plans.includes(input.from))
  const marked = moving && (input.from === metered || input.to === metered)
    ? yield* reportBeforeMove(customer, input.to === metered)
    : false
  const moved = yield* moveKey({ apiKeyId: customer.apiKeyId, from: input.from, to: input.to, plans })
  // Also after "AlreadyThere": a move that crashed before its baseline left the mark for this one.
  if (input.to === metered && (marked || customer.baselineDue !== undefined)) yield* takeBaseline(customer.customerId)
  return moved
})

// Report what GetUsage shows of the key before it moves; before it is put back into the metered plan,
// mark the record so that the baseline is taken even if this move crashes after the add. Says whether
// a baseline is due.
const reportBeforeMove = Effect.fnUntraced(function*(customer: Customer.Customer, adding: boolean) {
  // A key added under a link that never demoted it (generation 0) has no counts of this link to read.
  const flushed = !adding || (customer.generation ?? 0) > 0 ? yield* UsageSync.flushCustomer(customer) : undefined
  if (flushed !== undefined && (flushed.contended || flushed.customer.pending !== undefined)) {
    return yield* new VersionConflict({
      customerId: customer.customerId,
      message: "another writer is reporting this customer's usage; retry the key move after it"
    })
  }
  const current = flushed?.customer ?? customer
  const owed = current.baselineDue === undefined &&
    (Object.keys(current.ledger).length > 0 || current.counterOffset !== undefined)
  if (adding && owed) {
    yield* Records.updateRecord(
      current.customerId,
      (c) => c.baselineDue === undefined ? Option.some({ ...c, baselineDue: "Readd" as const }) : Option.none()
    )
  }
  return adding && (owed || current.baselineDue !== undefined)
})

// The counter baseline a mark asks for, from GetUsage read right after the add: API Gateway shows counts
// 30-40 minutes late (at once only at the quota), so a counter the add reset still shows none of its own.
const takeBaseline = Effect.fnUntraced(function*(customerId: CustomerId) {
  const repo = yield* Ports.repo
  const found = yield* repo.get(customerId)
  if (Option.isNone(found) || found.value.baselineDue === undefined) return
  const config = yield* BillingConfig
  const now = yield* Clock.currentTimeMillis
  const days = UtcDay.range(UtcDay.fromMillis(now), config.lookbackDays)
  const apiKeyId = found.value.apiKeyId
  const observed = yield* readUsage({ usagePlanId: config.meteredPlanId, days, apiKeyId })
  const shown = observed.byKey.get(apiKeyId)
  const restarted = found.value.baselineDue === "Readd" &&
    days.some((day, i) => (shown?.[i] ?? 0) + (found.value.counterOffset?.[day] ?? 0) < (found.value.ledger[day] ?? 0))
  if (restarted) {
    // Reported, not hidden: what the key counted within the reporting delay before the add is gone.
    yield* Effect.logWarning("the key's usage counter restarted when it was put back into the metered plan").pipe(
      Effect.annotateLogs({ customerId, apiKeyId })
    )
  }
  yield* Records.updateRecord(
    customerId,
    (c) =>
      c.baselineDue === undefined || c.apiKeyId !== apiKeyId
        ? Option.none()
        // Marked for the next sync's report and metric, not only this log line (issue 14).
        : Option.some({ ...withBaseline(c, days, shown), ...(restarted ? { counterResetAt: now } : {}) })
  )
})
