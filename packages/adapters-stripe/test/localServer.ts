/**
 * A tiny scripted HTTP server on 127.0.0.1 for the behaviours stripe-mock cannot produce (429s,
 * 5xx, hanging requests). Each request takes the next scripted answer; the last one repeats.
 */
import { BillingConfig, Stripe } from "@augint-billing/core"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { StripeAdapter } from "../src/index.js"

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

/** An answer chosen from the request (its body read in full). */
export type Script = Answer | ((request: Seen) => Answer)

/** What the server saw. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  /** The request body, once read in full. */
  body: string
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
export const make = (answers: ReadonlyArray<Script>) =>
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
          body: "",
          abortedByClient: false
        }
        seen.push(entry)
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        res.on("close", () => {
          inFlight--
        })
        const script = answers[Math.min(seen.length - 1, answers.length - 1)]
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          entry.body = Buffer.concat(chunks).toString("utf8")
          const answer = typeof script === "function" ? script(entry) : script
          if (answer === undefined || answer === "hang") {
            res.on("close", () => {
              if (!res.writableEnded) entry.abortedByClient = true
            })
            return
          }
          const send = () => {
            res.writeHead(answer.status, {
              "content-type": "application/json",
              "request-id": "req_local",
              ...answer.headers
            })
            res.end(JSON.stringify(answer.body))
          }
          if (answer.delayMillis === undefined) send()
          else setTimeout(send, answer.delayMillis)
        })
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

/** The adapter pointed at a local server on `port` (test key and secret, `overrides` on top). */
export const adapterOn = (port: number, overrides: Partial<StripeAdapter.Options> = {}) =>
  StripeAdapter.layer({
    apiKey: Redacted.make("sk_test_local"),
    webhookSecret: Redacted.make("whsec_local"),
    meteredPrice: { priceId: "price_local" },
    host: "127.0.0.1",
    port,
    protocol: "http",
    ...overrides
  }).pipe(Layer.provide(BillingConfig.layer()))

/** Run `f` against the adapter pointed at a local server scripted with `answers`. */
export const withAdapter = <A, E>(
  answers: ReadonlyArray<Script>,
  f: (stripe: Stripe.StripeService, server: LocalServer) => Effect.Effect<A, E>,
  overrides: Partial<StripeAdapter.Options> = {}
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const server = yield* make(answers)
      // Built in this scope: the Layer's client (and its requests) live until the test ends.
      const stripe = Context.get(yield* Layer.build(adapterOn(server.port, overrides)), Stripe.Stripe)
      return yield* f(stripe, server)
    })
  )
