import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option, Ref, Stream, TestClock } from "effect"
import * as Customer from "../src/Customer.js"
import { CustomerRepo, CustomerRepoError, type CustomerRepoService, VersionConflict } from "../src/CustomerRepo.js"
import { ApiKeyId, CustomerId } from "../src/Ids.js"
import { PlanAdminError } from "../src/PlanAdmin.js"
import * as Retry from "../src/Retry.js"
import { StripeError, type StripeErrorReason } from "../src/Stripe.js"
import { UsageSourceError } from "../src/UsageSource.js"

// Longer than any policy's whole run of retries: timeouts, capped backoff and jitter included.
const LONG = Duration.minutes(10)

/** A call that counts its attempts and fails with `error` on every one of the first `failures`. */
const failing = <E>(attempts: Ref.Ref<number>, error: E, failures = Infinity) =>
  Ref.updateAndGet(attempts, (n) => n + 1).pipe(
    Effect.flatMap((n) => n <= failures ? Effect.fail(error) : Effect.succeed(`ok after ${n}`))
  )

const stripeError = (reason: StripeErrorReason, retryAfterMillis?: number) =>
  new StripeError({
    reason,
    message: `stripe ${reason}`,
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
  })

/** Run `program` in a fiber, move the test clock by `LONG`, and return its exit and the attempts made. */
const runToEnd = <A, E>(make: (attempts: Ref.Ref<number>) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make(0)
    const fiber = yield* Effect.fork(make(attempts))
    yield* TestClock.adjust(LONG)
    const exit = yield* Fiber.await(fiber)
    return { exit, attempts: yield* Ref.get(attempts) }
  })

/** The typed error an exit failed with. */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) return assert.fail("expected a failure, got a success")
  const error = Cause.failureOption(exit.cause)
  if (Option.isNone(error)) return assert.fail(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return error.value
}

describe("Retry.isTransient", () => {
  it("reads the error's own isTransient", () => {
    for (const reason of ["RateLimited", "Transport", "Server", "Timeout", "Locked"] as const) {
      assert.isTrue(Retry.isTransient(stripeError(reason)), reason)
    }
    for (const reason of ["InvalidRequest", "Authentication", "IdempotencyConflict", "NotFound"] as const) {
      assert.isFalse(Retry.isTransient(stripeError(reason)), reason)
    }
    assert.isTrue(Retry.isTransient(new CustomerRepoError({ reason: "Throttled", message: "x" })))
    assert.isFalse(Retry.isTransient(new CustomerRepoError({ reason: "Invalid", message: "x" })))
    assert.isFalse(
      Retry.isTransient(new VersionConflict({ customerId: CustomerId.make("cus_1"), message: "x" }))
    )
    for (const other of [undefined, null, "Server", 503, new Error("boom"), { isTransient: "yes" }]) {
      assert.isFalse(Retry.isTransient(other))
    }
  })
})

