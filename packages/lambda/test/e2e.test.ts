// End to end on the BUNDLED handlers (dist-bundle/*/index.mjs, built by globalSetup) against DynamoDB
// Local, moto (API Gateway usage plans, Secrets Manager) and stripe-mock. moto has no GetUsage, so API
// Gateway calls go through a local proxy that answers GetUsage in AWS's documented shape and forwards
// everything else to moto; Stripe calls go through a recording proxy in front of stripe-mock.
import { DynamoCustomerRepo } from "@augint-billing/adapters-aws"
import { Customer, CustomerRepo, Ids, UtcDay } from "@augint-billing/core"
import { StripeEvents } from "@augint-billing/testkit"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { Schedule, Webhook } from "../src/index.js"
import * as Events from "./support/Events.js"

// The ports of scripts/servers/*.sh, overridable so that parallel runs do not share (and reset) a moto.
const moto = `http://127.0.0.1:${process.env.MOTO_PORT ?? "15000"}`
const dynamo = {
  region: "us-east-1",
  endpoint: `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? "18000"}`,
  credentials: { accessKeyId: "test", secretAccessKey: "test" }
}
const webhookSecret = "whsec_e2e_secret"
const customerId = Ids.CustomerId.make("cus_e2e")
const tableName = `e2e${Date.now().toString(36)}${process.pid.toString(36)}`

interface Seen {
  readonly method: string
  readonly path: string
}

// A reverse proxy to `target` that records requests and may answer some itself.
const proxy = async (
  target: string,
  answer: (method: string, url: URL) => unknown | undefined = () => undefined
): Promise<{ readonly server: Server; readonly url: string; readonly seen: Array<Seen> }> => {
  const seen: Array<Seen> = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    seen.push({ method: req.method ?? "GET", path: url.pathname })
    const own = answer(req.method ?? "GET", url)
    if (own !== undefined) {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(own))
      return
    }
    const upstream = new URL(target)
    const forward = request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: upstream.host }
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    req.pipe(forward)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

// moto speaks the AWS wire protocols and does not check signatures: a credential scope names the service.
const aws = async (service: string, path: string, body: unknown, target?: string) => {
  const res = await fetch(`${moto}${path}`, {
    method: "POST",
    headers: {
      authorization:
        `AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      "content-type": target === undefined ? "application/json" : "application/x-amz-json-1.1",
      ...(target === undefined ? {} : { "x-amz-target": target })
    },
    body: JSON.stringify(body)
  })
  if (!res.ok) throw new Error(`${service} ${path} answered ${res.status}: ${await res.text()}`)
  return await res.json() as Record<string, string>
}

const plansOf = async (keyId: string, plans: ReadonlyArray<string>) => {
  const found: Array<string> = []
  for (const plan of plans) {
    const res = await fetch(`${moto}/usageplans/${plan}/keys`, {
      headers: {
        authorization:
          "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0"
      }
    })
    const body = await res.json() as { item?: ReadonlyArray<{ id: string }> }
    if ((body.item ?? []).some((k) => k.id === keyId)) found.push(plan)
  }
  return found
}

const readRecord = () =>
  Effect.runPromise(
    Effect.flatMap(CustomerRepo.CustomerRepo, (repo) => repo.get(customerId)).pipe(
      Effect.provide(DynamoCustomerRepo.layer({ tableName, client: dynamo }))
    )
  )

let apiGateway: Awaited<ReturnType<typeof proxy>>
let stripe: Awaited<ReturnType<typeof proxy>>
let free: string
let metered: string
let keyId: string
const today = UtcDay.fromMillis(Date.now())
const units = 4321

beforeAll(async () => {
  await fetch(`${moto}/moto-api/reset`, { method: "POST" })
  free = (await aws("apigateway", "/usageplans", { name: "FREE_10K" })).id!
  metered = (await aws("apigateway", "/usageplans", { name: "METERED" })).id!
  keyId = (await aws("apigateway", "/apikeys", { name: "e2e-key", enabled: true })).id!
  await aws("apigateway", `/usageplans/${free}/keys`, { keyId, keyType: "API_KEY" })
  const secret = await aws(
    "secretsmanager",
    "/",
    { Name: `stripe-${tableName}`, SecretString: "sk_test_e2e" },
    "secretsmanager.CreateSecret"
  )

  // GetUsage of the metered plan: the key's counts for the requested days, oldest first.
  apiGateway = await proxy(moto, (method, url) => {
    if (method !== "GET" || url.pathname !== `/usageplans/${metered}/usage`) return undefined
    const days = UtcDay.between(
      UtcDay.UtcDay.make(url.searchParams.get("startDate")!),
      UtcDay.UtcDay.make(url.searchParams.get("endDate")!)
    )
    return {
      usagePlanId: metered,
      startDate: days[0],
      endDate: days[days.length - 1],
      values: { [keyId]: days.map((d) => d === today ? [units, 10_000 - units] : [0, 10_000]) }
    }
  })
  stripe = await proxy(`http://127.0.0.1:${process.env.STRIPE_MOCK_PORT ?? "12111"}`)

  await Effect.runPromise(DynamoCustomerRepo.createTable({ tableName, client: dynamo }))
  await Effect.runPromise(
    Effect.flatMap(
      CustomerRepo.CustomerRepo,
      (repo) => repo.create(Customer.make({ customerId, apiKeyId: Ids.ApiKeyId.make(keyId), now: Date.now() - 60_000 }))
    ).pipe(
      Effect.provide(DynamoCustomerRepo.layer({ tableName, client: dynamo }))
    )
  )

  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    TABLE_NAME: tableName,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_API_GATEWAY: apiGateway.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto,
    STRIPE_SECRET_ARN: secret.ARN,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_API_HOST: "127.0.0.1",
    STRIPE_API_PORT: new URL(stripe.url).port,
    STRIPE_API_PROTOCOL: "http",
    METERED_PRICE_ID: "price_e2e",
    STRIPE_METER_ID: "mtr_e2e",
    METER_EVENT_NAME: "api_requests",
    FREE_USAGE_PLAN_ID: free,
    METERED_USAGE_PLAN_ID: metered
  })
}, 120_000)

