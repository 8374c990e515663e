/**
 * An in-memory `PlanAdmin` that behaves like API Gateway usage plan keys: one plan per key per stage
 * (adding a key to a plan it is in, or to a plan that shares a stage with one it is in, is a
 * `Conflict`, as `CreateUsagePlanKey`'s `ConflictException`), removing a key that is not in the plan
 * is `NotFound`, unknown plans and keys are `NotFound`. Plans share one stage unless created with
 * others (`Driver.createUsagePlan`).
 *
 * @since 0.1.0
 */
import { type Ids, PlanAdmin } from "@augint-billing/core"
import { Effect, Layer } from "effect"
import { instrument } from "./internal/instrument.js"
import * as Usage from "./internal/usage.js"
import * as MemoryState from "./MemoryState.js"

const error = (reason: "NotFound" | "Conflict", message: string) => new PlanAdmin.PlanAdminError({ reason, message })

/** Build the plan admin over shared state. @since 0.1.0 @category constructors */
export const make: Effect.Effect<PlanAdmin.PlanAdminService, never, MemoryState.MemoryState> = Effect.map(
  MemoryState.MemoryState,
  (state): PlanAdmin.PlanAdminService => {
    const plansOf = (apiKeyId: Ids.ApiKeyId) => Array.from(state.membership.get(apiKeyId) ?? [])
    return {
      plansOf: (apiKeyId) => instrument(state, "PlanAdmin.plansOf", Effect.sync(() => plansOf(apiKeyId))),
      addKey: ({ apiKeyId, usagePlanId }) =>
        instrument(
          state,
          "PlanAdmin.addKey",
          Effect.suspend(() => {
            if (!state.usagePlans.has(usagePlanId)) {
              return Effect.fail(error("NotFound", `no usage plan ${usagePlanId}`))
            }
            if (!state.apiKeys.has(apiKeyId)) return Effect.fail(error("NotFound", `no API key ${apiKeyId}`))
            const clashing = plansOf(apiKeyId).filter((p) =>
              p === usagePlanId || Usage.shareStage(state, p, usagePlanId)
            )
            if (clashing.length > 0) {
              return Effect.fail(
                error("Conflict", `key ${apiKeyId} is already in usage plan ${clashing.join(", ")} on this stage`)
              )
            }
            const plans = state.membership.get(apiKeyId)
            if (plans === undefined) state.membership.set(apiKeyId, new Set([usagePlanId]))
            else plans.add(usagePlanId)
            Usage.added(state, usagePlanId, apiKeyId)
            return Effect.void
          })
        ),
      keysPage: ({ position, usagePlanId }) =>
        instrument(
          state,
          "PlanAdmin.keysPage",
          Effect.suspend(() => {
            if (!state.usagePlans.has(usagePlanId)) {
              return Effect.fail(error("NotFound", `no usage plan ${usagePlanId}`))
            }
            const keys: Array<Ids.ApiKeyId> = []
            for (const [key, plans] of state.membership) if (plans.has(usagePlanId)) keys.push(key)
            keys.sort()
            const offset = position === undefined ? 0 : Number(position)
            const end = offset + PlanAdmin.MAX_KEYS_PAGE_SIZE
            return Effect.succeed({
              keys: keys.slice(offset, end),
              ...(end < keys.length ? { position: String(end) } : {})
            })
          })
        ),
      removeKey: ({ apiKeyId, usagePlanId }) =>
        instrument(
          state,
          "PlanAdmin.removeKey",
          Effect.suspend(() => {
            const plans = state.membership.get(apiKeyId)
            if (plans === undefined || !plans.has(usagePlanId)) {
              return Effect.fail(error("NotFound", `key ${apiKeyId} is not in usage plan ${usagePlanId}`))
            }
            plans.delete(usagePlanId)
            return Effect.void
          })
        )
    }
  }
)

/** `PlanAdmin` over the shared `MemoryState`. @since 0.1.0 @category layers */
export const layer: Layer.Layer<PlanAdmin.PlanAdmin, never, MemoryState.MemoryState> = Layer.effect(
  PlanAdmin.PlanAdmin,
  make
)

/** `PlanAdmin` on fresh state of its own. @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<PlanAdmin.PlanAdmin> = layer.pipe(Layer.provide(MemoryState.layer()))
