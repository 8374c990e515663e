/**
 * A tiny scripted HTTP server on 127.0.0.1 for the behaviours stripe-mock cannot produce (429s,
 * 5xx, hanging requests). Each request takes the next scripted answer; the last one repeats.
 */
import { Duration, Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** One scripted answer. */
export type Answer =
  | {
    readonly status: number
    readonly body: unknown
    readonly headers?: Record<string, string>
    /** Hold the answer this long, so that overlapping requests would be seen overlapping. */
    readonly delayMillis?: number
  }
  | "hang"

/** What the server saw. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  /** Set when the client closed the connection before an answer was sent. */
  abortedByClient: boolean
}

/** A running local server. */
export interface LocalServer {
  readonly port: number
  readonly seen: Array<Seen>
  /** The most requests that were open at the same time. */
  readonly maxInFlight: () => number
}

/** Start a server answering with `answers` in turn; closed with the scope. */
export const make = (answers: ReadonlyArray<Answer>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: ReturnType<typeof createServer>; readonly local: LocalServer }>((resume) => {
      const seen: Array<Seen> = []
      let inFlight = 0
      let maxInFlight = 0
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const entry: Seen = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          abortedByClient: false
        }
        seen.push(entry)
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        res.on("close", () => {
          inFlight--
        })
        const answer = answers[Math.min(seen.length - 1, answers.length - 1)]
        req.resume()
        if (answer === undefined || answer === "hang") {
          res.on("close", () => {
            if (!res.writableEnded) entry.abortedByClient = true
          })
          return
        }
        res.writeHead(answer.status, {
          "content-type": "application/json",
          "request-id": "req_local",
          ...answer.headers
        })
        res.end(JSON.stringify(answer.body))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, local: { port, seen, maxInFlight: () => maxInFlight } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ local }) => local))

/** A port on 127.0.0.1 that nothing listens on. */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Check `condition` every 10 ms until it holds or `within` has passed; the last answer. */
export const poll = (condition: () => boolean, within: Duration.DurationInput): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(Duration.decode(within))
    while (!condition() && Date.now() < deadline) yield* Effect.sleep("10 millis")
    return condition()
  })
