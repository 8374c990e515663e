import { assert, describe, it } from "@effect/vitest"
import * as BillingConfig from "../src/BillingConfig.js"
import * as Customer from "../src/Customer.js"
import { ApiKeyId, CustomerId, UsagePlanId } from "../src/Ids.js"
import * as SpendCap from "../src/SpendCap.js"
import * as UtcDay from "../src/UtcDay.js"

const NOW = Date.parse("2026-03-31T10:00:00.000Z")
const APRIL = Date.parse("2026-04-01T00:00:00.000Z")
const CAPPED = UsagePlanId.make("CAPPED")
const config: BillingConfig.BillingSettings = { ...BillingConfig.defaults, cappedPlanId: CAPPED }
const record = (over: Partial<Customer.Customer> = {}): Customer.Customer => ({
  ...Customer.make({ customerId: CustomerId.make("cus_1"), apiKeyId: ApiKeyId.make("key1"), now: NOW }),
  plan: "METERED",
  ...over
})
const cappedInMarch = { period: "2026-03", units: 100, at: NOW }

describe("SpendCap.decide", () => {
  it("caps a metered record at its cap, once a period", () => {
    assert.strictEqual(SpendCap.decide(record(), { now: NOW, cap: 100, units: 99 }), "Stay")
    assert.strictEqual(SpendCap.decide(record(), { now: NOW, cap: 100, units: 100 }), "Cap")
    assert.strictEqual(SpendCap.decide(record({ capped: cappedInMarch }), { now: NOW, cap: 100, units: 150 }), "Stay")
  })

  it("never caps a free record, and no cap is no cap", () => {
    assert.strictEqual(SpendCap.decide(record({ plan: "FREE" }), { now: NOW, cap: 100, units: 500 }), "Stay")
    assert.strictEqual(SpendCap.decide(record(), { now: NOW, cap: undefined, units: 500 }), "Stay")
  })

  it("uncaps at midnight UTC on the 1st, when the cap is raised past the units, or removed", () => {
    const capped = record({ capped: cappedInMarch })
    assert.strictEqual(SpendCap.decide(capped, { now: APRIL - 1, cap: 100, units: 100 }), "Stay")
    assert.strictEqual(SpendCap.decide(capped, { now: APRIL, cap: 100, units: 0 }), "Uncap")
    assert.strictEqual(SpendCap.decide(capped, { now: NOW, cap: 101, units: 100 }), "Uncap")
    assert.strictEqual(SpendCap.decide(capped, { now: NOW, cap: undefined, units: 100 }), "Uncap")
  })
})

describe("SpendCap.keyPlanOf: the plan ladder", () => {
  it("FREE, METERED, or CAPPED for a metered record capped this period", () => {
    assert.strictEqual(SpendCap.keyPlanOf(record({ plan: "FREE", capped: cappedInMarch }), config, NOW), "FREE_10K")
    assert.strictEqual(SpendCap.keyPlanOf(record(), config, NOW), "METERED")
    assert.strictEqual(SpendCap.keyPlanOf(record({ capped: cappedInMarch }), config, NOW), "CAPPED")
    // A cap of an earlier period has renewed, and a cap without the capped plan configured is none.
    assert.strictEqual(SpendCap.keyPlanOf(record({ capped: cappedInMarch }), config, APRIL), "METERED")
    assert.strictEqual(SpendCap.keyPlanOf(record({ capped: cappedInMarch }), BillingConfig.defaults, NOW), "METERED")
  })

  it("capOf: the record's cap, else SPEND_CAP_UNITS; 0 is none; none without the capped plan", () => {
    assert.strictEqual(SpendCap.capOf(record(), { ...config, spendCapUnits: 500 }), 500)
    assert.strictEqual(SpendCap.capOf(record({ capUnits: 50 }), { ...config, spendCapUnits: 500 }), 50)
    assert.strictEqual(SpendCap.capOf(record({ capUnits: 0 }), { ...config, spendCapUnits: 500 }), undefined)
    assert.strictEqual(SpendCap.capOf(record({ capUnits: 50 }), BillingConfig.defaults), undefined)
  })

  it("periodUnits counts the UTC month to date from the ledger and Stripe's offset", () => {
    const day = (d: string) => UtcDay.UtcDay.make(d)
    const r = record({
      ledger: { [day("2026-02-28")]: 7, [day("2026-03-01")]: 10, [day("2026-03-31")]: 5 },
      stripeOffset: { [day("2026-03-31")]: 2 }
    })
    assert.strictEqual(SpendCap.periodUnits(r, NOW), 17)
    assert.strictEqual(SpendCap.periodUnits(r, APRIL), 0)
  })
})
