/**
 * `serve` (a Stripe webhook endpoint over local mode) and `trigger` (a signed test event posted to it).
 *
 * @since 0.2.0
 */
import { Ids, StripeEvent } from "@augint-billing/core"
import { Args, Command, Options } from "@effect/cli"
import { Config, Effect, Option } from "effect"
import { print } from "../Output.js"
import * as Serve from "../Serve.js"
import * as Trigger from "../ServeTrigger.js"
import { described, reported, root, UsageError, withOutput } from "../Shell.js"

const webhookSecret = Options.text("webhook-secret").pipe(
  Options.withFallbackConfig(Config.string("STRIPE_WEBHOOK_SECRET")),
  Options.optional,
  Options.withDescription(
    "The signing secret (whsec_...; default STRIPE_WEBHOOK_SECRET, else the local store's own)"
  )
)

const checkSecret = (secret: Option.Option<string>) =>
  Option.isSome(secret) && !secret.value.startsWith("whsec_")
    ? Effect.fail(new UsageError({ message: "--webhook-secret must start with whsec_" }))
    : Effect.void

/**
 * `serve [--host 127.0.0.1] [--port 4242] [--webhook-secret whsec_...]`.
 *
 * @since 0.2.0
 * @category commands
 */
export const serve = Command.make("serve", {
  host: Options.text("host").pipe(Options.withDefault("127.0.0.1"), Options.withDescription("The address to bind")),
  port: Options.integer("port").pipe(
    Options.withDefault(4242),
    Options.withDescription("The port to listen on (0: any free port, printed)")
  ),
  webhookSecret
}, ({ host, port, webhookSecret }) =>
  Effect.gen(function*() {
    const g = yield* root
    yield* checkSecret(webhookSecret)
    if (port < 0 || port > 65535) return yield* new UsageError({ message: `--port must be 0-65535, got ${port}` })
    return yield* Serve.serve({ local: g.local, host, port, webhookSecret })
  }).pipe(reported)).pipe(Command.withDescription(described(
    "Answer Stripe webhooks over local mode as the Lambda does (for stripe listen --forward-to); Ctrl-C stops it.",
    "ai-billing --local ./state serve --port 4242"
  )))

/**
 * `trigger <type> --customer <id>`.
 *
 * @since 0.2.0
 * @category commands
 */
export const trigger = Command.make("trigger", {
  type: Args.choice(StripeEvent.handledTypes.map((t) => [t, t] as const), { name: "type" }).pipe(
    Args.withDescription(`The event type: ${StripeEvent.handledTypes.join(", ")}`)
  ),
  customer: Options.text("customer").pipe(
    Options.withSchema(Ids.CustomerId),
    Options.withDescription("The Stripe customer id the event is about")
  ),
  final: Options.boolean("final").pipe(
    Options.withDescription("invoice.payment_failed: the last attempt, no retry scheduled (demotes)")
  ),
  subscription: Options.text("subscription").pipe(
    Options.optional,
    Options.withDescription("Subscription events: the subscription id (default: the customer's in the local store)")
  ),
  status: Options.choice("status", StripeEvent.SubscriptionStatus.literals).pipe(
    Options.withDefault("canceled" as const),
    Options.withDescription("customer.subscription.updated: the new status")
  ),
  url: Options.text("url").pipe(
    Options.withDefault(Trigger.DEFAULT_URL),
    Options.withDescription("Where serve listens")
  ),
  webhookSecret
}, (input) =>
  withOutput(Effect.gen(function*() {
    const g = yield* root
    yield* checkSecret(input.webhookSecret)
    const sent = yield* Trigger.trigger({ ...input, customerId: input.customer, local: g.local })
    yield* print(Trigger.Sent, sent, Trigger.format)
    yield* Trigger.check(sent)
  })).pipe(reported)).pipe(Command.withDescription(described(
    "Sign a test event of a handled type for a customer and POST it to a running serve (like stripe trigger).",
    "ai-billing trigger invoice.payment_failed --customer cus_123 --final"
  )))
