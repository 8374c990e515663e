#!/usr/bin/env node
/**
 * `npm run bench`: bundle size per handler against a naive (whole-barrel) bundle, cold init (a fresh
 * node process imports the bundle and handles a first webhook event against DynamoDB Local), and warm
 * webhook handling in-process on the in-memory Layers. Targets print PASS/MISS and never fail the run.
 * Writes `bench/results/lambda.{json,md}` at the repository root.
 *
 * @since 0.1.0
 */
import * as DynamoCustomerRepo from "@augint-billing/adapters-aws/DynamoCustomerRepo"
import * as BillingConfig from "@augint-billing/core/BillingConfig"
import { Memory, StripeMemory } from "@augint-billing/testkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { execFileSync, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Emf from "../Emf.js"
import { budgetBytes, bundle, bundlePath, handlers, packageDir } from "../internal/bundle.js"
import * as Webhook from "../Webhook.js"

const TARGETS = { bundleBytes: budgetBytes, coldMillis: 300, warmMillis: 5 } as const
const root = Path.resolve(packageDir, "../..")
const secret = "whsec_bench_secret"
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mark = (ok: boolean) => ok ? "PASS" : "MISS"

// 1. Bundle sizes.
const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "lambda-bench-"))
const sizes = []
for (const handler of handlers) {
  const deep = await bundle(handler)
  const naive = await bundle(handler, { naive: true, outfile: Path.join(tmp, handler, "index.mjs") })
  sizes.push({ handler, bytes: deep.bytes, naiveBytes: naive.bytes, ratio: deep.bytes / naive.bytes })
}

// 2. Cold init: a fresh process per run, DynamoDB Local as the table.
const startDynamo = spawnSync("bash", [Path.join(root, "scripts/servers/dynamodb-local.sh"), "start"], {
  encoding: "utf8"
})
if (startDynamo.status !== 0) throw new Error(`dynamodb-local: ${startDynamo.stdout}${startDynamo.stderr}`)
const startedDynamo = !/already answering/.test(startDynamo.stdout + startDynamo.stderr)
const dynamo = {
  region: "us-east-1",
  endpoint: "http://127.0.0.1:18000",
  credentials: { accessKeyId: "t", secretAccessKey: "t" }
}
const tableName = `bench${Date.now().toString(36)}`
await Effect.runPromise(DynamoCustomerRepo.createTable({ tableName, client: dynamo }))

const child = `
const t0 = performance.now()
const { handler } = await import(process.argv[1])
const t1 = performance.now()
const body = JSON.stringify({ id: "evt_cold_" + process.pid, object: "event", created: Math.floor(Date.now() / 1000),
  type: "invoice.created", data: { object: { id: "in_1", object: "invoice", customer: "cus_unknown", status: "draft" } } })
const crypto = await import("node:crypto")
const t = Math.floor(Date.now() / 1000)
const v1 = crypto.createHmac("sha256", process.env.STRIPE_WEBHOOK_SECRET).update(t + "." + body).digest("hex")
const r = await handler({ httpMethod: "POST", headers: { "Stripe-Signature": "t=" + t + ",v1=" + v1 }, body, isBase64Encoded: false })
const t2 = performance.now()
process.stderr.write(JSON.stringify({ status: r.statusCode, importMs: t1 - t0, totalMs: t2 - t0 }) + "\\n")
`
const env = {
  PATH: process.env.PATH ?? "",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "t",
  AWS_SECRET_ACCESS_KEY: "t",
  AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  AWS_ENDPOINT_URL_API_GATEWAY: "http://127.0.0.1:9",
  TABLE_NAME: tableName,
  STRIPE_SECRET_KEY: "sk_test_bench",
  STRIPE_WEBHOOK_SECRET: secret,
  METERED_PRICE_ID: "price_bench",
  STRIPE_API_HOST: "127.0.0.1",
  STRIPE_API_PORT: "9",
  STRIPE_API_PROTOCOL: "http"
}
const cold: Array<{ totalMs: number; importMs: number; processMs: number }> = []
for (let i = 0; i < 7; i++) {
  const started = performance.now()
  const out = spawnSync(process.execPath, ["--input-type=module", "-e", child, bundlePath("webhook")], {
    env,
    encoding: "utf8"
  })
  const processMs = performance.now() - started
  const line = out.stderr.trim().split("\n").pop() ?? ""
  const parsed = JSON.parse(line) as { status: number; importMs: number; totalMs: number }
  if (parsed.status !== 200) throw new Error(`cold run answered ${parsed.status}: ${out.stdout}`)
  cold.push({ totalMs: parsed.totalMs, importMs: parsed.importMs, processMs })
}
if (startedDynamo) execFileSync("bash", [Path.join(root, "scripts/servers/dynamodb-local.sh"), "stop"])

