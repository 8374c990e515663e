import { DynamoCustomerRepo } from "@augint-billing/adapters-aws"
import { Customer, CustomerRepo, Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { APIGatewayClient, CreateUsagePlanCommand } from "@aws-sdk/client-api-gateway"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { CustomerView } from "../src/Customers.js"
import * as Infra from "../src/Infra.js"
import { run } from "./support/Cli.js"
import {
  dynamoEndpoint,
  motoEndpoint,
  resetMoto,
  stripeMockPort,
  type UsageProxy,
  usageProxy
} from "./support/Servers.js"

const credentials = { accessKeyId: "test", secretAccessKey: "test" }
const tableName = `cli-e2e-${Date.now().toString(36)}${process.pid.toString(36)}`

let proxy: UsageProxy
let env: Record<string, string>

beforeAll(async () => {
  await resetMoto()
  proxy = await usageProxy()
  const api = new APIGatewayClient({ region: "us-east-1", endpoint: motoEndpoint, credentials })
  const free = await api.send(new CreateUsagePlanCommand({ name: "FREE_10K" }))
  const metered = await api.send(new CreateUsagePlanCommand({ name: "METERED" }))
  api.destroy()
  env = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    TABLE_NAME: tableName,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ENDPOINT_URL_API_GATEWAY: proxy.endpoint,
    FREE_USAGE_PLAN_ID: free.id!,
    METERED_USAGE_PLAN_ID: metered.id!,
    STRIPE_SECRET_KEY: "sk_test_123",
    STRIPE_WEBHOOK_SECRET: "whsec_test_e2e",
    METERED_PRICE_ID: "price_e2e",
    // stripe-mock's fixture meter.
    METER_EVENT_NAME: "test-meter-event-name",
    STRIPE_API_HOST: "127.0.0.1",
    STRIPE_API_PORT: stripeMockPort,
    STRIPE_API_PROTOCOL: "http",
    // The SDK's own notice about Node 20; stderr stays for our messages.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
  }
})

afterAll(async () => {
  await proxy?.close()
})

const lineOf = (report: Infra.Report, name: string) => {
  const check = report.checks.find((c) => c.name.startsWith(name))
  assert.isDefined(check, `no check ${name}`)
  return check!
}

describe("against DynamoDB Local, moto and stripe-mock", () => {
  it("infra status fails without the table; table create makes it pass", async () => {
    const before = await run(["--json", "infra", "status"], { env })
    assert.strictEqual(before.code, 1)
    const missing = Schema.decodeUnknownSync(Infra.Report)(JSON.parse(before.stdout))
    assert.isFalse(lineOf(missing, "table").ok)
    assert.isTrue(lineOf(missing, "usage plan").ok)

    const created = await run(["--json", "table", "create"], { env })
    assert.strictEqual(created.code, 0, created.stderr)
    assert.deepStrictEqual(JSON.parse(created.stdout), { table: tableName, result: "Created" })
    const again = await run(["--json", "table", "create"], { env })
    assert.deepStrictEqual(JSON.parse(again.stdout), { table: tableName, result: "AlreadyExists" })

    const after = await run(["--json", "infra", "status"], { env })
    const report = Schema.decodeUnknownSync(Infra.Report)(JSON.parse(after.stdout))
    for (
      const name of [
        "table",
        `usage plan ${env["FREE_USAGE_PLAN_ID"]}`,
        `usage plan ${env["METERED_USAGE_PLAN_ID"]}`,
        "stripe meter",
        "webhook secret"
      ]
    ) {
      assert.isTrue(lineOf(report, name).ok, `${name}: ${lineOf(report, name).detail}`)
    }
    assert.strictEqual(after.code, report.ok ? 0 : 1)
    const text = await run(["infra", "status"], { env })
    assert.strictEqual(text.stdout.trim().split("\n").length, report.checks.length)
    assert.notInclude(text.stdout + text.stderr, "whsec_test_e2e")
  })

  it("sync-usage reports GetUsage counts to Stripe once and commits them to the ledger", async () => {
    await run(["table", "create"], { env })
    const customerId = Ids.CustomerId.make(`cus_e2e${Date.now().toString(36)}`)
    const apiKeyId = Ids.ApiKeyId.make(`key_e2e${Date.now().toString(36)}`)
    const repo = DynamoCustomerRepo.layer({
      tableName,
      client: { region: "us-east-1", endpoint: dynamoEndpoint, credentials }
    })
    await Effect.runPromise(
      Effect.flatMap(
        CustomerRepo.CustomerRepo,
        (r) => r.create({ ...Customer.make({ customerId, apiKeyId, now: Date.now() }), plan: "METERED" })
      ).pipe(Effect.provide(repo))
    )
    proxy.usage.set(env["METERED_USAGE_PLAN_ID"]!, new Map([[apiKeyId, 1234]]))

    const dry = await run(["--json", "sync-usage", "--dry-run", "--customer", customerId], { env })
    assert.strictEqual(dry.code, 0, dry.stderr)
    const planned = Schema.decodeUnknownSync(UsageSync.SyncReport)(JSON.parse(dry.stdout))
    assert.strictEqual(planned.unitsReported, 1234)
    assert.strictEqual(planned.meterEventsSent, 0)

    const r = await run(["--json", "sync-usage", "--customer", customerId], { env })
    assert.strictEqual(r.code, 0, r.stdout + r.stderr)
    const report = Schema.decodeUnknownSync(UsageSync.SyncReport)(JSON.parse(r.stdout))
    assert.strictEqual(report.unitsReported, 1234)
    assert.strictEqual(report.meterEventsSent, 1)
    assert.strictEqual(report.customersFailed, 0)

    const shown = await run(["--json", "customers", "show", customerId], { env })
    assert.strictEqual(shown.code, 0, shown.stderr)
    const view = Schema.decodeUnknownSync(CustomerView)(JSON.parse(shown.stdout))
    assert.strictEqual(Customer.reported(view.customer, UtcDay.fromMillis(Date.now())), 1234)
    assert.isUndefined(view.customer.pending)

    const second = await run(["--json", "sync-usage", "--customer", customerId], { env })
    const nothing = Schema.decodeUnknownSync(UsageSync.SyncReport)(JSON.parse(second.stdout))
    assert.strictEqual(nothing.unitsReported, 0)
    assert.strictEqual(nothing.meterEventsSent, 0)
  })
})
