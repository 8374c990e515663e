// GetUsage parsing against response bodies in the shape the API Gateway reference documents, served
// from a local HTTP server (moto has no GetUsage).
import { Ids, UsageSource, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Fiber, Layer, TestClock } from "effect"
import { ApiGatewayUsageSource } from "../src/index.js"
import { moto } from "./support/Servers.js"
import { type Reply, serve } from "./support/UsageServer.js"

const plan = Ids.UsagePlanId.make("ywp8lo")
const d1 = UtcDay.UtcDay.make("2016-06-30")
const d3 = UtcDay.add(d1, 2)
const unlimited = { perSecond: 100_000, burst: 100_000 }

const withServer = <A, E>(
  handler: (url: URL) => Reply,
  body: (source: UsageSource.UsageSourceService, requests: Array<URL>) => Effect.Effect<A, E>
) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* serve(handler)
    const source = yield* built(
      ApiGatewayUsageSource.layer({ client: { ...moto, endpoint: server.endpoint }, rateLimit: unlimited })
    )
    return yield* body(source, server.requests)
  }))

// The service, its Layer kept open (client and rate limiter) until the test's scope closes.
const built = (layer: Layer.Layer<UsageSource.UsageSource>) =>
  Effect.map(Layer.build(layer), Context.get(UsageSource.UsageSource))

const reasonOf = (e: Either.Either<unknown, UsageSource.UsageSourceError>) => Either.isLeft(e) ? e.left.reason : "none"