afterAll(async () => {
  for (const p of [apiGateway, stripe]) await new Promise((resolve) => p?.server.close(resolve))
})

const bundle = (handler: string) => new URL(`../dist-bundle/${handler}/index.mjs`, import.meta.url).href

describe("bundled handlers against the local servers", () => {
  it("a signed setup_intent.succeeded promotes: record written, key moved in moto, subscription created", async () => {
    const { handler } = await import(bundle("webhook")) as {
      handler: (e: Webhook.WebhookEvent) => Promise<Webhook.WebhookResponse>
    }
    const created = Math.floor(Date.now() / 1000)
    const payload = JSON.stringify(StripeEvents.setupIntentSucceeded({ customerId, created, id: "evt_e2e_promote" }))
    const signature = await Events.sign(payload, webhookSecret, created)
    const response = await handler(
      Events.functionUrl({ body: payload, base64: true, headers: { "stripe-signature": signature } })
    )
    assert.strictEqual(response.statusCode, 200, response.body)
    assert.deepStrictEqual(JSON.parse(response.body), { received: true, outcome: "Applied" })

    const record = await readRecord()
    assert.isTrue(Option.isSome(record))
    assert.strictEqual(Option.getOrThrow(record).plan, "METERED")
    assert.match(Option.getOrThrow(record).subscriptionId ?? "", /^sub_/)
    assert.deepStrictEqual(await plansOf(keyId, [free, metered]), [metered])
    assert.isTrue(stripe.seen.some((r) => r.method === "POST" && r.path === "/v1/subscriptions"))

    // The same delivery again: acknowledged, nothing more sent to Stripe.
    const before = stripe.seen.length
    const again = await handler(Events.restV1({ body: payload, headers: { "Stripe-Signature": signature } }))
    assert.deepStrictEqual([again.statusCode, JSON.parse(again.body).outcome], [200, "Duplicate"])
    assert.strictEqual(stripe.seen.length, before)
  })

  it("a scheduled event reports the metered usage to Stripe and commits it", async () => {
    const { handler } = await import(bundle("schedule")) as {
      handler: (e: Schedule.ScheduledEvent) => Promise<{ unitsReported: number; customersReported: number }>
    }
    const report = await handler(Events.scheduled())
    assert.deepStrictEqual([report.unitsReported, report.customersReported], [units, 1])
    assert.isTrue(stripe.seen.some((r) => r.method === "POST" && r.path === "/v1/billing/meter_events"))
    assert.isTrue(apiGateway.seen.some((r) => r.path === `/usageplans/${metered}/usage`))
    const record = Option.getOrThrow(await readRecord())
    assert.strictEqual(record.ledger[today], units)
    assert.isUndefined(record.pending)
  })
})
