/**
 * `handle-event` and `replay-events`.
 *
 * @since 0.2.0
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import * as Events from "../Events.js"
import { print } from "../Output.js"
import * as Replay from "../Replay.js"
import { described, instantOption, readJsonFile, withEnv } from "../Shell.js"

/**
 * `handle-event --file <event.json> [--dry-run]`.
 *
 * @since 0.2.0
 * @category commands
 */
export const handleEvent = Command.make("handle-event", {
  file: Options.file("file", { exists: "yes" }).pipe(Options.withDescription("A Stripe event JSON file")),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("Print the decision (promote, demote, flush, ignore, duplicate) without applying it")
  )
}, ({ dryRun, file }) =>
  withEnv(
    { persist: !dryRun },
    Effect.gen(function*() {
      const raw = yield* readJsonFile(file)
      const result = yield* Events.handle(raw, { dryRun, mirror: true })
      yield* print(Events.EventResult, result, Events.format)
    })
  )).pipe(Command.withDescription(described(
    "Process a Stripe event locally through handleEvent (dedupe, staleness guard, promote/demote/flush).",
    "ai-billing handle-event --file packages/cli/examples/setup-intent-succeeded.json --dry-run"
  )))

/**
 * `replay-events --since <ISO>`.
 *
 * @since 0.2.0
 * @category commands
 */
export const replayEvents = Command.make("replay-events", {
  since: instantOption("since").pipe(
    Options.withDescription("Replay events created at or after this ISO time (Stripe keeps 30 days)")
  )
}, ({ since }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const report = yield* Replay.replay(Math.floor(since.getTime() / 1000))
      yield* print(Replay.Report, report, Replay.format)
      yield* Replay.check(report)
    })
  )).pipe(Command.withDescription(described(
    "Fetch Stripe events since a time and run them through handleEvent with dedupe (recovers missed webhooks).",
    "ai-billing replay-events --since 2026-03-01T00:00:00Z"
  )))
