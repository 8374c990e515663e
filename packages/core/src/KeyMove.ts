/**
 * Moving an API key between usage plans. API Gateway allows one plan per key per stage, so a move is
 * remove-then-add, verified afterwards, and compensated (the key put back) when the add fails.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { ApiKeyId, UsagePlanId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import type { PlanAdmin } from "./PlanAdmin.js"

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
  input: { readonly apiKeyId: ApiKeyId; readonly from: UsagePlanId; readonly to: UsagePlanId }
) {
  yield* Effect.annotateCurrentSpan({ apiKeyId: input.apiKeyId, to: input.to })
  const admin = yield* Ports.planAdmin
  const { apiKeyId, from, to } = input
  const before = yield* admin.plansOf(apiKeyId)
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
