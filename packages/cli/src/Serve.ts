/**
 * `ai-billing serve`: a Stripe webhook endpoint over local mode, so that `stripe listen --forward-to`
 * and `stripe trigger` (or `ai-billing trigger`) drive the local state. Each delivery is answered as
 * the Lambda answers it: the signature verified by the Stripe port's `verifyWebhook` on the exact raw
 * body, the event run through `handleEvent` (mirrored into the local Stripe first, as `handle-event`
 * does), 200 when Stripe must not deliver again, 400 for bad input, 405, 413, 500 for a transient
 * failure so that Stripe retries.
 *
 * The directory is locked per delivery, not for the server's life: between deliveries the other
 * commands (`customers link`, `local seed`, `trigger`) can use the same directory.
 *
 * @since 0.2.0
 */
import { HandleEvent } from "@augint-billing/core"
import { Stripe } from "@augint-billing/core/Stripe"
import type { FileSystem, Path } from "@effect/platform"
import { Cause, Console, Data, Effect, Either, Option, Runtime } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { CliMode, withPorts } from "./Environment.js"
import * as Events from "./Events.js"
import * as Local from "./Local.js"

/**
 * The largest body accepted: the Lambda's default (`WEBHOOK_MAX_BODY_BYTES`), 256 KiB.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_BODY_BYTES = 256 * 1024

/**
 * How a delivery was answered and with which status.
 *
 * @since 0.2.0
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly body: Record<string, unknown>
  /** The log line's text. */
  readonly line: string
}

/**
 * The server could not start (port in use, bad host).
 *
 * @since 0.2.0
 * @category errors
 */
export class ServeError extends Data.TaggedError("ServeError")<{ readonly message: string }> {}

/**
 * Options of `serve`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** `--local`: the local store (none: the default directory, or AWS mode, which `serve` refuses). */
  readonly local: Option.Option<string>
  readonly host: string
  /** 0 picks a free port (printed). */
  readonly port: number
  /** Verify with this secret instead of the local store's (the one `stripe listen` prints). */
  readonly webhookSecret: Option.Option<string>
}

const answer = (status: number, body: Record<string, unknown>, line: string): Answer => ({ status, body, line })

const refused = (status: number, error: string, line: string) => answer(status, { error }, line)

/**
 * Verify and handle one delivery over the local state (already locked and loaded by `withPorts`).
 *
 * @since 0.2.0
 * @category flows
 */
export const deliver = (payload: Uint8Array, signature: string | undefined, secret: Option.Option<string>) =>
  Effect.gen(function*() {
    const state = yield* Local.state("serve")
    const stripe = yield* Stripe
    const saved = state.webhookSecret
    // The given secret verifies this delivery only: the store keeps its own.
    if (Option.isSome(secret)) state.webhookSecret = secret.value
    const verified = yield* Effect.either(stripe.verifyWebhook({ payload, signature })).pipe(
      Effect.ensuring(Effect.sync(() => (state.webhookSecret = saved)))
    )
    if (Either.isLeft(verified)) {
      return refused(400, verified.left.reason, `400 refused: ${verified.left.reason} (${verified.left.message})`)
    }
    return yield* Events.handle(verified.right, { dryRun: false, mirror: true }).pipe(
      Effect.map((r) => answer(200, { received: true, outcome: r.outcome }, `200 ${Events.format(r)}`)),
      Effect.catchAll((error) => {
        const kind = HandleEvent.classify(error)
        const status = kind === "reject" ? 400 : kind === "retry" ? 500 : 200
        const name = kind === "reject" ? "Rejected" : kind === "retry" ? "Retry" : "Acknowledged"
        return Effect.succeed(
          status === 200
            ? answer(200, { received: true }, `200 acknowledged: ${error._tag}: ${error.message}`)
            : refused(status, name, `${status} ${name.toLowerCase()}: ${error._tag}: ${error.message}`)
        )
      })
    )
  })

/**
 * Answer one request: method and size checked first, then the delivery run over the locked store.
 * Never fails: a lock not obtained or a defect is a 500, so Stripe delivers again.
 *
 * @since 0.2.0
 * @category flows
 */
