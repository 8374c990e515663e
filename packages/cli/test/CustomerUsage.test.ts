// `customers usage` and `customers card-link` in local mode, through the installed command.
import { CardLink, CustomerUsage } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { join } from "node:path"
import { examples, run, tempDir } from "./support/Cli.js"

const ok = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const r = await run(args, { env })
  assert.strictEqual(r.code, 0, `${args.join(" ")} failed: ${r.stderr}`)
  return r
}

describe("customers usage and card-link", () => {
  it("a free customer's usage and card link; once metered, its projected bill and no link", async () => {
    const dir = tempDir()
    const L = ["--local", dir]
    await ok([...L, "customers", "link", "cus_123", "key123"])
    await ok([...L, "local", "usage", "add", "key123", "250"])

    const free = Schema.decodeUnknownSync(CustomerUsage.UsageView)(
      JSON.parse((await ok([...L, "--json", "customers", "usage", "cus_123"])).stdout)
    )
    assert.strictEqual(free.plan, "FREE")
    assert.strictEqual(free.periodUnits, 250)
    assert.strictEqual(free.freeQuota?.remaining, 9_750)
    assert.include((await ok([...L, "customers", "usage", "cus_123"])).stdout, "free quota      9750 of 10000 left")

    // Without a success URL there is nothing to send the customer back to: refused, naming the variable.
    const unset = await run([...L, "customers", "card-link", "cus_123"])
    assert.strictEqual(unset.code, 1)
    assert.include(unset.stderr, "CARD_LINK_SUCCESS_URL")
    const link = Schema.decodeUnknownSync(CardLink.CardLink)(
      JSON.parse(
        (await ok([...L, "--json", "customers", "card-link", "cus_123"], {
          CARD_LINK_SUCCESS_URL: "https://seller.example/thanks"
        })).stdout
      )
    )
    assert.match(link.url, /^https:\/\/checkout\.stripe\.com\//)

    await ok([...L, "handle-event", "--file", join(examples, "setup-intent-succeeded.json")])
    await ok([...L, "local", "usage", "add", "key123", "40"])
    await ok([...L, "sync-usage"])
    await ok([...L, "local", "usage", "add", "key123", "2"])
    const metered = Schema.decodeUnknownSync(CustomerUsage.UsageView)(
      JSON.parse((await ok([...L, "--json", "customers", "usage", "cus_123"])).stdout)
    )
    assert.strictEqual(metered.plan, "METERED")
    assert.strictEqual(metered.unitsReported, 40)
    assert.strictEqual(metered.unitsToReport, 2)
    assert.strictEqual(metered.projectedInvoice?.units, 40)
    assert.include((await ok([...L, "customers", "usage", "cus_123"])).stdout, "projected bill")
    const refused = await run([...L, "customers", "card-link", "cus_123", "--success-url", "https://x.example/ok"])
    assert.strictEqual(refused.code, 1)
    assert.include(refused.stderr, "already metered")

    const unknown = await run([...L, "customers", "usage", "cus_nobody"])
    assert.strictEqual(unknown.code, 1)
    assert.include(unknown.stderr, "no customer record for cus_nobody")
  })
})
