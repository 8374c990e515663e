/**
 * An in-memory `UsageSource` that behaves like API Gateway `GetUsage`: every key with usage counted in
 * the plan (or the one `keyId`), pages of at most 500 keys (`limit`, `position`), one count per day of
 * the range (zero for days without traffic), ranges over 90 days refused. `MemoryState.UsageModel`
 * makes it as unkind as AWS: counts shown only after the reporting delay (at once for a key at its
 * quota), a removed key's counts dropped, a re-added key's counts reset.
 *
 * @since 0.1.0
 */
import { type Ids, UsageSource, UtcDay } from "@augint-billing/core"
import { Clock, Effect, Layer } from "effect"
import { instrument } from "./internal/instrument.js"
import * as Usage from "./internal/usage.js"
import * as MemoryState from "./MemoryState.js"

const bad = (message: string) => new UsageSource.UsageSourceError({ reason: "BadRequest", message })

/** Build the usage source over shared state. @since 0.1.0 @category constructors */
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
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
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
            // The port's default; the adapter always sends it, since API Gateway's own default is 25.
            const limit = query.limit ?? UsageSource.MAX_PAGE_SIZE
            if (!Number.isInteger(limit) || limit < 1 || limit > UsageSource.MAX_PAGE_SIZE) {
              return Effect.fail(bad(`limit must be 1-${UsageSource.MAX_PAGE_SIZE}, got ${limit}`))
            }
            const offset = query.position === undefined ? 0 : Number(query.position)
            if (!Number.isInteger(offset) || offset < 0) return Effect.fail(bad(`bad position ${query.position}`))
            const planUsage = state.usage.get(query.usagePlanId) ?? new Map<Ids.ApiKeyId, Map<UtcDay.UtcDay, number>>()
            const keys: ReadonlyArray<Ids.ApiKeyId> = query.apiKeyId === undefined
              ? keysOf(planUsage, offset > 0)
              : planUsage.has(query.apiKeyId)
              ? [query.apiKeyId]
              : []
            const slice = keys.slice(offset, offset + limit)
            const items: Array<UsageSource.KeyUsage> = []
            for (const apiKeyId of slice) {
              // A key `GetUsage` no longer lists leaves its page short, as a page may be.
              const counts = Usage.visible(state, query.usagePlanId, apiKeyId, days, now)
              if (counts !== undefined) items.push({ apiKeyId, counts })
            }
            return Effect.succeed({
              items,
              position: offset + limit < keys.length ? String(offset + limit) : undefined
            })
          })
        )
    }
  }
)

/** `UsageSource` over the shared `MemoryState`. @since 0.1.0 @category layers */
export const layer: Layer.Layer<UsageSource.UsageSource, never, MemoryState.MemoryState> = Layer.effect(
  UsageSource.UsageSource,
  make
)

/** `UsageSource` on fresh state of its own (exact counts). @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<UsageSource.UsageSource> = layer.pipe(Layer.provide(MemoryState.layer()))
