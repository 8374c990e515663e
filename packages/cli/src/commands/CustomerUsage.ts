/**
 * `customers usage <id>` and `customers card-link <id>`: what the usage endpoint answers a customer,
 * and a link where a free customer adds a card.
 *
 * @since 0.2.0
 */
import { CardLink, CustomerSettings, CustomerUsage } from "@augint-billing/core"
import { Command, Options } from "@effect/cli"
import { Effect, Layer, Option } from "effect"
import { print } from "../Output.js"
import { customerArg, described, withEnv } from "../Shell.js"

const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`

/**
 * A usage view as text: one line per figure.
 *
 * @since 0.2.0
 * @category utils
 */
export const formatUsage = (v: CustomerUsage.UsageView): string => {
  const lines = [
    `customer        ${v.customerId} (key ${v.apiKeyId}, plan ${v.plan})`,
    `period          ${v.period.start} .. ${v.period.end}`,
    `usage           ${v.periodUnits} this period, ${v.todayUnits} today`
  ]
  if (v.freeQuota !== undefined) {
    lines.push(`free quota      ${v.freeQuota.remaining} of ${v.freeQuota.limit} left (${v.freeQuota.period})`)
  }
  lines.push(`reported        ${v.unitsReported} units, ${v.unitsToReport} still to report`)
  if (v.projectedInvoice !== undefined) {
    const p = v.projectedInvoice
    lines.push(
      `projected bill  ${money(p.amountDue, p.currency)} due for ${p.units} units (total ${money(p.total, p.currency)})`
    )
  }
  if (v.cap !== undefined) {
    lines.push(`spend cap       ${v.cap.units} units in ${v.cap.period}${v.cap.capped ? ", reached: CAPPED" : ""}`)
  }
  return lines.join("\n")
}

// The customer-facing settings from the environment, over the mode's ports.
const withSettings = (overrides: Partial<CustomerSettings.Settings> = {}) =>
  Effect.provide(Layer.unwrapEffect(
    Effect.map(CustomerSettings.load, (settings) => CustomerSettings.layer({ ...settings, ...overrides }))
  ))

const usage = Command.make("usage", { customer: customerArg }, ({ customer }) =>
  withEnv(
    { persist: false },
    Effect.flatMap(CustomerUsage.usageOf(customer), (v) => print(CustomerUsage.UsageView, v, formatUsage)).pipe(
      withSettings()
    )
  )).pipe(Command.withDescription(described(
    "A customer's usage and projected bill, as the usage endpoint answers it: plan, billing period, usage this period and today, free quota left, units reported and still to report, and a metered customer's invoice preview from Stripe.",
    "ai-billing customers usage cus_123 --json"
  )))

const urlOption = (name: string, description: string) =>
  Options.text(name).pipe(Options.optional, Options.withDescription(description))

const cardLink = Command.make("card-link", {
  customer: customerArg,
  successUrl: urlOption(
    "success-url",
    "Where Checkout sends the customer after adding a card (default CARD_LINK_SUCCESS_URL)"
  ),
  cancelUrl: urlOption("cancel-url", "Where Checkout sends a customer who leaves (default CARD_LINK_CANCEL_URL)")
}, ({ cancelUrl, customer, successUrl }) =>
  withEnv(
    { persist: true },
    Effect.flatMap(
      CardLink.cardLink(customer),
      (link) =>
        print(CardLink.CardLink, link, (l) => `${l.url}\n(valid until ${new Date(l.expiresAt * 1000).toISOString()})`)
    ).pipe(withSettings({
      ...Option.match(successUrl, { onNone: () => ({}), onSome: (cardLinkSuccessUrl) => ({ cardLinkSuccessUrl }) }),
      ...Option.match(cancelUrl, { onNone: () => ({}), onSome: (cardLinkCancelUrl) => ({ cardLinkCancelUrl }) })
    }))
  )).pipe(Command.withDescription(described(
    "A Stripe Checkout link (setup mode) where a FREE customer adds a card; completing it sends setup_intent.succeeded, which promotes the customer. The same link all day (UTC); refused for a metered customer.",
    "ai-billing customers card-link cus_123 --success-url https://example.com/thanks"
  )))

/**
 * The `customers` subcommands of the customer-facing side: `usage`, `card-link`.
 *
 * @since 0.2.0
 * @category commands
 */
export const commands = [usage, cardLink] as const
