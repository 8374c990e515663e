/**
 * `plan promote|demote`: synthetic events through `handleEvent`, so the same guarantees hold.
 *
 * @since 0.2.0
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import * as Customers from "../Customers.js"
import * as Events from "../Events.js"
import { print } from "../Output.js"
import { customerArg, described, withEnv } from "../Shell.js"

const change = (kind: "promote" | "demote") =>
  Command.make(kind, {
    customer: customerArg,
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Print the decision without applying it"))
  }, ({ customer, dryRun }) =>
    withEnv(
      { persist: !dryRun },
      Effect.gen(function*() {
        const record = yield* Customers.get(customer)
        const raw = yield* Events.synthetic(kind, customer, record.subscriptionId)
        // A synthetic event says nothing about what Stripe holds: never mirrored.
        const result = yield* Events.handle(raw, { dryRun, mirror: false })
        yield* print(Events.EventResult, result, Events.format)
      })
    )).pipe(Command.withDescription(described(
      kind === "promote"
        ? "Promote a customer by hand: a synthetic setup_intent.succeeded through handleEvent (Stripe must hold a usable payment method)."
        : "Demote a customer by hand: a synthetic final invoice.payment_failed through handleEvent (key to FREE, usage flushed, subscription cancelled with a final invoice).",
      `ai-billing plan ${kind} cus_123`
    )))

/**
 * `plan`: promote, demote.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("plan").pipe(
  Command.withDescription(
    described("Move a customer between plans through the flows.", "ai-billing plan promote cus_123")
  ),
  Command.withSubcommands([change("promote"), change("demote")])
)
