import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import type * as Customer from "../src/Customer.js"
import { ApiKeyId, CustomerId, MeterEventIdentifier } from "../src/Ids.js"
import * as Stripe from "../src/Stripe.js"
import * as UsageSync from "../src/UsageSync.js"
import * as UtcDay from "../src/UtcDay.js"

const day = (s: string): UtcDay.UtcDay => Schema.decodeSync(UtcDay.UtcDay)(s)
const customer = CustomerId.make("cus_RmX2bQ9sTz4kLp")
const key = ApiKeyId.make("a1b2c3d4e5")

// Stripe customer ids are `cus_` and 14 characters today; allow four times that for future formats.
const customerIds = FastCheck.stringMatching(/^cus_[A-Za-z0-9]{1,60}$/).map((s) => CustomerId.make(s))
const days = FastCheck.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2199, 11, 31) }).map(UtcDay.fromMillis)
const totals = FastCheck.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

describe("UsageSync.identifierFor", () => {
  it("is deterministic: the same customer, key, day and total give the same identifier", () => {
    const a = UsageSync.identifierFor(customer, key, day("2026-03-15"), 1_234)
    const b = UsageSync.identifierFor(CustomerId.make("cus_RmX2bQ9sTz4kLp"), key, day("2026-03-15"), 1_234)
    assert.strictEqual(a, b)
    assert.include(a, customer)
    assert.include(a, "2026-03-15")
    assert.include(a, "1234")
  })

  it("differs when the customer, the key, the day or the total differs", () => {
    const base = UsageSync.identifierFor(customer, key, day("2026-03-15"), 1_234)
    assert.notStrictEqual(
      UsageSync.identifierFor(CustomerId.make("cus_Other0001"), key, day("2026-03-15"), 1_234),
      base
    )
    assert.notStrictEqual(UsageSync.identifierFor(customer, key, day("2026-03-16"), 1_234), base)
    assert.notStrictEqual(UsageSync.identifierFor(customer, key, day("2026-03-15"), 1_235), base)
    // Linked to another key, the customer's totals start again: they must not collide with the old key's.
    assert.notStrictEqual(
      UsageSync.identifierFor(customer, ApiKeyId.make("z9y8x7w6v5"), day("2026-03-15"), 1_234),
      base
    )
  })

  it("does not let one customer's id run into another's day or total", () => {
    // "cus_a1" on day D with total 23 must not equal "cus_a12" on day D with total 3, and so on.
    const a = UsageSync.identifierFor(CustomerId.make("cus_a1"), key, day("2026-03-15"), 23)
    const b = UsageSync.identifierFor(CustomerId.make("cus_a12"), key, day("2026-03-15"), 3)
    assert.notStrictEqual(a, b)
  })

  it("fits Stripe's 100 characters for a long id and the largest total", () => {
    const longest = CustomerId.make(`cus_${"Z".repeat(60)}`)
    const identifier = UsageSync.identifierFor(longest, key, day("2026-12-31"), Number.MAX_SAFE_INTEGER)
    assert.isAtMost(identifier.length, 100)
    assert.isTrue(Either.isRight(Schema.decodeUnknownEither(MeterEventIdentifier)(identifier)))
  })

  it.prop("is at most 100 characters, valid and deterministic", [customerIds, days, totals], ([id, d, total]) => {
    const identifier = UsageSync.identifierFor(id, key, d, total)
    assert.isAtMost(identifier.length, 100)
    assert.isAtLeast(identifier.length, 1)
    assert.strictEqual(UsageSync.identifierFor(id, key, d, total), identifier)
  })

  it.prop("is distinct for distinct (day, total) of one customer", [customerIds, days, totals, days, totals], (
    [id, d1, t1, d2, t2]
  ) => {
    const same = d1 === d2 && t1 === t2
    assert.strictEqual(UsageSync.identifierFor(id, key, d1, t1) === UsageSync.identifierFor(id, key, d2, t2), same)
  })
})

