/**
 * Reading a usage plan's counts per API key and UTC day from the `UsageSource`, every page.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import type { ApiKeyId, UsagePlanId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import { MAX_PAGE_SIZE, type UsagePage } from "./UsageSource.js"
import type * as UtcDay from "./UtcDay.js"

/** Observed counts per key for a run of consecutive days (`days[i]` ↔ `counts[i]`). @since 0.1.0 @category models */
export interface Observed {
  readonly days: ReadonlyArray<UtcDay.UtcDay>
  readonly byKey: ReadonlyMap<ApiKeyId, ReadonlyArray<number>>
  /** Pages read to get them. */
  readonly pages: number
}

/**
 * Read a plan's usage for `days` (consecutive, oldest first), all pages, optionally for one key.
 *
 * @since 0.1.0
 * @category flows
 */
export const readUsage = Effect.fn("UsageRead.readUsage")(function*(
  input: {
    readonly usagePlanId: UsagePlanId
    readonly days: ReadonlyArray<UtcDay.UtcDay>
    readonly apiKeyId?: ApiKeyId
  }
) {
  const source = yield* Ports.usageSource
  const byKey = new Map<ApiKeyId, ReadonlyArray<number>>()
  let pages = 0
  let position: string | undefined = undefined
  do {
    const page: UsagePage = yield* source.getUsagePage({
      usagePlanId: input.usagePlanId,
      startDay: input.days[0]!,
      endDay: input.days[input.days.length - 1]!,
      limit: MAX_PAGE_SIZE,
      ...(input.apiKeyId === undefined ? {} : { apiKeyId: input.apiKeyId }),
      ...(position === undefined ? {} : { position })
    })
    pages++
    for (const item of page.items) byKey.set(item.apiKeyId, item.counts)
    position = page.position
  } while (position !== undefined)
  return { days: input.days, byKey, pages }
})
