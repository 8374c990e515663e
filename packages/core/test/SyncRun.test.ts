import { assert, describe, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import * as Customer from "../src/Customer.js"
import { ApiKeyId, CustomerId } from "../src/Ids.js"
import * as SyncRun from "../src/SyncRun.js"

const record = (id: string, updatedAt: number): Customer.Customer => ({
  ...Customer.make({ customerId: CustomerId.make(id), apiKeyId: ApiKeyId.make(`k${id}`), now: 0 }),
  updatedAt
})

describe("SyncRun", () => {
  it("fairOrder takes the least recently written first, customer id breaking ties", () => {
    const ordered = SyncRun.fairOrder([
      record("cus_c", 30),
      record("cus_b", 10),
      record("cus_a", 10),
      record("cus_d", 5)
    ])
    assert.deepStrictEqual(ordered.map((c) => c.customerId), ["cus_d", "cus_a", "cus_b", "cus_c"])
  })

  it("stopAt leaves the drain reserve before the deadline; no deadline never stops", () => {
    assert.strictEqual(SyncRun.stopAt(100_000), 100_000 - Duration.toMillis(SyncRun.DRAIN_RESERVE))
    assert.strictEqual(SyncRun.stopAt(undefined), Number.POSITIVE_INFINITY)
  })

  it("count keeps exact counts but lists at most MAX_LISTED failures", () => {
    const counts = SyncRun.emptyCounts()
    const id = CustomerId.make("cus_x")
    for (let i = 0; i < SyncRun.MAX_LISTED + 5; i++) {
      SyncRun.count(counts, id, Either.left({ _tag: "StripeError", reason: "Server", message: "down" }))
    }
    SyncRun.count(
      counts,
      id,
      Either.right({ unitsReported: 3, eventsSent: 1, anomalies: [], contended: false, planRepaired: true })
    )
    assert.strictEqual(counts.customersFailed, SyncRun.MAX_LISTED + 5)
    assert.strictEqual(counts.failures.length, SyncRun.MAX_LISTED)
    assert.strictEqual(counts.failures[0]!.reason, "StripeError(Server): down")
    assert.deepStrictEqual([counts.customersReported, counts.unitsReported, counts.plansRepaired], [1, 3, 1])
  })
})