export const answerRequest = (
  options: Options,
  request: { readonly method: string; readonly body: Uint8Array | "TooLarge"; readonly signature?: string }
): Effect.Effect<Answer, never, FileSystem.FileSystem | Path.Path> => {
  if (request.method.toUpperCase() !== "POST") {
    return Effect.succeed(refused(405, "MethodNotAllowed", `405 ${request.method}: only POST`))
  }
  if (request.body === "TooLarge") {
    return Effect.succeed(refused(413, "TooLarge", `413 body over ${MAX_BODY_BYTES} bytes`))
  }
  const body = request.body
  return withPorts(options.local, { persist: true }, deliver(body, request.signature, options.webhookSecret)).pipe(
    Effect.catchAllCause((cause) =>
      Effect.succeed(refused(500, "Retry", `500 retry: ${Cause.pretty(cause).split("\n")[0] ?? "failure"}`))
    )
  )
}

// The body up to the limit; past it the rest is drained unread so the 413 still reaches the sender.
const readBody = (req: IncomingMessage): Promise<Uint8Array | "TooLarge"> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0")
    const chunks: Array<Buffer> = []
    let size = 0
    let tooLarge = declared > MAX_BODY_BYTES
    req.on("data", (chunk: Buffer) => {
      size += chunk.byteLength
      if (size > MAX_BODY_BYTES) tooLarge = true
      if (!tooLarge) chunks.push(chunk)
    })
    req.on("end", () => resolve(tooLarge ? "TooLarge" : new Uint8Array(Buffer.concat(chunks))))
    req.on("error", reject)
  })

const send = (res: ServerResponse, a: Answer) => {
  res.writeHead(a.status, { "content-type": "application/json" })
  res.end(JSON.stringify(a.body))
}

/**
 * Check the store once (local mode, readable, lockable), then listen until interrupted (SIGINT,
 * SIGTERM): the server then stops accepting, lets the deliveries in flight finish (each saves its
 * state and releases the lock), and returns.
 *
 * @since 0.2.0
 * @category flows
 */
export const serve = (options: Options) =>
  Effect.gen(function*() {
    const store = yield* withPorts(
      options.local,
      { persist: true },
      Effect.gen(function*() {
        const s = yield* Local.state("serve")
        const mode = yield* CliMode
        return { dir: mode._tag === "Local" ? mode.dir : "", secret: s.webhookSecret }
      })
    )
    const runtime = yield* Effect.runtime<FileSystem.FileSystem | Path.Path>()
    // One delivery at a time, as Stripe's ordering is not promised anyway; the file lock would
    // serialize them too, but by polling.
    const lock = yield* Effect.makeSemaphore(1)
    const server = createServer((req, res) => {
      const signature = req.headers["stripe-signature"]
      readBody(req).then((body) =>
        Runtime.runPromise(runtime)(
          lock.withPermits(1)(answerRequest(options, {
            method: req.method ?? "GET",
            body,
            ...(typeof signature === "string" ? { signature } : {})
          })).pipe(Effect.tap((a) => Console.error(a.line)))
        )
      ).then((a) => send(res, a), () => send(res, refused(500, "Retry", "500 retry")))
    })
    const address = yield* Effect.acquireRelease(
      Effect.async<AddressInfo, ServeError>((resume) => {
        server.once("error", (e) => resume(Effect.fail(new ServeError({ message: e.message }))))
        server.listen(options.port, options.host, () => resume(Effect.succeed(server.address() as AddressInfo)))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeIdleConnections()
        }).pipe(Effect.tap(() => Console.error("ai-billing: serve stopped: state saved, lock released")))
    )
    const url = `http://${address.address}:${address.port}/webhook`
    const given = Option.isSome(options.webhookSecret)
    yield* Console.error(
      [
        `ai-billing: serving Stripe webhooks for the local store ${store.dir} on ${url}`,
        given
          ? "  verifying with the secret given (--webhook-secret or STRIPE_WEBHOOK_SECRET)"
          : `  verifying with the local store's secret ${store.secret}`,
        `  Stripe CLI: stripe listen --forward-to ${address.address}:${address.port}/webhook prints its signing secret`,
        "    (the same on every restart): serve with --webhook-secret <that whsec_...>, and link the customers",
        "    stripe trigger creates (ai-billing customers link <cus_...> <api-key>) or their events are acknowledged unused",
        `  test events: ai-billing --local ${store.dir} trigger setup_intent.succeeded --customer <cus_...> --url ${url}`
      ].join("\n")
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
