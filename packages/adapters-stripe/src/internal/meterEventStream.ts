/**
 * Stripe's high-throughput meter event path (docs.stripe.com/api/v2/billing-meter-stream): a meter
 * event session (`POST /v2/billing/meter_event_session`) gives a token valid 15 minutes; the stream
 * (`POST /v2/billing/meter_event_stream`, on meter-events.stripe.com) takes up to 100 events a request
 * authenticated with it, answers before validating them, and reports rejections later as meter
 * error reports. Stripe enforces identifier uniqueness over a rolling 24 hours on this path too, so
 * the deterministic identifiers keep their meaning. stripe-mock does not serve `/v2`.
 */
import { Stripe as Port } from "@augint-billing/core"
import { Chunk, Clock, Duration, Effect, Option, Ref } from "effect"
import type { StripeClientService } from "../StripeClient.js"
import * as MeterEvents from "./meterEvents.js"

/** A session is renewed this long before it expires, so that no request is sent on a dying token. */
export const RENEW_MARGIN = Duration.minutes(1)

/** How long Stripe says a session token lives, used when `expires_at` is unreadable. */
export const SESSION_LIFETIME = Duration.minutes(15)

interface Session {
  readonly token: string
  readonly expiresAt: number
}

/** What the batch reporter needs. */
export interface Options {
  readonly client: StripeClientService
  readonly meterEventName: string
  /** Batches smaller than this go through `reportUsage` (v1: synchronous validation and `"Duplicate"`). */
  readonly minBatch: number
  /** Requests of one batch in flight at once on the stream. */
  readonly concurrency?: number | undefined
  readonly reportUsage: Port.StripeService["reportUsage"]
}

/** The port's `reportUsageBatch` over a client: the v2 stream for large batches, v1 for small ones. */
export const make = (options: Options): Effect.Effect<Port.StripeService["reportUsageBatch"]> =>
  Effect.gen(function*() {
    const { client, meterEventName } = options
    const session = yield* Ref.make(Option.none<Session>())
    const lock = yield* Effect.makeSemaphore(1)

    // One session at a time for the whole Layer; `stale` is a token Stripe just refused.
    const token = (stale?: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const held = yield* Ref.get(session)
        if (
          Option.isSome(held) && held.value.token !== stale &&
          held.value.expiresAt - Duration.toMillis(RENEW_MARGIN) > now
        ) return held.value.token
        const created = yield* client.call((sdk) => sdk.v2.billing.meterEventSession.create())
        const expiresAt = Date.parse(created.expires_at)
        yield* Ref.set(
          session,
          Option.some({
            token: created.authentication_token,
            expiresAt: Number.isNaN(expiresAt) ? now + Duration.toMillis(SESSION_LIFETIME) : expiresAt
          })
        )
        return created.authentication_token
      }))

    const send = (events: ReadonlyArray<Port.MeterEvent>) => {
      const body = {
        events: events.map((e) => ({
          event_name: meterEventName,
          identifier: e.identifier,
          payload: { stripe_customer_id: e.customerId, value: String(e.value) },
          timestamp: new Date(e.timestamp * 1000).toISOString()
        }))
      }
      // One request, one token of the meter event budget (the stream takes 10,000 requests/s live).
      const post = (bearer: string) =>
        client.call((sdk) => sdk.v2.billing.meterEventStream.create(body, { apiKey: bearer }), "meterEvent")
      return Effect.flatMap(token(), (bearer) =>
        post(bearer).pipe(
          // An expired or revoked session token is refused: open a new session and send once more.
          Effect.catchIf((error) => error.reason === "Authentication", () => Effect.flatMap(token(bearer), post))
        ))
    }

    return (events) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // Checked before anything is sent: the stream would accept them and reject them later.
        const valid = yield* Effect.forEach(events, (event) => MeterEvents.validate(event, now))
        if (valid.length < options.minBatch) {
          return yield* Effect.forEach(valid, options.reportUsage, { concurrency: options.concurrency ?? 4 })
        }
        yield* Effect.forEach(
          Chunk.chunksOf(Chunk.fromIterable(valid), Port.MAX_STREAM_BATCH),
          (chunk) => send(Chunk.toReadonlyArray(chunk)),
          { concurrency: options.concurrency ?? 4, discard: true }
        )
        return valid.map((): Port.MeterEventResult => "Accepted")
      }).pipe(Effect.withSpan("StripeAdapter.reportUsageBatch", { attributes: { events: events.length } }))
  })
