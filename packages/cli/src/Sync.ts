/**
 * `sync-usage`: the hourly usage sync run now, by hand, with the progress on stderr and the report
 * kept as local mode's last sync.
 *
 * @since 0.2.0
 */
import { type Ids, UsageSync } from "@augint-billing/core"
import { Clock, Console, Data, Duration, Effect, Option, ParseResult, Schema, Stream } from "effect"
import { CliMode } from "./Environment.js"
import * as Ports from "./internal/ports.js"
import { progress, progressEnabled } from "./Output.js"
import { CliError } from "./Shell.js"

/**
 * Options of a sync run from the CLI.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly dryRun: boolean
  /** Only these customers (all sync candidates when empty). */
  readonly customerIds: ReadonlyArray<Ids.CustomerId>
  /**
   * How long the run may take: it starts no customer in the last `SyncRun.DRAIN_RESERVE` (30 s) of it,
   * so those it started can commit, and reports the customers it left (`stoppedEarly`).
   */
  readonly deadline?: Duration.Duration | undefined
}

/**
 * A sync that stopped taking customers before its deadline (exit code 3): the next run starts with
 * the customers it left.
 *
 * @since 0.3.0
 * @category errors
 */
export class StoppedEarly extends Data.TaggedError("StoppedEarly")<{ readonly message: string }> {}

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)$/

/**
 * A duration as written on the command line: a positive number and a unit (`ms`, `s`, `m`, `h` or
 * their words), e.g. `90s`, `10m`, `1.5 hours`; none for anything else.
 *
 * @since 0.3.0
 * @category utils
 */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const match = durationPattern.exec(text.trim())
  if (match === null) return Option.none()
  const n = Number(match[1])
  const unit = match[2]!
  const millis = unit === "ms" ? n : unit.startsWith("s") ? n * 1000 : unit.startsWith("m") ? n * 60_000 : n * 3_600_000
  return millis > 0 ? Option.some(Duration.millis(millis)) : Option.none()
}

/**
 * `parseDuration` as a schema from the option's text.
 *
 * @since 0.3.0
 * @category schemas
 */
export const DurationText: Schema.Schema<Duration.Duration, string> = Schema.transformOrFail(
  Schema.String,
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (text, _, ast) =>
      Option.match(parseDuration(text), {
        onNone: () => Effect.fail(new ParseResult.Type(ast, text)),
        onSome: Effect.succeed
      }),
    encode: (d) => Effect.succeed(`${Duration.toMillis(d)}ms`)
  }
)

/**
 * Run the sync; in local mode (not a dry run) the report becomes the last sync.
 *
 * @since 0.2.0
 * @category flows
 */
export const run = (options: Options) =>
  Effect.gen(function*() {
    // The candidates are counted for the ETA only when a bar is drawn: one more pass over the index.
    const total = !(yield* progressEnabled)
      ? undefined
      : options.customerIds.length > 0
      ? options.customerIds.length
      : yield* Effect.flatMap(Ports.repo, (repo) => Stream.runCount(repo.listSyncCandidates())).pipe(
        Effect.orElseSucceed(() => undefined)
      )
    const out = yield* progress("customers synced", total)
    yield* Effect.logInfo("usage sync started")
    let done = 0
    const now = yield* Clock.currentTimeMillis
    const report = yield* UsageSync.syncUsage({
      dryRun: options.dryRun,
      ...(options.deadline === undefined ? {} : { deadline: now + Duration.toMillis(options.deadline) }),
      ...(options.customerIds.length === 0 ? {} : { customerIds: options.customerIds }),
      onProgress: (n) => {
        done = n
        out.update(n)
      }
    }).pipe(
      Effect.ensuring(Effect.sync(out.finish)),
      Effect.onInterrupt(() => Console.error(interrupted(done, options.dryRun)))
    )
    const mode = yield* CliMode
    if (mode._tag === "Local" && !options.dryRun) mode.local.lastSync = report
    return report
  })

/**
 * What an interrupted sync says: who was synced (each customer's report is recorded as it finishes)
 * and who was not.
 *
 * @since 0.2.0
 * @category utils
 */
export const interrupted = (done: number, dryRun: boolean): string =>
  dryRun
    ? `ai-billing: interrupted after ${done} customers: a dry run, nothing was sent or saved`
    : `ai-billing: interrupted after ${done} customers: their usage is reported and recorded; the others were not synced (a report cut short is pending and the next sync-usage sends or confirms it)`

/**
 * A `CliError` when customers failed, so the command exits 1 after printing the report; else
 * `StoppedEarly` (exit 3) when the run stopped before its deadline.
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (report: UsageSync.SyncReport) =>
  report.customersFailed > 0
    ? Effect.fail(new CliError({ message: `${report.customersFailed} customers failed to sync (see above)` }))
    : report.stoppedEarly
    ? Effect.fail(
      new StoppedEarly({
        message: `stopped before its deadline: ${report.customersLeft} customers left for the next run`
      })
    )
    : Effect.void

/**
 * The report as text.
 *
 * @since 0.2.0
 * @category utils
 */
export const format = (r: UsageSync.SyncReport): string =>
  [
    `${
      r.dryRun ? "dry run: would report" : "reported"
    } ${r.unitsReported} units for ${r.customersReported} of ${r.customersSeen} customers (${
      r.days.join(", ")
    }): ${r.meterEventsSent} meter events, ${r.customersSkipped} with nothing new, ${r.customersContended} contended, ${r.customersFailed} failed`,
    ...(r.stoppedEarly ?
      [
        `stopped before its deadline: ${r.customersLeft} customers not started (the next run takes them first)`
      ] :
      []),
    ...r.failures.map((f) => `  failed ${f.customerId}: ${f.reason}`),
    ...r.anomalies.map((a) => `  anomaly ${a.customerId} ${a.day}: counted ${a.observed} < reported ${a.reported}`),
    // What no run can bill, said once each: the operator's to explain to the merchant.
    ...r.unbillable.map((u) => `  unbillable ${u.customerId}: ${u.units} units (customer deleted in Stripe)`),
    ...r.historyVanished.map((k) =>
      `  history vanished ${k.customerId} (key ${k.apiKeyId}): GetUsage lists it no more`
    ),
    ...r.counterReset.map((k) =>
      `  counter reset ${k.customerId} (key ${k.apiKeyId}): restarted when put back in the metered plan`
    )
  ].join("\n")