// 3. Warm webhook handling, in-process on the in-memory Layers (no network).
const runtime = ManagedRuntime.make(Layer.mergeAll(
  Memory.layerMemory({ webhookSecret: secret }),
  BillingConfig.layer(),
  Webhook.layerLimits(),
  Emf.layer("webhook", { sink: () => {} }),
  Logger.remove(Logger.defaultLogger)
))
const handler = Webhook.toHandler(runtime)
const n = 2000
const t = Math.floor(Date.now() / 1000)
const deliveries = await Promise.all(Array.from({ length: n + 200 }, async (_, i) => {
  const body = JSON.stringify({
    id: `evt_warm_${i}`,
    object: "event",
    created: t,
    type: "invoice.created",
    data: { object: { id: `in_${i}`, object: "invoice", customer: "cus_unknown", status: "draft" } }
  })
  const signature = await Effect.runPromise(StripeMemory.signatureHeader(secret, t, body))
  return { httpMethod: "POST", headers: { "Stripe-Signature": signature }, body, isBase64Encoded: false }
}))
const warm: Array<number> = []
for (const [i, d] of deliveries.entries()) {
  const started = performance.now()
  const r = await handler(d as unknown as Webhook.WebhookEvent)
  if (i >= 200) warm.push(performance.now() - started) // the first 200 warm the JIT
  if (r.statusCode !== 200) throw new Error(`warm run answered ${r.statusCode}`)
}
await runtime.dispose()

const coldMedian = median(cold.map((c) => c.totalMs))
const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${Os.cpus().length} x ${Os.cpus()[0]?.model ?? "?"}`,
  bundles: sizes,
  cold: {
    runs: cold.length,
    medianMs: coldMedian,
    medianImportMs: median(cold.map((c) => c.importMs)),
    medianProcessMs: median(cold.map((c) => c.processMs))
  },
  warm: {
    runs: warm.length,
    medianMs: median(warm),
    p99Ms: [...warm].sort((a, b) => a - b)[Math.floor(warm.length * 0.99)]!
  },
  targets: TARGETS
}
const f = (x: number) => x.toFixed(2)
const md = [
  "# Lambda bench",
  "",
  `Command: \`npm run bench -w @augint-billing/lambda\` (or \`npm run bench\` at the root). ${results.date}, Node ${results.node}, ${results.cpus}.`,
  "",
  "| handler | bundle bytes (minified) | naive (barrel imports) | ratio | < 1 MB |",
  "| --- | ---: | ---: | ---: | :---: |",
  ...sizes.map((s) =>
    `| ${s.handler} | ${s.bytes.toLocaleString("en")} | ${s.naiveBytes.toLocaleString("en")} | ${
      s.ratio.toFixed(2)
    } | ${mark(s.bytes < TARGETS.bundleBytes)} |`
  ),
  "",
  "| measure | median | target | result |",
  "| --- | ---: | ---: | :---: |",
  `| cold init: import the webhook bundle + first event against DynamoDB Local (${cold.length} fresh processes) | ${
    f(coldMedian)
  } ms (import ${f(results.cold.medianImportMs)} ms; whole process ${
    f(results.cold.medianProcessMs)
  } ms) | < ${TARGETS.coldMillis} ms | ${mark(coldMedian < TARGETS.coldMillis)} |`,
  `| warm webhook (verify + decode + handle, in-memory Layers, ${warm.length} events) | ${
    f(results.warm.medianMs)
  } ms (p99 ${f(results.warm.p99Ms)} ms) | < ${TARGETS.warmMillis} ms | ${
    mark(results.warm.medianMs < TARGETS.warmMillis)
  } |`,
  ""
].join("\n")
process.stdout.write(md)
if (!process.argv.includes("--no-write")) {
  Fs.mkdirSync(Path.join(root, "bench/results"), { recursive: true })
  Fs.writeFileSync(Path.join(root, "bench/results/lambda.json"), `${JSON.stringify(results, null, 2)}\n`)
  Fs.writeFileSync(Path.join(root, "bench/results/lambda.md"), md)
}
Fs.rmSync(tmp, { recursive: true, force: true })
