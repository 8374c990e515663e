/**
 * The stripe SDK (23.1.0) takes no per-request `AbortSignal`: its request options offer only a
 * `timeout`. The fiber's signal is therefore carried to the network through an
 * `AsyncLocalStorage` that the client's own `fetch` reads, so interruption (a `Retry.stripe`
 * timeout, a cancelled Lambda) aborts the socket instead of leaving the request running.
 */
import { AsyncLocalStorage } from "node:async_hooks"

const storage = new AsyncLocalStorage<AbortSignal>()

/** Run `f` so that every Stripe request it starts is aborted when `signal` is. */
export const withSignal = <A>(signal: AbortSignal, f: () => Promise<A>): Promise<A> => storage.run(signal, f)

const combine = (signals: ReadonlyArray<AbortSignal | null | undefined>): AbortSignal | undefined => {
  const present = signals.filter((s): s is AbortSignal => s !== null && s !== undefined)
  return present.length === 0 ? undefined : present.length === 1 ? present[0] : AbortSignal.any(present)
}

/**
 * A `fetch` for `Stripe.createFetchHttpClient` that also honours the calling fiber's signal and
 * the owning Layer's signal (closed scope = no request outlives it).
 */
export const makeFetch =
  (layerSignal: AbortSignal, baseFetch: typeof fetch = globalThis.fetch): typeof fetch => (input, init) => {
    const signal = combine([init?.signal, storage.getStore(), layerSignal])
    return baseFetch(input, signal === undefined ? init : { ...init, signal })
  }
