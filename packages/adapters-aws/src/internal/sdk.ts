/**
 * SDK client settings and the one way every adapter calls the SDK: the fiber's `AbortSignal` reaches
 * the request, and a failure is classified once.
 */
import { Effect } from "effect"
import type { ClientOptions } from "../AwsConfig.js"
import { type Classified, classify } from "./awsError.js"

/** SDK client settings: one attempt, because the core's `Retry` policies are the only retry layer. */
export const clientConfig = (options: ClientOptions = {}) => ({
  maxAttempts: 1,
  ...(options.region === undefined ? {} : { region: options.region }),
  ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  ...(options.credentials === undefined ? {} : { credentials: options.credentials })
})

/**
 * How long one request may take. The core's sync hot path has no per-call timeout of its own (it
 * would cost two fibers per call), so every request is bounded here; an expired request aborts and
 * is classified as `Transport`, which the core retries.
 */
export const REQUEST_TIMEOUT_MS = 10_000

/** Run one SDK call with the fiber's abort signal, its failure classified and mapped by `onError`. */
export const send = <A, E>(
  call: (abortSignal: AbortSignal) => Promise<A>,
  onError: (failure: Classified, cause: unknown) => E
): Effect.Effect<A, E> =>
  Effect.tryPromise({
    try: (signal) => call(AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])),
    catch: (cause) => onError(classify(cause), cause)
  })
