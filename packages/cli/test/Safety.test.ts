// Operator safety (issue 11): each test spawns the built command and failed before its fix.
import { Customer, UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { startTimeOf } from "../src/internal/lock.js"
import * as LocalStore from "../src/LocalStore.js"
import * as Reconcile from "../src/Reconcile.js"
import { bin, run, start, tempDir } from "./support/Cli.js"
import { meteredStore } from "./support/Store.js"

const stateOf = (dir: string) =>
  Schema.decodeUnknownSync(Schema.parseJson(LocalStore.Document))(readFileSync(join(dir, "state.json"), "utf8"))

const ok = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const r = await run(args, { env })
  assert.strictEqual(r.code, 0, `${args.join(" ")}: ${r.stderr}`)
  return r
}

describe("unlink", () => {
  it("is refused while the record holds a subscription or a settle window; --close finishes an ended one", async () => {
    const dir = tempDir()
    const L = ["--local", dir]
    await ok([...L, "local", "seed", "--customers", "2", "--cards"])
    await ok([...L, "plan", "promote", "cus_seed1"])

    const metered = await run([...L, "customers", "unlink", "cus_seed1"])
    assert.strictEqual(metered.code, 1)
    assert.match(
      metered.stderr,
      /^ai-billing: not unlinked: cus_seed1: it is on the metered plan; it holds subscription/
    )
    // The old escape hatch, which left the subscription billing no record: gone.
    assert.strictEqual((await run([...L, "customers", "unlink", "cus_seed1", "--force"])).code, 2)

    await ok([...L, "plan", "demote", "cus_seed1"])
    const settling = await run([...L, "customers", "unlink", "cus_seed1", "--close"])
    assert.strictEqual(settling.code, 1)
    assert.match(settling.stderr, /its settle window is open until \d{4}-/)
    assert.isTrue(stateOf(dir).records.some((r) => r.customerId === "cus_seed1"))

    // A window that has already ended: refused without --close, closed and unlinked with it.
    const shortWindow = { SETTLE_WINDOW: "1 millis" }
    await ok([...L, "plan", "promote", "cus_seed2"], shortWindow)
    await ok([...L, "plan", "demote", "cus_seed2"], shortWindow)
    const ended = await run([...L, "customers", "unlink", "cus_seed2"], { env: shortWindow })
    assert.strictEqual(ended.code, 1)
    assert.match(ended.stderr, /its settle window has ended but is not closed yet/)
    const subscription = stateOf(dir).records.find((r) => r.customerId === "cus_seed2")?.subscriptionId
    assert.isDefined(subscription)
    await ok([...L, "customers", "unlink", "cus_seed2", "--close"], shortWindow)
    const after = stateOf(dir)
    assert.isFalse(after.records.some((r) => r.customerId === "cus_seed2"))
    assert.strictEqual(after.subscriptions.find((s) => s.id === subscription)?.status, "canceled")
  })
})

