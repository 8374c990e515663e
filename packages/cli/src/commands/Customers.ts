/**
 * `customers list|show|link|unlink` (and `usage`, `card-link`, `cap`).
 *
 * @since 0.2.0
 */
import { Customer } from "@augint-billing/core"
import { Command, Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import * as Customers from "../Customers.js"
import { print } from "../Output.js"
import { apiKeyArg, customerArg, described, withEnv } from "../Shell.js"
import * as CustomerCap from "./CustomerCap.js"
import * as CustomerUsage from "./CustomerUsage.js"

const list = Command.make("list", {
  plan: Options.choice("plan", ["FREE", "METERED"]).pipe(Options.optional, Options.withDescription("Only this plan"))
}, ({ plan }) =>
  withEnv(
    { persist: false },
    Effect.flatMap(Customers.list(plan), (cs) => print(Schema.Array(Customer.Customer), cs, Customers.formatList))
  )).pipe(Command.withDescription(described("List customer links.", "ai-billing customers list --plan METERED")))

const show = Command.make("show", { customer: customerArg }, ({ customer }) =>
  withEnv(
    { persist: false },
    Effect.flatMap(Customers.show(customer), (v) => print(Customers.CustomerView, v, Customers.formatView))
  )).pipe(Command.withDescription(
    described("Show one customer's record and its key's usage plans.", "ai-billing customers show cus_123")
  ))

const link = Command.make("link", { customer: customerArg, apiKey: apiKeyArg }, ({ apiKey, customer }) =>
  withEnv(
    { persist: true },
    Effect.flatMap(
      Customers.link({ customerId: customer, apiKeyId: apiKey }),
      (created) =>
        print(
          Customer.Customer,
          created,
          (c) =>
            c.plan === "METERED"
              ? `linked ${c.customerId} to key ${c.apiKeyId} and promoted to METERED: the customer already has a card`
              : `linked ${c.customerId} to key ${c.apiKeyId} on the FREE plan`
        )
    )
  )).pipe(Command.withDescription(described(
    "Link a Stripe customer to an API key: a new record, the key in the free plan, promoted at once when the customer already has a card (the key's metered usage so far counts as already billed, so a link bills only what comes after it). In local mode the Stripe customer and the key are created too.",
    "ai-billing customers link cus_123 key123"
  )))

const unlink = Command.make("unlink", {
  customer: customerArg,
  close: Options.boolean("close").pipe(
    Options.withDescription(
      "First run the sync for this customer: report its last usage and close a settle window that has ended"
    )
  )
}, ({ close, customer }) =>
  withEnv(
    { persist: true },
    Effect.flatMap(
      Customers.unlink(customer, { close }),
      (record) => print(Customer.Customer, record, (c) => `unlinked ${c.customerId} from key ${c.apiKeyId}`)
    )
  )).pipe(Command.withDescription(described(
    "Remove a customer link; refused while the record holds a subscription, an open or unclosed settle window, subscriptions to cancel or a pending report (exit 1, with the reason).",
    "ai-billing customers unlink cus_123 --close"
  )))

/**
 * `customers`: list, show, link, unlink.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("customers").pipe(
  Command.withDescription(described("Customer links: list, show, link, unlink.", "ai-billing customers list")),
  Command.withSubcommands([list, show, link, unlink, ...CustomerUsage.commands, ...CustomerCap.commands])
)
