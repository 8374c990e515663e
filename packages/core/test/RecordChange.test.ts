import { assert, describe, it } from "@effect/vitest"
import { Duration, Either, FastCheck as fc } from "effect"
import * as Customer from "../src/Customer.js"
import { ApiKeyId, CustomerId, SubscriptionId } from "../src/Ids.js"
import * as RecordChange from "../src/RecordChange.js"

// A small pool of subscription ids, so that the record's, the new one and the open ones often coincide.
const subscriptionIds = fc.constantFrom(...["sub_a", "sub_b", "sub_c", "sub_d"].map((s) => SubscriptionId.make(s)))
const ids = fc.uniqueArray(subscriptionIds, { maxLength: 3 })
const times = fc.integer({ min: 0, max: 1_000 })
const maybe = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })

const customers: fc.Arbitrary<Customer.Customer> = fc.record({
  plan: fc.constantFrom("FREE" as const, "METERED" as const),
  subscriptionId: maybe(subscriptionIds),
  retiring: maybe(ids),
  orphans: maybe(ids),
  // Millis around the clocks below, so that some closes are running and some outlived the lease.
  closingSince: maybe(fc.integer({ min: 0, max: 2 * Customer.CLOSE_LEASE_MILLIS })),
  lastEventAt: maybe(times),
  paymentFailedAt: maybe(times),
  settleUntil: maybe(fc.integer({ min: 0, max: 4 * Customer.CLOSE_LEASE_MILLIS })),
  generation: maybe(fc.integer({ min: 0, max: 3 })),
  replacingSince: maybe(fc.integer({ min: 0, max: 2 * Customer.CLOSE_LEASE_MILLIS })),
  version: fc.nat({ max: 10 })
}).map((fields) => ({
  ...Customer.make({ customerId: CustomerId.make("cus_1"), apiKeyId: ApiKeyId.make("key_1"), now: 0 }),
  ...fields
}))
const clocks = fc.record({ created: times, guarded: fc.boolean() })
const promotions = fc.record({
  at: clocks,
  started: fc.integer({ min: 0, max: 2 * Customer.CLOSE_LEASE_MILLIS }),
  generation: fc.integer({ min: 0, max: 3 })
})
const adoptions = fc.record({ subscriptionId: subscriptionIds, open: ids, now: times })

describe("RecordChange.admit", () => {
  it.prop(
    "refuses exactly the stale events, then the records being closed or of another generation",
    [customers, promotions],
    ([c, p]) => {
      const stale = p.at.guarded && c.lastEventAt !== undefined && p.at.created < c.lastEventAt
      const fenced = Customer.isClosing(c, p.started) || (c.generation ?? 0) !== p.generation
      assert.strictEqual(RecordChange.admit(c, p), stale ? "Stale" : fenced ? "Fenced" : undefined)
    }
  )
})

