/**
 * The Stripe webhook handler for API Gateway REST (proxy, payload v1), HTTP API (v2) and Lambda
 * Function URL events. It verifies the signature on the exact raw body, runs `handleEvent` and maps
 * the result to a status once: 200 when Stripe must not deliver again (processed, duplicate, ignored,
 * unknown customer, permanent failure), 400 for bad input, 413 over the size limit, 500 for transient
 * failures so that Stripe retries. Logs carry the event id and type, never the body or a secret.
 *
 * @since 0.1.0
 */
import * as BillingConfig from "@augint-billing/core/BillingConfig"
import * as HandleEvent from "@augint-billing/core/HandleEvent"
import { Stripe } from "@augint-billing/core/Stripe"
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context as LambdaContext } from "aws-lambda"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Emf from "./Emf.js"
import { budgetOf } from "./LambdaRuntime.js"

/** An API Gateway REST proxy event (v1), or an HTTP API / Function URL event (v2). @since 0.1.0 @category models */
export type WebhookEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2

/** The response, in the shape all three integrations accept. @since 0.1.0 @category models */
export interface WebhookResponse {
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Limits of the webhook endpoint. @since 0.1.0 @category models */
export interface Limits {
  /** Largest body accepted, in bytes after base64 decoding (`WEBHOOK_MAX_BODY_BYTES`). */
  readonly maxBodyBytes: number
}

/** The webhook's limits service. @since 0.1.0 @category services */
export class WebhookLimits extends Context.Tag("@augint-billing/lambda/WebhookLimits")<WebhookLimits, Limits>() {}

/** 256 KiB: Stripe's events are a few KiB; anything near this is not Stripe. @since 0.1.0 @category constants */
export const defaultLimits: Limits = { maxBodyBytes: 256 * 1024 }

/** Invalid webhook settings; the message names the variable. @since 0.1.0 @category errors */
export class WebhookConfigError extends Schema.TaggedError<WebhookConfigError>()("WebhookConfigError", {
  message: Schema.String
}) {}

/**
 * `WEBHOOK_MAX_BODY_BYTES`, 1 KiB to 6 MiB (Lambda's synchronous payload limit), default 256 KiB.
 * @since 0.1.0 @category constants
 */
export const limitsConfig: Config.Config<Limits> = Config.all({
  maxBodyBytes: Config.integer("WEBHOOK_MAX_BODY_BYTES").pipe(
    Config.validate({
      message: "must be a whole number of bytes from 1024 to 6291456",
      validation: (n) => n >= 1024 && n <= 6 * 1024 * 1024
    }),
    Config.withDefault(defaultLimits.maxBodyBytes)
  )
})

/** The limits given, over the defaults. @since 0.1.0 @category layers */
export const layerLimits = (limits: Partial<Limits> = {}): Layer.Layer<WebhookLimits> =>
  Layer.succeed(WebhookLimits, { ...defaultLimits, ...limits })

/** The limits from the environment. @since 0.1.0 @category layers */
export const layerLimitsConfig: Layer.Layer<WebhookLimits, WebhookConfigError> = Layer.effect(
  WebhookLimits,
  Effect.mapError(
    limitsConfig,
    (e) => new WebhookConfigError({ message: `invalid configuration: ${BillingConfig.describeConfigError(e)}` })
  )
)

/** How a delivery was answered, for the log line and the tests. @since 0.1.0 @category models */
export type Answer =
  | "Processed"
  | "MethodNotAllowed"
  | "TooLarge"
  | "MissingHeader"
  | "BadSignature"
  | "StaleTimestamp"
  | "MalformedPayload"
  | "Rejected"
  | "Retry"
  | "Acknowledged"
  | "Defect"
  | "OutOfTime"

/**
 * A header's value, whatever its case (API Gateway v1 keeps the sender's case, v2 lower-cases).
 * @since 0.1.0 @category utils
 */
export const header = (event: WebhookEvent, name: string): string | undefined => {
  const wanted = name.toLowerCase()
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value
  }
  if ("multiValueHeaders" in event) {
    for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
      if (key.toLowerCase() === wanted && values !== undefined && values.length > 0) return values.join(",")
    }
  }
  return undefined
}

/** The request method of either payload version. @since 0.1.0 @category utils */
export const method = (event: WebhookEvent): string =>
  "httpMethod" in event ? event.httpMethod : event.requestContext.http.method

// The exact bytes Stripe signed: base64-decoded when the integration flagged it, the string as is otherwise.
type Body = { readonly _tag: "TooLarge" } | { readonly _tag: "Body"; readonly payload: string | Uint8Array }

