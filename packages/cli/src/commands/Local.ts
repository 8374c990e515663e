/**
 * `local seed`, `local usage add`, `local events add`: local mode only.
 *
 * @since 0.2.0
 */
import { UtcDay } from "@augint-billing/core"
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Schema } from "effect"
import * as Local from "../Local.js"
import { print } from "../Output.js"
import { apiKeyArg, dayOption, described, readJsonFile, withEnv } from "../Shell.js"

const usageAdd = Command.make("add", {
  apiKey: apiKeyArg,
  units: Args.integer({ name: "units" }).pipe(Args.withDescription("Requests to count")),
  day: dayOption("day", "The UTC day counted (default: today)")
}, ({ apiKey, day, units }) =>
  withEnv(
    { persist: true },
    Effect.flatMap(
      Local.countUsage({ apiKeyId: apiKey, units, day: Option.getOrElse(day, () => UtcDay.fromMillis(Date.now())) }),
      (added) =>
        print(Local.Added, added, (a) => `counted ${a.units} requests of ${a.apiKeyId} on ${a.day} in ${a.usagePlanId}`)
    )
  )).pipe(Command.withDescription(described(
    "Count requests for a key in the plan it is in (what API Gateway would count).",
    "ai-billing local usage add key123 250"
  )))

const seed = Command.make("seed", {
  customers: Options.integer("customers").pipe(Options.withDefault(10), Options.withDescription("How many to link")),
  cards: Options.boolean("cards").pipe(Options.withDescription("Give each a payment method in the local Stripe"))
}, ({ cards, customers }) =>
  withEnv(
    { persist: true },
    Effect.flatMap(Local.seedCustomers({ count: customers, withCards: cards }), (created) =>
      print(Schema.Array(Schema.String), created, (ids) =>
        `linked ${ids.length} customers (${ids[0] ?? ""}..${ids[ids.length - 1] ?? ""}) on the FREE plan`))
  )).pipe(Command.withDescription(described(
    "Link N customers cus_seed<n> / key_seed<n> on the free plan.",
    "ai-billing local seed --customers 50 --cards"
  )))

const eventsAdd = Command.make("add", {
  file: Options.file("file", { exists: "yes" }).pipe(Options.withDescription("A Stripe event JSON file"))
}, ({ file }) =>
  withEnv(
    { persist: true },
    Effect.flatMap(readJsonFile(file), Local.addEvent).pipe(
      Effect.flatMap((eventId) =>
        print(Schema.Struct({ eventId: Schema.String }), { eventId }, (e) =>
          `${e.eventId} is in the local Stripe's event list, not handled (a missed webhook): ai-billing replay-events --since ...`)
      )
    )
  )).pipe(Command.withDescription(described(
    "Put an event into the local Stripe without handling it, as a missed webhook.",
    "ai-billing local events add --file packages/cli/examples/invoice-created.json"
  )))

/**
 * `local`: seed customers, count usage, add events (local mode only).
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("local").pipe(
  Command.withDescription(
    described("Local mode only: seed customers, count usage, add events.", "ai-billing local usage add key123 250")
  ),
  Command.withSubcommands([
    seed,
    Command.make("usage").pipe(
      Command.withDescription(
        described("Usage counted by the local API Gateway.", "ai-billing local usage add key123 250")
      ),
      Command.withSubcommands([usageAdd])
    ),
    Command.make("events").pipe(
      Command.withDescription(described("Events in the local Stripe.", "ai-billing local events add --file e.json")),
      Command.withSubcommands([eventsAdd])
    )
  ])
)