describe("RecordChange.adoptSubscription", () => {
  it.prop("is refused exactly when the promotion is not admitted", [customers, promotions, adoptions], ([c, p, a]) => {
    const result = RecordChange.adoptSubscription(c, p, a)
    const refused = RecordChange.admit(c, p)
    assert.strictEqual(Either.isLeft(result), refused !== undefined)
    if (Either.isLeft(result)) assert.strictEqual(result.left, refused)
  })

  it.prop(
    "holds the new subscription and loses no other: each is retiring or orphaned, never the record's",
    [customers, promotions, adoptions],
    ([c, p, a]) => {
      const result = RecordChange.adoptSubscription(c, { ...p, at: { ...p.at, guarded: false } }, a)
      if (Either.isLeft(result)) return
      const next = result.right
      assert.strictEqual(next.plan, "METERED")
      assert.strictEqual(next.subscriptionId, a.subscriptionId)
      const left = new Set([...(next.retiring ?? []), ...(next.orphans ?? [])])
      assert.isFalse(left.has(a.subscriptionId))
      const before = [c.subscriptionId, ...(c.retiring ?? []), ...(c.orphans ?? []), ...a.open]
      for (const id of before) if (id !== undefined && id !== a.subscriptionId) assert.isTrue(left.has(id), id)
      // The replaced subscription gets a final invoice: it is retiring, not orphaned.
      if (c.subscriptionId !== undefined && c.subscriptionId !== a.subscriptionId) {
        assert.include(next.retiring ?? [], c.subscriptionId)
      }
      // Until the replaced ones are cancelled, usage is stamped before the new one can have begun.
      if ((next.retiring?.length ?? 0) > 0) assert.isAtMost(next.replacingSince!, p.started)
      else assert.isUndefined(next.replacingSince)
      assert.isUndefined(next.closingSince)
      assert.isUndefined(next.settleUntil)
      assert.isUndefined(next.paymentFailedAt)
      assert.isAtLeast(next.lastEventAt!, Math.max(c.lastEventAt ?? 0, p.at.created))
      assert.strictEqual(next.version, c.version)
      assert.strictEqual(next.updatedAt, a.now)
    }
  )
})

describe("RecordChange.holdSettleWindow", () => {
  it.prop(
    "extends only a FREE record's window, to at least the promotion window",
    [customers, promotions],
    ([c, p]) => {
      const result = RecordChange.holdSettleWindow(c, p)
      const refused = RecordChange.admit(c, p)
      if (refused !== undefined) return assert.deepStrictEqual(result, Either.left(refused))
      if (c.plan !== "FREE") return assert.deepStrictEqual(result, Either.left("Unchanged"))
      const next = Either.getOrThrow(result)
      const until = p.started + Duration.toMillis(RecordChange.PROMOTION_WINDOW)
      assert.strictEqual(next.settleUntil, Math.max(c.settleUntil ?? until, until))
      // Holding a subscription, the record may see it replaced from now on (an earlier mark stays).
      if (c.subscriptionId !== undefined) {
        assert.strictEqual(next.replacingSince, Math.min(c.replacingSince ?? p.started, p.started))
      }
      assert.deepStrictEqual(
        { ...next, settleUntil: c.settleUntil, updatedAt: c.updatedAt, replacingSince: c.replacingSince },
        c
      )
    }
  )
})

describe("RecordChange.demote and recordFailure", () => {
  it.prop(
    "a demotion is FREE with a window from now, a new generation only when leaving METERED",
    [customers, clocks, fc.boolean(), times],
    ([c, at, nonPayment, now]) => {
      const result = RecordChange.demote(c, at, { nonPayment, now, settleWindow: Duration.hours(1) })
      if (RecordChange.staleFor(c, at)) return assert.deepStrictEqual(result, Either.left("Stale"))
      const next = Either.getOrThrow(result)
      assert.strictEqual(next.plan, "FREE")
      assert.strictEqual(next.settleUntil, now + 3_600_000)
      assert.strictEqual(next.generation, c.plan === "METERED" ? (c.generation ?? 0) + 1 : c.generation)
      assert.strictEqual(next.paymentFailedAt, nonPayment ? (c.paymentFailedAt ?? at.created) : undefined)
      assert.strictEqual(next.subscriptionId, c.subscriptionId)
    }
  )

  it.prop(
    "a failed payment keeps the earliest failure",
    [customers, clocks, times, times],
    ([c, at, failedAt, now]) => {
      const result = RecordChange.recordFailure(c, at, { failedAt, now })
      if (RecordChange.staleFor(c, at)) return assert.deepStrictEqual(result, Either.left("Stale"))
      const next = Either.getOrThrow(result)
      assert.strictEqual(next.paymentFailedAt, Math.min(c.paymentFailedAt ?? failedAt, failedAt))
      assert.strictEqual(next.plan, c.plan)
      assert.strictEqual(next.lastEventAt, Math.max(c.lastEventAt ?? at.created, at.created))
    }
  )
})