describe("sync-usage", () => {
  it("Ctrl-C stops it promptly, says what was saved, exits 130 and leaves no temporary file", async () => {
    const dir = tempDir()
    const total = 8_000
    meteredStore(dir, total, 7)
    const running = start(["--local", dir, "sync-usage", "--log-level=info"])
    while (!running.stderr().includes("usage sync started") && running.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.isNull(running.child.exitCode, `ended before the sync started: ${running.stderr()}`)
    await new Promise((r) => setTimeout(r, 300))
    const sentAt = Date.now()
    running.child.kill("SIGINT")
    const r = await running.done
    assert.isBelow(Date.now() - sentAt, 10_000, "stopped promptly")
    assert.strictEqual(r.code, 130, r.stderr)
    // No completed report on stdout.
    assert.strictEqual(r.stdout, "")
    const said = /interrupted after (\d+) customers: their usage is reported and recorded; the others were not synced/
      .exec(r.stderr)
    assert.isNotNull(said, r.stderr)
    assert.match(r.stderr, /what ran before the stop is saved in .*state\.json|nothing had changed/)
    assert.isFalse(existsSync(join(dir, "state.json.tmp")))
    assert.isFalse(existsSync(join(dir, "lock")))
    const synced = Number(said![1])
    assert.isBelow(synced, total)
    const state = stateOf(dir)
    const recorded = state.records.filter((c) => Object.keys(c.ledger).length > 0).length
    const pending = state.records.filter((c) => c.pending !== undefined).length
    // Every customer counted as synced is recorded; at most the 16 in flight (SYNC_CONCURRENCY) more.
    assert.isAtLeast(recorded, synced)
    assert.isAtMost(recorded + pending, synced + 16)
    // Every meter event the local Stripe accepted is in a ledger or a pending report.
    assert.strictEqual(state.meterEvents.length, recorded + pending - countPendingUnsent(state))
    // The next sync finishes the rest.
    const rest = Schema.decodeUnknownSync(UsageSync.SyncReport)(
      JSON.parse((await ok(["--local", dir, "--json", "sync-usage"])).stdout)
    )
    assert.strictEqual(rest.customersFailed, 0)
    assert.strictEqual(
      stateOf(dir).records.reduce((n, c) => n + Customer.reported(c, rest.days[rest.days.length - 1]!), 0),
      total * 7
    )
  }, 300_000)
})

// A pending report written ahead whose meter event was never sent (interrupted between the two).
const countPendingUnsent = (state: LocalStore.Document) =>
  state.records.filter((c) =>
    c.pending !== undefined && !state.meterEvents.some((e) => e.identifier === c.pending!.identifier)
  )
    .length

describe("the local store's lock", () => {
  const deadPid = async () => {
    const child = start(["--version"])
    await child.done
    return child.child.pid!
  }

  it("left by kill -9 (a dead pid, a reused pid, or no pid) is taken over at once", async () => {
    const dir = tempDir()
    await ok(["--local", dir, "customers", "link", "cus_1", "key1"])
    const stale = [
      JSON.stringify({ pid: await deadPid(), start: "1", host: hostname() }),
      // This test's own pid, alive, but with another start time: the pid was reused.
      JSON.stringify({ pid: process.pid, start: "0", host: hostname() }),
      "ai-billing\n",
      ""
    ]
    const timed = async () => {
      const startedAt = Date.now()
      return { ...(await run(["--local", dir, "customers", "list"])), millis: Date.now() - startedAt }
    }
    for (const text of stale) {
      // The same command without a lock, just before, on however loaded a machine: the 5 s wait would show.
      const baseline = await timed()
      writeFileSync(join(dir, "lock"), text)
      const r = await timed()
      assert.strictEqual(r.code, 0, `${JSON.stringify(text)}: ${r.stderr}`)
      assert.isBelow(r.millis, baseline.millis + 3_000, `no wait for ${JSON.stringify(text)}`)
      assert.isFalse(existsSync(join(dir, "lock")))
    }
  })

  it("held by a live process is waited for, then named", async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir, "lock"),
      JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid), host: hostname() })
    )
    const r = await run(["--local", dir, "customers", "list"])
    assert.strictEqual(r.code, 1)
    assert.match(r.stderr, new RegExp(`another ai-billing \\(pid ${process.pid} on .+\\) is using`))
    assert.isTrue(existsSync(join(dir, "lock")))
  })

  it("a read-only directory is a permission error, not a lock", async (ctx) => {
    const dir = tempDir()
    chmodSync(dir, 0o555)
    // Root may write anywhere: run as nobody then, which needs the checkout to be readable by others
    // (a clone under a 0700 directory is not: then this check cannot run here, and says so).
    const root = process.getuid?.() === 0
    if (
      root &&
      spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(bin)})`], { uid: 65534 }).status !==
        0
    ) {
      console.warn(`skipped: user nobody cannot read ${bin}`)
      return ctx.skip()
    }
    const r = await start(["--local", dir, "customers", "list"], root ? { uid: 65534, cwd: dir } : {}).done
    assert.strictEqual(r.code, 1)
    assert.match(r.stderr, /permission denied/i)
    assert.notMatch(r.stderr, /another ai-billing/)
  })

  it("a mistyped --local path on a read-only command creates nothing", async () => {
    const missing = join(tempDir(), "typo", "state")
    const r = await run(["--local", missing, "customers", "list"])
    assert.strictEqual(r.code, 1)
    assert.match(r.stderr, /^ai-billing: local store: no local store at .*typo\/state \(check --local/)
    assert.isFalse(existsSync(join(missing, "..")))
  })
})

describe("reconcile", () => {
  it("exits 1 when it finds drift and 0 when every customer-day agrees", async () => {
    const dir = tempDir()
    const L = ["--local", dir, "--json"]
    await ok([...L, "local", "seed", "--customers", "1", "--cards"])
    await ok([...L, "plan", "promote", "cus_seed1"])
    await ok([...L, "local", "usage", "add", "key_seed1", "30"])
    const drift = await run([...L, "reconcile"])
    assert.strictEqual(drift.code, 1)
    const report = Schema.decodeUnknownSync(Reconcile.Report)(JSON.parse(drift.stdout))
    assert.deepStrictEqual(report.rows.map((r) => r.drift), [["unreported"]])
    assert.match(drift.stderr, /^ai-billing: 1 customer-days drift/)
    await ok([...L, "sync-usage"])
    await ok([...L, "reconcile"])
  })
})