describe("Retry.stripe", () => {
  for (const reason of ["Server", "RateLimited", "Timeout", "Transport", "Locked"] as const) {
    it.effect(`retries ${reason} five times, then fails with it`, () =>
      Effect.gen(function*() {
        const error = stripeError(reason)
        const { attempts, exit } = yield* runToEnd((n) => Retry.stripe(failing(n, error)))
        assert.strictEqual(attempts, 6)
        assert.strictEqual(failureOf(exit), error)
      }))
  }

  it.effect("succeeds when a transient error clears before the bound", () =>
    Effect.gen(function*() {
      const { attempts, exit } = yield* runToEnd((n) => Retry.stripe(failing(n, stripeError("Server"), 5)))
      assert.strictEqual(attempts, 6)
      assert.deepStrictEqual(exit, Exit.succeed("ok after 6"))
    }))

  for (const reason of ["InvalidRequest", "Authentication", "IdempotencyConflict", "NotFound"] as const) {
    it.effect(`does not retry ${reason}`, () =>
      Effect.gen(function*() {
        const error = stripeError(reason)
        const { attempts, exit } = yield* runToEnd((n) => Retry.stripe(failing(n, error)))
        assert.strictEqual(attempts, 1)
        assert.strictEqual(failureOf(exit), error)
      }))
  }

  it.effect("does not retry an error of another kind", () =>
    Effect.gen(function*() {
      const { attempts } = yield* runToEnd((n) => Retry.stripe(failing(n, "not a StripeError")))
      assert.strictEqual(attempts, 1)
    }))

  it.effect("backs off: the first retry waits about 250 ms, not longer than the jitter allows", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(Retry.stripe(failing(attempts, stripeError("Server"))))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("150 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1, "retried before the backoff")
      yield* TestClock.adjust("250 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("caps the delay between attempts", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(Retry.stripe(failing(attempts, stripeError("Server"))))
      // 250 + 500 + 1000 + 2000 + 4000 ms of backoff, 20% jitter at most: all six attempts within 9.3 s.
      yield* TestClock.adjust("9300 millis")
      assert.strictEqual(yield* Ref.get(attempts), 6)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
    }))

  it.effect("honours retryAfterMillis: no second attempt before it", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(Retry.stripe(failing(attempts, stripeError("RateLimited", 5_000), 1)))
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("ok after 2"))
    }))

  it.effect("honours retryAfterMillis on every retry and keeps the bound", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(Retry.stripe(failing(attempts, stripeError("RateLimited", 30_000))))
      yield* TestClock.adjust("29999 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* TestClock.adjust("29999 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* TestClock.adjust(LONG)
      assert.strictEqual(yield* Ref.get(attempts), 6)
      assert.isTrue(Exit.isFailure(yield* Fiber.await(fiber)))
    }))

  it.effect("a retryAfterMillis shorter than the backoff does not shorten it", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(Retry.stripe(failing(attempts, stripeError("RateLimited", 1))))
      yield* TestClock.adjust("150 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("times out a hanging call after 10 s as StripeError Timeout, and retries it", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Retry.stripe(Ref.update(attempts, (n) => n + 1).pipe(Effect.zipRight(Effect.never)))
      )
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      assert.isNull(yield* Fiber.poll(fiber).pipe(Effect.map(Option.getOrNull)))
      // The timeout fires at 10 s, the first retry follows after at most 300 ms of backoff.
      yield* TestClock.adjust("301 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* TestClock.adjust(LONG)
      assert.strictEqual(yield* Ref.get(attempts), 6)
      const error = failureOf(yield* Fiber.await(fiber))
      assert.instanceOf(error, StripeError)
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.message, "timed out")
    }))

  it.effect("a call that hangs once and then answers succeeds", () =>
    Effect.gen(function*() {
      const { attempts, exit } = yield* runToEnd((n) =>
        Retry.stripe(
          Ref.updateAndGet(n, (k) => k + 1).pipe(Effect.flatMap((k) => k === 1 ? Effect.never : Effect.succeed(k)))
        )
      )
      assert.strictEqual(attempts, 2)
      assert.deepStrictEqual(exit, Exit.succeed(2))
    }))

  it.effect("the timeout applies to each attempt, not to the whole run", () =>
    Effect.gen(function*() {
      // Each attempt takes 6 s: three failures and a success take well over 10 s in all.
      const slow = (n: Ref.Ref<number>) =>
        Effect.sleep("6 seconds").pipe(Effect.zipRight(failing(n, stripeError("Server"), 3)))
      const { attempts, exit } = yield* runToEnd((n) => Retry.stripe(slow(n)))
      assert.strictEqual(attempts, 4)
      assert.deepStrictEqual(exit, Exit.succeed("ok after 4"))
    }))
})

describe("Retry.repo", () => {
  it.effect("retries Throttled five times", () =>
    Effect.gen(function*() {
      const error = new CustomerRepoError({ reason: "Throttled", message: "slow down" })
      const { attempts, exit } = yield* runToEnd((n) => Retry.repo(failing(n, error)))
      assert.strictEqual(attempts, 6)
      assert.strictEqual(failureOf(exit), error)
    }))

  it.effect("does not retry Invalid or a VersionConflict", () =>
    Effect.gen(function*() {
      const invalid = yield* runToEnd((n) =>
        Retry.repo(failing(n, new CustomerRepoError({ reason: "Invalid", message: "bad item" })))
      )
      assert.strictEqual(invalid.attempts, 1)
      const conflict = new VersionConflict({ customerId: CustomerId.make("cus_1"), message: "lost" })
      const lost = yield* runToEnd((n) => Retry.repo(failing(n, conflict)))
      assert.strictEqual(lost.attempts, 1)
      assert.strictEqual(failureOf(lost.exit), conflict)
    }))

  it.effect("times out each attempt after 5 s as CustomerRepoError Timeout", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Retry.repo(Ref.update(attempts, (n) => n + 1).pipe(Effect.zipRight(Effect.never)))
      )
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* TestClock.adjust(LONG)
      const error = failureOf(yield* Fiber.await(fiber))
      assert.instanceOf(error, CustomerRepoError)
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(yield* Ref.get(attempts), 6)
    }))
})

