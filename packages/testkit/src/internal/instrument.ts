import { Duration, Effect, Stream } from "effect"
import type { Method, State } from "../MemoryState.js"

const take = (state: State, method: Method) => {
  const queue = state.faults.get(method)
  const fault = queue?.[0]
  if (fault === undefined) return undefined
  if (fault.skip > 0) {
    fault.skip--
    return undefined
  }
  fault.remaining--
  if (fault.remaining <= 0) queue!.shift()
  return fault
}

const raise = (fault: { readonly error: unknown; readonly die: boolean }) =>
  fault.die ? Effect.die(fault.error) : Effect.fail(fault.error)

/** Count the call, apply latency (half before the call takes effect, half after) and the next scheduled fault of `method`. */
export const instrument = <A, E>(state: State, method: Method, self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    state.calls.set(method, (state.calls.get(method) ?? 0) + 1)
    const latency = state.latency.get(method)
    const fault = take(state, method)
    let run: Effect.Effect<A, E> = self
    if (fault !== undefined) {
      run = fault.when === "before"
        ? raise(fault) as Effect.Effect<never, E>
        : Effect.zipLeft(self, raise(fault) as Effect.Effect<never, E>)
    }
    if (latency === undefined) return run
    // Half on the way there, half on the way back: a caller interrupted in the second half (a Lambda
    // killed at its timeout) has had its call applied and lost the answer, as over a network.
    const half = Duration.millis(latency / 2)
    return Effect.delay(run, half).pipe(Effect.zipLeft(Effect.sleep(half)))
  })

/** `instrument` for a method that returns a stream: the fault applies when the stream starts. */
export const instrumentStream = <A, E>(
  state: State,
  method: Method,
  self: () => Stream.Stream<A, E>
): Stream.Stream<A, E> => Stream.unwrap(instrument(state, method, Effect.sync(self)))
