// docs/GO-LIVE.md followed step by step where it can be without real accounts: the secrets and the API
// key in moto, init against stripe-mock and moto, `sam deploy` stood in for by a moto stack with the
// template's outputs (from the samconfig.toml init wrote), then the CLI pointed at it with --stack.
// The promotion and the billed unit need Stripe's state (stripe-mock has none): the Lambda's e2e and
// the CLI's local-mode tests cover them.
import { APIGatewayClient, CreateApiKeyCommand, CreateUsagePlanKeyCommand } from "@aws-sdk/client-api-gateway"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { createSecret, createStack, serversEnv } from "./support/Aws.js"
import { run, tempDir } from "./support/Cli.js"
import { motoEndpoint, resetMoto, usageProxy } from "./support/Servers.js"

const STACK = `golive${Date.now().toString(36)}`
const env = serversEnv
const json = async (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => {
  const r = await run(["--json", ...args], { env: { ...env, ...extra }, cwd: tempDir() })
  assert.strictEqual(r.code, 0, `${args.join(" ")}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

afterAll(async () => {
  await resetMoto()
})

describe("docs/GO-LIVE.md", () => {
  it("secrets, init, the stack's outputs, the webhook's signing secret step and a first linked customer", async () => {
    await resetMoto()
    const key = { STRIPE_SECRET_KEY: "sk_test_123" }
    // 1. Secrets.
    const stripeSecretArn = await createSecret(`${STACK}/stripe-secret-key`, "sk_test_123")
    const webhookSecretArn = await createSecret(`${STACK}/stripe-webhook-secret`, "whsec_placeholder")

    // 2. init --create writes samconfig.toml with every parameter.
    const dir = tempDir()
    const samconfig = join(dir, "samconfig.toml")
    const init = await json([
      "init",
      "--create",
      "--stack-name",
      STACK,
      "--stripe-secret-arn",
      stripeSecretArn,
      "--webhook-secret-arn",
      webhookSecretArn,
      "--unit-amount",
      "0.1",
      "--currency",
      "usd",
      "--samconfig",
      samconfig
    ], key)
    assert.deepStrictEqual(init["missing"], [])
    assert.deepStrictEqual(init["samconfig"], { path: samconfig, status: "written" })
    const overrides = /parameter_overrides = "([^"]*)"/.exec(readFileSync(samconfig, "utf8"))![1]!
    const parameters = Object.fromEntries(overrides.split(" ").map((kv) => kv.split("=") as [string, string]))
    assert.strictEqual(parameters["StripeSecretArn"], stripeSecretArn)

    // 3. sam deploy: the stack's outputs are its parameters, the table and the functions.
    const table = `${STACK}-customer-links`
    const created = await run(["table", "create"], { env: { ...env, TABLE_NAME: table } })
    assert.strictEqual(created.code, 0, created.stderr)
    await createStack(STACK, {
      ...parameters,
      CustomerTableName: table,
      // stripe-mock forgets the meter init created and lists only its fixture's.
      MeterEventName: "test-meter-event-name",
      DemotionPolicy: "final_attempt",
      WebhookUrl: "https://example.lambda-url.us-east-1.on.aws/",
      WebhookFunctionName: `${STACK}-webhook`,
      ScheduleFunctionName: `${STACK}-schedule`
    })
    const dump = await json(["--stack", STACK, "env-dump"])
    const variables = dump["variables"] as Record<string, string>
    assert.strictEqual(variables["FREE_USAGE_PLAN_ID"], parameters["FreeUsagePlanId"])
    assert.strictEqual(variables["TABLE_NAME"], table)

    // 4. The webhook endpoint: without --webhook-secret-arn, init prints the signing secret's command.
    const webhook = await json([
      "init",
      "--create",
      "--stack-name",
      STACK,
      "--webhook-url",
      "https://example.lambda-url.us-east-1.on.aws/",
      "--print"
    ], key)
    const steps = webhook["steps"] as ReadonlyArray<{ name: string; status: string }>
    assert.strictEqual(steps.find((s) => s.name === "stripe webhook")?.status, "created")
    // Stripe returns the secret on creation; stripe-mock's fixture has none, so the step names the Dashboard.
    const secretStep = `aws secretsmanager create-secret --name ${STACK}/stripe-webhook-secret --secret-string `
    assert.isTrue((webhook["nextSteps"] as ReadonlyArray<string>).some((s) => s.includes(secretStep)))

    // 5. A first customer: an API key in the free plan, linked.
    const api = new APIGatewayClient({
      region: "us-east-1",
      endpoint: motoEndpoint,
      credentials: { accessKeyId: "test", secretAccessKey: "test" }
    })
    const apiKey = await api.send(new CreateApiKeyCommand({ name: "cus_golive1", enabled: true }))
    await api.send(
      new CreateUsagePlanKeyCommand({
        usagePlanId: parameters["FreeUsagePlanId"],
        keyId: apiKey.id,
        keyType: "API_KEY"
      })
    )
    api.destroy()
    // A link reads the key's usage so far (GetUsage, which moto lacks: the proxy answers it).
    const proxy = await usageProxy()
    try {
      const viaProxy = { AWS_ENDPOINT_URL_API_GATEWAY: proxy.endpoint }
      await json(["--stack", STACK, "customers", "link", "cus_golive1", apiKey.id!], viaProxy)
      const shown = await json(["--stack", STACK, "customers", "show", "cus_golive1"], viaProxy)
      // stripe-mock answers every customer with a default payment method, so the link promotes at once
      // (a customer who already has a card gets no card event after the link): metered, key moved.
      assert.strictEqual((shown["customer"] as { plan: string }).plan, "METERED")
      assert.deepStrictEqual(shown["plans"], [parameters["MeteredUsagePlanId"]])
    } finally {
      await proxy.close()
    }
  })
})
