// The counter baseline of a key put (back) into the metered plan. Whether API Gateway keeps a removed
// key's GetUsage history, and whether a re-added key's counter restarts, is not documented
// (https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html says only that items are
// "indexed over the API keys in a usage plan"): the baseline must be right under each answer.
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Customer from "../src/Customer.js"
import { ApiKeyId, CustomerId } from "../src/Ids.js"
import * as UsageRead from "../src/UsageRead.js"
import * as UtcDay from "../src/UtcDay.js"

const day = (s: string): UtcDay.UtcDay => Schema.decodeSync(UtcDay.UtcDay)(s)
const d1 = day("2026-03-01")
const d2 = day("2026-03-02")
const days = [d1, d2]
const apiKeyId = ApiKeyId.make("key01")
const base = Customer.make({ customerId: CustomerId.make("cus_Usage0001"), apiKeyId, now: 0 })
// 10 units reported on the first day, 4 on the second.
const reported: Customer.Customer = { ...base, ledger: { [d1]: 10, [d2]: 4 } }
const observed = (counts: ReadonlyArray<number> | undefined): UsageRead.Observed => ({
  days,
  byKey: new Map(counts === undefined ? [] : [[apiKeyId, counts]]),
  pages: 1
})

describe("UsageRead.withBaseline", () => {
  it("Readd: a counter the add reset continues from the ledger", () => {
    const next = UsageRead.withBaseline({ ...reported, baselineDue: "Readd" }, days, [0, 0])
    assert.deepStrictEqual(next.counterOffset, { [d1]: 10, [d2]: 4 })
    assert.isUndefined(next.baselineDue)
    // The new counter's 3 units read as 13: 3 to bill, not 0 (swallowed) nor an anomaly.
    assert.deepStrictEqual(UsageRead.countsOf(next, observed([3, 0])), [13, 4])
  })

  it("Readd: a counter that kept its counts is left alone, unread counts are still billed", () => {
    const next = UsageRead.withBaseline({ ...reported, baselineDue: "Readd" }, days, [12, 4])
    assert.isUndefined(next.counterOffset)
    assert.deepStrictEqual(UsageRead.countsOf(next, observed([12, 4])), [12, 4])
  })

  it("Readd: a second reset continues from the ledger again, never below an earlier offset", () => {
    const once = { ...reported, counterOffset: { [d1]: 10 }, ledger: { [d1]: 15, [d2]: 4 } }
    assert.deepStrictEqual(UsageRead.withBaseline(once, days, [0, 0]).counterOffset, { [d1]: 15, [d2]: 4 })
    assert.deepStrictEqual(UsageRead.withBaseline(once, days, [5, 4]).counterOffset, { [d1]: 10 })
  })

  it("Link: the key's counts before the link are not the link's, whether GetUsage showed them or not", () => {
    // History dropped while the key was out of the plan: newLink saw none, the add shows it again.
    const linked: Customer.Customer = { ...base, baselineDue: "Link" }
    const next = UsageRead.withBaseline(linked, days, [7, 2])
    assert.deepStrictEqual(next.counterOffset, { [d1]: -7, [d2]: -2 })
    assert.deepStrictEqual(UsageRead.countsOf(next, observed([9, 2])), [2, 0])
    // History kept, counter reset by the add: newLink's ledger continues.
    const seeded = UsageRead.withBaseline({ ...reported, baselineDue: "Link" }, days, undefined)
    assert.deepStrictEqual(seeded.counterOffset, { [d1]: 10, [d2]: 4 })
  })
})

describe("UsageRead.historyVanished", () => {
  it("is a key GetUsage no longer lists while the ledger holds counts of the days read", () => {
    assert.isTrue(UsageRead.historyVanished(reported, observed(undefined)))
    assert.isFalse(UsageRead.historyVanished(reported, observed([10, 4])))
    // Nothing reported: a key with no counts is simply not listed.
    assert.isFalse(UsageRead.historyVanished(base, observed(undefined)))
  })
})
