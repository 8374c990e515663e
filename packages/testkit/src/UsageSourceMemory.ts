/**
 * An in-memory `UsageSource` that behaves like API Gateway `GetUsage` without a key filter: every key
 * with usage counted in the plan, pages of at most 500 keys, one count per day of the range (zero for
 * days without traffic), ranges over 90 days refused.
 *
 * @since 0.1.0
 */
import { type Ids, UsageSource, UtcDay } from "@augint-billing/core"
import { Effect, Layer } from "effect"
import { instrument } from "./internal/instrument.js"
import * as MemoryState from "./MemoryState.js"

const bad = (message: string) => new UsageSource.UsageSourceError({ reason: "BadRequest", message })

/** Build the usage source over shared state. */
export const make: Effect.Effect<UsageSource.UsageSourceService, never, MemoryState.MemoryState> = Effect.map(
  MemoryState.MemoryState,
  (state): UsageSource.UsageSourceService => {
    // The key order a listing pages through, taken on its first page and reused by the pages after it
    // while the plan's key count is unchanged: listing every key again for each page made a 100k-key
    // read quadratic.
    const snapshots = new WeakMap<object, { readonly size: number; readonly keys: ReadonlyArray<Ids.ApiKeyId> }>()
    const keysOf = (planUsage: Map<Ids.ApiKeyId, unknown>, continuing: boolean): ReadonlyArray<Ids.ApiKeyId> => {
      const snapshot = snapshots.get(planUsage)
      if (continuing && snapshot !== undefined && snapshot.size === planUsage.size) return snapshot.keys
      const keys = Array.from(planUsage.keys())
      snapshots.set(planUsage, { size: planUsage.size, keys })
      return keys
    }
    return {
      getUsagePage: (query) =>
        instrument(
          state,
          "UsageSource.getUsagePage",
          Effect.suspend(() => {
            if (!state.usagePlans.has(query.usagePlanId)) {
              return Effect.fail(
                new UsageSource.UsageSourceError({ reason: "NotFound", message: `no usage plan ${query.usagePlanId}` })
              )
            }
            const days = UtcDay.between(query.startDay, query.endDay)
            if (days.length === 0) return Effect.fail(bad("startDay is after endDay"))
            if (days.length > UsageSource.MAX_RANGE_DAYS) {
              return Effect.fail(bad(`the range spans ${days.length} days; at most ${UsageSource.MAX_RANGE_DAYS}`))
            }
            const limit = Math.min(query.limit ?? UsageSource.MAX_PAGE_SIZE, UsageSource.MAX_PAGE_SIZE)
            if (limit < 1) return Effect.fail(bad("limit must be at least 1"))
            const offset = query.position === undefined ? 0 : Number(query.position)
            if (!Number.isInteger(offset) || offset < 0) return Effect.fail(bad(`bad position ${query.position}`))
            const planUsage = state.usage.get(query.usagePlanId) ?? new Map<Ids.ApiKeyId, Map<UtcDay.UtcDay, number>>()
            const keys: ReadonlyArray<Ids.ApiKeyId> = query.apiKeyId === undefined
              ? keysOf(planUsage, offset > 0)
              : planUsage.has(query.apiKeyId)
              ? [query.apiKeyId]
              : []
            const slice = keys.slice(offset, offset + limit)
            return Effect.succeed({
              items: slice.map((apiKeyId) => {
                const perDay = planUsage.get(apiKeyId)!
                return { apiKeyId, counts: days.map((d) => perDay.get(d) ?? 0) }
              }),
              position: offset + limit < keys.length ? String(offset + limit) : undefined
            })
          })
        )
    }
  }
)

/** `UsageSource` over the shared `MemoryState`. */
export const layer: Layer.Layer<UsageSource.UsageSource, never, MemoryState.MemoryState> = Layer.effect(
  UsageSource.UsageSource,
  make
)

/** `UsageSource` on fresh state of its own. */
export const layerMemory: Layer.Layer<UsageSource.UsageSource> = layer.pipe(Layer.provide(MemoryState.layer()))
