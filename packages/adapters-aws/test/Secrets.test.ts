// Stripe secrets from Secrets Manager on moto, the cache's lifetime on the TestClock, and the
// configuration's messages.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient
} from "@aws-sdk/client-secrets-manager"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Either, Exit, Layer, Redacted, TestClock } from "effect"
import { ApiGateway, AwsAdapters, AwsConfig, DynamoCustomerRepo, Secrets } from "../src/index.js"
import { moto, resetMoto, unique } from "./support/Servers.js"

const sm = new SecretsManagerClient({ ...moto, maxAttempts: 1 })

const built = (layer: Layer.Layer<Secrets.StripeSecrets>) =>
  Effect.map(Layer.build(layer), Context.get(Secrets.StripeSecrets))

const createSecret = (prefix: string, value: string) =>
  Effect.promise(() => sm.send(new CreateSecretCommand({ Name: unique(prefix), SecretString: value })))
const putValue = (arn: string | undefined, value: string) =>
  Effect.promise(() => sm.send(new PutSecretValueCommand({ SecretId: arn!, SecretString: value })))

/** The key from Secrets Manager at `arn`, the webhook secret `whsec_env` from the environment. */
const keyFrom = (arn: string | undefined, cacheTtl: Duration.DurationInput) =>
  built(Secrets.layer({
    stripeSecretKey: { _tag: "Arn", arn: arn! },
    webhookSecret: { _tag: "Value", value: Redacted.make("whsec_env") },
    cacheTtl,
    client: moto
  }))
