/**
 * Classification of webhook verification failures. The SDK raises one error class for all of
 * them, so the reason is read from its message; an unknown message counts as a bad signature,
 * which refuses the delivery either way.
 */
import { Stripe as Port } from "@augint-billing/core"
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
