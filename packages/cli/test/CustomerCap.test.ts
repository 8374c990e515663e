// `customers cap` in local mode, through the installed command: refused without the capped plan or
// with bad input (and then nothing changes), caps a metered key at once, clears back to METERED, and
// the usage view shows the cap.
import { CustomerUsage } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { join } from "node:path"
import { CapStatus } from "../src/commands/CustomerCap.js"
import { examples, run, tempDir } from "./support/Cli.js"

const CAPPED = { CAPPED_USAGE_PLAN_ID: "CAPPED" }

const ok = async (args: ReadonlyArray<string>, env: Record<string, string> = CAPPED) => {
  const r = await run(args, { env })
  assert.strictEqual(r.code, 0, `${args.join(" ")} failed: ${r.stderr}`)
  return r
}

describe("customers cap", () => {
  it("bad input and a missing capped plan are refused with the reason, and change nothing", async () => {
    const dir = tempDir()
    const L = ["--local", dir]
    await ok([...L, "customers", "link", "cus_123", "key123"])
    const before = (await ok([...L, "--json", "customers", "show", "cus_123"])).stdout
    for (const bad of [["abc"], ["0"], ["1.5"], ["12", "--clear"], []]) {
      const r = await run([...L, "customers", "cap", "cus_123", ...bad], { env: CAPPED })
      assert.strictEqual(r.code, 2, `cap ${bad.join(" ")}: ${r.stderr}`)
      assert.match(r.stderr, /positive whole number|not both|--clear/)
    }
    const off = await run([...L, "customers", "cap", "cus_123", "100"])
    assert.strictEqual(off.code, 1)
    assert.include(off.stderr, "CAPPED_USAGE_PLAN_ID")
    const unknown = await run([...L, "customers", "cap", "cus_nobody", "100"], { env: CAPPED })
    assert.strictEqual(unknown.code, 1)
    assert.include(unknown.stderr, "no customer cus_nobody")
    assert.strictEqual((await ok([...L, "--json", "customers", "show", "cus_123"])).stdout, before)
  })

  it("caps a metered key at once, the sync caps at the cap, --clear moves it back; the usage view shows it", async () => {
    const dir = tempDir()
    const L = ["--local", dir]
    await ok([...L, "customers", "link", "cus_123", "key123"])
    await ok([...L, "handle-event", "--file", join(examples, "setup-intent-succeeded.json")])
    await ok([...L, "local", "usage", "add", "key123", "250"])
    const capped = Schema.decodeUnknownSync(CapStatus)(
      JSON.parse((await ok([...L, "--json", "customers", "cap", "cus_123", "200"])).stdout)
    )
    assert.deepInclude(capped, { capUnits: 200, source: "customer", unitsThisPeriod: 250, capped: true })
    assert.include((await ok([...L, "customers", "show", "cus_123"])).stdout, "CAPPED")
    const view = Schema.decodeUnknownSync(CustomerUsage.UsageView)(
      JSON.parse((await ok([...L, "--json", "customers", "usage", "cus_123"])).stdout)
    )
    assert.deepInclude(view.cap, { units: 200, capped: true })
    assert.include((await ok([...L, "customers", "usage", "cus_123"])).stdout, "reached: CAPPED")

    const cleared = Schema.decodeUnknownSync(CapStatus)(
      JSON.parse((await ok([...L, "--json", "customers", "cap", "cus_123", "--clear"])).stdout)
    )
    assert.deepInclude(cleared, { source: "none", capped: false })
    assert.notInclude((await ok([...L, "customers", "show", "cus_123"])).stdout, "CAPPED")

    // A cap above the usage so far: the hourly sync caps the key once the month's usage reaches it.
    assert.include(
      (await ok([...L, "customers", "cap", "cus_123", "300"])).stdout,
      "cap 300 units/month (customer), 250 used"
    )
    await ok([...L, "local", "usage", "add", "key123", "60"])
    await ok([...L, "sync-usage"])
    assert.include((await ok([...L, "customers", "show", "cus_123"])).stdout, "CAPPED")
  })
})
