/**
 * The Stripe secret key and webhook signing secret: from Secrets Manager when `STRIPE_SECRET_ARN` /
 * `STRIPE_WEBHOOK_SECRET_ARN` are set, else from `STRIPE_SECRET_KEY` / `STRIPE_WEBHOOK_SECRET`. A
 * secret read from Secrets Manager is cached for a bounded lifetime (rotation is picked up after it)
 * and re-read on demand when a consumer finds it rejected; values are `Redacted` and never logged.
 *
 * @since 0.1.0
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager"
import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as AwsConfig from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { clientConfig, send } from "./internal/sdk.js"
import * as SecretCache from "./internal/secretCache.js"

/**
 * Why a secret could not be had. `Throttled`, `Transport` and `Server` are transient.
 *
 * @since 0.1.0
 * @category errors
 */
export const SecretsErrorReason = Schema.Literal(
  "NotConfigured",
  "NotFound",
  "Denied",
  "Invalid",
  "Throttled",
  "Transport",
  "Server"
)

/**
 * A secret could not be read. The message names the secret, never its value.
 *
 * @since 0.1.0
 * @category errors
 */
export class SecretsError extends Schema.TaggedError<SecretsError>()("SecretsError", {
  reason: SecretsErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /** Whether retrying the same call may succeed. */
  get isTransient(): boolean {
    return this.reason === "Throttled" || this.reason === "Transport" || this.reason === "Server"
  }
}

/**
 * Where a secret comes from.
 *
 * @since 0.1.0
 * @category models
 */
export type Source =
  | { readonly _tag: "Value"; readonly value: Redacted.Redacted<string> }
  | { readonly _tag: "Arn"; readonly arn: string }
  | { readonly _tag: "Missing"; readonly variables: string }

/**
 * The Stripe secrets.
 *
 * @since 0.1.0
 * @category services
 */
export interface StripeSecretsService {
  /** The Stripe API secret key (cached; evaluate it again for each client or call to see rotations). */
  readonly stripeSecretKey: Effect.Effect<Redacted.Redacted<string>, SecretsError>
  /** The webhook endpoint's signing secret (cached likewise). */
  readonly webhookSecret: Effect.Effect<Redacted.Redacted<string>, SecretsError>
  /**
   * Stripe answered 401 with `rejected`: read the key again now, before its cache lifetime ends, unless
   * it was already re-read since (concurrent 401s cost one read). A value from the environment is
   * returned as it is. The next `stripeSecretKey` gives the same value.
   */
  readonly refreshStripeSecretKey: (
    rejected: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, SecretsError>
  /** A webhook signature did not verify with `rejected`: read the signing secret again, as above. */
  readonly refreshWebhookSecret: (
    rejected: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, SecretsError>
  /** Forget both cached values: the next read of each goes to Secrets Manager. */
  readonly invalidate: Effect.Effect<void>
}

/**
 * The Stripe secrets service.
 *
 * @since 0.1.0
 * @category services
 */
export class StripeSecrets
  extends Context.Tag("@augint-billing/adapters-aws/StripeSecrets")<StripeSecrets, StripeSecretsService>()
{}

/**
 * The Stripe API secret key from the `StripeSecrets` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stripeSecretKey: Effect.Effect<Redacted.Redacted<string>, SecretsError, StripeSecrets> = Effect.flatMap(
  StripeSecrets,
  (s) => s.stripeSecretKey
)

/**
 * The webhook signing secret from the `StripeSecrets` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const webhookSecret: Effect.Effect<Redacted.Redacted<string>, SecretsError, StripeSecrets> = Effect.flatMap(
  StripeSecrets,
  (s) => s.webhookSecret
)

/**
 * How the secrets are found.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The Stripe API key. */
  readonly stripeSecretKey: Source
  /** The webhook signing secret. */
  readonly webhookSecret: Source
  /** How long a value read from Secrets Manager is reused, default 15 minutes. */
  readonly cacheTtl?: Duration.DurationInput
  /** Region, endpoint and credentials of the Secrets Manager client. */
  readonly client?: AwsConfig.ClientOptions
}

const secretsError = (arn: string) => (failure: Classified, cause: unknown) =>
  new SecretsError({
    reason: failure.kind === "Throttled" || failure.kind === "Transport" || failure.kind === "Server"
      ? failure.kind
      : failure.kind === "NotFound"
      ? "NotFound"
      : failure.name === "AccessDeniedException" || failure.name === "DecryptionFailure"
      ? "Denied"
      : "Invalid",
    message: `Secrets Manager GetSecretValue ${arn}: ${failure.message}`,
    cause
  })

/**
 * Build the secrets service over a Secrets Manager client (the caller owns the client).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Omit<Options, "client"> & { readonly client: SecretsManagerClient }
): Effect.Effect<StripeSecretsService> =>
  Effect.gen(function*() {
    const ttl = Duration.decode(options.cacheTtl ?? Duration.minutes(15))
    const constant = <E>(value: Effect.Effect<Redacted.Redacted<string>, E>): SecretCache.SecretCache<E> => ({
      get: value,
      refresh: () => value,
      invalidate: Effect.void
    })
    const resolve = (name: string, source: Source): Effect.Effect<SecretCache.SecretCache<SecretsError>> => {
      switch (source._tag) {
        case "Value":
          return Effect.succeed(constant(Effect.succeed(source.value)))
        case "Missing":
          return Effect.succeed(constant(
            Effect.fail(new SecretsError({ reason: "NotConfigured", message: `${name}: set ${source.variables}` }))
          ))
        case "Arn":
          return SecretCache.make(
            send(
              (abortSignal) =>
                options.client.send(new GetSecretValueCommand({ SecretId: source.arn }), { abortSignal }),
              secretsError(source.arn)
            ).pipe(
              Effect.flatMap((out) => {
                const text = out.SecretString?.trim()
                return text === undefined || text === ""
                  ? Effect.fail(
                    new SecretsError({
                      reason: "Invalid",
                      message: `${name}: secret ${source.arn} has no SecretString`
                    })
                  )
                  : Effect.succeed(Redacted.make(text))
              }),
              Effect.withSpan("Secrets.read", { attributes: { secret: name } })
            ),
            ttl
          )
      }
    }
    const key = yield* resolve("Stripe secret key", options.stripeSecretKey)
    const webhook = yield* resolve("Stripe webhook secret", options.webhookSecret)
    return {
      stripeSecretKey: key.get,
      webhookSecret: webhook.get,
      refreshStripeSecretKey: key.refresh,
      refreshWebhookSecret: webhook.refresh,
      invalidate: Effect.zipRight(key.invalidate, webhook.invalidate)
    }
  })

/**
 * The secrets service with explicit sources; the Layer owns its Secrets Manager client.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<StripeSecrets> =>
  Layer.scoped(
    StripeSecrets,
    Effect.gen(function*() {
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new SecretsManagerClient(clientConfig(options.client))),
        (c) => Effect.sync(() => c.destroy())
      )
      return yield* make({ ...options, client })
    })
  )

const source = (arnVariable: string, valueVariable: string): Config.Config<Source> =>
  Config.option(Config.nonEmptyString(arnVariable)).pipe(
    Config.zipWith(
      Config.option(Config.redacted(valueVariable)),
      (arn, value): Source =>
        Option.isSome(arn)
          ? { _tag: "Arn", arn: arn.value }
          : Option.isSome(value) && Redacted.value(value.value) !== ""
          ? { _tag: "Value", value: value.value }
          : { _tag: "Missing", variables: `${arnVariable} or ${valueVariable}` }
    )
  )

/**
 * The options from the environment: `STRIPE_SECRET_ARN` or `STRIPE_SECRET_KEY` (one is required),
 * `STRIPE_WEBHOOK_SECRET_ARN` or `STRIPE_WEBHOOK_SECRET` (needed only by what verifies webhooks),
 * `SECRETS_CACHE_TTL`, and `AWS_REGION` / `AWS_ENDPOINT_URL_SECRETS_MANAGER` when an ARN is used.
 *
 * @since 0.1.0
 * @category config
 */
export const optionsConfig: Effect.Effect<Options, AwsConfig.AwsConfigError> = Effect.gen(function*() {
  const sources = yield* AwsConfig.load(Config.all({
    stripeSecretKey: source("STRIPE_SECRET_ARN", "STRIPE_SECRET_KEY"),
    webhookSecret: source("STRIPE_WEBHOOK_SECRET_ARN", "STRIPE_WEBHOOK_SECRET"),
    cacheTtl: Config.duration("SECRETS_CACHE_TTL").pipe(Config.withDefault(Duration.minutes(15)))
  }))
  if (sources.stripeSecretKey._tag === "Missing") {
    return yield* new AwsConfig.AwsConfigError({
      message: "invalid configuration: STRIPE_SECRET_ARN or STRIPE_SECRET_KEY: not set (one of them is required)"
    })
  }
  const usesArn = sources.stripeSecretKey._tag === "Arn" || sources.webhookSecret._tag === "Arn"
  const client = usesArn ? yield* AwsConfig.load(AwsConfig.clientOptions("SECRETS_MANAGER")) : {}
  return { ...sources, client }
})

/**
 * The secrets service configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<StripeSecrets, AwsConfig.AwsConfigError> = Layer.unwrapEffect(
  Effect.map(optionsConfig, layer)
)
