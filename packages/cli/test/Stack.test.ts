// `--stack <name>` end to end: stacks created in moto's CloudFormation with the outputs the template
// declares, pointing at moto's usage plans and secrets, DynamoDB Local's table and stripe-mock.
import { DynamoCustomerRepo } from "@augint-billing/adapters-aws"
import { CustomerRepo, Ids } from "@augint-billing/core"
import { APIGatewayClient, CreateUsagePlanCommand } from "@aws-sdk/client-api-gateway"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as EnvDump from "../src/EnvDump.js"
import * as Infra from "../src/Infra.js"
import * as Stack from "../src/Stack.js"
import { createSecret, createStack, serversEnv } from "./support/Aws.js"
import { run, tempDir } from "./support/Cli.js"
import { dynamoEndpoint, motoEndpoint, resetMoto } from "./support/Servers.js"

const credentials = { accessKeyId: "test", secretAccessKey: "test" }
const suffix = `${Date.now().toString(36)}${process.pid.toString(36)}`
const tableName = `cli-stack-${suffix}`

// Only how to reach the servers: everything the stack knows comes from its outputs.
const env = serversEnv

let outputs: Record<string, string>

beforeAll(async () => {
  await resetMoto()
  const api = new APIGatewayClient({ region: "us-east-1", endpoint: motoEndpoint, credentials })
  const free = await api.send(new CreateUsagePlanCommand({ name: "stack-free" }))
  const metered = await api.send(new CreateUsagePlanCommand({ name: "stack-metered" }))
  api.destroy()
  outputs = {
    CustomerTableName: tableName,
    FreeUsagePlanId: free.id!,
    MeteredUsagePlanId: metered.id!,
    // stripe-mock's fixture meter.
    MeterEventName: "test-meter-event-name",
    MeteredPriceId: "price_stack",
    StripeSecretArn: await createSecret(`stack-${suffix}/key`, "sk_test_123"),
    StripeWebhookSecretArn: await createSecret(`stack-${suffix}/webhook`, "whsec_stack_test"),
    DemotionPolicy: "immediately",
    WebhookFunctionName: "billing-webhook",
    ScheduleFunctionName: "billing-schedule"
  }
  await createStack("billing", outputs)
  const { MeteredPriceId: _, StripeSecretArn: __, ...older } = outputs
  await createStack("billing-older", older)
  const created = await run(["table", "create"], { env: { ...env, TABLE_NAME: tableName } })
  assert.strictEqual(created.code, 0, created.stderr)
})

afterAll(async () => {
  await resetMoto()
})

const recordOf = (customerId: string) =>
  Effect.runPromise(
    Effect.flatMap(CustomerRepo.CustomerRepo, (r) => r.get(Ids.CustomerId.make(customerId))).pipe(
      Effect.provide(
        DynamoCustomerRepo.layer({ tableName, client: { region: "us-east-1", endpoint: dynamoEndpoint, credentials } })
      )
    )
  )

describe("--stack", () => {
  it("template.yaml declares every output the CLI reads", () => {
    const template = readFileSync(fileURLToPath(new URL("../../lambda/template.yaml", import.meta.url)), "utf8")
    const section = template.slice(template.indexOf("\nOutputs:\n"))
    const declared = [...section.matchAll(/^ {2}([A-Za-z0-9]+):$/gm)].map((m) => m[1])
    for (const o of [...Stack.outputs.map((x) => x.output), ...Stack.informational]) {
      assert.include(declared, o, `template.yaml has no output ${o}`)
    }
  })

  it("configures every command from the stack's outputs: env-dump shows them, infra status passes", async () => {
    const dump = await run(["env-dump", "--json", "--stack", "billing"], { env })
    assert.strictEqual(dump.code, 0, dump.stderr)
    const d = Schema.decodeUnknownSync(EnvDump.Dump)(JSON.parse(dump.stdout))
    assert.strictEqual(d.mode, "aws")
    assert.strictEqual(d.variables["TABLE_NAME"], tableName)
    assert.strictEqual(d.variables["STACK_NAME"], "billing")
    assert.strictEqual(d.variables["STRIPE_SECRET_ARN"], outputs["StripeSecretArn"])
    assert.deepStrictEqual(d.missing.filter((m) => !m.startsWith("AWS_PROFILE")), [])
    assert.strictEqual(d.stack?.outputs["WebhookFunctionName"], "billing-webhook")
    assert.strictEqual(d.stack?.status, "CREATE_COMPLETE")
    if (!("error" in d.billing)) {
      assert.strictEqual(d.billing.freePlanId, outputs["FreeUsagePlanId"])
      assert.strictEqual(d.billing.demotionPolicy, "Immediately")
    } else assert.fail(d.billing.error)

    const status = await run(["--json", "infra", "status"], { env: { ...env, AI_BILLING_STACK: "billing" } })
    const report = Schema.decodeUnknownSync(Infra.Report)(JSON.parse(status.stdout))
    // stripe-mock's fixture price is not metered: that check fails, naming the stack's price.
    const failed = report.checks.filter((c) => !c.ok)
    assert.deepStrictEqual(failed.map((c) => c.name), ["metered price"])
    assert.include(failed[0]!.detail, "price_stack")
    assert.strictEqual(status.code, 1)
    for (const name of ["table", `usage plan ${outputs["FreeUsagePlanId"]}`, "stripe meter", "webhook secret"]) {
      const check = report.checks.find((c) => c.name.startsWith(name))
      assert.isTrue(check?.ok, `${name}: ${check?.detail}`)
    }
    assert.include(report.checks.find((c) => c.name === "table")?.detail, tableName)
  })

  it("a missing stack fails with its name and region before anything is touched", async () => {
    const cwd = tempDir()
    const r = await run(["--stack", "nope", "customers", "link", "cus_stackNope", "key_stackNope"], { env, cwd })
    assert.strictEqual(r.code, 1)
    assert.strictEqual(r.stdout, "")
    assert.strictEqual(r.stderr.trim(), "ai-billing: stack nope not found in us-east-1 (--stack or AI_BILLING_STACK)")
    assert.isFalse(existsSync(join(cwd, ".ai-billing")))
    assert.isTrue(Option.isNone(await recordOf("cus_stackNope")))
  })

  it("a stack lacking outputs names them and changes nothing", async () => {
    const r = await run(["--stack", "billing-older", "customers", "link", "cus_stackOld", "key_stackOld"], { env })
    assert.strictEqual(r.code, 1)
    assert.match(
      r.stderr,
      /stack billing-older \(CREATE_COMPLETE\) has no output MeteredPriceId, StripeSecretArn: deploy/
    )
    assert.isTrue(Option.isNone(await recordOf("cus_stackOld")))
  })

  it("a variable set to another value than the stack's output is refused (exit 2)", async () => {
    const r = await run(["--stack", "billing", "customers", "list"], { env: { ...env, TABLE_NAME: "other-table" } })
    assert.strictEqual(r.code, 2)
    assert.include(r.stderr, `TABLE_NAME=other-table is set, but stack billing says ${tableName}`)
    const same = await run(["--stack", "billing", "--json", "customers", "list"], {
      env: { ...env, TABLE_NAME: tableName }
    })
    assert.strictEqual(same.code, 0, same.stderr)
  })

  it("--stack and --local exclude each other", async () => {
    const r = await run(["--stack", "billing", "--local", tempDir(), "customers", "list"], { env })
    assert.strictEqual(r.code, 2)
    assert.include(r.stderr, "--local and a stack (billing) exclude each other")
  })
})