const deleteSecret = (arn: string | undefined) =>
  Effect.promise(() => sm.send(new DeleteSecretCommand({ SecretId: arn!, ForceDeleteWithoutRecovery: true })))

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("Secrets", () => {
  it.scoped("reads the key from Secrets Manager once, caches it for the TTL, then rereads", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const created = yield* createSecret("stripe-", "sk_test_first\n")
      const secrets = yield* keyFrom(created.ARN, "10 minutes")
      const first = yield* secrets.stripeSecretKey
      assert.strictEqual(Redacted.value(first), "sk_test_first")
      assert.notInclude(String(first), "sk_test")
      assert.notInclude(JSON.stringify({ first }), "sk_test")
      yield* putValue(created.ARN, "sk_test_second")
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_first", "cached")
      yield* TestClock.adjust("11 minutes")
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_second", "reread after the TTL")
      assert.strictEqual(Redacted.value(yield* secrets.webhookSecret), "whsec_env")
      // Once cached, Secrets Manager is not asked again within the TTL.
      yield* deleteSecret(created.ARN)
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_second")
    }))

  // A rotated Stripe key answers 401 until the new one is read (issue 9): the consumer that meets the
  // 401 asks for the key again with the value that was refused, before the cache lifetime ends.
  it.scoped("after PutSecretValue the old key is served until refreshStripeSecretKey(old), then the new one", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const created = yield* createSecret("rotate-", "sk_test_old")
      const secrets = yield* keyFrom(created.ARN, "15 minutes")
      const old = yield* secrets.stripeSecretKey
      yield* putValue(created.ARN, "sk_test_new")
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_old", "cached within the TTL")
      assert.strictEqual(Redacted.value(yield* secrets.refreshStripeSecretKey(old)), "sk_test_new")
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_new", "the refreshed value is cached")
      // A late 401 with the old key does not read again: the secret is gone, and the new key still comes back.
      yield* deleteSecret(created.ARN)
      assert.strictEqual(Redacted.value(yield* secrets.refreshStripeSecretKey(old)), "sk_test_new")
      // A value from the environment has nothing to re-read.
      const env = yield* secrets.webhookSecret
      assert.strictEqual(Redacted.value(yield* secrets.refreshWebhookSecret(env)), "whsec_env")
    }))

  it.scoped("concurrent refreshes after the same 401 read Secrets Manager once", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const created = yield* createSecret("herd-", "sk_test_a")
      const client = new SecretsManagerClient({ ...moto, maxAttempts: 1 })
      yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
      let reads = 0
      client.middlewareStack.add((next, context) => (args) => {
        if (context.commandName === "GetSecretValueCommand") reads++
        return next(args)
      }, { step: "initialize", name: "countReads" })
      const secrets = yield* Secrets.make({
        stripeSecretKey: { _tag: "Arn", arn: created.ARN! },
        webhookSecret: { _tag: "Missing", variables: "STRIPE_WEBHOOK_SECRET_ARN or STRIPE_WEBHOOK_SECRET" },
        client
      })
      const rejected = yield* secrets.stripeSecretKey
      yield* putValue(created.ARN, "sk_test_b")
      const refreshed = yield* Effect.all(
        Array.from({ length: 8 }, () => secrets.refreshStripeSecretKey(rejected)),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(refreshed.map(Redacted.value), Array(8).fill("sk_test_b"))
      assert.strictEqual(reads, 2, "the first read and one refresh")
    }))

  it.scoped("invalidate makes the next read of both secrets go to Secrets Manager (a rolled webhook secret)", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const key = yield* createSecret("key-", "sk_test_1")
      const hook = yield* createSecret("whsec-", "whsec_1")
      const secrets = yield* built(Secrets.layer({
        stripeSecretKey: { _tag: "Arn", arn: key.ARN! },
        webhookSecret: { _tag: "Arn", arn: hook.ARN! },
        client: moto
      }))
      const before = yield* Effect.all([secrets.stripeSecretKey, secrets.webhookSecret])
      assert.deepStrictEqual(before.map(Redacted.value), ["sk_test_1", "whsec_1"])
      yield* putValue(key.ARN, "sk_test_2")
      yield* putValue(hook.ARN, "whsec_2")
      assert.strictEqual(Redacted.value(yield* secrets.webhookSecret), "whsec_1", "cached")
      yield* secrets.invalidate
      const after = yield* Effect.all([secrets.stripeSecretKey, secrets.webhookSecret])
      assert.deepStrictEqual(after.map(Redacted.value), ["sk_test_2", "whsec_2"])
    }))

  it.scoped("an unknown secret is NotFound, a missing one NotConfigured, and failures are not cached", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const name = unique("later-")
      const secrets = yield* built(Secrets.layer({
        stripeSecretKey: { _tag: "Arn", arn: name },
        webhookSecret: { _tag: "Missing", variables: "STRIPE_WEBHOOK_SECRET_ARN or STRIPE_WEBHOOK_SECRET" },
        client: moto
      }))
      const missing = yield* Effect.either(secrets.stripeSecretKey)
      assert.isTrue(Either.isLeft(missing) && missing.left.reason === "NotFound" && !missing.left.isTransient)
      yield* Effect.promise(() => sm.send(new CreateSecretCommand({ Name: name, SecretString: "sk_test_now" })))
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_now")
      const webhook = yield* Effect.either(secrets.webhookSecret)
      assert.isTrue(
        Either.isLeft(webhook) && webhook.left.reason === "NotConfigured" &&
          webhook.left.message.includes("STRIPE_WEBHOOK_SECRET_ARN")
      )
    }))

  it.scoped("layerConfig reads the ARN from the environment", () =>
    Effect.gen(function*() {
      yield* resetMoto
      const created = yield* createSecret("cfg-", "sk_test_cfg")
      const options = yield* Secrets.optionsConfig.pipe(withEnv({
        STRIPE_SECRET_ARN: created.ARN!,
        STRIPE_WEBHOOK_SECRET: "whsec_x",
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint!
      }))
      const secrets = yield* built(
        Secrets.layer({ ...options, client: { ...options.client, credentials: moto.credentials! } })
      )
      assert.strictEqual(Redacted.value(yield* secrets.stripeSecretKey), "sk_test_cfg")
      assert.strictEqual(Redacted.value(yield* secrets.webhookSecret), "whsec_x")
    }))

  it.effect("configuration errors name the variable", () =>
    Effect.gen(function*() {
      const noKey = yield* Effect.either(Secrets.optionsConfig.pipe(withEnv({})))
      assert.isTrue(Either.isLeft(noKey) && /STRIPE_SECRET_ARN or STRIPE_SECRET_KEY/.test(noKey.left.message))
      const noRegion = yield* Effect.either(Secrets.optionsConfig.pipe(withEnv({ STRIPE_SECRET_ARN: "arn:x" })))
      assert.isTrue(Either.isLeft(noRegion) && noRegion.left.message.includes("AWS_REGION"))
      const plain = yield* Secrets.optionsConfig.pipe(withEnv({ STRIPE_SECRET_KEY: "sk_test_plain" }))
      assert.strictEqual(plain.stripeSecretKey._tag, "Value")
      assert.strictEqual(plain.webhookSecret._tag, "Missing")
    }))
})

