/**
 * The `UsageSource` contract: counts per key per day over a range, zeros for days without traffic,
 * pages of at most 500 keys that together hold every key once, the key filter, and the 90-day limit.
 *
 * @since 0.1.0
 */
import { type Ids, UsageSource, UtcDay } from "@augint-billing/core"
import { assert, layer as vitestLayer } from "@effect/vitest"
import { Effect, Either, type Layer } from "effect"

/** A count to make visible to the usage source. */
export interface Seed {
  readonly apiKeyId: Ids.ApiKeyId
  readonly day: UtcDay.UtcDay
  readonly units: number
}

/** How the suite puts usage into the system under test. */
export interface Fixture<R> {
  /** A fresh usage plan holding exactly the given counts. */
  readonly planWith: (seeds: ReadonlyArray<Seed>) => Effect.Effect<Ids.UsagePlanId, unknown, R>
}

const all = (query: Omit<UsageSource.UsageQuery, "position">) =>
  Effect.gen(function*() {
    const source = yield* UsageSource.UsageSource
    const pages: Array<UsageSource.UsagePage> = []
    let position: string | undefined = undefined
    do {
      const page: UsageSource.UsagePage = yield* source.getUsagePage({
        ...query,
        ...(position === undefined ? {} : { position })
      })
      pages.push(page)
      position = page.position
    } while (position !== undefined)
    return pages
  })

/** Register the contract tests for `layer`. */
export const suite = <R, E>(
  name: string,
  layer: Layer.Layer<UsageSource.UsageSource | R, E>,
  fixture: Fixture<R>,
  options: { readonly timeout?: number } = {}
) =>
  vitestLayer(layer, { timeout: options.timeout ?? 120_000 })(`UsageSource contract: ${name}`, (it) => {
    const timeout = options.timeout ?? 60_000
    const d1 = UtcDay.UtcDay.make("2026-02-27")
    const d2 = UtcDay.add(d1, 1)
    const d3 = UtcDay.add(d1, 2)

    it.effect("counts per day in range order, zero for days without traffic", () =>
      Effect.gen(function*() {
        const key = "contractKeyA" as Ids.ApiKeyId
        const plan = yield* fixture.planWith([{ apiKeyId: key, day: d1, units: 5 }, {
          apiKeyId: key,
          day: d3,
          units: 7
        }])
        const pages = yield* all({ usagePlanId: plan, startDay: d1, endDay: d3 })
        const items = pages.flatMap((p) => p.items)
        assert.deepStrictEqual(items, [{ apiKeyId: key, counts: [5, 0, 7] }])
      }), timeout)

    it.effect("pages hold at most the limit and every key exactly once", () =>
      Effect.gen(function*() {
        const seeds = Array.from({ length: 1_201 }, (_, i) => ({
          apiKeyId: `contractKey${i}` as Ids.ApiKeyId,
          day: d2,
          units: i + 1
        }))
        const plan = yield* fixture.planWith(seeds)
        const pages = yield* all({ usagePlanId: plan, startDay: d2, endDay: d2, limit: 500 })
        assert.strictEqual(pages.length, 3)
        for (const p of pages) assert.isAtMost(p.items.length, 500)
        const byKey = new Map(pages.flatMap((p) => p.items).map((i) => [i.apiKeyId, i.counts]))
        assert.strictEqual(byKey.size, seeds.length)
        for (const s of seeds) assert.deepStrictEqual(byKey.get(s.apiKeyId), [s.units])
      }), timeout)

    it.effect("the key filter returns only that key", () =>
      Effect.gen(function*() {
        const a = "contractKeyF1" as Ids.ApiKeyId
        const b = "contractKeyF2" as Ids.ApiKeyId
        const plan = yield* fixture.planWith([{ apiKeyId: a, day: d1, units: 1 }, { apiKeyId: b, day: d1, units: 2 }])
        const pages = yield* all({ usagePlanId: plan, startDay: d1, endDay: d2, apiKeyId: b })
        assert.deepStrictEqual(pages.flatMap((p) => p.items), [{ apiKeyId: b, counts: [2, 0] }])
      }), timeout)

    it.effect("a range over 90 days is refused as BadRequest", () =>
      Effect.gen(function*() {
        const source = yield* UsageSource.UsageSource
        const plan = yield* fixture.planWith([])
        const result = yield* Effect.either(source.getUsagePage({
          usagePlanId: plan,
          startDay: d1,
          endDay: UtcDay.add(d1, UsageSource.MAX_RANGE_DAYS)
        }))
        assert.isTrue(Either.isLeft(result) && result.left.reason === "BadRequest")
      }), timeout)
  })
