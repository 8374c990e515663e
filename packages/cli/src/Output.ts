/**
 * What a command prints: on stdout, a readable text or (with `--json`) the value encoded with its
 * Schema; progress and logs go to stderr.
 *
 * @since 0.1.0
 */
import { Console, Context, Effect, Schema } from "effect"

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
}

/** A progress bar labelled `label`, over `total` items when known. @since 0.1.0 @category constructors */
export const progress = (label: string, total?: number): Effect.Effect<Progress> =>
  Effect.sync(() => {
    const tty = process.stderr.isTTY === true
    let drawn = false
    return {
      update: (done) => {
        if (!tty) return
        const width = 30
        const bar = total === undefined || total === 0
          ? ""
          : `[${"#".repeat(Math.round((Math.min(done, total) / total) * width)).padEnd(width, ".")}] `
        process.stderr.write(`\r${bar}${label} ${done}${total === undefined ? "" : `/${total}`}`)
        drawn = true
      },
      finish: () => {
        if (tty && drawn) process.stderr.write("\r\x1b[2K")
      }
    }
  })
