import { CustomerRepo, Ids, Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import { batchGetRequests, layer, makeModel, SERVICES } from "../src/bin/bench/services.js"
import { rng, sample, SlidingWindow, TokenBucket, VirtualTime } from "../src/bin/bench/virtual.js"
import { Driver } from "../src/index.js"

// Accepted call times, from `callers` fibers each calling every 10 ms.
const hammer = (limiter: { tryTake: (now: number) => boolean }, callers: number, millis: number) => {
  const time = new VirtualTime(0)
  const accepted: Array<number> = []
  const caller = Effect.gen(function*() {
    while (time.millis() < millis) {
      if (limiter.tryTake(time.millis())) accepted.push(time.millis())
      yield* Effect.sleep(Duration.millis(10))
    }
  })
  const exit = time.run(Effect.all(Array.from({ length: callers }, () => caller), { concurrency: "unbounded" }))
  assert.isTrue(Exit.isSuccess(exit))
  return accepted
}

// The most accepted calls in any window of `width` ms.
const maxInWindow = (times: ReadonlyArray<number>, width: number) => {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= width) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

describe("latency bench model", () => {
  it("virtual time: an hour's sleep takes no real time and moves the clock by exactly an hour", () => {
    const time = new VirtualTime(1_000)
    const started = performance.now()
    const exit = time.run(Effect.as(Effect.sleep(Duration.hours(1)), "done"))
    assert.deepStrictEqual(exit, Exit.succeed("done"))
    assert.strictEqual(time.millis(), 1_000 + 3_600_000)
    assert.isBelow(performance.now() - started, 1_000)
  })

  // API Gateway throttles with a token bucket: 10 requests/s, burst 40 (docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
  it("token bucket (10/s, burst 40): never more than burst + rate x t in any window t, and it does reach the rate", () => {
    const accepted = hammer(new TokenBucket(10, 40), 20, 20_000)
    for (const width of [1, 1_000, 5_000, 10_000]) {
      assert.isAtMost(maxInWindow(accepted, width), 40 + Math.ceil((10 * width) / 1000))
    }
    // 40 at once, then 10 a second: 20 s give 40 + 200 (less one refill still owed).
    assert.isAtLeast(accepted.length, 239)
  })

  // Stripe states limits as requests per second with no burst (docs.stripe.com/rate-limits).
  it("sliding window (100/s): never more than 100 in any one-second window, and 100 in each second", () => {
    const accepted = hammer(new SlidingWindow(100), 50, 5_000)
    assert.strictEqual(maxInWindow(accepted, 1_000), 100)
    assert.strictEqual(accepted.length, 500)
  })

  it("triangular latency samples stay within min and max, mean near (min + mode + max) / 3", () => {
    const random = rng(7)
    const latency = SERVICES.stripeMeterEvents.latency
    let sum = 0
    for (let i = 0; i < 10_000; i++) {
      const x = sample(latency, random())
      assert.isTrue(x >= latency.min && x <= latency.max)
      sum += x
    }
    assert.approximately(sum / 10_000, (latency.min + latency.mode + latency.max) / 3, 3)
  })

  it("a call over the limit is refused as Stripe refuses it (RateLimited), after a latency", () => {
    const time = new VirtualTime(0)
    const model = makeModel(time)
    const calls = Array.from(
      { length: 1_001 },
      () =>
        Effect.either(
          model.call("stripeMeterEvents", Effect.succeed("ok"), () =>
            new Stripe.StripeError({ reason: "RateLimited", message: "429" }))
        )
    )
    const exit = time.run(Effect.all(calls, { concurrency: "unbounded" }))
    assert.isTrue(Exit.isSuccess(exit))
    const results = Exit.isSuccess(exit) ? exit.value : []
    assert.strictEqual(results.filter((r) => r._tag === "Right").length, 1_000)
    assert.strictEqual(model.stats.stripeMeterEvents.throttled, 1)
    assert.strictEqual(model.stats.stripeMeterEvents.accepted.peak, 1_000)
    assert.isAtLeast(time.millis(), SERVICES.stripeMeterEvents.latency.min)
  })

  // BatchGetItem takes at most 100 keys a request, and refuses a key twice in one
  // (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html): the adapter sends
  // one request per 100 distinct ids, in turn.
  it("getMany is one DynamoDB read a 100 distinct ids, in turn, each with DynamoDB's latency", () => {
    const time = new VirtualTime(0)
    const model = makeModel(time)
    const ids = Array.from({ length: 250 }, (_, i) => Ids.CustomerId.make(`cus_b${i}`))
    const reads = model.stats.dynamoRead.accepted
    const program = Effect.gen(function*() {
      const driver = yield* Driver.Driver
      yield* driver.signUp({ customerId: ids[7]!, apiKeyId: Ids.ApiKeyId.make("key_b7") })
      const repo = yield* CustomerRepo.CustomerRepo
      const steps: Array<{ readonly calls: number; readonly millis: number; readonly found: number }> = []
      for (const batch of [[], ids.slice(0, 100), [...ids, ids[0]!, ids[7]!]]) {
        const [calls, millis] = [reads.total, time.millis()]
        const found = yield* repo.getMany(batch)
        steps.push({ calls: reads.total - calls, millis: time.millis() - millis, found: found.size })
      }
      return steps
    }).pipe(Effect.provide(layer(model)))
    const exit = time.run(program)
    assert.isTrue(Exit.isSuccess(exit))
    const [none, hundred, more] = Exit.isSuccess(exit) ? exit.value : []
    assert.deepStrictEqual([none!.calls, hundred!.calls, more!.calls], [0, 1, 3])
    assert.deepStrictEqual([none!.found, hundred!.found, more!.found], [0, 1, 1])
    assert.strictEqual(batchGetRequests([...ids, ids[0]]), 3)
    const { max, min } = SERVICES.dynamoRead.latency
    assert.strictEqual(none!.millis, 0)
    assert.isTrue(hundred!.millis >= min && hundred!.millis <= max)
    assert.isTrue(more!.millis >= 3 * min && more!.millis <= 3 * max, `${more!.millis} ms for three requests`)
  })
})
