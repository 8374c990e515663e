import { Ids } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as LocalServer from "./localServer.js"

// stripe-mock v0.203.0 answers every /v2 path with 404 "Unrecognized request URL", so the v2 meter
// event stream is tested against a local server that answers with the documented shapes:
// POST /v2/billing/meter_event_session -> { object: "v2.billing.meter_event_session",
// authentication_token, expires_at (15 minutes) }; POST /v2/billing/meter_event_stream with
// { events: [{ event_name, identifier, payload, timestamp }] } (at most 100), authenticated with the
// token (docs.stripe.com/api/v2/billing-meter-stream, .../meter-event-sessions/object).

const customerId = Ids.CustomerId.make("cus_stream")
const nowSeconds = () => Math.floor(Date.now() / 1000)
const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    customerId,
    value: i + 1,
    identifier: Ids.MeterEventIdentifier.make(`ab2:cus_stream:key1:2026-12-01:${i + 1}`),
    timestamp: nowSeconds()
  }))

/** A v2 server: sessions numbered tok_1, tok_2, ...; the stream refuses tokens in `expired`. */
const v2Server = (expired: ReadonlySet<string> = new Set()) => {
  let sessions = 0
  return (request: LocalServer.Seen): LocalServer.Answer => {
    if (request.url === "/v2/billing/meter_event_session") {
      sessions++
      return {
        status: 200,
        body: {
          id: `mes_${sessions}`,
          object: "v2.billing.meter_event_session",
          authentication_token: `tok_${sessions}`,
          created: new Date().toISOString(),
          expires_at: new Date(Date.now() + 15 * 60_000).toISOString(),
          livemode: false
        }
      }
    }
    if (request.url === "/v2/billing/meter_event_stream") {
      const token = String(request.headers.authorization).replace("Bearer ", "")
      return expired.has(token)
        ? {
          status: 401,
          body: {
            error: {
              type: "temporary_session_expired",
              code: "billing_meter_event_session_expired",
              message: "Session expired"
            }
          }
        }
        : { status: 200, body: {} }
    }
    // v1 meter events.
    return { status: 200, body: { object: "billing.meter_event", event_name: "api_requests", identifier: "x" } }
  }
}

const stream = (server: LocalServer.LocalServer) =>
  server.seen.filter((s) => s.url === "/v2/billing/meter_event_stream")

describe("reportUsageBatch", () => {
  it.live("a large batch goes through one session and the stream, 100 events a request, identifiers unchanged", () =>
    LocalServer.withAdapter([v2Server()], (stripe, server) =>
      Effect.gen(function*() {
        const batch = events(250)
        const results = yield* stripe.reportUsageBatch(batch)
        assert.lengthOf(results, 250)
        assert.isTrue(results.every((r) => r === "Accepted"))
        assert.deepStrictEqual(server.seen.filter((s) => s.url.startsWith("/v2/billing/meter_event_session")).length, 1)
        const sent = stream(server)
        assert.deepStrictEqual(sent.map((s) => s.headers.authorization), [
          "Bearer tok_1",
          "Bearer tok_1",
          "Bearer tok_1"
        ])
        const bodies = sent.map((s) =>
          JSON.parse(s.body) as {
            readonly events: ReadonlyArray<
              {
                readonly event_name: string
                readonly identifier: string
                readonly payload: Record<string, string>
                readonly timestamp: string
              }
            >
          }
        )
        assert.deepStrictEqual(bodies.map((b) => b.events.length).sort(), [100, 100, 50])
        const all = bodies.flatMap((b) => b.events)
        assert.deepStrictEqual(all.map((e) => e.identifier).sort(), batch.map((e) => e.identifier).sort())
        const first = all.find((e) => e.identifier === batch[0]!.identifier)!
        assert.deepStrictEqual(first, {
          event_name: "api_requests",
          identifier: batch[0]!.identifier,
          payload: { stripe_customer_id: customerId, value: "1" },
          timestamp: new Date(batch[0]!.timestamp * 1000).toISOString()
        })
        // A second batch reuses the session while it is valid.
        yield* stripe.reportUsageBatch(events(60))
        assert.strictEqual(server.seen.filter((s) => s.url === "/v2/billing/meter_event_session").length, 1)
      })))

  it.live("a small batch goes through v1 meter events, one request each", () =>
    LocalServer.withAdapter([v2Server()], (stripe, server) =>
      Effect.gen(function*() {
        const results = yield* stripe.reportUsageBatch(events(3))
        assert.deepStrictEqual(results, ["Accepted", "Accepted", "Accepted"])
        assert.deepStrictEqual(server.seen.map((s) => s.url), [
          "/v1/billing/meter_events",
          "/v1/billing/meter_events",
          "/v1/billing/meter_events"
        ])
      })))

  it.live("an expired session token opens a new session and the request is sent once more", () =>
    LocalServer.withAdapter([v2Server(new Set(["tok_1"]))], (stripe, server) =>
      Effect.gen(function*() {
        yield* stripe.reportUsageBatch(events(60))
        assert.deepStrictEqual(
          server.seen.filter((s) => s.url.startsWith("/v2/")).map((s) => [s.url, s.headers.authorization]),
          [
            ["/v2/billing/meter_event_session", "Bearer sk_test_local"],
            ["/v2/billing/meter_event_stream", "Bearer tok_1"],
            ["/v2/billing/meter_event_session", "Bearer sk_test_local"],
            ["/v2/billing/meter_event_stream", "Bearer tok_2"]
          ]
        )
      })))

  it.live("an invalid event refuses the whole batch before anything is sent", () =>
    LocalServer.withAdapter([v2Server()], (stripe, server) =>
      Effect.gen(function*() {
        const batch = [...events(60), { ...events(1)[0]!, value: 0 }]
        const error = yield* Effect.flip(stripe.reportUsageBatch(batch))
        assert.strictEqual(error.reason, "InvalidRequest")
        assert.lengthOf(server.seen, 0)
      })))
}, { sequential: true })
