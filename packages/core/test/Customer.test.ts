import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import * as Customer from "../src/Customer.js"
import { CustomerRepoError, VersionConflict } from "../src/CustomerRepo.js"
import { classify, promotionKey } from "../src/HandleEvent.js"
import { ApiKeyId, CustomerId, MeterEventIdentifier, SubscriptionId } from "../src/Ids.js"
import { PlanAdminError } from "../src/PlanAdmin.js"
import { StripeError } from "../src/Stripe.js"
import { StripeEventDecodeError } from "../src/StripeEvent.js"
import { UsageSourceError } from "../src/UsageSource.js"
import * as UtcDay from "../src/UtcDay.js"

const day = (s: string): UtcDay.UtcDay => Schema.decodeSync(UtcDay.UtcDay)(s)
const customerId = CustomerId.make("cus_Customer0001")
const fresh = Customer.make({ customerId, apiKeyId: ApiKeyId.make("key01"), now: 1_767_225_600_000 })

describe("Customer.make", () => {
  it("links a customer and a key on the free plan with an empty ledger, version 0", () => {
    assert.deepStrictEqual(fresh, {
      customerId,
      apiKeyId: ApiKeyId.make("key01"),
      plan: "FREE",
      ledger: {},
      linkedAt: 1_767_225_600_000,
      version: 0,
      updatedAt: 1_767_225_600_000
    })
    assert.isTrue(Either.isRight(Schema.validateEither(Customer.Customer)(fresh)))
  })
})

describe("HandleEvent.promotionKey", () => {
  it("differs for a customer unlinked and linked again, so Stripe never replays the old link's subscription", () => {
    const relinked = Customer.make({ customerId, apiKeyId: ApiKeyId.make("key01"), now: 1_767_225_600_000 + 3_600_000 })
    assert.notStrictEqual(promotionKey(relinked), promotionKey(fresh))
  })

  it("is the same for promotions from the same state, and changes with the generation or the subscription", () => {
    assert.strictEqual(promotionKey(fresh), promotionKey({ ...fresh, version: 7, updatedAt: 1 }))
    assert.notStrictEqual(promotionKey({ ...fresh, generation: 1 }), promotionKey(fresh))
    assert.notStrictEqual(promotionKey({ ...fresh, subscriptionId: SubscriptionId.make("sub_1") }), promotionKey(fresh))
  })

  it("keeps the earlier form for records linked before `linkedAt` existed", () => {
    const { linkedAt: _, ...old } = fresh
    assert.strictEqual(promotionKey(old), "promote:cus_Customer0001:g0:none")
  })
})

describe("Customer.reported", () => {
  it("is the day's reported units, 0 for a day never reported", () => {
    const c = { ...fresh, ledger: { [day("2026-03-15")]: 40 } }
    assert.strictEqual(Customer.reported(c, day("2026-03-15")), 40)
    assert.strictEqual(Customer.reported(c, day("2026-03-14")), 0)
  })
})

describe("Customer.isSyncCandidate", () => {
  it("is true for metered, pending or settling records only", () => {
    const pending: Customer.PendingReport = {
      day: day("2026-03-15"),
      total: 10,
      value: 10,
      identifier: MeterEventIdentifier.make("ab1:x"),
      timestamp: 1_773_532_800
    }
    assert.isFalse(Customer.isSyncCandidate(fresh))
    assert.isFalse(Customer.isSyncCandidate({ ...fresh, subscriptionId: SubscriptionId.make("sub_1") }))
    assert.isTrue(Customer.isSyncCandidate({ ...fresh, plan: "METERED" }))
    assert.isTrue(Customer.isSyncCandidate({ ...fresh, pending }))
    assert.isTrue(Customer.isSyncCandidate({ ...fresh, settleUntil: 1 }))
  })
})

describe("Customer.withReported", () => {
  it("sets the day's total and keeps the others", () => {
    const ledger = Customer.withReported({ [day("2026-03-14")]: 7 }, day("2026-03-15"), 12)
    assert.deepStrictEqual(ledger, { [day("2026-03-14")]: 7, [day("2026-03-15")]: 12 })
  })

  it("never lowers a day's total", () => {
    const ledger = Customer.withReported({ [day("2026-03-15")]: 30 }, day("2026-03-15"), 12)
    assert.strictEqual(ledger[day("2026-03-15")], 30)
  })

  it("drops days older than the retention, keeps the oldest retained day", () => {
    const d = day("2026-03-15")
    const oldest = UtcDay.add(d, -Customer.LEDGER_RETENTION_DAYS)
    const tooOld = UtcDay.add(oldest, -1)
    const ledger = Customer.withReported({ [tooOld]: 1, [oldest]: 2 }, d, 3)
    assert.deepStrictEqual(ledger, { [oldest]: 2, [d]: 3 })
  })

  it("does not change the ledger it is given", () => {
    const before = { [day("2026-01-01")]: 5 }
    Customer.withReported(before, day("2026-03-15"), 3)
    assert.deepStrictEqual(before, { [day("2026-01-01")]: 5 })
  })

  it.prop(
    "the day holds the larger of old and new total",
    [FastCheck.nat(), FastCheck.nat()],
    ([old, next]) => {
      const d = day("2028-02-29")
      assert.strictEqual(Customer.withReported({ [d]: old }, d, next)[d], Math.max(old, next))
    }
  )
})

