/**
 * The stripe SDK (23.1.0) takes no per-request `AbortSignal`: its request options offer only a
 * `timeout`. The fiber's signal is therefore carried to the network through an
 * `AsyncLocalStorage` that the client's own `fetch` reads, so interruption (a `Retry.stripe`
 * timeout, a cancelled Lambda) aborts the socket instead of leaving the request running. The same
 * storage carries the API key a call is made with, read by the client's authenticator, so that a
 * rotated key is used from the next call on without rebuilding the client.
 */
import { AsyncLocalStorage } from "node:async_hooks"

interface Context {
  readonly signal: AbortSignal
  readonly apiKey?: string | undefined
}

const storage = new AsyncLocalStorage<Context>()

/** Run `f` so that every Stripe request it starts is aborted when `signal` is (and sent with `apiKey`, if given). */
export const withSignal = <A>(signal: AbortSignal, f: () => Promise<A>, apiKey?: string): Promise<A> =>
  storage.run({ signal, apiKey }, f)

/** The API key of the call in progress, if it set one. */
export const currentApiKey = (): string | undefined => storage.getStore()?.apiKey

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
    const signal = combine([init?.signal, storage.getStore()?.signal, layerSignal])
    return baseFetch(input, signal === undefined ? init : { ...init, signal })
  }
