/**
 * The Stripe adapter's configuration, read through Effect `Config`: the options `StripeAdapter.layer`
 * takes, the environment variables they come from, and where the two secrets may come from instead.
 *
 * @since 0.2.0
 */
import { BillingConfig, Stripe as Port } from "@augint-billing/core"
import { Config, ConfigError, Duration, Effect, Either, Option, Redacted, Schema } from "effect"
import * as StripeClient from "./StripeClient.js"

/**
 * Where the metered price comes from: its id, or the product whose one active metered price it is.
 *
 * @since 0.1.0
 * @category models
 */
export type MeteredPrice = { readonly priceId: string } | { readonly productId: string }

/**
 * Everything the adapter needs besides `BillingConfig`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends StripeClient.Options {
  /** The endpoint's signing secret (`whsec_...`); without it `verifyWebhook` refuses every delivery. */
  readonly webhookSecret?: Redacted.Redacted<string> | undefined
  /** The metered price subscriptions are created with. */
  readonly meteredPrice: MeteredPrice
  /** The Billing Meter's id; discovered from `BillingConfig.meterEventName` when absent. */
  readonly meterId?: string | undefined
  /**
   * Where the signing secret is read from for each delivery, when it can rotate: a delivery that no
   * known secret verifies reads it again (at most once a minute). Without it `webhookSecret` is used.
   */
  readonly webhookSecretSource?: StripeClient.KeySource | undefined
  /**
   * `reportUsageBatch` sends batches of at least this many events through the v2 meter event stream
   * (validated later), smaller ones through v1 (validated now). Default 50.
   */
  readonly meterEventStreamMinBatch?: number | undefined
  /** How old a webhook signature may be. Default 300 seconds (Stripe's recommendation). */
  readonly webhookTolerance?: Duration.DurationInput | undefined
}

/**
 * The smallest batch `reportUsageBatch` sends through the v2 meter event stream when none is given
 * (core's `Stripe.MIN_STREAM_BATCH`, which `MeterBatch` uses too): below it, v1's synchronous
 * validation and duplicate answers are worth the extra requests.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultMeterEventStreamMinBatch = Port.MIN_STREAM_BATCH

/**
 * The webhook signature tolerance used when none is given: 300 seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultWebhookTolerance: Duration.Duration = Duration.seconds(300)

/**
 * Invalid or missing Stripe configuration, with one line naming each variable.
 *
 * @since 0.1.0
 * @category errors
 */
export class StripeConfigError extends Schema.TaggedError<StripeConfigError>()("StripeConfigError", {
  message: Schema.String
}) {}

const nonBlank = (name: string) =>
  Config.string(name).pipe(
    Config.validate({ message: "must be non-empty, without spaces", validation: (s) => /^\S+$/.test(s) })
  )

const prefixedSecret = (name: string, pattern: RegExp, looksLike: string) =>
  // Validated as a string (so the error carries the variable's name), then redacted; the message never quotes it.
  Config.string(name).pipe(
    Config.validate({ message: `must look like ${looksLike}`, validation: (s) => pattern.test(s) }),
    Config.map(Redacted.make)
  )

/**
 * `STRIPE_SECRET_KEY`: a secret (`sk_...`) or restricted (`rk_...`) key.
 *
 * @since 0.1.0
 * @category config
 */
export const secretKeyConfig: Config.Config<Redacted.Redacted<string>> = prefixedSecret(
  "STRIPE_SECRET_KEY",
  /^(sk|rk)_[A-Za-z0-9_]+$/,
  "sk_... or rk_..."
)

/**
 * `STRIPE_WEBHOOK_SECRET`: the endpoint's signing secret (`whsec_...`); `loadOptions` reads it as optional.
 *
 * @since 0.1.0
 * @category config
 */
export const webhookSecretConfig: Config.Config<Redacted.Redacted<string>> = prefixedSecret(
  "STRIPE_WEBHOOK_SECRET",
  /^whsec_\S+$/,
  "whsec_..."
)

const optional = <A>(config: Config.Config<A>) => Config.option(config).pipe(Config.map(Option.getOrUndefined))

const meteredPriceConfig: Config.Config<MeteredPrice> = Config.all({
  priceId: optional(nonBlank("METERED_PRICE_ID")),
  productId: optional(nonBlank("API_USAGE_PRODUCT_ID"))
}).pipe(
  Config.mapOrFail(({ priceId, productId }): Either.Either<MeteredPrice, ConfigError.ConfigError> =>
    priceId !== undefined
      ? Either.right({ priceId })
      : productId !== undefined
      ? Either.right({ productId })
      : Either.left(ConfigError.MissingData(
        ["METERED_PRICE_ID"],
        "set METERED_PRICE_ID, or API_USAGE_PRODUCT_ID to discover the metered price"
      ))
  )
)

const positiveInt = (name: string) =>
  optional(
    Config.integer(name).pipe(
      Config.validate({ message: "must be a whole number of at least 1", validation: (n) => n >= 1 })
    )
  )

/**
 * Everything but the two secrets, from the environment.
 *
 * @since 0.1.0
 * @category config
 */
