import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { StripeAdapter, StripeConfig } from "../src/index.js"

const complete = {
  STRIPE_SECRET_KEY: "sk_test_config123",
  STRIPE_WEBHOOK_SECRET: "whsec_config123",
  METERED_PRICE_ID: "price_config"
}

const load = <E>(env: Record<string, string>, sources: StripeConfig.SecretSources<E> = {}) =>
  StripeConfig.loadOptions(sources).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.either
  )

const messageOf = <A, E>(result: Either.Either<A, E>): string =>
  Either.isLeft(result) && typeof result.left === "object" && result.left !== null && "message" in result.left
    ? String(result.left.message)
    : "no error"

describe("configuration", () => {
  it.effect("reads a complete environment, secrets redacted", () =>
    Effect.gen(function*() {
      const result = yield* load({
        ...complete,
        STRIPE_API_HOST: "127.0.0.1",
        STRIPE_API_PORT: "12111",
        STRIPE_API_PROTOCOL: "http",
        STRIPE_REQUESTS_PER_SECOND: "10"
      })
      assert.isTrue(Either.isRight(result))
      if (Either.isRight(result)) {
        const options = result.right
        assert.strictEqual(Redacted.value(options.apiKey), "sk_test_config123")
        assert.notInclude(String(options.apiKey), "sk_test_config123")
        assert.strictEqual(options.webhookSecret && Redacted.value(options.webhookSecret), "whsec_config123")
        assert.deepStrictEqual(options.meteredPrice, { priceId: "price_config" })
        assert.strictEqual(options.host, "127.0.0.1")
        assert.strictEqual(options.port, 12111)
        assert.strictEqual(options.protocol, "http")
        assert.strictEqual(options.requestsPerSecond, 10)
      }
    }))

  it.effect("a missing STRIPE_SECRET_KEY is one message naming it", () =>
    Effect.gen(function*() {
      const { STRIPE_SECRET_KEY: _, ...env } = complete
      const message = messageOf(yield* load(env))
      assert.include(message, "STRIPE_SECRET_KEY")
      assert.notInclude(message, "STRIPE_WEBHOOK_SECRET")
    }))

  it.effect("a malformed secret is named without printing its value", () =>
    Effect.gen(function*() {
      const message = messageOf(yield* load({ ...complete, STRIPE_SECRET_KEY: "pk_live_oops_publishable" }))
      assert.include(message, "STRIPE_SECRET_KEY")
      assert.notInclude(message, "pk_live_oops_publishable")
      assert.include(messageOf(yield* load({ ...complete, STRIPE_WEBHOOK_SECRET: "secret" })), "STRIPE_WEBHOOK_SECRET")
    }))

  it.effect("API_USAGE_PRODUCT_ID stands in for METERED_PRICE_ID; neither is an error naming both", () =>
    Effect.gen(function*() {
      const { METERED_PRICE_ID: _, ...env } = complete
      const withProduct = yield* load({ ...env, API_USAGE_PRODUCT_ID: "prod_api" })
      assert.isTrue(Either.isRight(withProduct))
      if (Either.isRight(withProduct)) assert.deepStrictEqual(withProduct.right.meteredPrice, { productId: "prod_api" })
      const message = messageOf(yield* load(env))
      assert.include(message, "METERED_PRICE_ID")
      assert.include(message, "API_USAGE_PRODUCT_ID")
    }))

  it.effect("malformed optional variables are named", () =>
    Effect.gen(function*() {
      assert.include(messageOf(yield* load({ ...complete, STRIPE_API_PORT: "http" })), "STRIPE_API_PORT")
      assert.include(messageOf(yield* load({ ...complete, STRIPE_API_PROTOCOL: "ftp" })), "STRIPE_API_PROTOCOL")
      assert.include(messageOf(yield* load({ ...complete, STRIPE_MODE: "prod" })), "STRIPE_MODE")
      assert.include(
        messageOf(yield* load({ ...complete, STRIPE_METER_EVENTS_PER_SECOND: "0" })),
        "STRIPE_METER_EVENTS_PER_SECOND"
      )
    }))

  it.effect("several problems are reported together", () =>
    Effect.gen(function*() {
      const message = messageOf(yield* load({ STRIPE_WEBHOOK_SECRET: "secret" }))
      assert.include(message, "STRIPE_SECRET_KEY")
      assert.include(message, "STRIPE_WEBHOOK_SECRET")
      assert.include(message, "METERED_PRICE_ID")
    }))

  it.effect("STRIPE_WEBHOOK_SECRET is optional: without it the options have no webhook secret", () =>
    Effect.gen(function*() {
      const { STRIPE_WEBHOOK_SECRET: _, ...env } = complete
      const result = yield* load(env)
      assert.isTrue(Either.isRight(result))
      if (Either.isRight(result)) {
        assert.isFalse("webhookSecret" in result.right)
        assert.strictEqual(Redacted.value(result.right.apiKey), "sk_test_config123")
      }
      assert.notInclude(messageOf(yield* load({})), "STRIPE_WEBHOOK_SECRET")
    }))

  it.effect("the webhook secret can come from an effect; noWebhookSecret reads no variable at all", () =>
    Effect.gen(function*() {
      const fromSource = yield* load(complete, { webhookSecret: Effect.succeed(Redacted.make("whsec_from_source")) })
      assert.isTrue(Either.isRight(fromSource))
      if (Either.isRight(fromSource)) {
        assert.strictEqual(
          fromSource.right.webhookSecret && Redacted.value(fromSource.right.webhookSecret),
          "whsec_from_source"
        )
      }
      // A malformed STRIPE_WEBHOOK_SECRET is not even read when the source says "none".
      const none = yield* load({ ...complete, STRIPE_WEBHOOK_SECRET: "secret" }, {
        webhookSecret: StripeConfig.noWebhookSecret
      })
      assert.isTrue(Either.isRight(none))
      if (Either.isRight(none)) assert.isFalse("webhookSecret" in none.right)
    }))

  it.effect("the key can come from an effect (e.g. Secrets Manager) instead of STRIPE_SECRET_KEY", () =>
    Effect.gen(function*() {
      const { STRIPE_SECRET_KEY: _, ...env } = complete
      const result = yield* load(env, { secretKey: Effect.succeed(Redacted.make("rk_live_from_secrets_manager")) })
      assert.isTrue(Either.isRight(result))
      if (Either.isRight(result)) {
        assert.strictEqual(Redacted.value(result.right.apiKey), "rk_live_from_secrets_manager")
      }
      const failed = yield* load(env, { secretKey: Effect.fail("secret unavailable" as const) })
      assert.deepStrictEqual(failed, Either.left("secret unavailable"))
    }))
})

describe("StripeConfig split out of StripeAdapter (issue 13)", () => {
  it("the names callers use through StripeAdapter are the StripeConfig ones", () => {
    assert.strictEqual(StripeAdapter.loadOptions, StripeConfig.loadOptions)
    assert.strictEqual(StripeAdapter.noWebhookSecret, StripeConfig.noWebhookSecret)
    assert.strictEqual(StripeAdapter.StripeConfigError, StripeConfig.StripeConfigError)
    assert.strictEqual(StripeAdapter.secretKeyConfig, StripeConfig.secretKeyConfig)
    assert.strictEqual(StripeAdapter.settingsConfig, StripeConfig.settingsConfig)
  })
})
