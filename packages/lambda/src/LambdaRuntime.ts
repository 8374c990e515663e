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
import type { Context } from "aws-lambda"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** The services both handlers run on: the four ports and `BillingConfig`. @since 0.1.0 @category models */
export type Services = HandleEvent.Services

/**
 * Where log and metric lines go: one JSON document per line, no Lambda console prefix.
 * @since 0.1.0 @category models
 */
export type Sink = (line: string) => void

/**
 * Standard output, line by line: what CloudWatch Logs reads as JSON and as Embedded Metric Format.
 * @since 0.1.0 @category utils
 */
export const stdout: Sink = (line) => {
  process.stdout.write(`${line}\n`)
}

/**
 * The X-Ray trace id of the current invocation: the `Root` of `_X_AMZN_TRACE_ID`, which the Lambda
 * runtime sets anew for each invocation. @since 0.2.0 @category utils
 */
export const traceId = (header: string | undefined = process.env._X_AMZN_TRACE_ID): string | undefined => {
  if (header === undefined || header === "") return undefined
  return /(?:^|;)Root=([^;]+)/.exec(header)?.[1] ?? header
}

/**
 * A JSON line with the invocation's `traceId` first (unchanged outside an invocation), so that a log
 * line leads to its trace and back. @since 0.2.0 @category utils
 */
export const withTraceId = (line: string): string => {
  const id = traceId()
  return id === undefined || !line.startsWith("{") ? line : `{"traceId":${JSON.stringify(id)},${line.slice(1)}`
}

/**
 * Effect's JSON logger written to `sink`, at `Info` and above, each line carrying the trace id.
 * @since 0.1.0 @category layers
 */
export const layerLogger = (sink: Sink = stdout): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, Logger.map(Logger.jsonLogger, (line) => sink(withTraceId(line)))),
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

// The layers built from this are marked pure: a bundle that uses none of them (the coordinator's)
// drops the Stripe SDK and the Secrets Manager client they would pull in (Bundle.test's budget).
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
        : StripeAdapter.noWebhookSecret,
      // A rolled key answers 401 and a rolled signing secret fails verification until read again.
      refreshSecretKey: secrets.refreshStripeSecretKey,
      ...(webhookSecret === "required" ? { refreshWebhookSecret: secrets.refreshWebhookSecret } : {})
    })
  })).pipe(
    Layer.provide(Secrets.layerConfig),
    Layer.merge(AwsAdapters.layerConfig),
    Layer.provideMerge(BillingConfig.layerConfig)
  )

/**
 * What can fail while a container starts: one of the packages' configuration or secret errors.
 * @since 0.1.0 @category models
 */
export type InitError = Layer.Layer.Error<ReturnType<typeof ports>>

/**
 * Production wiring of the webhook: Stripe key and signing secret, AWS adapters, billing settings.
 * @since 0.1.0 @category layers
 */
export const layerWebhook: Layer.Layer<Services, InitError> = /* @__PURE__ */ ports("required")

/**
 * Production wiring of the schedule: as the webhook's, without the webhook signing secret.
 * @since 0.1.0 @category layers
 */
export const layerSchedule: Layer.Layer<Services, InitError> = /* @__PURE__ */ ports("unused")

/**
 * A container's runtime failed to start; the message is one line naming what is wrong.
 * @since 0.1.0 @category errors
 */
export class LambdaInitError extends Error {
  /** Discriminator. */
  readonly _tag = "LambdaInitError"
  override readonly name = "LambdaInitError"
}

/**
 * One line for an init failure: the error's own message (it names the variable), never a secret.
 * @since 0.1.0 @category utils
 */
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
 * A scheduled run's options in an invocation: the remaining time less `margin` as its `budget` (none
 * without a Lambda context). @since 0.3.0 @category utils
 */
export const budgetOf = (
  context: Pick<Context, "getRemainingTimeInMillis"> | undefined,
  margin: Duration.Duration
): { readonly budget?: Duration.Duration } => {
  const remaining = context?.getRemainingTimeInMillis()
  return remaining === undefined
    ? {}
    : { budget: Duration.max(Duration.subtract(Duration.millis(remaining), margin), Duration.zero) }
}

/**
 * What `make` listens to and how it ends the process (the real ones unless a test passes its own).
 * @since 0.2.0 @category models
 */
export interface Shutdown {
  /** Where SIGTERM arrives (default `process`). */
  readonly signals: { readonly once: (signal: "SIGTERM", listener: () => void) => unknown }
  /** Ends the process (default `process.exit`). */
  readonly exit: (code: number) => void
  /** Longest wait for the finalizers before exiting anyway (default 250 ms). */
  readonly budgetMillis: number
}

/**
 * On SIGTERM, dispose `runtime` so that its finalizers run, then exit. Lambda sends SIGTERM to the
 * runtime when it shuts down an execution environment of a function with extensions, and leaves it
 * up to 300 ms before SIGKILL (docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
 * "Shutdown phase"): disposal gets `budgetMillis` of that. @since 0.2.0 @category utils
 */
export const disposeOnSigterm = (
  runtime: { readonly dispose: () => Promise<void> },
  sink: Sink,
  shutdown: Partial<Shutdown> = {}
): void => {
  const { budgetMillis = 250, exit = (code: number) => process.exit(code), signals = process } = shutdown
  signals.once("SIGTERM", () => {
    const started = Date.now()
    const timer = setTimeout(() => exit(0), budgetMillis)
    void runtime.dispose().then(
      () => sink(JSON.stringify({ level: "INFO", message: "SIGTERM: runtime disposed", millis: Date.now() - started })),
      (e: unknown) => sink(JSON.stringify({ level: "ERROR", message: `SIGTERM: disposal failed: ${String(e)}` }))
    ).finally(() => {
      clearTimeout(timer)
      exit(0)
    })
  })
}

/**
 * Build `layer` (with the JSON logger) into a runtime now, at container init, disposed on SIGTERM.
 * On failure one JSON line is written to `sink` and a `LambdaInitError` carrying the same message is
 * thrown, which fails the init phase.
 * @since 0.1.0 @category constructors
 */
export const make = async <R, E>(
  handler: string,
  layer: Layer.Layer<R, E>,
  sink: Sink = stdout,
  shutdown: Partial<Shutdown> = {}
): Promise<ManagedRuntime.ManagedRuntime<R, E>> => {
  const runtime = ManagedRuntime.make(Layer.provideMerge(layer, layerLogger(sink)))
  const exit = await Effect.runPromiseExit(runtime.runtimeEffect)
  if (Exit.isSuccess(exit)) {
    disposeOnSigterm(runtime, sink, shutdown)
    return runtime
  }
  const message = `${handler}: invalid configuration or secrets, container not started: ${describeInit(exit.cause)}`
  sink(JSON.stringify({ level: "ERROR", handler, message }))
  throw new LambdaInitError(message)
}
