/**
 * `replay-events`: fetch the Stripe events created since a time (Stripe keeps 30 days) and run each
 * through `handleEvent`, whose processed-event markers make the replay of an already handled event a
 * `Duplicate`: recovery from missed webhooks without double effects.
 *
 * @since 0.1.0
 */
import { HandleEvent, Stripe } from "@augint-billing/core"
import { Effect, Schema, Stream } from "effect"
import { describeError } from "./internal/errors.js"
import { progress } from "./Output.js"
import { CliError } from "./Shell.js"

/** What a replay did. @since 0.1.0 @category models */
export const Report = Schema.Struct({
  since: Schema.Int,
  events: Schema.Int,
  outcomes: Schema.Record({ key: Schema.String, value: Schema.Int }),
  failures: Schema.Array(Schema.Struct({
    eventId: Schema.String,
    type: Schema.String,
    handling: Schema.Literal("reject", "retry", "acknowledge"),
    error: Schema.String
  }))
})
/** What a replay did. @since 0.1.0 @category models */
export type Report = typeof Report.Type

const field = (raw: unknown, name: string): string => {
  if (typeof raw !== "object" || raw === null) return "?"
  const value = (raw as Record<string, unknown>)[name]
  return typeof value === "string" ? value : "?"
}

/** Replay every event created at or after `since` (epoch seconds), oldest first. @since 0.1.0 @category flows */
export const replay = (since: number) =>
  Effect.gen(function*() {
    const stripe = yield* Stripe.Stripe
    const bar = yield* progress("events replayed")
    const outcomes: Record<string, number> = {}
    const failures: Array<Report["failures"][number]> = []
    let events = 0
    yield* stripe.listEvents({ since }).pipe(
      Stream.runForEach((raw) =>
        HandleEvent.handleEvent(raw).pipe(
          Effect.match({
            onFailure: (error) => {
              failures.push({
                eventId: field(raw, "id"),
                type: field(raw, "type"),
                handling: HandleEvent.classify(error),
                error: describeError(error)
              })
            },
            onSuccess: (outcome) => {
              outcomes[outcome._tag] = (outcomes[outcome._tag] ?? 0) + 1
            }
          }),
          Effect.tap(() => Effect.sync(() => bar.update(++events)))
        )
      )
    )
    bar.finish()
    const report: Report = { since, events, outcomes, failures }
    return report
  })

/**
 * A `CliError` when events failed, so the command exits 1 after printing the report.
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (report: Report) =>
  report.failures.length > 0
    ? Effect.fail(new CliError({ message: `${report.failures.length} events failed (see above)` }))
    : Effect.void

/** The report as text. @since 0.1.0 @category utils */
export const format = (r: Report): string =>
  [
    `replayed ${r.events} events since ${new Date(r.since * 1000).toISOString()}: ${
      Object.entries(r.outcomes).map(([k, n]) => `${k} ${n}`).join(", ") || "nothing to do"
    }`,
    ...r.failures.map((f) => `  failed ${f.eventId} (${f.type}, ${f.handling}): ${f.error}`)
  ].join("\n")
