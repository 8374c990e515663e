/**
 * What a command prints: on stdout, a readable text or (with `--json`) the value encoded with its
 * Schema; progress and logs go to stderr.
 *
 * @since 0.1.0
 */
import { Config, Console, Context, Effect, Option, Schema } from "effect"

/** The global output settings. @since 0.1.0 @category services */
export class Output extends Context.Tag("@augint-billing/cli/Output")<Output, { readonly json: boolean }>() {}

/** Print `value`: encoded with `schema` as JSON under `--json`, else as `text(value)`. @since 0.1.0 @category utils */
export const print = <A, I>(
  schema: Schema.Schema<A, I>,
  value: A,
  text: (value: A) => string
): Effect.Effect<void, never, Output> =>
  Effect.gen(function*() {
    const { json } = yield* Output
    if (json) {
      const encoded = yield* Schema.encode(schema)(value).pipe(Effect.orDie)
      yield* Console.log(JSON.stringify(encoded, null, 2))
    } else {
      yield* Console.log(text(value))
    }
  })

/** A plain-text table: a header row and left-aligned columns. @since 0.1.0 @category utils */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd()
  return [line(headers), ...rows.map(line)].join("\n")
}

/** A progress display on stderr, drawn only when stderr is a terminal. @since 0.1.0 @category models */
export interface Progress {
  /** `done` items of `total` (if known) finished. */
  readonly update: (done: number) => void
  /** Clear the line. */
  readonly finish: () => void
  /** Whether anything is drawn: callers skip work done only for the display (counting a total). */
  readonly active: boolean
}

/**
 * `AI_BILLING_PROGRESS`: `auto` (the default) draws on a terminal, `always` also when stderr is not
 * one (tests, `script`), `never` never. `--json` never draws.
 *
 * @since 0.3.0
 * @category constants
 */
export const PROGRESS_VARIABLE = "AI_BILLING_PROGRESS"

/** Redraw at most this often: a 100k-customer sync would otherwise write 100k lines. @since 0.3.0 @category constants */
export const REDRAW_MILLIS = 100

/**
 * `1m05s`, `42s`, `2h03m`: a duration short enough for a progress line.
 *
 * @since 0.3.0
 * @category utils
 */
export const shortDuration = (millis: number): string => {
  const s = Math.max(0, Math.round(millis / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

/**
 * The progress line after `elapsed` ms: a bar, `done/total` and the ETA when the total is known,
 * else the count and the rate.
 *
 * @since 0.3.0
 * @category utils
 */
export const progressLine = (label: string, done: number, total: number | undefined, elapsed: number): string => {
  const rate = elapsed > 0 ? (done * 1000) / elapsed : 0
  if (total === undefined || total === 0) {
    return `${label} ${done}${done > 0 && elapsed > 0 ? ` (${Math.round(rate)}/s)` : ""}`
  }
  const width = 30
  const shown = Math.min(done, total)
  const bar = `[${"#".repeat(Math.round((shown / total) * width)).padEnd(width, ".")}]`
  const eta = done === 0 ? "ETA --" : `ETA ${shortDuration(((total - shown) * elapsed) / done)}`
  return `${bar} ${label} ${done}/${total} ${Math.floor((shown / total) * 100)}% ${eta}`
}

/**
 * Whether a progress bar would be drawn: not under `--json`, and stderr a terminal unless
 * `PROGRESS_VARIABLE` says `always` or `never`.
 *
 * @since 0.3.0
 * @category utils
 */
export const progressEnabled: Effect.Effect<boolean> = Effect.gen(function*() {
  const output = yield* Effect.serviceOption(Output)
  if (Option.isSome(output) && output.value.json) return false
  const mode = yield* Config.literal("auto", "always", "never")(PROGRESS_VARIABLE).pipe(
    Config.withDefault("auto"),
    Effect.orElseSucceed(() => "auto" as const)
  )
  return mode === "always" || (mode === "auto" && process.stderr.isTTY === true)
})

/**
 * A progress bar labelled `label`, over `total` items when known, with an ETA; drawn on stderr when
 * `progressEnabled`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const progress = (label: string, total?: number): Effect.Effect<Progress> =>
  Effect.gen(function*() {
    const active = yield* progressEnabled
    const started = performance.now()
    let drawn = false
    let last = -Infinity
    const draw = (done: number) => {
      last = performance.now()
      process.stderr.write(`\r\x1b[2K${progressLine(label, done, total, last - started)}`)
      drawn = true
    }
    return {
      active,
      update: (done) => {
        if (!active) return
        // The last item is always drawn, so the final line is exact.
        if (performance.now() - last >= REDRAW_MILLIS || done === total) draw(done)
      },
      finish: () => {
        if (active && drawn) process.stderr.write("\r\x1b[2K")
      }
    }
  })
