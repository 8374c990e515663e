/**
 * The stripe SDK client as a scoped service: one client per Layer, its requests rate limited,
 * aborted with the calling fiber, classified into `StripeError`, and never retried by the SDK
 * (the core's `Retry.stripe` owns retries).
 *
 * @since 0.1.0
 */
import { Stripe as Port } from "@augint-billing/core"
import type { Scope } from "effect"
import { Clock, Context, Duration, Effect, Layer, RateLimiter, Redacted } from "effect"
import StripeSdk from "stripe"
import * as CallSignal from "./internal/callSignal.js"
import * as Errors from "./internal/errors.js"

/**
 * Live mode, or test mode / a sandbox (keys `sk_test_...`, `rk_test_...`), which Stripe limits harder.
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "live" | "sandbox"

/**
 * Which rate limit a request counts against.
 *
 * @since 0.1.0
 * @category models
 */
export type Budget = "request" | "meterEvent"

/**
 * How to reach Stripe and how fast to call it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The secret (`sk_...`) or restricted (`rk_...`) key: the mode and rate limits come from it. */
  readonly apiKey: Redacted.Redacted<string>
  /**
   * Where the key is read from for each call, when it can rotate (Secrets Manager): without it every
   * call uses `apiKey`.
   */
  readonly apiKeySource?: KeySource | undefined
  /** API host; `127.0.0.1` for stripe-mock. Default `api.stripe.com`. */
  readonly host?: string | undefined
  /** API port; `12111` for stripe-mock. Default 443. */
  readonly port?: number | undefined
  /** `http` for stripe-mock. Default `https`. */
  readonly protocol?: "http" | "https" | undefined
  /** The SDK's own per-request timeout, a backstop behind `Retry.stripe`'s. Default 30 seconds. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Which of Stripe's rate limits apply. Default: from the key's prefix. */
  readonly mode?: Mode | undefined
  /** Requests per second across all calls of this client. Default 100 live, 25 sandbox. */
  readonly requestsPerSecond?: number | undefined
  /** Meter events per second (live mode only: in a sandbox they share `requestsPerSecond`). Default 1,000. */
  readonly meterEventsPerSecond?: number | undefined
}

/**
 * A secret that rotates: read for each use (a cache makes that cheap, and a rotation is seen when its
 * lifetime ends), and read again at once when Stripe refuses the value in hand.
 *
 * @since 0.2.0
 * @category models
 */
export interface KeySource {
  /** The value to use now. */
  readonly current: Effect.Effect<Redacted.Redacted<string>, Port.StripeError>
  /**
   * Stripe refused `rejected`: the value to use instead, read again unless the cache already holds
   * another (N calls meeting one 401 cost one read). The same value means nothing newer exists yet.
   */
  readonly refresh: (rejected: Redacted.Redacted<string>) => Effect.Effect<Redacted.Redacted<string>, Port.StripeError>
}

/**
 * A `KeySource` that always gives `value`: nothing to re-read.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fixedKey = (value: Redacted.Redacted<string>): KeySource => ({
  current: Effect.succeed(value),
  refresh: () => Effect.succeed(value)
})

/**
 * Stripe's documented rate limits, per second.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: { readonly [M in Mode]: { readonly requests: number; readonly meterEvents: number } } = {
  live: { requests: 100, meterEvents: 1000 },
  sandbox: { requests: 25, meterEvents: 25 }
}

/**
 * The mode a key belongs to: test-mode and sandbox keys contain `_test_`.
 *
 * @since 0.1.0
 * @category utils
 */
export const modeOf = (apiKey: Redacted.Redacted<string>): Mode =>
  /^(sk|rk)_test_/.test(Redacted.value(apiKey)) ? "sandbox" : "live"

/**
 * Whether a key is a live-mode key: `sk_live_` / `rk_live_`. Test-mode and sandbox keys
 * (`sk_test_`, `rk_test_`) see only `livemode: false` objects and events.
 *
 * @since 0.2.0
 * @category utils
 */
export const isLiveKey = (apiKey: Redacted.Redacted<string>): boolean => /^(sk|rk)_live_/.test(Redacted.value(apiKey))

/**
 * The stripe SDK client and a way to call it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StripeClientService {
  /** The SDK client, for calls the adapter does not wrap; prefer `call`. */
  readonly sdk: StripeSdk
  /** The rate limits in force. */
  readonly mode: Mode
  /** Whether the key is a live-mode key (`isLiveKey`), whatever rate limits are in force. */
  readonly livemode: boolean
  /**
   * Make one SDK request: counted against `budget`, aborted when the fiber is interrupted, SDK
   * errors mapped to `StripeError`, anything else a defect. A 401 (the key was rolled) reads the key
   * again and, when it changed, makes the request once more with the new key.
   */
  readonly call: <A>(f: (sdk: StripeSdk) => Promise<A>, budget?: Budget) => Effect.Effect<A, Port.StripeError>
}

