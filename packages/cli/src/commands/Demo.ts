/**
 * `demo`: the simulated month of the testkit.
 *
 * @since 0.2.0
 */
import { Simulation } from "@augint-billing/testkit"
import { Command, Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import { print, progress } from "../Output.js"
import { CliError, described, reported, UsageError, withOutput } from "../Shell.js"

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
    if (customers < 1 || days < 1) {
      return yield* new UsageError({ message: "--customers and --days must be at least 1" })
    }
    const bar = yield* progress("hours simulated", days * 24)
    const report = yield* Simulation.run({ customers, days, seed, onHour: (done) => bar.update(done) }).pipe(
      Effect.tap(() => Effect.sync(() => bar.update(days * 24))),
      Effect.ensuring(Effect.sync(() => bar.finish()))
    )
    yield* withOutput(print(Schema.Unknown, report as unknown, () => Simulation.format(report)))
    if (report.violations.length > 0) {
      return yield* new CliError({ message: `${report.violations.length} invariant violations (see above)` })
    }
  }).pipe(reported)).pipe(Command.withDescription(described(
    "The simulated month: customers, webhooks and hourly syncs on the in-memory ports with faults; checks the invariants.",
    "ai-billing demo --customers 12 --days 7"
  )))
