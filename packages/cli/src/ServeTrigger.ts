/**
 * `ai-billing trigger <type> --customer <id>`: the local counterpart of `stripe trigger`. It builds a
 * test event of a handled type for any customer (with testkit's builders, in the shape Stripe sends),
 * signs it as Stripe does with the webhook secret, and POSTs it to a running `ai-billing serve`, so
 * no one edits event JSON by hand.
 *
 * @since 0.2.0
 */
import { Ids, StripeEvent } from "@augint-billing/core"
import { StripeEvents, StripeMemory } from "@augint-billing/testkit"
import { Clock, Effect, Option, Schema } from "effect"
import { withPorts } from "./Environment.js"
import * as Local from "./Local.js"
import { CliError, UsageError } from "./Shell.js"

/**
 * Where `trigger` posts by default: `serve`'s default address.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_URL = "http://127.0.0.1:4242/webhook"

/**
 * What `trigger` is asked for.
 *
 * @since 0.2.0
 * @category models
 */
export interface Input {
  readonly local: Option.Option<string>
  readonly type: StripeEvent.HandledType
  readonly customerId: Ids.CustomerId
  /** `invoice.payment_failed`: the last attempt (Stripe will not retry: a demotion). */
  readonly final: boolean
  /** Subscription events: the subscription (default: the customer's in the local store). */
  readonly subscription: Option.Option<string>
  /** `customer.subscription.updated`: the new status. */
  readonly status: StripeEvent.SubscriptionStatus
  readonly url: string
  readonly webhookSecret: Option.Option<string>
}

/**
 * What `trigger` prints: the event sent and how `serve` answered.
 *
 * @since 0.2.0
 * @category models
 */
export const Sent = Schema.Struct({
  eventId: Schema.String,
  type: Schema.String,
  customerId: Schema.String,
  status: Schema.Int,
  response: Schema.Unknown
})
/**
 * What `trigger` prints.
 *
 * @since 0.2.0
 * @category models
 */
export type Sent = typeof Sent.Type

const THREE_DAYS = 3 * 24 * 3600

/**
 * The event JSON for `input`, created at `created` (epoch seconds).
 *
 * @since 0.2.0
 * @category constructors
 */
export const build = (
  input: Pick<Input, "type" | "customerId" | "final" | "status">,
  created: number,
  subscriptionId: Ids.SubscriptionId | undefined
) =>
  Effect.gen(function*() {
    const base = { customerId: input.customerId, created }
    // An invoice names its subscription; with none it is a one-off invoice, which the flows ignore.
    const invoice = { ...base, subscriptionId: subscriptionId ?? null }
    const subscription = () =>
      subscriptionId === undefined
        ? new UsageError({
          message: `${input.type} needs --subscription: ${input.customerId} has no subscription in the local store`
        })
        : undefined
    switch (input.type) {
      case "setup_intent.succeeded":
        return StripeEvents.setupIntentSucceeded(base)
      case "payment_method.attached":
        return StripeEvents.paymentMethodAttached(base)
      case "payment_method.detached":
        return StripeEvents.paymentMethodDetached(base)
      case "invoice.payment_failed":
        // Stripe's Smart Retries: an attempt with a retry scheduled, or the last one (no next attempt).
        return input.final
          ? StripeEvents.invoicePaymentFailed({ ...invoice, attemptCount: 4, nextPaymentAttempt: null })
          : StripeEvents.invoicePaymentFailed({ ...invoice, attemptCount: 1, nextPaymentAttempt: created + THREE_DAYS })
      case "invoice.paid":
        return StripeEvents.invoicePaid(invoice)
      case "invoice.created":
        return StripeEvents.invoiceCreated(invoice)
      case "customer.subscription.updated": {
        const missing = subscription()
        if (missing !== undefined) return yield* missing
        return StripeEvents.subscriptionUpdated({ ...base, subscriptionId: subscriptionId!, status: input.status })
      }
      case "customer.subscription.deleted": {
        const missing = subscription()
        if (missing !== undefined) return yield* missing
        return StripeEvents.subscriptionDeleted({ ...base, subscriptionId: subscriptionId! })
      }
      case "customer.deleted":
        return StripeEvents.customerDeleted(base)
    }
  })

const needsSubscription = (type: StripeEvent.HandledType) =>
  type === "customer.subscription.updated" || type === "customer.subscription.deleted"

// The secret and the customer's subscription from the local store, read (and unlocked) before posting:
// `serve` locks the same directory to handle the event.
const fromStore = (input: Input) =>
  withPorts(
    input.local,
    { persist: false },
    Effect.map(Local.state("trigger"), (s) => ({
      secret: s.webhookSecret,
      subscriptionId: s.records.get(input.customerId)?.subscriptionId
    }))
  )

/**
 * Build, sign and POST the event; fails when nothing listens or `serve` does not answer 2xx.
 *
 * @since 0.2.0
 * @category flows
 */
export const trigger = (input: Input) =>
  Effect.gen(function*() {
    const given = input.subscription
    const store = Option.isSome(input.webhookSecret) && (Option.isSome(given) || !needsSubscription(input.type))
      ? { secret: input.webhookSecret.value, subscriptionId: undefined }
      : yield* fromStore(input)
    const secret = Option.getOrElse(input.webhookSecret, () => store.secret)
    const subscriptionId = Option.match(given, {
      onNone: () => store.subscriptionId,
      onSome: (id) => Ids.SubscriptionId.make(id)
    })
    const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const event = yield* build(input, created, subscriptionId)
    const payload = JSON.stringify(event)
    const signature = yield* StripeMemory.signatureHeader(secret, created, payload)
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(input.url, {
          method: "POST",
          headers: { "content-type": "application/json", "stripe-signature": signature },
          body: payload,
          signal
        }),
      catch: (e) =>
        new CliError({
          message: `nothing answered at ${input.url} (${
            e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)
          }): start ai-billing serve first`
        })
    })
    const text = yield* Effect.promise(() => response.text())
    const body = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(Effect.orElseSucceed(() => text))
    const sent: Sent = {
      eventId: event.id,
      type: input.type,
      customerId: input.customerId,
      status: response.status,
      response: body
    }
    return sent
  })

/**
 * The sent event as one line.
 *
 * @since 0.2.0
 * @category utils
 */
export const format = (s: Sent): string =>
  `${s.eventId} (${s.type}) for ${s.customerId}: ${s.status} ${JSON.stringify(s.response)}`

/**
 * Fail (exit 1) when `serve` refused the event, after it was printed.
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (s: Sent) =>
  s.status >= 200 && s.status < 300
    ? Effect.void
    : Effect.fail(new CliError({ message: `serve answered ${s.status} to ${s.eventId}` }))
