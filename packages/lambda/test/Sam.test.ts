// What a SAM user runs on the package as shipped: the events/ files answer as `sam local invoke` would
// deliver them, `sam validate --lint` passes and `sam build` copies the bundles (SAM CLI from PyPI,
// scripts/servers/sam-cli.sh, in .tools/sam-venv).
import { BillingConfig } from "@augint-billing/core"
import { Memory } from "@augint-billing/testkit"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, TestClock } from "effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { exampleSecret } from "../src/bin/sign-event.js"
import { Emf, Schedule, Webhook } from "../src/index.js"

const pkg = fileURLToPath(new URL("../", import.meta.url))
const sam = fileURLToPath(new URL("../../../scripts/servers/sam-cli.sh", import.meta.url))
const run = promisify(execFile)
const readJson = (file: string) => JSON.parse(Fs.readFileSync(Path.join(pkg, file), "utf8")) as unknown

const TestLayer = Layer.mergeAll(
  Memory.layerMemory({ webhookSecret: exampleSecret }),
  BillingConfig.layer(),
  Webhook.layerLimits(),
  Emf.layer("webhook", { sink: () => {} }),
  Emf.layer("schedule", { sink: () => {} }),
  Logger.remove(Logger.defaultLogger)
)

describe("events/ for sam local invoke", () => {
  const webhookEvent = readJson("events/webhook-setup-intent-succeeded.json") as Webhook.WebhookEvent
  const signedAt = Number(/t=(\d+)/.exec(Webhook.header(webhookEvent, "stripe-signature") ?? "")?.[1])

  it.effect("the webhook event is a Function URL request whose signature holds at its timestamp", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(signedAt * 1000)
      const result = yield* Webhook.handle(webhookEvent)
      // No customer is linked in memory: verified, decoded and acknowledged.
      assert.deepStrictEqual([result.response.statusCode, result.outcome, result.answer], [
        200,
        "UnknownCustomer",
        "Processed"
      ])
      yield* TestClock.setTime((signedAt + 3600) * 1000)
      assert.strictEqual((yield* Webhook.handle(webhookEvent)).answer, "StaleTimestamp")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("bin/sign-event signs it anew for now", () =>
    Effect.gen(function*() {
      const { stdout } = yield* Effect.promise(() =>
        run("node", [Path.join(pkg, "dist/bin/sign-event.js"), "events/webhook-setup-intent-succeeded.json"], {
          cwd: pkg,
          env: { ...process.env, STRIPE_WEBHOOK_SECRET: exampleSecret }
        })
      )
      const fresh = JSON.parse(stdout) as Webhook.WebhookEvent
      const at = Number(/t=(\d+)/.exec(Webhook.header(fresh, "stripe-signature") ?? "")?.[1])
      assert.isAbove(at, signedAt)
      yield* TestClock.setTime(at * 1000)
      assert.strictEqual((yield* Webhook.handle(fresh)).response.statusCode, 200)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the scheduled event runs a sync", () =>
    Effect.gen(function*() {
      const report = yield* Schedule.handle(readJson("events/scheduled.json") as Schedule.ScheduledEvent)
      assert.strictEqual(report.dryRun, false)
    }).pipe(Effect.provide(TestLayer)))
})

describe("SAM CLI on the template as shipped", () => {
  const env = { ...process.env, AWS_DEFAULT_REGION: "us-east-1", AWS_REGION: "us-east-1", SAM_CLI_TELEMETRY: "0" }
  beforeAll(async () => {
    await run("bash", [sam, "--version"], { env })
  }, 900_000)

  it("sam validate --lint passes", async () => {
    const result = await run("bash", [sam, "validate", "--lint", "--template", "template.yaml"], { cwd: pkg, env })
      .then(
        (r) => ({ ok: true, out: `${r.stdout}${r.stderr}` }),
        (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` })
      )
    assert.isTrue(result.ok, result.out)
  }, 300_000)

  it("sam build copies each function's bundle", async () => {
    const buildDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sam-build-"))
    try {
      const result = await run("bash", [sam, "build", "--template", "template.yaml", "--build-dir", buildDir], {
        cwd: pkg,
        env
      }).then(
        (r) => ({ ok: true, out: `${r.stdout}${r.stderr}` }),
        (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` })
      )
      assert.isTrue(result.ok, result.out)
      for (const [fn, handler] of [["WebhookFunction", "webhook"], ["ScheduleFunction", "schedule"]] as const) {
        const built = Fs.readFileSync(Path.join(buildDir, fn, "index.mjs"))
        assert.isTrue(built.equals(Fs.readFileSync(Path.join(pkg, "dist-bundle", handler, "index.mjs"))), fn)
      }
    } finally {
      Fs.rmSync(buildDir, { recursive: true, force: true })
    }
  }, 600_000)
})