describe("HandleEvent.classify", () => {
  it("rejects bad input, retries transient failures, lost races and a refused key, acknowledges the rest", () => {
    assert.strictEqual(classify(new StripeEventDecodeError({ message: "bad" })), "reject")
    assert.strictEqual(classify(new VersionConflict({ customerId, message: "lost" })), "retry")
    assert.strictEqual(classify(new StripeError({ reason: "Server", message: "500" })), "retry")
    assert.strictEqual(classify(new StripeError({ reason: "Timeout", message: "slow" })), "retry")
    assert.strictEqual(classify(new CustomerRepoError({ reason: "Throttled", message: "429" })), "retry")
    assert.strictEqual(classify(new UsageSourceError({ reason: "Server", message: "500" })), "retry")
    assert.strictEqual(classify(new PlanAdminError({ reason: "Throttled", message: "429" })), "retry")
    assert.strictEqual(classify(new StripeError({ reason: "InvalidRequest", message: "400" })), "acknowledge")
    // A rotated or expired key of ours: the delivery must come again once the new key is read.
    assert.strictEqual(classify(new StripeError({ reason: "Authentication", message: "401" })), "retry")
    assert.strictEqual(classify(new CustomerRepoError({ reason: "Invalid", message: "x" })), "acknowledge")
    assert.strictEqual(classify(new PlanAdminError({ reason: "Conflict", message: "x" })), "acknowledge")
  })
})

describe("Customer.unlinkBlockers (issue 9: nothing may leave a subscription no record holds)", () => {
  const now = 1_767_225_600_000
  const sub = SubscriptionId.make("sub_unlink1")
  it("a FREE record with nothing open may be unlinked", () => {
    assert.deepStrictEqual(Customer.unlinkBlockers(fresh, now), [])
  })
  it("a metered record, an open or ended settle window, a close, subscriptions to cancel each refuse with a reason", () => {
    const cases: ReadonlyArray<[Customer.Customer, string]> = [
      [{ ...fresh, plan: "METERED", subscriptionId: sub }, "metered plan"],
      [{ ...fresh, subscriptionId: sub, settleUntil: now + 1 }, "open until"],
      [{ ...fresh, subscriptionId: sub, settleUntil: now }, "has ended but is not closed"],
      [{ ...fresh, closingSince: now }, "closing"],
      [{ ...fresh, orphans: [sub] }, "still to be cancelled"],
      [{ ...fresh, retiring: [sub] }, "still to be cancelled"]
    ]
    for (const [record, reason] of cases) {
      const reasons = Customer.unlinkBlockers(record, now)
      assert.isTrue(reasons.some((r) => r.includes(reason)), `${reason}: ${reasons.join("; ")}`)
    }
  })
  it("whatever the record, one with no blockers is no sync candidate and names no subscription", () => {
    const ids = FastCheck.option(FastCheck.constant(sub), { nil: undefined })
    FastCheck.assert(
      FastCheck.property(
        FastCheck.record({
          plan: FastCheck.constantFrom("FREE" as const, "METERED" as const),
          subscriptionId: ids,
          settleUntil: FastCheck.option(FastCheck.integer({ min: now - 10, max: now + 10 }), { nil: undefined }),
          closingSince: FastCheck.option(FastCheck.constant(now), { nil: undefined }),
          orphans: FastCheck.option(FastCheck.constant([sub]), { nil: undefined })
        }),
        (fields) => {
          const record = Object.fromEntries(
            Object.entries({ ...fresh, ...fields }).filter(([, v]) => v !== undefined)
          ) as Customer.Customer
          if (Customer.unlinkBlockers(record, now).length > 0) return
          assert.isFalse(Customer.isSyncCandidate(record))
          assert.isUndefined(record.subscriptionId)
        }
      )
    )
  })
})
