/**
 * Reading a usage plan's counts per API key and UTC day from the `UsageSource`, every page.
 *
 * @since 0.2.0
 */
import { Effect, Schema } from "effect"
import * as Customer from "./Customer.js"
import { ApiKeyId, CustomerId, type UsagePlanId } from "./Ids.js"
import * as Ports from "./internal/ports.js"
import { MAX_PAGE_SIZE, type UsagePage } from "./UsageSource.js"
import * as UtcDay from "./UtcDay.js"

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

/**
 * The key's counts on each of `observed.days` as the customer's ledger reads them: GetUsage's plus the
 * record's `counterOffset`; undefined when GetUsage does not list the key.
 *
 * @since 0.3.0
 * @category utils
 */
export const countsOf = (customer: Customer.Customer, observed: Observed): ReadonlyArray<number> | undefined => {
  const counts = observed.byKey.get(customer.apiKeyId)
  const offset = customer.counterOffset
  // Most records carry no offset: no copy on the sync's hot path.
  if (counts === undefined || offset === undefined) return counts
  return observed.days.map((day, i) => (counts[i] ?? 0) + (offset[day] ?? 0))
}

/** A customer and its API key. @since 0.3.0 @category models */
export const KeyOf = Schema.Struct({ customerId: CustomerId, apiKeyId: ApiKeyId })
/** A customer and its API key. @since 0.3.0 @category models */
export type KeyOf = typeof KeyOf.Type

/**
 * Whether GetUsage no longer lists a key whose counts the ledger holds for one of `days`: the key left
 * the plan and API Gateway dropped its history there, so what it counted after the last read is gone.
 *
 * @since 0.3.0
 * @category predicates
 */
export const historyVanished = (customer: Customer.Customer, observed: Observed): boolean =>
  !observed.byKey.has(customer.apiKeyId) && observed.days.some((day) => Customer.reported(customer, day) > 0)

/**
 * The record with its counter baseline taken from `shown`, what GetUsage showed for the key on each of
 * `days` right after the key was added to the metered plan (undefined: not listed). `Link`: the ledger
 * reads exactly what it holds now, so the link bills nothing counted before it. `Readd` (the default):
 * a counter the add reset (it shows less than the ledger) continues from the ledger; a counter that
 * kept its counts is left as it is, so counts the ledger has not seen are still billed. Why: see
 * DESIGN.md, "Counter baselines".
 *
 * @since 0.3.0
 * @category constructors
 */
export const withBaseline = (
  customer: Customer.Customer,
  days: ReadonlyArray<UtcDay.UtcDay>,
  shown: ReadonlyArray<number> | undefined
): Customer.Customer => {
  const oldest = UtcDay.add(days[days.length - 1]!, -Customer.LEDGER_RETENTION_DAYS)
  const offset: Record<UtcDay.UtcDay, number> = {}
  for (const [day, units] of Object.entries(customer.counterOffset ?? {}) as Array<[UtcDay.UtcDay, number]>) {
    if (day >= oldest) offset[day] = units
  }
  days.forEach((day, i) => {
    // The offset that makes the key's count read as the ledger's.
    const even = Customer.reported(customer, day) - (shown?.[i] ?? 0)
    const next = customer.baselineDue === "Link" ? even : Math.max(offset[day] ?? 0, even)
    if (next === 0) delete offset[day]
    else offset[day] = next
  })
  return {
    ...customer,
    counterOffset: Object.keys(offset).length === 0 ? undefined : offset,
    baselineDue: undefined
  }
}
