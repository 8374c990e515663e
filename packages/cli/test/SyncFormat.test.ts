// `sync-usage`'s text report names what no run can bill: units written off for customers deleted in
// Stripe, keys whose GetUsage history vanished and keys whose counter restarted.
import { Ids, UsageSync } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Sync } from "../src/index.js"

const report = Schema.decodeUnknownSync(UsageSync.SyncReport)({
  startedAt: 0,
  finishedAt: 1,
  days: ["2026-11-30"],
  dryRun: false,
  usagePagesRead: 1,
  customersSeen: 3,
  customersReported: 0,
  customersSkipped: 3,
  customersContended: 0,
  customersFailed: 0,
  unitsReported: 0,
  meterEventsSent: 1,
  failures: [],
  anomalies: [],
  unitsUnbillable: 9,
  unbillable: [{ customerId: "cus_gone", units: 9 }],
  customersHistoryVanished: 1,
  historyVanished: [{ customerId: "cus_v", apiKeyId: "key_v" }],
  customersCounterReset: 1,
  counterReset: [{ customerId: "cus_r", apiKeyId: "key_r" }]
})

describe("Sync.format", () => {
  it("lists unbillable units, vanished histories and counter resets, one line each", () => {
    const lines = Sync.format(report).split("\n")
    assert.include(lines, `  unbillable ${Ids.CustomerId.make("cus_gone")}: 9 units (customer deleted in Stripe)`)
    assert.include(lines, "  history vanished cus_v (key key_v): GetUsage lists it no more")
    assert.include(lines, "  counter reset cus_r (key key_r): restarted when put back in the metered plan")
  })

  it("a report from before these fields existed reads as none of them", () => {
    const { counterReset: _c, historyVanished: _h, unbillable: _u, unitsUnbillable: _n, ...old } = Schema.encodeSync(
      UsageSync.SyncReport
    )(report)
    assert.lengthOf(Sync.format(Schema.decodeUnknownSync(UsageSync.SyncReport)(old)).split("\n"), 1)
  })
})
