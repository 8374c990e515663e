/**
 * `demo`: the simulated month of the testkit.
 *
 * @since 0.2.0
 */
import { Simulation } from "@augint-billing/testkit"
import { Command, Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import { print } from "../Output.js"
import { CliError, described, reported, withOutput } from "../Shell.js"

/**
 * `demo [--customers N] [--days N] [--seed N]`.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("demo", {
  customers: Options.integer("customers").pipe(Options.withDefault(36), Options.withDescription("Customers simulated")),
  days: Options.integer("days").pipe(Options.withDefault(30), Options.withDescription("Days simulated")),
  seed: Options.integer("seed").pipe(Options.withDefault(42), Options.withDescription("Seed of the traffic and faults"))
}, ({ customers, days, seed }) =>
  Effect.gen(function*() {
    const report = yield* Simulation.run({ customers, days, seed })
    yield* withOutput(print(Schema.Unknown, report as unknown, () => Simulation.format(report)))
    if (report.violations.length > 0) {
      return yield* new CliError({ message: `${report.violations.length} invariant violations (see above)` })
    }
  }).pipe(reported)).pipe(Command.withDescription(described(
    "The simulated month: customers, webhooks and hourly syncs on the in-memory ports with faults; checks the invariants.",
    "ai-billing demo --customers 12 --days 7"
  )))
