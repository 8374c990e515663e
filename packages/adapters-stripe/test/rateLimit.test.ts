import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, TestClock } from "effect"
import { StripeClient } from "../src/index.js"

// `call` accepts any promise, so the limiter is observed on the TestClock without a network.
const started = (client: StripeClient.StripeClientService, count: number, budget: StripeClient.Budget) =>
  Effect.gen(function*() {
    let done = 0
    const fiber = yield* Effect.fork(
      Effect.all(
        Array.from({ length: count }, () => client.call(() => Promise.resolve(done++), budget)),
        { concurrency: "unbounded" }
      )
    )
    return { fiber, done: () => done }
  })

const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("rate limits", () => {
  it.scoped("requests are limited per second across all calls of one client", () =>
    Effect.gen(function*() {
      const client = yield* StripeClient.make({ apiKey: Redacted.make("sk_live_x"), requestsPerSecond: 2 })
      const run = yield* started(client, 4, "request")
      yield* settle
      assert.strictEqual(run.done(), 2)
      yield* TestClock.adjust("500 millis")
      yield* settle
      assert.strictEqual(run.done(), 3)
      yield* TestClock.adjust("500 millis")
      yield* settle
      assert.strictEqual(run.done(), 4)
      yield* Fiber.join(run.fiber)
    }))

  it.scoped("live: meter events have their own budget", () =>
    Effect.gen(function*() {
      const client = yield* StripeClient.make({
        apiKey: Redacted.make("sk_live_x"),
        requestsPerSecond: 1,
        meterEventsPerSecond: 3
      })
      assert.strictEqual(client.mode, "live")
      const requests = yield* started(client, 2, "request")
      const events = yield* started(client, 3, "meterEvent")
      yield* settle
      assert.strictEqual(requests.done(), 1)
      assert.strictEqual(events.done(), 3)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(requests.fiber)
      yield* Fiber.join(events.fiber)
    }))

  it.scoped("sandbox: meter events share the one budget (25/s by default)", () =>
    Effect.gen(function*() {
      const client = yield* StripeClient.make({ apiKey: Redacted.make("sk_test_x") })
      assert.strictEqual(client.mode, "sandbox")
      const requests = yield* started(client, 20, "request")
      const events = yield* started(client, 10, "meterEvent")
      yield* settle
      assert.strictEqual(requests.done() + events.done(), StripeClient.defaultLimits.sandbox.requests)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(requests.fiber)
      yield* Fiber.join(events.fiber)
    }))

  it("the mode follows the key unless given", () => {
    assert.strictEqual(StripeClient.modeOf(Redacted.make("sk_test_abc")), "sandbox")
    assert.strictEqual(StripeClient.modeOf(Redacted.make("rk_test_abc")), "sandbox")
    assert.strictEqual(StripeClient.modeOf(Redacted.make("sk_live_abc")), "live")
  })

  // Issue 9: events whose livemode differs from the key's mode are refused; the mode is the key's prefix.
  it.effect("livemode is the key's: sk_live_/rk_live_ live; sk_test_/rk_test_ not, whatever rate limits apply", () =>
    Effect.scoped(Effect.gen(function*() {
      assert.isTrue(StripeClient.isLiveKey(Redacted.make("sk_live_abc")))
      assert.isTrue(StripeClient.isLiveKey(Redacted.make("rk_live_abc")))
      assert.isFalse(StripeClient.isLiveKey(Redacted.make("sk_test_abc")))
      assert.isFalse(StripeClient.isLiveKey(Redacted.make("rk_test_abc")))
      const sandboxLimits = yield* StripeClient.make({ apiKey: Redacted.make("sk_live_x"), mode: "sandbox" })
      assert.isTrue(sandboxLimits.livemode)
      assert.isFalse((yield* StripeClient.make({ apiKey: Redacted.make("sk_test_x") })).livemode)
    })))
})
