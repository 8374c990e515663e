/**
 * The `PlanAdmin` contract: plan membership, add and remove with their `Conflict` and `NotFound`
 * answers, and the core's `KeyMove` on top of them. Run it against every implementation.
 *
 * @since 0.1.0
 */
import { type Ids, KeyMove, PlanAdmin } from "@augint-billing/core"
import { assert, layer as vitestLayer } from "@effect/vitest"
import { Effect, Either, type Layer } from "effect"

/** How the suite gets plans and keys in the system under test. */
export interface Fixture<R> {
  /** Two usage plans on one stage. */
  readonly plans: Effect.Effect<{ readonly free: Ids.UsagePlanId; readonly metered: Ids.UsagePlanId }, unknown, R>
  /** A new API key in no plan. */
  readonly newKey: Effect.Effect<Ids.ApiKeyId, unknown, R>
  /** Whether adding a key that is in another plan of the same stage is refused (moto does not check). */
  readonly enforcesOnePlanPerStage: boolean
  /** A usage plan id that does not exist. */
  readonly unknownPlan: Ids.UsagePlanId
}

const reasonOf = <A>(result: Either.Either<A, PlanAdmin.PlanAdminError>) =>
  Either.isLeft(result) ? result.left.reason : "none"

/** Register the contract tests for `layer`. */
export const suite = <R, E>(
  name: string,
  layer: Layer.Layer<PlanAdmin.PlanAdmin | R, E>,
  fixture: Fixture<R>,
  options: { readonly timeout?: number } = {}
) =>
  vitestLayer(layer, { timeout: options.timeout ?? 120_000 })(`PlanAdmin contract: ${name}`, (it) => {
    const timeout = options.timeout ?? 60_000

    it.effect("a new key is in no plan; add puts it in exactly one", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { free } = yield* fixture.plans
        const key = yield* fixture.newKey
        assert.deepStrictEqual(yield* admin.plansOf(key), [])
        yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
        assert.deepStrictEqual(yield* admin.plansOf(key), [free])
      }), timeout)

    it.effect("adding a key to a plan it is in is a Conflict", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { free } = yield* fixture.plans
        const key = yield* fixture.newKey
        yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
        const again = yield* Effect.either(admin.addKey({ usagePlanId: free, apiKeyId: key }))
        assert.strictEqual(reasonOf(again), "Conflict")
        assert.deepStrictEqual(yield* admin.plansOf(key), [free])
      }), timeout)

    if (fixture.enforcesOnePlanPerStage) {
      it.effect("adding a key that is in another plan of the stage is a Conflict", () =>
        Effect.gen(function*() {
          const admin = yield* PlanAdmin.PlanAdmin
          const { free, metered } = yield* fixture.plans
          const key = yield* fixture.newKey
          yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
          const other = yield* Effect.either(admin.addKey({ usagePlanId: metered, apiKeyId: key }))
          assert.strictEqual(reasonOf(other), "Conflict")
          assert.deepStrictEqual(yield* admin.plansOf(key), [free])
        }), timeout)
    }

    it.effect("removing a key that is not in the plan is NotFound", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { metered } = yield* fixture.plans
        const key = yield* fixture.newKey
        const result = yield* Effect.either(admin.removeKey({ usagePlanId: metered, apiKeyId: key }))
        assert.strictEqual(reasonOf(result), "NotFound")
      }), timeout)

    it.effect("remove takes the key out", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { free } = yield* fixture.plans
        const key = yield* fixture.newKey
        yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
        yield* admin.removeKey({ usagePlanId: free, apiKeyId: key })
        assert.deepStrictEqual(yield* admin.plansOf(key), [])
      }), timeout)

    // GetUsagePlanKeys: "Gets all the usage plan keys representing the API keys added to a specified usage plan."
    it.effect("keysPage lists the keys in the plan, not those removed or in the other plan", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { free, metered } = yield* fixture.plans
        const [a, b, c] = [yield* fixture.newKey, yield* fixture.newKey, yield* fixture.newKey]
        yield* admin.addKey({ usagePlanId: metered, apiKeyId: a })
        yield* admin.addKey({ usagePlanId: metered, apiKeyId: b })
        yield* admin.addKey({ usagePlanId: free, apiKeyId: c })
        yield* admin.removeKey({ usagePlanId: metered, apiKeyId: b })
        const keys: Array<Ids.ApiKeyId> = []
        let position: string | undefined = undefined
        do {
          const page: PlanAdmin.KeysPage = yield* admin.keysPage({
            usagePlanId: metered,
            ...(position === undefined ? {} : { position })
          })
          keys.push(...page.keys)
          position = page.position
        } while (position !== undefined)
        assert.include(keys, a)
        assert.notInclude(keys, b)
        assert.notInclude(keys, c)
      }), timeout)

    it.effect("adding to an unknown plan is NotFound", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const key = yield* fixture.newKey
        const result = yield* Effect.either(admin.addKey({ usagePlanId: fixture.unknownPlan, apiKeyId: key }))
        assert.strictEqual(reasonOf(result), "NotFound")
      }), timeout)

    it.effect("KeyMove moves FREE -> METERED and back, and is idempotent", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { free, metered } = yield* fixture.plans
        const key = yield* fixture.newKey
        yield* admin.addKey({ usagePlanId: free, apiKeyId: key })
        assert.strictEqual(yield* KeyMove.moveKey({ apiKeyId: key, from: free, to: metered }), "Moved")
        assert.deepStrictEqual(yield* admin.plansOf(key), [metered])
        assert.strictEqual(yield* KeyMove.moveKey({ apiKeyId: key, from: free, to: metered }), "AlreadyThere")
        assert.strictEqual(yield* KeyMove.moveKey({ apiKeyId: key, from: metered, to: free }), "Moved")
        assert.deepStrictEqual(yield* admin.plansOf(key), [free])
      }), timeout)

    it.effect("KeyMove puts a key in no plan into the target", () =>
      Effect.gen(function*() {
        const admin = yield* PlanAdmin.PlanAdmin
        const { free, metered } = yield* fixture.plans
        const key = yield* fixture.newKey
        assert.strictEqual(yield* KeyMove.moveKey({ apiKeyId: key, from: free, to: metered }), "Moved")
        assert.deepStrictEqual(yield* admin.plansOf(key), [metered])
      }), timeout)
  })
