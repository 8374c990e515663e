import { Stripe } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import { Emf, LambdaRuntime, Webhook } from "../src/index.js"

const valid = {
  AWS_REGION: "us-east-1",
  STACK_NAME: "billing-test",
  STRIPE_SECRET_KEY: "sk_test_runtime",
  STRIPE_WEBHOOK_SECRET: "whsec_runtime_secret",
  METERED_PRICE_ID: "price_123",
  FREE_USAGE_PLAN_ID: "plan_free",
  METERED_USAGE_PLAN_ID: "plan_metered"
}

// These runtimes are disposed by the tests, not by a SIGTERM to the test process.
const noSignals = { signals: { once: () => undefined } }

// Builds the production Layers against an in-memory environment: nothing here calls the network.
const init = async (
  handler: "webhook" | "schedule",
  env: Record<string, string>
): Promise<{ readonly error: Error | undefined; readonly lines: ReadonlyArray<string> }> => {
  const lines: Array<string> = []
  const config = Layer.setConfigProvider(ConfigProvider.fromJson(env))
  const sink = (line: string) => void lines.push(line)
  try {
    const runtime = handler === "webhook"
      ? await LambdaRuntime.make(
        handler,
        Layer.mergeAll(LambdaRuntime.layerWebhook, Webhook.layerLimitsConfig, Emf.layerConfig("webhook")).pipe(
          Layer.provide(config)
        ),
        sink,
        noSignals
      )
      : await LambdaRuntime.make(
        handler,
        Layer.merge(LambdaRuntime.layerSchedule, Emf.layerConfig("schedule")).pipe(Layer.provide(config)),
        sink,
        noSignals
      )
    await runtime.dispose()
    return { error: undefined, lines }
  } catch (e) {
    return { error: e as Error, lines }
  }
}

const without = (name: keyof typeof valid) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== name))

describe("LambdaRuntime.make", () => {
  it("starts both handlers with a valid environment", async () => {
    assert.isUndefined((await init("webhook", valid)).error)
    assert.isUndefined((await init("schedule", valid)).error)
  })

  it("the schedule does not need the webhook signing secret; the webhook does", async () => {
    assert.isUndefined((await init("schedule", without("STRIPE_WEBHOOK_SECRET"))).error)
    const { error } = await init("webhook", without("STRIPE_WEBHOOK_SECRET"))
    assert.instanceOf(error, LambdaRuntime.LambdaInitError)
    assert.match(error!.message, /STRIPE_WEBHOOK_SECRET_ARN or STRIPE_WEBHOOK_SECRET/)
  })

  it("builds the schedule without any webhook secret: none is read, and its Stripe port verifies nothing", async () => {
    const env = without("STRIPE_WEBHOOK_SECRET")
    assert.notProperty(env, "STRIPE_WEBHOOK_SECRET")
    assert.notProperty(env, "STRIPE_WEBHOOK_SECRET_ARN")
    const lines: Array<string> = []
    const runtime = await LambdaRuntime.make(
      "schedule",
      Layer.merge(LambdaRuntime.layerSchedule, Emf.layerConfig("schedule")).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))
      ),
      (line) => void lines.push(line),
      noSignals
    )
    try {
      const result = await runtime.runPromise(
        Effect.either(
          Effect.flatMap(Stripe.Stripe, (stripe) => stripe.verifyWebhook({ payload: "{}", signature: "t=1,v1=abc" }))
        )
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.include(result.left.message, "webhook signing secret is not configured")
    } finally {
      await runtime.dispose()
    }
    assert.deepStrictEqual(lines, [])
    // The schedule does not read the variable at all, so not even a malformed one stops it.
    assert.isUndefined((await init("schedule", { ...valid, STRIPE_WEBHOOK_SECRET: "secret" })).error)
  })

  const cases: ReadonlyArray<readonly [string, Record<string, string>, RegExp]> = [
    ["no Stripe key", without("STRIPE_SECRET_KEY"), /STRIPE_SECRET_ARN or STRIPE_SECRET_KEY/],
    ["no region", without("AWS_REGION"), /AWS_REGION/],
    ["a malformed concurrency", { ...valid, SYNC_CONCURRENCY: "many" }, /SYNC_CONCURRENCY/],
    ["the same plan twice", { ...valid, METERED_USAGE_PLAN_ID: "plan_free" }, /must differ/],
    ["no metered price", without("METERED_PRICE_ID"), /METERED_PRICE_ID/],
    ["a malformed webhook secret", { ...valid, STRIPE_WEBHOOK_SECRET: "secret" }, /STRIPE_WEBHOOK_SECRET: must look/],
    ["a body limit out of range", { ...valid, WEBHOOK_MAX_BODY_BYTES: "10" }, /WEBHOOK_MAX_BODY_BYTES/],
    ["a malformed Stripe key", { ...valid, STRIPE_SECRET_KEY: "pk_live_oops" }, /STRIPE_SECRET_KEY: must look like sk_/]
  ]
  for (const [name, env, expected] of cases) {
    it(`fails the init with one line naming the variable: ${name}`, async () => {
      const { error, lines } = await init("webhook", env)
      assert.instanceOf(error, LambdaRuntime.LambdaInitError)
      assert.match(error!.message, expected)
      assert.notInclude(error!.message, "\n")
      assert.strictEqual(lines.length, 1)
      assert.deepStrictEqual(JSON.parse(lines[0]!), { level: "ERROR", handler: "webhook", message: error!.message })
      // Secrets are never echoed.
      assert.notInclude(error!.message, "sk_test_runtime")
      assert.notInclude(error!.message, "whsec_runtime_secret")
    })
  }

  it("an invalid METRICS_NAMESPACE fails the schedule's init", async () => {
    const { error } = await init("schedule", { ...valid, METRICS_NAMESPACE: "a:b" })
    assert.match(error!.message, /METRICS_NAMESPACE/)
  })
})
