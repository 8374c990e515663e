// `ai-billing init` end to end: the built command against stripe-mock (stateless: a recording proxy in
// front of it shows which calls were made) and moto (usage plans, stateful: the second run finds them).
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { run, tempDir } from "./support/Cli.js"
import { motoEndpoint, resetMoto, stripeMockPort } from "./support/Servers.js"

interface Call {
  readonly method: string
  readonly path: string
  readonly idempotencyKey: string | undefined
}

// Forwards to stripe-mock and records each request.
const recorder = () =>
  new Promise<{ readonly port: number; readonly calls: Array<Call>; readonly close: () => void }>((resolve) => {
    const calls: Array<Call> = []
    const server: Server = createServer((req, res) => {
      const key = req.headers["idempotency-key"]
      calls.push({
        method: req.method ?? "",
        path: (req.url ?? "").split("?")[0]!,
        idempotencyKey: typeof key === "string" ? key : undefined
      })
      const forward = request(
        { host: "127.0.0.1", port: Number(stripeMockPort), path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      req.pipe(forward)
    })
    server.listen(
      0,
      "127.0.0.1",
      () => resolve({ port: (server.address() as AddressInfo).port, calls, close: () => server.close() })
    )
  })

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"

const init = (cwd: string, port: number, args: ReadonlyArray<string>) =>
  run(["--json", "init", ...args], {
    cwd,
    env: {
      STRIPE_SECRET_KEY: "sk_test_123",
      STRIPE_API_HOST: "127.0.0.1",
      STRIPE_API_PORT: String(port),
      STRIPE_API_PROTOCOL: "http",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_API_GATEWAY: motoEndpoint
    }
  })

interface Report {
  readonly steps: ReadonlyArray<{ readonly name: string; readonly status: string; readonly id: string | null }>
  readonly parameters: Record<string, string>
  readonly missing: ReadonlyArray<string>
  readonly samconfig: { readonly path: string; readonly status: string } | null
}

const statuses = (r: Report) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]))
const creations = (calls: ReadonlyArray<Call>) => calls.filter((c) => c.method === "POST")

describe("ai-billing init", () => {
  it("checks without creating, then --create makes the meter, price, webhook and plans; the rerun creates no plan", async () => {
    await resetMoto()
    const proxy = await recorder()
    const dir = tempDir()
    const full = [
      "--webhook-url",
      "https://hooks.example.com/webhook",
      "--stripe-secret-arn",
      `${ARN}key`,
      "--webhook-secret-arn",
      `${ARN}whsec`
    ]
    try {
      const check = await init(dir, proxy.port, full)
      assert.strictEqual(check.code, 0, check.stderr)
      const checked = JSON.parse(check.stdout) as Report
      assert.deepStrictEqual(statuses(checked), {
        "stripe meter": "missing",
        "stripe price": "skipped",
        "stripe webhook": "missing",
        "usage plan free": "missing",
        "usage plan metered": "missing"
      })
      assert.deepStrictEqual(creations(proxy.calls), [])
      assert.strictEqual(checked.samconfig?.status, "not-written")

      const first = await init(dir, proxy.port, ["--create", ...full])
      assert.strictEqual(first.code, 0, first.stderr)
      const created = JSON.parse(first.stdout) as Report
      assert.deepStrictEqual(Object.values(statuses(created)), Array(5).fill("created"))
      assert.deepStrictEqual(created.missing, [])
      const posts = creations(proxy.calls)
      assert.deepStrictEqual(posts.map((c) => c.path), ["/v1/billing/meters", "/v1/prices", "/v1/webhook_endpoints"])
      // Idempotency keys derived from what is created: a retried run gets Stripe's first answer back.
      assert.isTrue(posts.every((c) => c.idempotencyKey?.startsWith("ai-billing-init-") === true))
      const toml = readFileSync(join(dir, "samconfig.toml"), "utf8")
      assert.include(toml, `stack_name = "augint-billing"`)
      assert.include(toml, `MeteredPriceId=${created.parameters["MeteredPriceId"]}`)
      assert.include(toml, `FreeUsagePlanId=${created.parameters["FreeUsagePlanId"]} `)

      // moto keeps the plans: found by name, not created again, and the same samconfig.
      const second = await init(dir, proxy.port, ["--create", ...full])
      const again = JSON.parse(second.stdout) as Report
      assert.strictEqual(statuses(again)["usage plan free"], "found")
      assert.strictEqual(statuses(again)["usage plan metered"], "found")
      assert.strictEqual(again.parameters["FreeUsagePlanId"], created.parameters["FreeUsagePlanId"])
      // stripe-mock made up another price id, so the settings differ: the file is kept, not overwritten.
      assert.strictEqual(again.samconfig?.status, "kept")
      assert.strictEqual(readFileSync(join(dir, "samconfig.toml"), "utf8"), toml)
      const plans = (await (await fetch(`${motoEndpoint}/usageplans`, {
        headers: { authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request" }
      })).json()) as { item?: ReadonlyArray<unknown> }
      assert.strictEqual(plans.item?.length, 2)
      // stripe-mock is stateless, so Stripe creations repeat here, with the same idempotency keys (the
      // price's names its meter, which stripe-mock makes up anew each time).
      const keys = creations(proxy.calls).map((c) => c.idempotencyKey)
      assert.deepStrictEqual([keys[3], keys[5]], [keys[0], keys[2]])
      assert.strictEqual(keys[0], "ai-billing-init-meter-api_requests")
    } finally {
      proxy.close()
    }
  })

  it("finds stripe-mock's meter and endpoint and says what is wrong with them; validates given plan ids", async () => {
    await resetMoto()
    const proxy = await recorder()
    const dir = tempDir()
    try {
      const r = await init(dir, proxy.port, [
        "--meter-event-name",
        "test-meter-event-name",
        "--webhook-url",
        "https://example.com/my/webhook/endpoint",
        "--free-plan-id",
        "nosuchplan",
        "--print"
      ])
      // stripe-mock's meter maps the customer from "customer": the sync's meter events would bill no one.
      assert.strictEqual(r.code, 1)
      const report = JSON.parse(r.stdout) as Report
      assert.strictEqual(statuses(report)["stripe meter"], "invalid")
      assert.strictEqual(statuses(report)["stripe webhook"], "invalid")
      assert.strictEqual(statuses(report)["usage plan free"], "invalid")
      assert.isNull(report.samconfig)
      assert.deepStrictEqual(creations(proxy.calls), [])

      const fixed = await init(dir, proxy.port, [
        "--create",
        "--webhook-url",
        "https://example.com/my/webhook/endpoint",
        "--print"
      ])
      const after = JSON.parse(fixed.stdout) as Report
      assert.strictEqual(statuses(after)["stripe webhook"], "updated")
      assert.isTrue(creations(proxy.calls).some((c) => /^\/v1\/webhook_endpoints\/we_/.test(c.path)))
    } finally {
      proxy.close()
    }
  })
})