describe("ApiGatewayUsageSource", () => {
  it.effect("reads the documented body: one pair per day, `used` first, unknown keys kept", () =>
    withServer(() => ({
      status: 200,
      body: {
        _links: { self: { href: "/usageplans/ywp8lo/usage?startDate=2016-06-30&endDate=2016-07-02" } },
        usagePlanId: "ywp8lo",
        startDate: "2016-06-30",
        endDate: "2016-07-02",
        values: {
          vmrmp9bgg6: [[10, 4990], [0, 5000], [7, 4993]],
          someoneElse: [[1, 99], [2, 98], [3, 97]]
        }
      }
    }), (source, requests) =>
      Effect.gen(function*() {
        const page = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d3 })
        assert.deepStrictEqual(page, {
          items: [
            { apiKeyId: Ids.ApiKeyId.make("vmrmp9bgg6"), counts: [10, 0, 7] },
            { apiKeyId: Ids.ApiKeyId.make("someoneElse"), counts: [1, 2, 3] }
          ],
          position: undefined
        })
        assert.strictEqual(requests.length, 1)
        const url = requests[0]!
        assert.strictEqual(url.pathname, "/usageplans/ywp8lo/usage")
        assert.strictEqual(url.searchParams.get("startDate"), "2016-06-30")
        assert.strictEqual(url.searchParams.get("endDate"), "2016-07-02")
        assert.strictEqual(url.searchParams.get("limit"), "500")
        assert.isNull(url.searchParams.get("keyId"))
      })))

  it.effect("follows `position` across pages", () =>
    withServer(
      (url) =>
        url.searchParams.get("position") === null
          ? {
            status: 200,
            body: { usagePlanId: "ywp8lo", position: "c2Vjb25k", values: { keyA: [[1, 0], [2, 0], [3, 0]] } }
          }
          : { status: 200, body: { usagePlanId: "ywp8lo", values: { keyB: [[4, 0], [5, 0], [6, 0]] } } },
      (source, requests) =>
        Effect.gen(function*() {
          const first = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d3, limit: 1 })
          assert.strictEqual(first.position, "c2Vjb25k")
          assert.deepStrictEqual(first.items.map((i) => i.apiKeyId), ["keyA"])
          const second = yield* source.getUsagePage({
            usagePlanId: plan,
            startDay: d1,
            endDay: d3,
            position: "c2Vjb25k"
          })
          assert.isUndefined(second.position)
          assert.deepStrictEqual(second.items, [{ apiKeyId: Ids.ApiKeyId.make("keyB"), counts: [4, 5, 6] }])
          assert.strictEqual(requests[0]!.searchParams.get("limit"), "1")
          assert.strictEqual(requests[1]!.searchParams.get("position"), "c2Vjb25k")
        })
    ))

  it.effect("days without traffic are zero: empty values, short and empty day lists", () =>
    withServer(
      (url) =>
        url.searchParams.get("keyId") === null
          ? { status: 200, body: { usagePlanId: "ywp8lo", values: { short: [[9, 1]], none: [] } } }
          : { status: 200, body: { usagePlanId: "ywp8lo", startDate: "2016-06-30", endDate: "2016-07-02" } },
      (source) =>
        Effect.gen(function*() {
          const page = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d3 })
          assert.deepStrictEqual(page.items.map((i) => i.counts), [[9, 0, 0], [0, 0, 0]])
          const empty = yield* source.getUsagePage({
            usagePlanId: plan,
            startDay: d1,
            endDay: d3,
            apiKeyId: Ids.ApiKeyId.make("k1")
          })
          assert.deepStrictEqual(empty, { items: [], position: undefined })
        })
    ))

  it.effect("checks the range and the limit before calling", () =>
    withServer(() => ({ status: 500, body: {} }), (source, requests) =>
      Effect.gen(function*() {
        const tooLong = yield* Effect.either(source.getUsagePage({
          usagePlanId: plan,
          startDay: d1,
          endDay: UtcDay.add(d1, UsageSource.MAX_RANGE_DAYS)
        }))
        assert.strictEqual(reasonOf(tooLong), "BadRequest")
        const ninety = UtcDay.add(d1, UsageSource.MAX_RANGE_DAYS - 1)
        assert.strictEqual(UtcDay.between(d1, ninety).length, 90)
        const backwards = yield* Effect.either(source.getUsagePage({ usagePlanId: plan, startDay: d3, endDay: d1 }))
        assert.strictEqual(reasonOf(backwards), "BadRequest")
        const bigPage = yield* Effect.either(
          source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d1, limit: 501 })
        )
        assert.strictEqual(reasonOf(bigPage), "BadRequest")
        assert.strictEqual(requests.length, 0)
      })))

  it.effect("classifies API Gateway's errors", () => {
    const replies: Record<string, Reply> = {
      throttled: { status: 429, errorType: "TooManyRequestsException", body: { message: "Too Many Requests" } },
      notFound: { status: 404, errorType: "NotFoundException", body: { message: "Invalid Usage Plan ID specified" } },
      server: { status: 503, errorType: "ServiceUnavailableException", body: { message: "unavailable" } },
      bad: { status: 400, errorType: "BadRequestException", body: { message: "bad" } },
      malformed: { status: 200, body: { values: { keyA: [["many", 0]] } } },
      negative: { status: 200, body: { values: { keyA: [[-1, 0]] } } },
      tooManyDays: { status: 200, body: { values: { keyA: [[1, 0], [1, 0]] } } }
    }
    return withServer((url) => replies[url.pathname.split("/")[2]!]!, (source) =>
      Effect.gen(function*() {
        const reason = (name: string) =>
          Effect.either(source.getUsagePage({ usagePlanId: Ids.UsagePlanId.make(name), startDay: d1, endDay: d1 }))
            .pipe(
              Effect.map(reasonOf)
            )
        assert.strictEqual(yield* reason("throttled"), "Throttled")
        assert.strictEqual(yield* reason("notFound"), "NotFound")
        assert.strictEqual(yield* reason("server"), "Server")
        assert.strictEqual(yield* reason("bad"), "BadRequest")
        assert.strictEqual(yield* reason("malformed"), "BadRequest")
        assert.strictEqual(yield* reason("negative"), "BadRequest")
        assert.strictEqual(yield* reason("tooManyDays"), "BadRequest")
      }))
  })

  it.scoped("an unreachable endpoint is a transient Transport error", () =>
    Effect.gen(function*() {
      const source = yield* built(ApiGatewayUsageSource.layer({ client: { ...moto, endpoint: "http://127.0.0.1:9" } }))
      const result = yield* Effect.either(source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d1 }))
      assert.isTrue(Either.isLeft(result) && result.left.reason === "Transport" && result.left.isTransient)
    }))

  it.effect("the default budget: a burst of 40 requests, then 10 per second", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* serve(() => ({ status: 200, body: { values: {} } }))
      const source = yield* built(ApiGatewayUsageSource.layer({ client: { ...moto, endpoint: server.endpoint } }))
      const call = source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d1 })
      const settle = Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
      yield* Effect.all(Array.from({ length: 40 }, () => call), { concurrency: 8, discard: true })
      assert.strictEqual(server.requests.length, 40)
      const more = yield* Effect.fork(
        Effect.all(Array.from({ length: 10 }, () => call), { concurrency: "unbounded", discard: true })
      )
      yield* settle
      assert.strictEqual(server.requests.length, 40, "the 41st request waits for a token")
      // Ten tokens take a second of (test) time to refill, one every 100 ms.
      let steps = 0
      while (server.requests.length < 50 && steps < 40) {
        yield* TestClock.adjust("100 millis")
        yield* settle
        steps++
      }
      yield* Fiber.join(more)
      assert.strictEqual(server.requests.length, 50)
      assert.isAtLeast(steps, 9)
      assert.isAtMost(steps, 11)
    })))
})
