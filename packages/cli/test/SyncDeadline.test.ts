// `sync-usage --deadline`: the run starts no customer in the last 30 s before its deadline
// (`SyncRun.DRAIN_RESERVE`), says so on stderr and in the JSON report, and exits 3.
import { UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Option, Schema } from "effect"
import { parseDuration } from "../src/Sync.js"
import { run, tempDir } from "./support/Cli.js"
import { meteredStore } from "./support/Store.js"

const report = (stdout: string) => Schema.decodeUnknownSync(UsageSync.SyncReport)(JSON.parse(stdout))

describe("sync-usage --deadline", () => {
  it("a deadline inside the drain reserve starts nobody: stoppedEarly in --json, a line on stderr, exit 3", async () => {
    const dir = tempDir()
    meteredStore(dir, 20, 5)
    const r = await run(["--local", dir, "--json", "sync-usage", "--deadline", "10s"])
    assert.strictEqual(r.code, 3, r.stderr)
    const cut = report(r.stdout)
    assert.isTrue(cut.stoppedEarly)
    assert.strictEqual(cut.customersLeft, 20)
    assert.strictEqual(cut.customersSeen, 0)
    assert.match(r.stderr, /^ai-billing: stopped before its deadline: 20 customers left for the next run$/m)

    // The text report says it too; the next run with time to spare takes them all and exits 0.
    const text = await run(["--local", dir, "sync-usage", "--deadline", "15s"])
    assert.strictEqual(text.code, 3, text.stderr)
    assert.include(text.stdout, "stopped before its deadline: 20 customers not started")
    const full = await run(["--local", dir, "--json", "sync-usage", "--deadline", "10m"])
    assert.strictEqual(full.code, 0, full.stderr)
    const done = report(full.stdout)
    assert.isFalse(done.stoppedEarly)
    assert.strictEqual(done.customersReported, 20)
    assert.strictEqual(done.unitsReported, 100)
  })

  it("a malformed deadline is a usage error naming the option (exit 2)", async () => {
    const r = await run(["--local", tempDir(), "sync-usage", "--deadline", "soon"])
    assert.strictEqual(r.code, 2)
    assert.match(r.stderr, /--deadline: a duration such as 90s, 10m or 1h \(got "soon"\)/)
  })

  it("durations: a positive number and a unit", () => {
    const millis = (s: string) => Option.map(parseDuration(s), Duration.toMillis)
    assert.deepStrictEqual(millis("90s"), Option.some(90_000))
    assert.deepStrictEqual(millis("10m"), Option.some(600_000))
    assert.deepStrictEqual(millis("1.5 hours"), Option.some(5_400_000))
    assert.deepStrictEqual(millis("250ms"), Option.some(250))
    assert.deepStrictEqual(millis("0s"), Option.none())
    assert.deepStrictEqual(millis("10"), Option.none())
    assert.deepStrictEqual(millis("-5m"), Option.none())
  })
})
