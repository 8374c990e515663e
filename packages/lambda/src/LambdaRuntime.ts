/**
 * The Lambda runtime of each handler: its Layers (configuration, adapters, JSON logs) built once per
 * container into a `ManagedRuntime` and reused by every warm invocation. Configuration is validated
 * when the container starts: a missing or malformed variable fails the init with one line naming it.
 *
 * @since 0.1.0
 */
import * as AwsAdapters from "@augint-billing/adapters-aws/AwsAdapters"
import * as Secrets from "@augint-billing/adapters-aws/Secrets"
import * as StripeAdapter from "@augint-billing/adapters-stripe/StripeAdapter"
import * as BillingConfig from "@augint-billing/core/BillingConfig"
import type * as HandleEvent from "@augint-billing/core/HandleEvent"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** The services both handlers run on: the four ports and `BillingConfig`. */
export type Services = HandleEvent.Services

/** Where log and metric lines go: one JSON document per line, no Lambda console prefix. */
export type Sink = (line: string) => void

/** Standard output, line by line: what CloudWatch Logs reads as JSON and as Embedded Metric Format. */
export const stdout: Sink = (line) => {
  process.stdout.write(`${line}\n`)
}

/** Effect's JSON logger written to `sink`, at `Info` and above. */
export const layerLogger = (sink: Sink = stdout): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.map(Logger.jsonLogger, sink)),
    Logger.minimumLogLevel(LogLevel.Info)
  )

// Values from Secrets Manager skip the adapters' own `STRIPE_*` format checks: check them here, by name.
const checked = (
  secret: Effect.Effect<Redacted.Redacted<string>, Secrets.SecretsError>,
  variables: string,
  pattern: RegExp,
  looksLike: string
) =>
  Effect.filterOrFail(
    secret,
    (value) => pattern.test(Redacted.value(value)),
    () => new Secrets.SecretsError({ reason: "Invalid", message: `${variables}: must look like ${looksLike}` })
  )

const ports = (webhookSecret: "required" | "unused") =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const secrets = yield* Secrets.StripeSecrets
    return StripeAdapter.layerConfigWith({
      secretKey: checked(
        secrets.stripeSecretKey,
        "STRIPE_SECRET_ARN or STRIPE_SECRET_KEY",
        /^(sk|rk)_[A-Za-z0-9_]+$/,
        "sk_... or rk_..."
      ),
      // The schedule never verifies a webhook: it has no signing secret and does not read one.
      webhookSecret: webhookSecret === "required"
        ? checked(
          secrets.webhookSecret,
          "STRIPE_WEBHOOK_SECRET_ARN or STRIPE_WEBHOOK_SECRET",
          /^whsec_\S+$/,
          "whsec_..."
        )
        : StripeAdapter.noWebhookSecret
    })
  })).pipe(
    Layer.provide(Secrets.layerConfig),
    Layer.merge(AwsAdapters.layerConfig),
    Layer.provideMerge(BillingConfig.layerConfig)
  )

/** What can fail while a container starts: one of the packages' configuration or secret errors. */
export type InitError = Layer.Layer.Error<ReturnType<typeof ports>>

/** Production wiring of the webhook: Stripe key and signing secret, AWS adapters, billing settings. */
export const layerWebhook: Layer.Layer<Services, InitError> = ports("required")

/** Production wiring of the schedule: as the webhook's, without the webhook signing secret. */
export const layerSchedule: Layer.Layer<Services, InitError> = ports("unused")

/** A container's runtime failed to start; the message is one line naming what is wrong. */
export class LambdaInitError extends Error {
  /** Discriminator. */
  readonly _tag = "LambdaInitError"
  override readonly name = "LambdaInitError"
}

/** One line for an init failure: the error's own message (it names the variable), never a secret. */
export const describeInit = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error: unknown = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  const message = typeof error === "object" && error !== null && "message" in error
    ? String(error.message)
    : String(error)
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "Defect"
  return `${tag}: ${message.split("\n")[0]}`
}

/**
 * Build `layer` (with the JSON logger) into a runtime now, at container init. On failure one JSON
 * line is written to `sink` and a `LambdaInitError` carrying the same message is thrown, which fails
 * the init phase.
 */
export const make = async <R, E>(
  handler: string,
  layer: Layer.Layer<R, E>,
  sink: Sink = stdout
): Promise<ManagedRuntime.ManagedRuntime<R, E>> => {
  const runtime = ManagedRuntime.make(Layer.provideMerge(layer, layerLogger(sink)))
  const exit = await Effect.runPromiseExit(runtime.runtimeEffect)
  if (Exit.isSuccess(exit)) return runtime
  const message = `${handler}: invalid configuration or secrets, container not started: ${describeInit(exit.cause)}`
  sink(JSON.stringify({ level: "ERROR", handler, message }))
  throw new LambdaInitError(message)
}
