/**
 * A secret read through a cache: reused until its lifetime ends, re-read on demand when a consumer
 * found the cached value rejected (a rotated Stripe key answers 401 until the new one is read).
 */
import { Clock, Duration, Effect, Option, Redacted, Ref } from "effect"

/** One cached secret. */
export interface SecretCache<E> {
  /** The cached value while it is younger than the lifetime, else a fresh read. */
  readonly get: Effect.Effect<Redacted.Redacted<string>, E>
  /**
   * Read again unless the cache already holds a value other than `rejected` (another fiber refreshed
   * it first): N consumers that meet the same 401 cause one read, not N.
   */
  readonly refresh: (rejected: Redacted.Redacted<string>) => Effect.Effect<Redacted.Redacted<string>, E>
  /** Forget the value: the next `get` reads. */
  readonly invalidate: Effect.Effect<void>
}

/** Cache `read` for `ttl`; a failure is never cached; one read at a time. */
export const make = <E>(
  read: Effect.Effect<Redacted.Redacted<string>, E>,
  ttl: Duration.Duration
): Effect.Effect<SecretCache<E>> =>
  Effect.gen(function*() {
    const slot = yield* Ref.make(Option.none<{ readonly value: Redacted.Redacted<string>; readonly until: number }>())
    const lock = yield* Effect.makeSemaphore(1)
    const load = Effect.gen(function*() {
      const value = yield* read
      const now = yield* Clock.currentTimeMillis
      yield* Ref.set(slot, Option.some({ value, until: now + Duration.toMillis(ttl) }))
      return value
    })
    const fresh = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      return Option.filter(yield* Ref.get(slot), (hit) => hit.until > now)
    })
    return {
      get: lock.withPermits(1)(
        Effect.flatMap(fresh, Option.match({ onNone: () => load, onSome: (hit) => Effect.succeed(hit.value) }))
      ),
      refresh: (rejected) =>
        lock.withPermits(1)(Effect.flatMap(
          fresh,
          Option.match({
            onNone: () => load,
            onSome: (hit) => Redacted.value(hit.value) === Redacted.value(rejected) ? load : Effect.succeed(hit.value)
          })
        )),
      invalidate: Ref.set(slot, Option.none())
    }
  })
