// GetUsage parsing against response bodies in the shape the API Gateway reference documents, served
// from a local HTTP server (moto has no GetUsage).
import { Ids, UsageSource, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Fiber, Layer, TestClock } from "effect"
import { ApiGatewayUsageSource } from "../src/index.js"
import { moto } from "./support/Servers.js"
import * as UsageServer from "./support/UsageServer.js"
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

const key = (id: string) => Ids.ApiKeyId.make(id)
const d2 = UtcDay.add(d1, 1)
// Requests on the first and last day, the last day only, the middle day only.
const spread: ReadonlyArray<UsageServer.Plan["seeds"][number]> = [
  { apiKeyId: key("both"), day: d1, units: 5 },
  { apiKeyId: key("both"), day: d3, units: 7 },
  { apiKeyId: key("last"), day: d3, units: 9 },
  { apiKeyId: key("middle"), day: d2, units: 4 }
]

/** The model server holding one plan, `plan`. */
const withModel = <A, E>(
  model: UsageServer.Plan,
  body: (source: UsageSource.UsageSourceService, requests: Array<URL>) => Effect.Effect<A, E>
) => withServer((url) => UsageServer.answer(plan, model, url), body)

/** Counts by key; a key the page left out made no requests. */
const countsOf = (page: UsageSource.UsagePage, keys: ReadonlyArray<string>) =>
  Object.fromEntries(keys.map((k) => [k, page.items.find((i) => i.apiKeyId === k)?.counts ?? [0, 0, 0]]))

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

  // Days without requests "do not come back in the same form" (issue 14): each plausible form, the
  // worst being a day left out of the list wherever it falls. Each key must get its counts on its days.
  for (const idleDay of UsageServer.idleDays) {
    it.effect(`days without requests (${idleDay}) are zero and no count moves to another day`, () =>
      withModel(
        { seeds: [...spread, { apiKeyId: key("idle"), day: d1, units: 0 }], idleDay },
        (source, requests) =>
          Effect.gen(function*() {
            const page = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d3 })
            assert.deepStrictEqual(countsOf(page, ["both", "last", "middle", "idle"]), {
              both: [5, 0, 7],
              last: [0, 0, 9],
              middle: [0, 4, 0],
              idle: [0, 0, 0]
            })
            // A shortened list costs one request per day of the range, with `keyId`, for that key only.
            const perDay = requests.filter((u) => u.searchParams.get("keyId") !== null)
            assert.strictEqual(perDay.length, idleDay === "omitted" ? 9 : 0)
            assert.isTrue(perDay.every((u) => u.searchParams.get("startDate") === u.searchParams.get("endDate")))
          })
      ))
  }

  it.effect("a list shorter than the range is never read from its first day", () =>
    withServer(
      (url) =>
        url.searchParams.get("keyId") === null
          ? { status: 200, body: { startDate: d1, endDate: d3, values: { short: [[9, 1]], none: [] } } }
          : url.searchParams.get("startDate") === d3
          ? { status: 200, body: { values: { short: [[9, 1]] } } }
          : { status: 200, body: { values: {} } },
      (source) =>
        Effect.gen(function*() {
          const page = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d3 })
          assert.deepStrictEqual(countsOf(page, ["short", "none"]), { short: [0, 0, 9], none: [0, 0, 0] })
        })
    ))

  it.effect("keyId: only that key; a key with no requests is not listed", () =>
    withModel({ seeds: spread }, (source) =>
      Effect.gen(function*() {
        const one = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d3, apiKeyId: key("last") })
        assert.deepStrictEqual(one, { items: [{ apiKeyId: key("last"), counts: [0, 0, 9] }], position: undefined })
        const none = yield* source.getUsagePage({ usagePlanId: plan, startDay: d1, endDay: d1, apiKeyId: key("last") })
        assert.deepStrictEqual(none, { items: [], position: undefined })
      })))

  it.effect("pages of `limit` keys follow the opaque `position`; every key once", () =>
    withModel({
      seeds: Array.from({ length: 60 }, (_, i) => ({ apiKeyId: key(`k${i}`), day: d3, units: i + 1 })),
      idleDay: "zeroPair"
    }, (source, requests) =>
      Effect.gen(function*() {
        const seen: Array<UsageSource.KeyUsage> = []
        let position: string | undefined = undefined
        do {
          const page: UsageSource.UsagePage = yield* source.getUsagePage({
            usagePlanId: plan,
            startDay: d1,
            endDay: d3,
            limit: 25,
            ...(position === undefined ? {} : { position })
          })
          assert.isAtMost(page.items.length, 25)
          seen.push(...page.items)
          position = page.position
        } while (position !== undefined)
        assert.strictEqual(requests.length, 3)
        assert.strictEqual(new Set(seen.map((k) => k.apiKeyId)).size, 60)
        assert.deepStrictEqual(seen.find((k) => k.apiKeyId === key("k59"))?.counts, [0, 0, 60])
      })))

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
      tooManyDays: { status: 200, body: { values: { keyA: [[1, 0], [1, 0]] } } },
      // One number alone could be `used` or `remaining`: never billed as either.
      single: { status: 200, body: { values: { keyA: [[5]] } } },
      triple: { status: 200, body: { values: { keyA: [[5, 1, 2]] } } },
      textRemaining: { status: 200, body: { values: { keyA: [[5, "many"]] } } },
      otherRange: { status: 200, body: { startDate: "2016-07-01", endDate: "2016-07-01", values: {} } }
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
        assert.strictEqual(yield* reason("single"), "BadRequest")
        assert.strictEqual(yield* reason("triple"), "BadRequest")
        assert.strictEqual(yield* reason("textRemaining"), "BadRequest")
        assert.strictEqual(yield* reason("otherRange"), "BadRequest")
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

