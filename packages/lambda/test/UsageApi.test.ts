// The usage endpoint on the Lambda shell with REST v1 events (API key identity, IAM identity) over
// the in-memory ports: routes, refusals, and the per-container cache that bounds Stripe and API Gateway calls.
import { BillingConfig, CustomerSettings, HandleEvent, Ids, UsageSync } from "@augint-billing/core"
import { Driver, Memory, StripeEvents } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import type { APIGatewayProxyEvent } from "aws-lambda"
import { Clock, Effect, Layer, TestClock } from "effect"
import { UsageApi } from "../src/index.js"
import { restV1 } from "./support/Events.js"

const T0 = Date.parse("2026-03-31T10:00:00.000Z")
const cus = (n: number) => Ids.CustomerId.make(`cus_U${n}`)
const key = (n: number) => Ids.ApiKeyId.make(`keyU${n}`)

// A GET of the usage route as API Gateway sends it: with the caller's API key id, or IAM-signed.
const request = (
  who: { readonly apiKeyId?: string; readonly userArn?: string; readonly customerId?: string },
  method = "GET"
): APIGatewayProxyEvent => {
  const base = restV1({ body: "", method })
  return {
    ...base,
    body: null,
    resource: who.customerId === undefined ? "/usage" : "/customers/{customerId}/usage",
    pathParameters: who.customerId === undefined ? null : { customerId: who.customerId },
    requestContext: {
      ...base.requestContext,
      identity: {
        ...base.requestContext.identity,
        apiKeyId: who.apiKeyId ?? null,
        userArn: who.userArn ?? null,
        caller: who.userArn ?? null
      }
    }
  }
}

const base = Layer.mergeAll(
  Memory.layerMemory(),
  BillingConfig.layer(),
  CustomerSettings.layer({ cardLinkSuccessUrl: "https://seller.example/card-added" })
)
const TestLayer = Layer.provideMerge(UsageApi.layerCache, base)

const call = (event: APIGatewayProxyEvent) =>
  Effect.map(UsageApi.handle(event), (r) => ({ ...r, json: JSON.parse(r.body) as Record<string, unknown> }))

const signUp = (n: number) =>
  Effect.flatMap(Driver.Driver, (d) => d.signUp({ customerId: cus(n), apiKeyId: key(n), paymentMethods: 1 }))

const promote = (n: number) =>
  Effect.gen(function*() {
    const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    yield* HandleEvent.handleEvent(StripeEvents.setupIntentSucceeded({ customerId: cus(n), created }))
  })

describe("UsageApi", () => {
  it.effect("the caller's API key names the customer: a free customer gets its usage and a card link", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1)
      yield* driver.addUsage({ apiKeyId: key(1), units: 42 })
      const response = yield* call(request({ apiKeyId: key(1) }))
      assert.strictEqual(response.statusCode, 200)
      assert.strictEqual(response.headers["cache-control"], "private, max-age=60")
      assert.strictEqual(response.json["customerId"], cus(1))
      assert.strictEqual(response.json["periodUnits"], 42)
      assert.deepStrictEqual(response.json["freeQuota"], { limit: 10_000, period: "MONTH", remaining: 9_958 })
      assert.match((response.json["cardLink"] as { url: string }).url, /^https:\/\/checkout\.stripe\.com\//)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the seller's IAM-signed request names any customer by id; a metered one gets its projected invoice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(2)
      yield* promote(2)
      yield* driver.addUsage({ apiKeyId: key(2), units: 10 })
      const response = yield* call(
        request({ customerId: cus(2), userArn: "arn:aws:iam::123456789012:role/seller-backend" })
      )
      assert.strictEqual(response.statusCode, 200)
      assert.strictEqual(response.json["plan"], "METERED")
      assert.strictEqual(response.json["unitsToReport"], 10)
      assert.isObject(response.json["projectedInvoice"])
      assert.isUndefined(response.json["cardLink"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a capped customer's key sees its cap and that it is capped (issue 12)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(3)
      yield* promote(3)
      yield* driver.addUsage({ apiKeyId: key(3), units: 60 })
      yield* UsageSync.syncUsage()
      const response = yield* call(request({ apiKeyId: key(3) }))
      assert.strictEqual(response.statusCode, 200)
      assert.deepStrictEqual(response.json["cap"], { units: 50, capped: true, period: "2026-03" })
      assert.deepStrictEqual(yield* driver.plansOf(key(3)), [Ids.UsagePlanId.make("CAPPED")])
    }).pipe(Effect.provide(Layer.provideMerge(
      UsageApi.layerCache,
      Layer.mergeAll(
        Memory.layerMemory({ usagePlans: ["FREE_10K", "METERED", "CAPPED"] }),
        BillingConfig.layer({ cappedPlanId: Ids.UsagePlanId.make("CAPPED"), spendCapUnits: 50 }),
        CustomerSettings.layer()
      )
    ))))

  it.effect("refuses what API Gateway did not vouch for, and names no customer it does not know", () =>
    Effect.gen(function*() {
      yield* signUp(3)
      // The id route mounted without IAM authorization: no userArn, so no customer is read.
      assert.strictEqual((yield* call(request({ customerId: cus(3) }))).statusCode, 403)
      assert.strictEqual((yield* call(request({ customerId: cus(3), apiKeyId: key(3) }))).statusCode, 403)
      assert.strictEqual((yield* call(request({}))).statusCode, 403)
      assert.strictEqual((yield* call(request({ apiKeyId: key(3) }, "POST"))).statusCode, 405)
      assert.strictEqual(
        (yield* call(request({ customerId: "../x", userArn: "arn:aws:iam::1:user/a" }))).statusCode,
        400
      )
      const unknown = yield* call(request({ apiKeyId: "keyNobody" }))
      assert.strictEqual(unknown.statusCode, 404)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a busy caller costs one lookup per minute per container, concurrent requests included", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(4)
      yield* promote(4)
      yield* driver.resetCalls
      yield* Effect.forEach(Array.from({ length: 50 }), () => call(request({ apiKeyId: key(4) })), {
        concurrency: 10
      })
      yield* TestClock.adjust("59 seconds")
      yield* call(request({ apiKeyId: key(4) }))
      let calls = yield* driver.calls
      assert.strictEqual(calls["UsageSource.getUsagePage"], 1)
      assert.strictEqual(calls["Stripe.previewInvoice"], 1)
      yield* TestClock.adjust("2 seconds")
      yield* call(request({ apiKeyId: key(4) }))
      calls = yield* driver.calls
      assert.strictEqual(calls["UsageSource.getUsagePage"], 2)
      assert.strictEqual(calls["Stripe.previewInvoice"], 2)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a failed lookup answers 503 with Retry-After, and is retried only after 10 seconds", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(5)
      // A defect (not retried by the port's policy), as a crash of the table client would be.
      yield* driver.failNext("CustomerRepo.findByApiKey", { error: new Error("table unreachable"), die: true })
      const failed = yield* call(request({ apiKeyId: key(5) }))
      assert.strictEqual(failed.statusCode, 503)
      assert.strictEqual(failed.headers["retry-after"], "10")
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* call(request({ apiKeyId: key(5) }))).statusCode, 503)
      yield* TestClock.adjust("6 seconds")
      assert.strictEqual((yield* call(request({ apiKeyId: key(5) }))).statusCode, 200)
    }).pipe(Effect.provide(TestLayer)))
})