describe("Retry.usage", () => {
  it.effect("retries Throttled six times, not BadRequest", () =>
    Effect.gen(function*() {
      const throttled = yield* runToEnd((n) =>
        Retry.usage(failing(n, new UsageSourceError({ reason: "Throttled", message: "429" })))
      )
      assert.strictEqual(throttled.attempts, 7)
      const bad = yield* runToEnd((n) =>
        Retry.usage(failing(n, new UsageSourceError({ reason: "BadRequest", message: "400" })))
      )
      assert.strictEqual(bad.attempts, 1)
    }))

  it.effect("times out each attempt after 10 s as UsageSourceError Timeout", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Retry.usage(Ref.update(attempts, (n) => n + 1).pipe(Effect.zipRight(Effect.never)))
      )
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust(LONG)
      const error = failureOf(yield* Fiber.await(fiber))
      assert.instanceOf(error, UsageSourceError)
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(yield* Ref.get(attempts), 7)
    }))
})

describe("Retry.planAdmin", () => {
  it.effect("retries Server six times, not Conflict or NotFound", () =>
    Effect.gen(function*() {
      const server = yield* runToEnd((n) =>
        Retry.planAdmin(failing(n, new PlanAdminError({ reason: "Server", message: "500" }), 6))
      )
      assert.strictEqual(server.attempts, 7)
      assert.deepStrictEqual(server.exit, Exit.succeed("ok after 7"))
      for (const reason of ["Conflict", "NotFound", "BadRequest"] as const) {
        const once = yield* runToEnd((n) =>
          Retry.planAdmin(failing(n, new PlanAdminError({ reason, message: reason })))
        )
        assert.strictEqual(once.attempts, 1, reason)
      }
    }))

  it.effect("backs off from 500 ms", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Retry.planAdmin(failing(attempts, new PlanAdminError({ reason: "Throttled", message: "429" })))
      )
      yield* TestClock.adjust("399 millis")
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* TestClock.adjust("201 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("times out a hanging call as PlanAdminError Timeout", () =>
    Effect.gen(function*() {
      const { attempts, exit } = yield* runToEnd((n) =>
        Retry.planAdmin(Ref.update(n, (k) => k + 1).pipe(Effect.zipRight(Effect.never)))
      )
      const error = failureOf(exit)
      assert.instanceOf(error, PlanAdminError)
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(attempts, 7)
    }))
})

