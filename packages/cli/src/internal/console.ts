// What reaches the terminal through Effect's Console (the parser's help and errors included): no ANSI
// codes unless stdout (or stderr) is a terminal and NO_COLOR is unset (https://no-color.org), and
// every error line from the parser prefixed `ai-billing:` as the CLI's own are.
import { Console, Effect } from "effect"
import { format } from "node:util"

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g

/** Whether colours may be written to `stream`. */
export const colours = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env["NO_COLOR"] ?? "") === "" && process.env["TERM"] !== "dumb"

/** Text as written to a stream without colours. */
export const plain = (text: string): string => text.replace(ANSI, "")

/** An error as one prefixed message, its blank trailing lines dropped. */
export const prefixed = (text: string): string => {
  const body = text.replace(/\s+$/, "")
  return body.startsWith("ai-billing:") || body.startsWith("timestamp=") ? body : `ai-billing: ${body}`
}

/** Run `self` with the console described above. */
export const withPlainConsole = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.consoleWith((base) =>
    Effect.withConsole(
      self,
      {
        ...base,
        log: (...args: ReadonlyArray<unknown>) =>
          Effect.sync(() => {
            const text = format(...args)
            process.stdout.write(`${colours(process.stdout) ? text : plain(text)}\n`)
          }),
        error: (...args: ReadonlyArray<unknown>) =>
          Effect.sync(() => {
            const text = prefixed(format(...args))
            process.stderr.write(`${colours(process.stderr) ? text : plain(text)}\n`)
          })
      } satisfies Console.Console
    )
  )
