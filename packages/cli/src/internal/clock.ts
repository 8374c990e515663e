import { Clock, Effect } from "effect"

/** A clock standing at `at` when made and running on from there; sleeps are real. */
export const clockAt = (at: number): Effect.Effect<Clock.Clock> =>
  Effect.sync(() => {
    const real = Clock.make()
    const offset = at - real.unsafeCurrentTimeMillis()
    const millis = () => real.unsafeCurrentTimeMillis() + offset
    return {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: millis,
      currentTimeMillis: Effect.sync(millis),
      unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
      sleep: (duration) => real.sleep(duration)
    }
  })

/** Run `self` on a clock standing at `at` (epoch millis) when it starts. */
export const withClockAt = (at: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(clockAt(at), (c) => Effect.withClock(self, c))
