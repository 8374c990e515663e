/**
 * `sync-usage` and `reconcile`: the usage reported to Stripe, now or checked.
 *
 * @since 0.2.0
 */
import { Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { Command, Options } from "@effect/cli"
import { Clock, Effect, Either, Option, Schema } from "effect"
import { withClockAt } from "../internal/clock.js"
import { print } from "../Output.js"
import * as Reconcile from "../Reconcile.js"
import { dayOption, described, instantOption, named, UsageError, withEnv } from "../Shell.js"
import * as Sync from "../Sync.js"

/**
 * `sync-usage [--dry-run] [--customer <id>]... [--at <ISO>] [--deadline <duration>]`.
 *
 * @since 0.2.0
 * @category commands
 */
export const syncUsage = Command.make("sync-usage", {
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Compute what would be reported; send nothing")),
  customer: Options.text("customer").pipe(
    Options.repeated,
    Options.withSchema(
      named(Schema.mutable(Schema.Array(Ids.CustomerId)), "--customer", "a Stripe customer id looks like cus_...")
    ),
    Options.withDescription("Only this customer (repeatable)")
  ),
  at: instantOption("at").pipe(
    Options.optional,
    Options.withDescription("Run as if the time were this ISO instant (e.g. 2026-03-01T12:00:00Z)")
  ),
  deadline: Options.text("deadline").pipe(
    Options.withSchema(named(Sync.DurationText, "--deadline", "a duration such as 90s, 10m or 1h")),
    Options.withPseudoName("DURATION"),
    Options.optional,
    Options.withDescription(
      "Stop taking customers before this much time has passed (none in its last 30 s); exit 3 when some were left"
    )
  )
}, ({ at, customer, deadline, dryRun }) =>
  withEnv(
    { persist: !dryRun },
    Effect.gen(function*() {
      const report = yield* Sync.run({ dryRun, customerIds: customer, deadline: Option.getOrUndefined(deadline) })
      yield* print(UsageSync.SyncReport, report, Sync.format)
      yield* Sync.check(report)
    }).pipe((self) => Option.isSome(at) ? withClockAt(at.value.getTime())(self) : self)
  )).pipe(Command.withDescription(described(
    "Run the hourly usage sync now: API Gateway counts reported to Stripe exactly once.",
    "ai-billing sync-usage --dry-run --customer cus_123 --at 2026-03-01T12:00:00Z"
  )))

/**
 * `reconcile [--from <day>] [--to <day>] [--fix]`.
 *
 * @since 0.2.0
 * @category commands
 */
export const reconcile = Command.make("reconcile", {
  from: dayOption("from", "First UTC day, YYYY-MM-DD (default: 6 days before --to)"),
  to: dayOption("to", "Last UTC day, YYYY-MM-DD (default: today)"),
  fix: Options.boolean("fix").pipe(
    Options.withDescription("Report units API Gateway counted but the ledger lacks, through the exactly-once path")
  )
}, ({ fix, from, to }) =>
  withEnv(
    { persist: fix },
    Effect.gen(function*() {
      const today = UtcDay.fromMillis(yield* Clock.currentTimeMillis)
      const days = Reconcile.range(from, to, today)
      if (Either.isLeft(days)) return yield* new UsageError({ message: days.left })
      const report = yield* Reconcile.reconcile({ ...days.right, fix })
      yield* print(Reconcile.Report, report, Reconcile.format)
      yield* Reconcile.check(report)
    })
  )).pipe(Command.withDescription(described(
    "Per customer and day: API Gateway usage vs the ledger vs Stripe meter event summaries; prints the drift.",
    "ai-billing reconcile --from 2026-03-01 --to 2026-03-07 --fix"
  )))
