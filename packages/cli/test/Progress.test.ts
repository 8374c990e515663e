// Progress on stderr: a bar with the total and an ETA for sync-usage, reconcile and init, drawn on a
// terminal only (AI_BILLING_PROGRESS=always stands for one here, as stderr is a pipe), never under --json.
import { assert, describe, it } from "@effect/vitest"
import { progressLine, shortDuration } from "../src/Output.js"
import { run, tempDir } from "./support/Cli.js"
import { motoEndpoint, resetMoto, stripeMockPort } from "./support/Servers.js"
import { meteredStore } from "./support/Store.js"

const ALWAYS = { AI_BILLING_PROGRESS: "always" }
// The last frame drawn before the line is cleared.
const frames = (stderr: string) => stderr.split("\r\x1b[2K").map((f) => f.trim()).filter((f) => f !== "")

describe("progress line", () => {
  it("shows done/total, the percentage and an ETA from the rate so far", () => {
    assert.strictEqual(
      progressLine("customers synced", 25, 100, 10_000),
      `[${"#".repeat(8)}${".".repeat(22)}] customers synced 25/100 25% ETA 30s`
    )
    assert.strictEqual(progressLine("x", 0, 10, 5).endsWith("0/10 0% ETA --"), true)
    assert.strictEqual(progressLine("events replayed", 50, undefined, 2_000), "events replayed 50 (25/s)")
  })

  it("writes durations short", () => {
    assert.deepStrictEqual([shortDuration(400), shortDuration(65_000), shortDuration(7_380_000)], [
      "0s",
      "1m05s",
      "2h03m"
    ])
  })
})

describe("progress on stderr", () => {
  it("sync-usage and reconcile draw the total and an ETA on a terminal, nothing under --json or on a pipe", async () => {
    const dir = tempDir()
    meteredStore(dir, 300, 5)
    const dry = await run(["--local", dir, "sync-usage", "--dry-run"], { env: ALWAYS })
    assert.strictEqual(dry.code, 0, dry.stderr)
    const last = frames(dry.stderr).at(-1) ?? ""
    assert.match(last, /^\[#{30}\] customers synced 300\/300 100% ETA 0s$/)
    assert.include(dry.stdout, "would report 1500 units for 300 of 300 customers")

    const json = await run(["--json", "--local", dir, "sync-usage", "--dry-run"], { env: ALWAYS })
    assert.strictEqual(json.code, 0, json.stderr)
    assert.notInclude(json.stderr, "customers synced")
    const pipe = await run(["--local", dir, "sync-usage", "--dry-run"])
    assert.strictEqual(pipe.stderr, "")

    const reconcile = await run(["--local", dir, "reconcile"], { env: ALWAYS })
    assert.match(frames(reconcile.stderr).join("\n"), /customers reconciled 300\/300 100% ETA 0s/)
    const never = await run(["--local", dir, "reconcile"], { env: { AI_BILLING_PROGRESS: "never" } })
    assert.notInclude(never.stderr, "reconciled")
  })

  it("the demo draws its simulated hours, and refuses an empty simulation as a usage error", async () => {
    const demo = await run(["demo", "--customers", "3", "--days", "1"], { env: ALWAYS })
    assert.strictEqual(demo.code, 0, demo.stderr)
    assert.match(frames(demo.stderr).join("\n"), /hours simulated 24\/24 100% ETA 0s/)
    const empty = await run(["demo", "--days", "0"])
    assert.strictEqual(empty.code, 2)
    assert.include(empty.stderr, "ai-billing: --customers and --days must be at least 1")
  })

  it("init shows its two paged checks", async () => {
    await resetMoto()
    const r = await run(["init", "--print"], {
      cwd: tempDir(),
      env: {
        ...ALWAYS,
        STRIPE_SECRET_KEY: "sk_test_123",
        STRIPE_API_HOST: "127.0.0.1",
        STRIPE_API_PORT: stripeMockPort,
        STRIPE_API_PROTOCOL: "http",
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_ENDPOINT_URL_API_GATEWAY: motoEndpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
      }
    })
    const shown = frames(r.stderr)
    assert.include(shown, `[${".".repeat(30)}] init: Stripe and API Gateway checked 0/2 0% ETA --`)
    assert.match(shown.join("\n"), /init: Stripe and API Gateway checked 2\/2 100% ETA 0s/)
  })
})