export const settingsConfig = Config.all({
  meteredPrice: meteredPriceConfig,
  meterId: optional(nonBlank("STRIPE_METER_ID")),
  host: optional(nonBlank("STRIPE_API_HOST")),
  port: optional(
    Config.integer("STRIPE_API_PORT").pipe(
      Config.validate({ message: "must be a port number (1-65535)", validation: (n) => n >= 1 && n <= 65535 })
    )
  ),
  protocol: optional(Config.literal("http", "https")("STRIPE_API_PROTOCOL")),
  mode: optional(Config.literal("live", "sandbox")("STRIPE_MODE")),
  requestsPerSecond: positiveInt("STRIPE_REQUESTS_PER_SECOND"),
  meterEventsPerSecond: positiveInt("STRIPE_METER_EVENTS_PER_SECOND"),
  meterEventStreamMinBatch: positiveInt("STRIPE_METER_EVENT_STREAM_MIN_BATCH")
})

/**
 * Where the two secrets come from when not from `STRIPE_SECRET_KEY` / `STRIPE_WEBHOOK_SECRET` (e.g. Secrets Manager).
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretSources<E> {
  /** The API key; read from `STRIPE_SECRET_KEY` when absent. */
  readonly secretKey?: Effect.Effect<Redacted.Redacted<string>, E> | undefined
  /**
   * The webhook signing secret; read from `STRIPE_WEBHOOK_SECRET` (optional) when absent. A source
   * that yields `undefined` means "no webhook secret" and the variable is not read at all.
   */
  readonly webhookSecret?: Effect.Effect<Redacted.Redacted<string> | undefined, E> | undefined
  /**
   * Read the API key again now, after Stripe refused `rejected` with 401 (e.g. the `StripeSecrets`
   * `refreshStripeSecretKey`). With `secretKey`, the key is read through `secretKey` for every call
   * (cached there), so a rotation is picked up when the cache lifetime ends or at the first 401.
   */
  readonly refreshSecretKey?:
    | ((rejected: Redacted.Redacted<string>) => Effect.Effect<Redacted.Redacted<string>, E>)
    | undefined
  /** Read the signing secret again now, after a delivery no known secret verified. */
  readonly refreshWebhookSecret?:
    | ((rejected: Redacted.Redacted<string>) => Effect.Effect<Redacted.Redacted<string>, E>)
    | undefined
}

/**
 * A failure to read a secret, as the port's error: transient when the source says so (a throttled
 * Secrets Manager), else `Authentication` (no usable key: only the operator can fix it).
 *
 * @since 0.2.0
 * @category errors
 */
export const secretReadError = (what: string) => (error: unknown): Port.StripeError => {
  const transient = typeof error === "object" && error !== null && "isTransient" in error && error.isTransient === true
  const message = typeof error === "object" && error !== null && "message" in error
    ? String(error.message)
    : String(error)
  return new Port.StripeError({
    reason: transient ? "Transport" : "Authentication",
    message: `reading the ${what}: ${message.split("\n")[0]}`
  })
}

const rotating = <E>(
  what: string,
  current: Effect.Effect<Redacted.Redacted<string>, E>,
  refresh: ((rejected: Redacted.Redacted<string>) => Effect.Effect<Redacted.Redacted<string>, E>) | undefined
): StripeClient.KeySource => ({
  current: Effect.mapError(current, secretReadError(what)),
  refresh: (rejected) => Effect.mapError(refresh === undefined ? current : refresh(rejected), secretReadError(what))
})

/**
 * A `SecretSources.webhookSecret` for a function that never verifies webhooks: no secret, no variable read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noWebhookSecret: Effect.Effect<Redacted.Redacted<string> | undefined> = Effect.succeed(undefined)

const loadConfig = <A>(config: Config.Config<A>): Effect.Effect<A, StripeConfigError> =>
  Effect.mapError(
    config,
    (error) =>
      new StripeConfigError({
        message: `invalid Stripe configuration: ${BillingConfig.describeConfigError(error)}`
      })
  )

type SecretSource<A, E> = Effect.Effect<A, E>

const fromEnvOr = <A, E>(
  config: Config.Config<A>,
  source: SecretSource<A, E> | undefined
): Config.Config<SecretSource<A, E>> =>
  source === undefined ? Config.map(config, Effect.succeed) : Config.succeed(source)

/**
 * Read the adapter's options from the environment, with secrets from `sources` where given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadOptions = <E = never>(sources: SecretSources<E> = {}): Effect.Effect<Options, StripeConfigError | E> =>
  Effect.gen(function*() {
    // One read, so that every missing or malformed variable is named in one message.
    const { apiKey, settings, webhookSecret } = yield* loadConfig(Config.all({
      settings: settingsConfig,
      apiKey: fromEnvOr(secretKeyConfig, sources.secretKey),
      webhookSecret: fromEnvOr(optional(webhookSecretConfig), sources.webhookSecret)
    }))
    const secret = yield* webhookSecret
    const keySource = sources.secretKey
    const webhookSource = sources.webhookSecret
    return {
      ...settings,
      apiKey: yield* apiKey,
      ...(secret === undefined ? {} : { webhookSecret: secret }),
      // A source is read again for each use, so that a rotated secret is picked up.
      ...(keySource === undefined ? {} : {
        apiKeySource: rotating("Stripe secret key", keySource, sources.refreshSecretKey)
      }),
      ...(secret === undefined || webhookSource === undefined ? {} : {
        webhookSecretSource: rotating(
          "Stripe webhook signing secret",
          // A source that yielded a secret at start and none now keeps the one it gave.
          Effect.map(webhookSource, (now) => now ?? secret),
          sources.refreshWebhookSecret
        )
      })
    }
  })