describe("AwsConfig", () => {
  it.effect("TABLE_NAME, else STACK_NAME-customer-links, else a message naming both", () =>
    Effect.gen(function*() {
      const both = { AWS_REGION: "eu-west-1", TABLE_NAME: "links", STACK_NAME: "prod" }
      assert.strictEqual((yield* DynamoCustomerRepo.optionsConfig.pipe(withEnv(both))).tableName, "links")
      const stack = yield* DynamoCustomerRepo.optionsConfig.pipe(
        withEnv({ AWS_REGION: "eu-west-1", STACK_NAME: "prod" })
      )
      assert.deepStrictEqual(stack, { client: { region: "eu-west-1" }, tableName: "prod-customer-links" })
      const none = yield* Effect.either(DynamoCustomerRepo.optionsConfig.pipe(withEnv({ AWS_REGION: "eu-west-1" })))
      assert.isTrue(
        Either.isLeft(none) && none.left.message.includes("TABLE_NAME") && none.left.message.includes("STACK_NAME")
      )
      const endpoint = yield* DynamoCustomerRepo.optionsConfig.pipe(
        withEnv({ AWS_REGION: "eu-west-1", STACK_NAME: "s", AWS_ENDPOINT_URL: "http://127.0.0.1:18000" })
      )
      assert.strictEqual(endpoint.client?.endpoint, "http://127.0.0.1:18000")
      const bad = yield* Effect.either(
        DynamoCustomerRepo.optionsConfig.pipe(
          withEnv({ AWS_REGION: "eu-west-1", STACK_NAME: "s", AWS_ENDPOINT_URL_DYNAMODB: "nope" })
        )
      )
      assert.isTrue(Either.isLeft(bad) && bad.left.message.includes("AWS_ENDPOINT_URL_DYNAMODB"))
    }))

  // API Gateway's management API: 10 requests/s, burst 40, per account and shared by every caller
  // (docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): each function gets its share.
  it.effect("API_GATEWAY_RATE_LIMIT sets this process's share of the budget; 10/40 by default; bad values name the variable", () =>
    Effect.gen(function*() {
      const base = { AWS_REGION: "eu-west-1" }
      assert.deepStrictEqual((yield* ApiGateway.optionsConfig.pipe(withEnv(base))).rateLimit, {
        perSecond: 10,
        burst: 40
      })
      const share = yield* ApiGateway.optionsConfig.pipe(withEnv({ ...base, API_GATEWAY_RATE_LIMIT: "1.5/4" }))
      assert.deepStrictEqual(share.rateLimit, { perSecond: 1.5, burst: 4 })
      for (const bad of ["10", "0/4", "10/0", "ten/40"]) {
        const result = yield* Effect.either(
          ApiGateway.optionsConfig.pipe(withEnv({ ...base, API_GATEWAY_RATE_LIMIT: bad }))
        )
        assert.isTrue(Either.isLeft(result) && result.left.message.includes("API_GATEWAY_RATE_LIMIT"), bad)
      }
    }))

  it.effect("the all-ports Layer fails at build with one clear message", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(AwsAdapters.layerConfig)).pipe(withEnv({ STACK_NAME: "s" }))
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(AwsAdapters.layerConfig)).pipe(withEnv({ STACK_NAME: "s" }))
      )
      assert.instanceOf(error, AwsConfig.AwsConfigError)
      assert.include(error.message, "AWS_REGION")
    }))
})