describe("the GetUsage model server", () => {
  const month = UtcDay.UtcDay.make("2026-09-01")
  const ask = (model: UsageServer.Plan, query: string) =>
    UsageServer.answer("cqdia0", model, new URL(`http://x/usageplans/cqdia0/usage?${query}`))

  it("remaining counts down over the quota period: the live body of floci-io/floci#3561", () => {
    const seeds = [137, 123, 84].map((units, i) => ({ apiKeyId: key("58v93i1885"), day: UtcDay.add(month, i), units }))
    const reply = ask({ seeds }, "startDate=2026-09-01&endDate=2026-09-03")
    assert.deepStrictEqual(reply.body, {
      usagePlanId: "cqdia0",
      startDate: "2026-09-01",
      endDate: "2026-09-03",
      values: { "58v93i1885": [[137, 999863], [123, 999740], [84, 999656]] }
    })
    // A range that starts later in the period still counts the period's earlier days.
    const later = ask({ seeds, idleDay: "zeroPair" }, "startDate=2026-09-03&endDate=2026-09-04")
    assert.deepStrictEqual((later.body as { values: unknown }).values, { "58v93i1885": [[84, 999656], [0, 999656]] })
  })

  it("limit: 25 by default, 1-500, else BadRequestException; a bad position is refused", () => {
    const seeds = Array.from({ length: 30 }, (_, i) => ({ apiKeyId: key(`k${i}`), day: month, units: 1 }))
    const first = ask({ seeds }, "startDate=2026-09-01&endDate=2026-09-01").body as {
      values: object
      position?: string
    }
    assert.strictEqual(Object.keys(first.values).length, 25)
    assert.isString(first.position)
    assert.strictEqual(ask({ seeds }, "startDate=2026-09-01&endDate=2026-09-01&limit=501").status, 400)
    assert.strictEqual(ask({ seeds }, "startDate=2026-09-01&endDate=2026-09-01&limit=0").status, 400)
    assert.strictEqual(ask({ seeds }, "startDate=2026-09-01&endDate=2026-09-01&position=zzz").status, 400)
  })
})