const rawBody = (event: WebhookEvent, maxBytes: number): Body => {
  const text = event.body ?? ""
  if (event.isBase64Encoded) {
    // Checked on the encoded length first, so an oversized body is never decoded.
    if (Math.floor((text.length * 3) / 4) - 2 > maxBytes) return { _tag: "TooLarge" }
    const bytes = Buffer.from(text, "base64")
    return bytes.byteLength > maxBytes ? { _tag: "TooLarge" } : { _tag: "Body", payload: new Uint8Array(bytes) }
  }
  return Buffer.byteLength(text, "utf8") > maxBytes ? { _tag: "TooLarge" } : { _tag: "Body", payload: text }
}

const respond = (statusCode: number, body: Record<string, unknown>): WebhookResponse => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body)
})

const statusOf: Record<Answer, number> = {
  Processed: 200,
  Acknowledged: 200,
  MethodNotAllowed: 405,
  TooLarge: 413,
  MissingHeader: 400,
  BadSignature: 400,
  StaleTimestamp: 400,
  MalformedPayload: 400,
  Rejected: 400,
  Retry: 500,
  Defect: 500,
  OutOfTime: 500
}

// Event id and type read defensively from the verified JSON: never anything else of the body.
const eventLabels = (json: unknown): Record<string, string> => {
  if (typeof json !== "object" || json === null) return {}
  const { id, type } = json as { readonly id?: unknown; readonly type?: unknown }
  return {
    ...(typeof id === "string" ? { eventId: id } : {}),
    ...(typeof type === "string" ? { eventType: type } : {})
  }
}

// What a failure says in the log: tag and reason, and the message unless it may quote the body.
const errorLabels = (error: HandleEvent.HandleEventError): Record<string, string> => ({
  error: error._tag,
  ...("reason" in error && typeof error.reason === "string" ? { reason: error.reason } : {}),
  ...(error._tag === "StripeEventDecodeError" ? {} : { detail: error.message })
})

// Stripe refused our key (401: rotated, expired or revoked): core's `classify` retries it (a 500 makes
// Stripe deliver it again for up to 3 days, until the new key is read); logged as an error, since only
// the operator can fix it.
const isRejectedKey = (error: HandleEvent.HandleEventError): boolean =>
  error._tag === "StripeError" && error.reason === "Authentication"

/**
 * How a failure of `handleEvent` is answered: the core's `classify` (which retries a rejected key too).
 * @since 0.2.0 @category utils
 */
export const answerOf = (error: HandleEvent.HandleEventError): "Rejected" | "Retry" | "Acknowledged" => {
  const kind = HandleEvent.classify(error)
  return kind === "reject" ? "Rejected" : kind === "retry" ? "Retry" : "Acknowledged"
}

/** What answering one delivery came to. @since 0.1.0 @category models */
export interface Result {
  readonly answer: Answer
  readonly outcome?: HandleEvent.Outcome["_tag"]
  readonly response: WebhookResponse
}

const answered = (answer: Answer, outcome?: HandleEvent.Outcome["_tag"]): Result => ({
  answer,
  ...(outcome === undefined ? {} : { outcome }),
  response: respond(
    statusOf[answer],
    answer === "Processed" || answer === "Acknowledged"
      ? { received: true, ...(outcome === undefined ? {} : { outcome }) }
      : { error: answer }
  )
})

/**
 * The deliveries, by `Status` and `Outcome` (the core's outcome, or how the delivery was refused).
 * @since 0.2.0 @category constants
 */
export const deliveries: Metric.Metric.Counter<number> = Emf.counter("WebhookDeliveries")

/**
 * Stripe's reports of meter events it accepted and then rejected (`meterErrorTypes`).
 * @since 0.2.0 @category constants
 */
export const meterErrorReports: Metric.Metric.Counter<number> = Emf.counter("MeterErrorReports")

/** The thin events Stripe sends when meter events it accepted were rejected later. @since 0.2.0 @category constants */
export const meterErrorTypes: ReadonlySet<string> = new Set([
  "v1.billing.meter.error_report_triggered",
  "v1.billing.meter.no_meter_found"
])

const countDelivery = (result: Result) =>
  Metric.update(
    Metric.tagged(
      Metric.tagged(deliveries, "Status", String(result.response.statusCode)),
      "Outcome",
      result.outcome ?? result.answer
    ),
    1
  )

const isMeterError = (labels: Record<string, string>) =>
  labels.eventType !== undefined && meterErrorTypes.has(labels.eventType)