describe("UsageSync.timestampFor", () => {
  it("is now (in epoch seconds) for today", () => {
    const now = Date.UTC(2026, 2, 15, 13, 45, 30, 789)
    assert.strictEqual(UsageSync.timestampFor(day("2026-03-15"), now), Math.floor(now / 1000))
  })

  it("is the last second of a past day", () => {
    const now = Date.UTC(2026, 2, 16, 0, 5)
    assert.strictEqual(UsageSync.timestampFor(day("2026-03-15"), now), Date.UTC(2026, 2, 15, 23, 59, 59) / 1000)
    assert.strictEqual(
      UsageSync.timestampFor(day("2028-02-29"), Date.UTC(2028, 3, 1)),
      Date.UTC(2028, 1, 29, 23, 59, 59) / 1000
    )
    assert.strictEqual(
      UsageSync.timestampFor(day("2026-12-31"), Date.UTC(2027, 0, 1)),
      Date.UTC(2026, 11, 31, 23, 59, 59) / 1000
    )
  })

  it("is a whole number of seconds, even at the first and last millisecond of today", () => {
    const d = day("2026-03-15")
    assert.strictEqual(UsageSync.timestampFor(d, UtcDay.startMillis(d)), UtcDay.startMillis(d) / 1000)
    assert.strictEqual(UsageSync.timestampFor(d, UtcDay.endMillis(d)), (UtcDay.endMillis(d) + 1) / 1000 - 1)
  })

  it.prop(
    "lies inside the day for any now on or after the day's start",
    [days, FastCheck.integer({ min: 0, max: 40 * 86_400_000 })],
    ([d, offset]) => {
      const now = UtcDay.startMillis(d) + offset
      const ts = UsageSync.timestampFor(d, now)
      assert.isTrue(Number.isInteger(ts))
      assert.strictEqual(UtcDay.fromMillis(ts * 1000), d)
      assert.isAtMost(ts * 1000, now, "a meter event is never in the future")
    }
  )
})

// Billing Meters bill an event on every live subscription to the price (docs.stripe.com/billing/
// subscriptions/usage-based/implementation-guide): while a replaced subscription is open, stamps stay
// before the second its replacement can have begun.
describe("UsageSync.reportStamp", () => {
  const record = (replacingSince?: number): Customer.Customer => ({
    customerId: customer,
    apiKeyId: key,
    plan: "METERED",
    ledger: {},
    version: 1,
    updatedAt: 0,
    ...(replacingSince === undefined ? {} : { replacingSince })
  })
  const noon = Date.UTC(2026, 2, 15, 12)

  it("is the plain stamp when nothing is being replaced", () => {
    assert.strictEqual(UsageSync.reportStamp(record(), day("2026-03-15"), noon), noon / 1000)
    assert.strictEqual(UsageSync.reportStamp(record(), day("2026-03-15"), noon, noon / 1000 - 60), noon / 1000 - 61)
  })

  it("is before the replacement began while the old subscription is open", () => {
    const began = noon - 30 * 60_000 + 400
    assert.strictEqual(UsageSync.reportStamp(record(began), day("2026-03-15"), noon), Math.floor(began / 1000) - 1)
    // A past day's last second is already before it.
    assert.strictEqual(
      UsageSync.reportStamp(record(began), day("2026-03-14"), noon),
      Date.UTC(2026, 2, 14, 23, 59, 59) / 1000
    )
  })

  it("waits when the day has no second before the replacement began", () => {
    assert.isUndefined(UsageSync.reportStamp(record(Date.UTC(2026, 2, 15) + 700), day("2026-03-15"), noon))
    assert.isUndefined(UsageSync.reportStamp(record(Date.UTC(2026, 2, 14, 20)), day("2026-03-15"), noon))
  })
})

describe("identifierFor with long customer ids", () => {
  it("stays within 100 characters and deterministic for the longest customer id", () => {
    const long = CustomerId.make(`cus_${"a".repeat(250)}`)
    const d = day("2026-03-15")
    const id = UsageSync.identifierFor(long, key, d, 123_456_789)
    assert.isAtMost(id.length, 100)
    assert.strictEqual(id, UsageSync.identifierFor(long, key, d, 123_456_789))
    assert.notStrictEqual(id, UsageSync.identifierFor(CustomerId.make(`cus_${"a".repeat(249)}b`), key, d, 123_456_789))
  })
})

describe("Stripe.creationKey", () => {
  it("is the caller's key while every subscription is live or cancelled", () => {
    assert.strictEqual(Stripe.creationKey("promote:cus_1:g0:none", []), "promote:cus_1:g0:none")
  })

  it("names the subscriptions that stopped being live, in any order, within 255 characters", () => {
    const a = Stripe.creationKey("promote:cus_1:g0:none", ["sub_b", "sub_a"])
    assert.strictEqual(a, "promote:cus_1:g0:none:sub_a,sub_b")
    assert.strictEqual(Stripe.creationKey("promote:cus_1:g0:none", ["sub_a", "sub_b"]), a)
    const many = Array.from({ length: 20 }, (_, i) => `sub_${"x".repeat(24)}${i}`)
    const long = Stripe.creationKey("promote:cus_1:g0:none", many)
    assert.isAtMost(long.length, Stripe.MAX_IDEMPOTENCY_KEY)
    assert.notStrictEqual(long, Stripe.creationKey("promote:cus_1:g0:none", many.slice(1)))
  })
})
