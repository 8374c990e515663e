import { UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Dashboard } from "../src/Dashboard.js"
import { EventResult } from "../src/Events.js"
import * as Infra from "../src/Infra.js"
import * as Reconcile from "../src/Reconcile.js"
import * as Replay from "../src/Replay.js"
import { examples, run, tempDir } from "./support/Cli.js"

const decode = <A, I>(schema: Schema.Schema<A, I>, stdout: string): A =>
  Schema.decodeUnknownSync(schema)(JSON.parse(stdout))

const ok = async (args: ReadonlyArray<string>, options: { readonly cwd?: string } = {}) => {
  const r = await run(args, options)
  assert.strictEqual(r.code, 0, `${args.join(" ")} failed: ${r.stderr}`)
  return r
}

describe("local mode", () => {
  it("link, handle-event, usage, sync-usage and the dashboard work across invocations", async () => {
    const dir = tempDir()
    const L = ["--local", dir, "--json"]
    await ok([...L, "customers", "link", "cus_123", "key123"])

    const dry = decode(
      EventResult,
      (await ok([...L, "handle-event", "--file", join(examples, "setup-intent-succeeded.json"), "--dry-run"])).stdout
    )
    assert.strictEqual(dry.outcome, "Applied")
    assert.strictEqual(dry.decision, "Promote")
    assert.isTrue(dry.dryRun)

    const applied = decode(
      EventResult,
      (await ok([...L, "handle-event", "--file", join(examples, "setup-intent-succeeded.json")])).stdout
    )
    assert.strictEqual(applied.decision, "Promote")
    const again = decode(
      EventResult,
      (await ok([...L, "handle-event", "--file", join(examples, "setup-intent-succeeded.json")])).stdout
    )
    assert.strictEqual(again.outcome, "Duplicate")

    await ok([...L, "local", "usage", "add", "key123", "250"])
    const sync = decode(UsageSync.SyncReport, (await ok([...L, "sync-usage"])).stdout)
    assert.strictEqual(sync.unitsReported, 250)
    assert.strictEqual(sync.customersReported, 1)

    await ok([...L, "local", "usage", "add", "key123", "50"])
    const dryRun = decode(UsageSync.SyncReport, (await ok([...L, "sync-usage", "--dry-run"])).stdout)
    assert.strictEqual(dryRun.unitsReported, 50)
    const second = decode(UsageSync.SyncReport, (await ok([...L, "sync-usage"])).stdout)
    assert.strictEqual(second.unitsReported, 50)

    const dash = decode(Dashboard, (await ok([...L, "monitor", "dashboard"])).stdout)
    assert.deepStrictEqual(dash.customers, { total: 1, free: 0, metered: 1, settling: 0 })
    assert.strictEqual(dash.unitsReportedToday, 300)
    assert.strictEqual(dash.lastSync?.report.unitsReported, 50)
    assert.strictEqual(dash.pendingReports.length, 0)

    const text = await ok(["--local", dir, "monitor", "dashboard"])
    assert.include(text.stdout, "metered 1")

    const recon = decode(Reconcile.Report, (await ok([...L, "reconcile"])).stdout)
    assert.strictEqual(recon.rows.length, 0)
    assert.strictEqual(recon.customers, 1)

    const infra = decode(Infra.Report, (await ok([...L, "infra", "status"])).stdout)
    assert.isTrue(infra.ok)
  })

  it("a bad event file is one clear error and changes nothing", async () => {
    const dir = tempDir()
    await ok(["--local", dir, "customers", "link", "cus_123", "key123"])
    const before = readFileSync(join(dir, "state.json"), "utf8")
    const r = await run(["--local", dir, "handle-event", "--file", join(examples, "malformed-setup-intent.json")])
    assert.strictEqual(r.code, 1)
    assert.strictEqual(r.stdout, "")
    assert.match(r.stderr.trim(), /^ai-billing: malformed event evt_example_malformed \(setup_intent\.succeeded\): .+$/)
    assert.strictEqual(readFileSync(join(dir, "state.json"), "utf8"), before)

    const notJson = join(tempDir(), "broken.json")
    const { writeFileSync } = await import("node:fs")
    writeFileSync(notJson, "{ not json")
    const r2 = await run(["--local", dir, "handle-event", "--file", notJson])
    assert.strictEqual(r2.code, 1)
    assert.match(r2.stderr, /is not JSON/)
    assert.strictEqual(readFileSync(join(dir, "state.json"), "utf8"), before)
  })

  it("demotion flushes usage and plan promote goes through the flow", async () => {
    const dir = tempDir()
    const L = ["--local", dir, "--json"]
    await ok([...L, "customers", "link", "cus_42", "key42"])
    // No payment method in the local Stripe yet: a manual promotion is refused by the policy.
    const refused = decode(EventResult, (await ok([...L, "plan", "promote", "cus_42"])).stdout)
    assert.strictEqual(refused.decision, "NoChange")
    await ok([...L, "local", "seed", "--customers", "3", "--cards"])
    const promoted = decode(EventResult, (await ok([...L, "plan", "promote", "cus_seed1"])).stdout)
    assert.strictEqual(promoted.decision, "Promote")
    await ok([...L, "local", "usage", "add", "key_seed1", "40"])
    const demoted = decode(EventResult, (await ok([...L, "plan", "demote", "cus_seed1"])).stdout)
    assert.strictEqual(demoted.decision, "Demote")
    const dash = decode(Dashboard, (await ok([...L, "monitor", "dashboard"])).stdout)
    assert.strictEqual(dash.unitsReportedToday, 40)
    assert.strictEqual(dash.customers.settling, 1)
    assert.strictEqual(dash.customers.total, 4)
    const unlink = await run(["--local", dir, "customers", "unlink", "cus_42"])
    assert.strictEqual(unlink.code, 0, unlink.stderr)
    const list = JSON.parse((await ok([...L, "customers", "list"])).stdout) as ReadonlyArray<unknown>
    assert.strictEqual(list.length, 3)
  })

  it("replay-events handles a missed webhook once", async () => {
    const dir = tempDir()
    const L = ["--local", dir, "--json"]
    await ok([...L, "customers", "link", "cus_123", "key123"])
    await ok([...L, "local", "events", "add", "--file", join(examples, "setup-intent-succeeded.json")])
    const first = decode(Replay.Report, (await ok([...L, "replay-events", "--since", "2020-01-01T00:00:00Z"])).stdout)
    assert.deepStrictEqual(first.outcomes, { Applied: 1 })
    const second = decode(Replay.Report, (await ok([...L, "replay-events", "--since", "2020-01-01T00:00:00Z"])).stdout)
    assert.deepStrictEqual(second.outcomes, { Duplicate: 1 })
  })

  it("with no AWS or Stripe variable, local mode is the default and says so", async () => {
    const cwd = tempDir()
    const r = await ok(["customers", "link", "cus_1", "key1"], { cwd })
    assert.match(r.stderr, /local mode in \.ai-billing/)
    const list = await ok(["--json", "customers", "list"], { cwd })
    assert.strictEqual((JSON.parse(list.stdout) as ReadonlyArray<unknown>).length, 1)
  })

  it("local-only commands refuse to run against an account", async () => {
    const r = await run(["local", "usage", "add", "key1", "5"], {
      env: {
        AWS_REGION: "us-east-1",
        TABLE_NAME: "t-x",
        STRIPE_SECRET_KEY: "sk_test_x",
        METERED_PRICE_ID: "price_1",
        STRIPE_WEBHOOK_SECRET: "whsec_x",
        AWS_ENDPOINT_URL: "http://127.0.0.1:9"
      }
    })
    assert.strictEqual(r.code, 1)
    assert.match(r.stderr, /local mode only/)
  })
})