// Counted and logged from the verified type alone, whatever the core makes of the event.
const noteMeterError = (labels: Record<string, string>) =>
  isMeterError(labels)
    ? Effect.zipRight(
      Metric.increment(meterErrorReports),
      Effect.logError("Stripe rejected meter events it had accepted: those units are not billed")
    )
    : Effect.void

/**
 * How long a delivery may take: the invocation's remaining time less `shutdownMargin`
 * (`LambdaRuntime.budgetOf`). @since 0.4.0 @category models
 */
export interface Options {
  readonly budget?: Duration.Duration
}

/**
 * What the webhook keeps of its invocation to answer 500, log and write its metrics once its budget
 * is spent (the template gives the function 25 s). @since 0.4.0 @category constants
 */
export const shutdownMargin: Duration.Duration = Duration.seconds(3)

/**
 * Answer one delivery. Never fails: every failure is a status. With a `budget`, handling still going
 * when it is spent (a key move retrying a throttled API Gateway, Stripe slow) is interrupted and
 * answered 500 (`OutOfTime`), so Stripe delivers again, rather than killed by the function's timeout
 * with no answer, log or metric; every step is idempotent, and a key left mid-move is put right by
 * the redelivery or the hourly sync's plan repair.
 *
 * @since 0.1.0
 * @category utils
 */
export const handle = (
  event: WebhookEvent,
  options: Options = {}
): Effect.Effect<Result, never, HandleEvent.Services | WebhookLimits | Emf.Emf> =>
  Effect.gen(function*() {
    if (method(event).toUpperCase() !== "POST") return answered("MethodNotAllowed")
    const limits = yield* WebhookLimits
    const body = rawBody(event, limits.maxBodyBytes)
    if (body._tag === "TooLarge") return answered("TooLarge")
    const stripe = yield* Stripe
    const verified = yield* Effect.either(
      stripe.verifyWebhook({ payload: body.payload, signature: header(event, "stripe-signature") })
    )
    if (Either.isLeft(verified)) {
      yield* Effect.logWarning("webhook refused").pipe(Effect.annotateLogs({ reason: verified.left.reason }))
      return answered(verified.left.reason)
    }
    const json = verified.right
    const labels = eventLabels(json)
    yield* noteMeterError(labels).pipe(Effect.annotateLogs(labels))
    return yield* HandleEvent.handleEvent(json).pipe(
      Effect.map((outcome) => answered("Processed", outcome._tag)),
      (handling) =>
        options.budget === undefined ? handling : Effect.timeoutTo(handling, {
          duration: options.budget,
          onSuccess: Effect.succeed,
          onTimeout: () =>
            Effect.as(
              Effect.logError(`webhook out of time after ${Duration.format(options.budget!)}: Stripe will retry`),
              answered("OutOfTime")
            )
        }).pipe(Effect.flatten),
      Effect.catchAll((error) => {
        // A meter error report the core cannot decode (a thin event) is already counted and logged
        // above: acknowledged, or Stripe would deliver it (and we count it) again for 3 days.
        const answer = isMeterError(labels) && error._tag === "StripeEventDecodeError"
          ? "Acknowledged"
          : answerOf(error)
        const log = answer === "Acknowledged" || isRejectedKey(error) ? Effect.logError : Effect.logWarning
        return log(`webhook ${answer.toLowerCase()}: ${error._tag}`).pipe(
          Effect.annotateLogs(errorLabels(error)),
          Effect.as(answered(answer))
        )
      }),
      Effect.catchAllDefect((defect) =>
        Effect.logError("webhook defect: Stripe will retry").pipe(
          Effect.annotateLogs({ defect: Cause.pretty(Cause.die(defect)).split("\n")[0] ?? "defect" }),
          Effect.as(answered("Defect"))
        )
      ),
      Effect.tap((result) =>
        Effect.logInfo("webhook answered").pipe(
          Effect.annotateLogs({
            status: result.response.statusCode,
            answer: result.answer,
            ...(result.outcome === undefined ? {} : { outcome: result.outcome })
          })
        )
      ),
      Effect.annotateLogs(labels)
    )
  }).pipe(Effect.tap(countDelivery), Emf.flushing, Effect.withSpan("Webhook.handle"))

/** The Lambda handler over a runtime built once per container. @since 0.1.0 @category utils */
export const toHandler =
  <E>(runtime: ManagedRuntime.ManagedRuntime<HandleEvent.Services | WebhookLimits | Emf.Emf, E>) =>
  async (event: WebhookEvent, context?: Pick<LambdaContext, "getRemainingTimeInMillis">): Promise<WebhookResponse> =>
    (await runtime.runPromise(handle(event, budgetOf(context, shutdownMargin)))).response
