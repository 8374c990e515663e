/**
 * Webhook verification: snapshot events (`constructEventAsync`) and thin event notifications
 * (`parseEventNotificationAsync`, `object: "v2.core.event"`, what event destinations send for
 * `v1.billing.meter.error_report_triggered`), against the signing secret in use, the one it replaced
 * (for a day after a rotation was seen) and, when neither verifies, the secret read again.
 *
 * The SDK raises one error class for every signature failure, so the reason is read from its
 * message; an unknown message counts as a bad signature, which refuses the delivery either way.
 */
import { Stripe as Port } from "@augint-billing/core"
import { Clock, Duration, Effect, Redacted, Ref } from "effect"
import StripeSdk from "stripe"
import type { KeySource } from "../StripeClient.js"

const reason = (error: unknown): Port.WebhookVerificationError["reason"] => {
  if (error instanceof StripeSdk.errors.StripeSignatureVerificationError) {
    const message = error.message
    if (message.startsWith("No stripe-signature header")) return "MissingHeader"
    if (message.startsWith("Timestamp outside the tolerance zone")) return "StaleTimestamp"
    if (message.startsWith("No webhook payload") || message.startsWith("Webhook payload must be provided")) {
      return "MalformedPayload"
    }
    return "BadSignature"
  }
  // Signature verified, but the body is not JSON (SyntaxError) or not an event.
  return "MalformedPayload"
}

const firstLine = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0]?.trim() ?? message
}

/** The port error for a failure of `constructEventAsync`. */
export const fromVerificationFailure = (error: unknown): Port.WebhookVerificationError =>
  new Port.WebhookVerificationError({ reason: reason(error), message: `webhook refused: ${firstLine(error)}` })

// What `constructEventAsync` throws, after the signature verified, for a thin event notification.
const isThinNotice = (error: unknown): boolean =>
  error instanceof Error && !(error instanceof StripeSdk.errors.StripeSignatureVerificationError) &&
  error.message.startsWith("You passed a thin event notification")

/**
 * Stripe lets a rolled endpoint secret stay valid for up to 24 hours, signing each delivery with both
 * (docs.stripe.com/webhooks, "Roll endpoint secrets"): the replaced secret is kept that long.
 */
export const PREVIOUS_SECRET_GRACE = Duration.hours(24)

/** A delivery no known secret verifies reads the secret again at most this often (bad signatures are cheap to send). */
export const REFRESH_INTERVAL = Duration.minutes(1)

interface Rotation {
  readonly inUse: string | undefined
  readonly previous: { readonly value: string; readonly until: number } | undefined
  readonly refreshedAt: number
}

/**
 * `verifyWebhook` for snapshot and thin events: the exact raw bytes, an explicit tolerance, the
 * receive time from the Effect `Clock`; without a secret every delivery is refused.
 */
export const verifier = (
  sdk: StripeSdk,
  secrets: KeySource | undefined,
  tolerance: Duration.Duration
): Effect.Effect<Port.StripeService["verifyWebhook"]> =>
  Effect.gen(function*() {
    const rotation = yield* Ref.make<Rotation>({ inUse: undefined, previous: undefined, refreshedAt: -Infinity })
    // Explicit: the SDK reads 0 as "no timestamp check".
    const seconds = Math.max(1, Math.floor(Duration.toSeconds(tolerance)))

    const verifyWith = (payload: string | Uint8Array, signature: string, secret: string, now: number) =>
      Effect.tryPromise({
        try: () => sdk.webhooks.constructEventAsync(payload, signature, secret, seconds, undefined, now),
        catch: (error) => error
      }).pipe(
        Effect.map((event): unknown => event),
        Effect.catchIf(isThinNotice, () =>
          Effect.tryPromise({
            try: async () => {
              await sdk.parseEventNotificationAsync(payload, signature, secret, seconds, undefined, now)
              // The notification object carries fetch methods; the port hands on the JSON as sent.
              return JSON.parse(typeof payload === "string" ? payload : new TextDecoder().decode(payload)) as unknown
            },
            catch: (error) => error
          })),
        Effect.mapError(fromVerificationFailure),
        Effect.filterOrFail(
          (event): event is object => typeof event === "object" && event !== null && !Array.isArray(event),
          () =>
            new Port.WebhookVerificationError({
              reason: "MalformedPayload",
              message: "webhook refused: the body is not a JSON object"
            })
        )
      )

    // A secret seen for the first time replaces the one in use, which stays valid for the grace period.
    const noteInUse = (secret: string, now: number) =>
      Ref.update(rotation, (r) =>
        r.inUse === undefined || r.inUse === secret ? { ...r, inUse: secret } : {
          ...r,
          inUse: secret,
          previous: { value: r.inUse, until: now + Duration.toMillis(PREVIOUS_SECRET_GRACE) }
        })

    const readFailure = (error: Port.StripeError) =>
      new Port.WebhookVerificationError({
        reason: "BadSignature",
        message: `webhook refused: the signing secret could not be read (${error.message})`
      })

    return ({ payload, signature }) =>
      Effect.gen(function*() {
        if (secrets === undefined) {
          // Core has no "not configured" reason; BadSignature refuses the delivery, the message says why.
          return yield* new Port.WebhookVerificationError({
            reason: "BadSignature",
            message: "webhook refused: the webhook signing secret is not configured (STRIPE_WEBHOOK_SECRET)"
          })
        }
        if (signature === undefined || signature.trim() === "") {
          return yield* new Port.WebhookVerificationError({
            reason: "MissingHeader",
            message: "webhook refused: no Stripe-Signature header"
          })
        }
        if (payload.length === 0) {
          return yield* new Port.WebhookVerificationError({
            reason: "MalformedPayload",
            message: "webhook refused: empty body"
          })
        }
        const now = yield* Clock.currentTimeMillis
        const current = Redacted.value(yield* Effect.mapError(secrets.current, readFailure))
        yield* noteInUse(current, now)
        const first = yield* Effect.either(verifyWith(payload, signature, current, now))
        if (first._tag === "Right" || first.left.reason !== "BadSignature") return yield* first
        const { previous, refreshedAt } = yield* Ref.get(rotation)
        if (previous !== undefined && previous.until > now) {
          const old = yield* Effect.either(verifyWith(payload, signature, previous.value, now))
          if (old._tag === "Right") return old.right
        }
        if (now - refreshedAt < Duration.toMillis(REFRESH_INTERVAL)) return yield* first
        yield* Ref.update(rotation, (r) => ({ ...r, refreshedAt: now }))
        const fresh = Redacted.value(
          yield* Effect.mapError(secrets.refresh(Redacted.make(current)), readFailure)
        )
        if (fresh === current) return yield* first
        yield* noteInUse(fresh, now)
        return yield* verifyWith(payload, signature, fresh, now)
      })
  })