/**
 * The stripe SDK client service.
 *
 * @since 0.1.0
 * @category services
 */
export class StripeClient extends Context.Tag("@augint-billing/adapters-stripe/StripeClient")<
  StripeClient,
  StripeClientService
>() {}

const positive = (name: string, value: number): number => {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}

/**
 * Build a client that lives as long as the scope: closing the scope aborts its requests in flight.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<StripeClientService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const owner = yield* Effect.acquireRelease(
      Effect.sync(() => new AbortController()),
      (controller) => Effect.sync(() => controller.abort())
    )
    const mode = options.mode ?? modeOf(options.apiKey)
    const limits = defaultLimits[mode]
    const requestsPerSecond = yield* Effect.try(() =>
      positive("requestsPerSecond", options.requestsPerSecond ?? limits.requests)
    ).pipe(Effect.orDie)
    const meterEventsPerSecond = yield* Effect.try(() =>
      positive("meterEventsPerSecond", options.meterEventsPerSecond ?? limits.meterEvents)
    ).pipe(Effect.orDie)
    const requests = yield* RateLimiter.make({ limit: requestsPerSecond, interval: "1 second" })
    // In test mode and sandboxes meter events count toward the basic limit; live they have their own.
    const meterEvents = mode === "sandbox"
      ? requests
      : yield* RateLimiter.make({ limit: meterEventsPerSecond, interval: "1 second" })

    const keys = options.apiKeySource ?? fixedKey(options.apiKey)
    // No key of its own: each request is authorized with the key its call read (`CallSignal`), so a
    // rotated key is used from the next call on. A request option `apiKey` (a meter event session's
    // token) still takes precedence.
    const authenticator = (request: { headers: Record<string, unknown> }) => {
      request.headers["Authorization"] = `Bearer ${CallSignal.currentApiKey() ?? Redacted.value(options.apiKey)}`
      return Promise.resolve()
    }
    const sdk = new StripeSdk("", {
      apiVersion: StripeSdk.API_VERSION,
      authenticator,
      // Retries belong to `Retry.stripe`; SDK retries would multiply them.
      maxNetworkRetries: 0,
      timeout: Duration.toMillis(Duration.decode(options.requestTimeout ?? "30 seconds")),
      httpClient: StripeSdk.createFetchHttpClient(CallSignal.makeFetch(owner.signal)),
      telemetry: false,
      appInfo: { name: "augint-billing" },
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.protocol === undefined ? {} : { protocol: options.protocol })
    })

    const attempt = <A>(f: (sdk: StripeSdk) => Promise<A>, budget: Budget, key: Redacted.Redacted<string>) =>
      (budget === "meterEvent" ? meterEvents : requests)(
        Effect.tryPromise({
          try: (signal) => CallSignal.withSignal(signal, () => f(sdk), Redacted.value(key)),
          catch: (error) => error
        })
      ).pipe(
        Effect.catchAll((error) =>
          Errors.isSdkError(error)
            ? Effect.flatMap(
              Clock.currentTimeMillis,
              (now) => Effect.fail({ error: Errors.fromSdkError(error, now), keyRejected: Errors.isKeyRejected(error) })
            )
            : Effect.die(error)
        )
      )

    const call = <A>(f: (sdk: StripeSdk) => Promise<A>, budget: Budget = "request") =>
      Effect.flatMap(keys.current, (key) =>
        attempt(f, budget, key).pipe(
          // A rolled key answers 401 until the new one is read: read it, and try once more if it changed.
          Effect.catchIf((failed) => failed.keyRejected, (failed) =>
            Effect.flatMap(Effect.mapError(keys.refresh(key), (error) => ({ error, keyRejected: false })), (fresh) =>
              Redacted.value(fresh) === Redacted.value(key)
                ? Effect.fail(failed)
                : Effect.zipRight(
                  Effect.logWarning("Stripe refused the API key (401): calling again with the key read again"),
                  attempt(f, budget, fresh)
                ))),
          Effect.mapError((failed) =>
            failed.error
          )
        ))

    return { sdk, mode, livemode: isLiveKey(options.apiKey), call }
  })

/**
 * The client as a scoped Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<StripeClient> => Layer.scoped(StripeClient, make(options))
