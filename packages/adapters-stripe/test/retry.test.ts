import { Ids, Retry, Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Exit, Fiber, Layer, Scope } from "effect"
import StripeSdk from "stripe"
import * as LocalServer from "./localServer.js"

const customerId = Ids.CustomerId.make("cus_retry")

const customer = {
  id: "cus_retry",
  object: "customer",
  metadata: { plan: "metered" },
  invoice_settings: { default_payment_method: "pm_123" },
  default_source: null
}

// getCustomer's second request: the attached cards.
const cards = {
  status: 200,
  body: { object: "list", has_more: false, url: "/v1/customers/cus_retry/payment_methods", data: [{ id: "pm_123" }] }
}

const stripeError = (type: string, message: string, code?: string) => ({ error: { type, message, code } })

const adapterOn = (port: number) => LocalServer.adapterOn(port)

/** Run `f` against the adapter pointed at a local server scripted with `answers`. */
const withServer = <A, E>(
  answers: ReadonlyArray<LocalServer.Answer>,
  f: (stripe: Stripe.StripeService, server: LocalServer.LocalServer) => Effect.Effect<A, E>
) => LocalServer.withAdapter(answers, f)

// A 200 answer to GET /v1/subscriptions with rows [id, status, managed_by, price].
const subscriptionList = (rows: ReadonlyArray<readonly [string, string, string | undefined, string]>) => ({
  status: 200,
  body: {
    object: "list",
    has_more: false,
    url: "/v1/subscriptions",
    data: rows.map(([id, status, managedBy, price]) => ({
      id,
      object: "subscription",
      status,
      metadata: managedBy === undefined ? {} : { managed_by: managedBy },
      items: { object: "list", data: [{ price: { id: price } }] }
    }))
  }
})

