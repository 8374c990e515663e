#!/usr/bin/env node
/**
 * `node dist/bin/sign-event.js events/webhook-setup-intent-succeeded.json > /tmp/event.json`: the
 * webhook event with its `stripe-signature` made anew for now, with `STRIPE_WEBHOOK_SECRET` (the secret
 * stored in `StripeWebhookSecretArn`; default the example's), so that `sam local invoke` does not refuse
 * it as stale (Stripe's tolerance is 5 minutes). Stripe's scheme: `t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 *
 * @since 0.2.0
 */
import { createHmac } from "node:crypto"
import * as Fs from "node:fs"

/** The secret `events/webhook-*.json` is signed with, used when `STRIPE_WEBHOOK_SECRET` is not set. @since 0.2.0 @category constants */
export const exampleSecret = "whsec_local_invoke_example"

/** A `Stripe-Signature` header for `body` at `timestamp` (seconds). @since 0.2.0 @category utils */
export const signature = (body: string, secret: string, timestamp: number): string =>
  `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")}`

const [file] = process.argv.slice(2)
if (file !== undefined) {
  const event = JSON.parse(Fs.readFileSync(file, "utf8")) as { body: string; headers: Record<string, string> }
  const body = (event as { isBase64Encoded?: boolean }).isBase64Encoded === true
    ? Buffer.from(event.body, "base64").toString("utf8")
    : event.body
  const secret = process.env.STRIPE_WEBHOOK_SECRET ?? exampleSecret
  event.headers["stripe-signature"] = signature(body, secret, Math.floor(Date.now() / 1000))
  process.stdout.write(`${JSON.stringify(event, null, 2)}\n`)
}