describe("Retry.service (a port wrapped once)", () => {
  const id = CustomerId.make("cus_1")
  const record = Customer.make({ customerId: CustomerId.make("cus_1"), apiKeyId: ApiKeyId.make("key_1"), now: 0 })
  /** A repository whose reads fail with `error` the first `failures` times, counting attempts. */
  const repoFailing = (attempts: Ref.Ref<number>, error: unknown, failures = Infinity) =>
    ({
      get: () => failing(attempts, error as CustomerRepoError, failures).pipe(Effect.as(Option.some(record))),
      update: () => Ref.update(attempts, (n) => n + 1).pipe(Effect.zipRight(Effect.never))
    }) as unknown as CustomerRepoService

  it.effect("retries a transient failure on the port's schedule, as the call-site wrapper did", () =>
    Effect.gen(function*() {
      const throttled = new CustomerRepoError({ reason: "Throttled", message: "slow down" })
      const once = yield* runToEnd((n) => Retry.service(Retry.customerRepoPort)(repoFailing(n, throttled, 1)).get(id))
      assert.strictEqual(once.attempts, 2)
      assert.deepStrictEqual(once.exit, Exit.succeed(Option.some(record)))
      const always = yield* runToEnd((n) => Retry.service(Retry.customerRepoPort)(repoFailing(n, throttled)).get(id))
      assert.strictEqual(always.attempts, 6)
      const invalid = new CustomerRepoError({ reason: "Invalid", message: "bad item" })
      const never = yield* runToEnd((n) => Retry.service(Retry.customerRepoPort)(repoFailing(n, invalid)).get(id))
      assert.strictEqual(never.attempts, 1)
    }))

  it.effect("wrapped twice (or wrapped by a Layer, then by a flow) still retries once over, not 6 x 6 times", () =>
    Effect.gen(function*() {
      const throttled = new CustomerRepoError({ reason: "Throttled", message: "slow down" })
      const wrap = Retry.service(Retry.customerRepoPort)
      const twice = yield* runToEnd((n) => wrap(wrap(repoFailing(n, throttled))).get(id))
      assert.strictEqual(twice.attempts, 6)
      // Another port's policy replaces the first instead of stacking on it.
      const restacked = yield* runToEnd((n) =>
        Retry.service(Retry.customerRepoSyncPort)(wrap(repoFailing(n, throttled))).get(id)
      )
      assert.strictEqual(restacked.attempts, 6)
      const viaLayer = yield* runToEnd((n) =>
        Effect.flatMap(CustomerRepo, (repo) => wrap(repo).get(id)).pipe(
          Effect.provide(
            Retry.layer(CustomerRepo, Retry.customerRepoPort).pipe(
              Layer.provide(Layer.succeed(CustomerRepo, repoFailing(n, throttled)))
            )
          )
        )
      )
      assert.strictEqual(viaLayer.attempts, 6)
    }))

  it.effect("times out each attempt after 5 s, except the sync's per-customer reads and writes", () =>
    Effect.gen(function*() {
      const timed = yield* runToEnd((n) =>
        Retry.service(Retry.customerRepoPort)(repoFailing(n, undefined, 0)).update(record)
      )
      assert.strictEqual(timed.attempts, 6)
      const error = failureOf(timed.exit)
      assert.instanceOf(error, CustomerRepoError)
      assert.strictEqual(error.reason, "Timeout")
      const attempts = yield* Ref.make(0)
      const untimed = yield* Effect.fork(
        Retry.service(Retry.customerRepoSyncPort)(repoFailing(attempts, undefined, 0)).update(record)
      )
      yield* TestClock.adjust(LONG)
      assert.isNull(yield* Fiber.poll(untimed).pipe(Effect.map(Option.getOrNull)))
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* Fiber.interrupt(untimed)
    }))

  it.effect("getMany is retried and timed as get is: transient failures on the port's schedule, untimed in the sync", () =>
    Effect.gen(function*() {
      const throttled = new CustomerRepoError({ reason: "Throttled", message: "slow down" })
      /** A repository whose getMany fails with `error` the first `failures` times, or hangs once they are spent. */
      const batchFailing = (attempts: Ref.Ref<number>, error: CustomerRepoError, failures: number, hang = false) =>
        ({
          getMany: () =>
            failing(attempts, error, failures).pipe(
              Effect.zipRight(hang ? Effect.never : Effect.succeed(new Map([[id, record]])))
            )
        }) as unknown as CustomerRepoService
      const always = yield* runToEnd((n) =>
        Retry.service(Retry.customerRepoPort)(batchFailing(n, throttled, 9)).getMany([id])
      )
      assert.strictEqual(always.attempts, 6)
      const once = yield* runToEnd((n) =>
        Retry.service(Retry.customerRepoPort)(batchFailing(n, throttled, 1)).getMany([id])
      )
      assert.deepStrictEqual(once.exit, Exit.succeed(new Map([[id, record]])))
      // A hanging read: timed out after 5 s on the port's policy, left to the adapter's bound in the sync's.
      const timed = yield* runToEnd((n) =>
        Retry.service(Retry.customerRepoPort)(batchFailing(n, throttled, 0, true)).getMany([id])
      )
      assert.strictEqual(failureOf(timed.exit).reason, "Timeout")
      const attempts = yield* Ref.make(0)
      const untimed = yield* Effect.fork(
        Retry.service(Retry.customerRepoSyncPort)(batchFailing(attempts, throttled, 0, true)).getMany([id])
      )
      yield* TestClock.adjust(LONG)
      assert.isNull(yield* Fiber.poll(untimed).pipe(Effect.map(Option.getOrNull)))
      assert.strictEqual(yield* Ref.get(attempts), 1)
      yield* Fiber.interrupt(untimed)
    }))

  it("leaves what is not an Effect (a stream of pages) as the port returns it", () => {
    const pages = Stream.make(record)
    const repo = Retry.service(Retry.customerRepoPort)({ list: () => pages } as unknown as CustomerRepoService)
    assert.strictEqual(repo.list(), pages)
  })
})