describe("Retry.stripe around the adapter (local HTTP server)", () => {
  it.live("retries a 429 and succeeds", () =>
    withServer([
      {
        status: 429,
        body: stripeError("invalid_request_error", "Too many requests", "rate_limit"),
        headers: { "retry-after": "0" }
      },
      { status: 200, body: customer },
      cards
    ], (stripe, server) =>
      Effect.gen(function*() {
        const result = yield* Retry.stripe(stripe.getCustomer(customerId))
        assert.strictEqual(result.id, customerId)
        assert.isTrue(result.hasPaymentMethod)
        assert.strictEqual(result.invoiceDefault, "pm_123")
        assert.deepStrictEqual(result.paymentMethods, ["pm_123"])
        assert.deepStrictEqual(result.metadata, { plan: "metered" })
        assert.strictEqual(server.seen.length, 3)
      })))

  it.live("retries a 503 and succeeds", () =>
    withServer([
      { status: 503, body: stripeError("api_error", "Service unavailable") },
      { status: 200, body: customer },
      cards
    ], (stripe, server) =>
      Effect.gen(function*() {
        const result = yield* Retry.stripe(stripe.getCustomer(customerId))
        assert.strictEqual(result.id, customerId)
        assert.strictEqual(server.seen.length, 3)
      })))

  it.live("does not retry a 400", () =>
    withServer([
      { status: 400, body: stripeError("invalid_request_error", "Invalid customer", "parameter_invalid_string") },
      { status: 200, body: customer }
    ], (stripe, server) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(Retry.stripe(stripe.getCustomer(customerId)))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) assert.strictEqual(result.left.reason, "InvalidRequest")
        assert.strictEqual(server.seen.length, 1)
      })))

  it.live("the SDK itself never retries (maxNetworkRetries 0): one 503 is one request", () =>
    withServer(
      [{ status: 503, body: stripeError("api_error", "Service unavailable") }],
      (stripe, server) =>
        Effect.gen(function*() {
          const result = yield* Effect.either(stripe.getCustomer(customerId))
          assert.isTrue(Either.isLeft(result) && result.left.reason === "Server")
          assert.strictEqual(server.seen.length, 1)
        })
    ))

  it.live("closing the Layer's scope aborts its requests in flight", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* LocalServer.make(["hang"])
      const scope = yield* Scope.make()
      const stripe = Context.get(yield* Layer.buildWithScope(adapterOn(server.port), scope), Stripe.Stripe)
      const fiber = yield* Effect.fork(stripe.getCustomer(customerId))
      yield* LocalServer.poll(() => server.seen.length === 1, "2 seconds")
      yield* Scope.close(scope, Exit.void)
      const result = yield* Fiber.join(fiber).pipe(Effect.either)
      assert.isTrue(Either.isLeft(result))
      assert.isTrue(yield* LocalServer.poll(() => server.seen[0]?.abortedByClient === true, "2 seconds"))
    })))

  it.live("a refused connection is Transport", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* LocalServer.closedPort
      const stripe = Context.get(yield* Layer.build(adapterOn(port)), Stripe.Stripe)
      const result = yield* Effect.either(stripe.getCustomer(customerId))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "Transport")
        assert.isTrue(result.left.isTransient)
      }
    })))

  it.live("interrupting a call aborts the HTTP request (the fiber's signal reaches the socket)", () =>
    withServer(["hang"], (_stripe, server) =>
      Effect.gen(function*() {
        const result = yield* _stripe.getCustomer(customerId).pipe(Effect.timeout("150 millis"), Effect.either)
        assert.isTrue(Either.isLeft(result))
        // Wait (bounded) for the server to see the client's close.
        const closed = yield* LocalServer.poll(() => server.seen[0]?.abortedByClient === true, "2 seconds")
        assert.isTrue(closed, "the request was not aborted")
        assert.strictEqual(server.seen.length, 1)
      })))

  it.live("requests carry the SDK's pinned API version and the key", () =>
    withServer([{ status: 200, body: customer }, cards], (stripe, server) =>
      Effect.gen(function*() {
        yield* stripe.getCustomer(customerId)
        assert.strictEqual(server.seen[0]?.headers["stripe-version"], StripeSdk.API_VERSION)
        assert.strictEqual(server.seen[0]?.headers["authorization"], "Bearer sk_test_local")
      })))

  it.live("ensureSubscription creates with the caller's idempotency key when none is live", () =>
    withServer([
      { status: 200, body: { object: "list", data: [], has_more: false, url: "/v1/subscriptions" } },
      { status: 200, body: { id: "sub_local1", object: "subscription" } }
    ], (stripe, server) =>
      Effect.gen(function*() {
        const id = yield* stripe.ensureSubscription({ customerId, idempotencyKey: "promote:cus_retry:seti_1" })
        assert.strictEqual(id, "sub_local1")
        assert.strictEqual(server.seen.length, 2)
        assert.strictEqual(server.seen[0]?.method, "GET")
        assert.strictEqual(server.seen[1]?.method, "POST")
        assert.strictEqual(server.seen[1]?.headers["idempotency-key"], "promote:cus_retry:seti_1")
      })))

  it.live("ensureSubscription never gets a subscription that stopped being live back from a replay", () =>
    withServer([
      subscriptionList([["sub_unpaid1", "unpaid", "augint-billing", "price_local"]]),
      { status: 200, body: { id: "sub_local2", object: "subscription" } }
    ], (stripe, server) =>
      Effect.gen(function*() {
        const id = yield* stripe.ensureSubscription({ customerId, idempotencyKey: "promote:cus_retry:g0:none" })
        assert.strictEqual(id, "sub_local2")
        assert.strictEqual(server.seen[1]?.headers["idempotency-key"], "promote:cus_retry:g0:none:sub_unpaid1")
      })))

  it.live("openSubscriptions lists ours only: the metered price, not ended, managed_by augint-billing", () =>
    withServer([
      subscriptionList([
        ["sub_ours1", "active", "augint-billing", "price_local"],
        ["sub_ours2", "unpaid", "augint-billing", "price_local"],
        ["sub_merchant1", "active", undefined, "price_local"],
        ["sub_otherprice1", "active", "augint-billing", "price_other"],
        ["sub_expired1", "incomplete_expired", "augint-billing", "price_local"]
      ])
    ], (stripe) =>
      Effect.gen(function*() {
        assert.deepStrictEqual<ReadonlyArray<string>>(yield* stripe.openSubscriptions(customerId), [
          "sub_ours1",
          "sub_ours2"
        ])
      })))

  it.live("openSubscriptions of a deleted customer is empty; another missing resource is an error", () =>
    Effect.gen(function*() {
      const missing = (message: string) => ({
        status: 404,
        body: stripeError("invalid_request_error", message, "resource_missing")
      })
      const gone = yield* withServer(
        [missing("No such customer: 'cus_retry'")],
        (stripe) => stripe.openSubscriptions(customerId)
      )
      assert.deepStrictEqual(gone, [])
      const other = yield* withServer(
        [missing("No such price: 'price_local'")],
        (stripe) => Effect.either(stripe.openSubscriptions(customerId))
      )
      assert.isTrue(Either.isLeft(other) && other.left.reason === "NotFound")
    }))
})
