/**
 * Classification of webhook verification failures. The SDK raises one error class for all of
 * them, so the reason is read from its message; an unknown message counts as a bad signature,
 * which refuses the delivery either way.
 */
import { Stripe as Port } from "@augint-billing/core"
import { Clock, Duration, Effect, Redacted } from "effect"
import StripeSdk from "stripe"

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
  // Signature verified, but the body is not JSON (SyntaxError) or is a thin event.
  return "MalformedPayload"
}

const firstLine = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0]?.trim() ?? message
}

/** The port error for a failure of `constructEventAsync`. */
export const fromVerificationFailure = (error: unknown): Port.WebhookVerificationError =>
  new Port.WebhookVerificationError({ reason: reason(error), message: `webhook refused: ${firstLine(error)}` })

/**
 * `verifyWebhook` on the SDK's `constructEventAsync`: the exact raw bytes, an explicit tolerance, the
 * receive time from the Effect `Clock`; without a secret every delivery is refused.
 */
export const verifier = (
  sdk: StripeSdk,
  webhookSecret: Redacted.Redacted<string> | undefined,
  tolerance: Duration.Duration
): Port.StripeService["verifyWebhook"] =>
({ payload, signature }) =>
  Effect.gen(function*() {
    if (webhookSecret === undefined) {
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
    const event: unknown = yield* Effect.tryPromise({
      try: () =>
        sdk.webhooks.constructEventAsync(
          payload,
          signature,
          Redacted.value(webhookSecret),
          // Explicit: the SDK reads 0 as "no timestamp check".
          Math.max(1, Math.floor(Duration.toSeconds(tolerance))),
          undefined,
          now
        ),
      catch: fromVerificationFailure
    })
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      return yield* new Port.WebhookVerificationError({
        reason: "MalformedPayload",
        message: "webhook refused: the body is not a JSON object"
      })
    }
    return event
  })
