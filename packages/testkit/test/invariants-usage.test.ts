/**
 * Exactly-once billing (DESIGN.md invariant 1, checked with `Invariants.violations`) over random
 * histories (`usageHistory.ts`) with GetUsage as unkind as AWS (issue 14): counts shown 40 minutes late
 * (localstack/localstack#11393), and each of the four answers to the two undocumented behaviours (a key
 * removed from a plan: its counts kept or dropped from that plan's GetUsage; a key re-added: its counts
 * kept or reset).
 *
 * Every invariant but exactness holds under every setting, `kept/kept` is exact, and nothing is billed
 * twice under any. Under the others the units lost are measured against a bound computed from the
 * history alone (what the key counted within the delay before it left the plan under "dropped", or was
 * put back into it under "reset": no read can see those) and asserted not to exceed it; the shrunk
 * counterexample of each cause is pinned with its exact outcome per setting.
 *
 * Before the core read the key's counts ahead of its moves and kept a counter baseline (seed 7, 100
 * histories per setting): kept/reset lost 298 units, dropped/kept 3,454 (63 stranded), dropped/reset
 * 3,869. Now: 298, 2,807 (63 stranded) and 3,105, each within its bound (298, 3,105 and 3,403).
 *
 * FC_NUM_RUNS sets the histories per setting (default 100), FC_SEED replays a run, as in invariants.test.ts.
 */
import { CustomerRepo, HandleEvent, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option, TestClock } from "effect"
import { Driver, MemoryState, StripeEvents } from "../src/index.js"
import {
  apiKeyId,
  customerId,
  heldSubscription,
  nowSeconds,
  settleOk,
  signUpMetered,
  T0,
  testLayer
} from "./support.js"
import { type Command, command, nameOf, run, type Setting, settings } from "./usageHistory.js"

const numRuns = Number(process.env.FC_NUM_RUNS ?? 100)
const seedSetting = process.env.FC_SEED
const seed = seedSetting === undefined || seedSetting === "random" ? Date.now() : Number(seedSetting)

const loses = (units: number, stranded = 0) => ({ lost: units, over: 0, stranded })
const exact = loses(0)
// Customer 1 promoted, 10 units used and billed by a sync past the delay, then demoted.
const billedThenDemoted: ReadonlyArray<Command> = [
  { _tag: "Promote", c: 1 },
  { _tag: "Usage", c: 1, units: 10 },
  { _tag: "Advance", minutes: 41 },
  { _tag: "Sync" },
  { _tag: "Demote", c: 1, how: "finalFailure" }
]

// Customer 1 promoted, `units` used, demoted for non-payment (its subscription unpaid, not live), and
// promoted again `minutes` later, inside the settle window: Stripe makes a new subscription.
const promotedInSettleWindow = (units: number, minutes: number): ReadonlyArray<Command> => [
  { _tag: "Promote", c: 1 },
  { _tag: "Usage", c: 1, units },
  { _tag: "Demote", c: 1, how: "finalFailure" },
  { _tag: "Advance", minutes },
  { _tag: "Promote", c: 1 }
]

// The shrunk counterexamples of each loss, with what each setting loses (kept/kept: nothing). Each names
// its cause and, where core can remove it, the change that would.
const regressions: ReadonlyArray<{
  readonly cause: string
  readonly commands: ReadonlyArray<Command>
  /** Per setting; a setting not listed is exact. */
  readonly expected: Partial<
    Record<Setting, { readonly lost: number; readonly over: number; readonly stranded: number }>
  >
}> = [
  {
    // Fixed flow bug (issue 9): the demotion moved the key, then read its usage; a dropped key read as
    // nothing, so what the last sync did not see was lost. It now reports first, then moves.
    cause: "dropped: the demotion reports the key's metered usage before it moves the key",
    commands: [
      { _tag: "Promote", c: 2 },
      { _tag: "Usage", c: 2, units: 1 },
      { _tag: "Sync" },
      { _tag: "Advance", minutes: 40 },
      { _tag: "Demote", c: 2, how: "finalFailure" }
    ],
    expected: {}
  },
  {
    // Unavoidable under "dropped": counted within the delay before the key left the plan, never shown.
    cause: "dropped: usage within the reporting delay before the key is removed",
    commands: [
      { _tag: "Promote", c: 1 },
      { _tag: "Usage", c: 1, units: 3 },
      { _tag: "Advance", minutes: 20 },
      { _tag: "Demote", c: 1, how: "detach" }
    ],
    expected: {
      "dropped/kept": loses(3),
      "dropped/reset": loses(3)
    }
  },
  {
    // Was a flow bug under "reset" (lost 1): a promotion inside the settle window put the key back without
    // reading the old counter first (readable here: made 40 minutes before). Now read before the add;
    // counts made within the delay before the add stay unreadable (the next case).
    cause: "reset: a promotion reads the key's last counts before re-adding it",
    commands: [...promotedInSettleWindow(1, 40), { _tag: "Usage", c: 1, units: 1 }],
    // Under "dropped/reset" the first unit, counted within the delay before the demotion's move, is
    // gone with the key; under "dropped/kept" it comes back with the key and is billed then.
    expected: { "dropped/reset": loses(1) }
  },
  {
    // Was a flow bug under "kept" (4 units on two invoices): a promotion inside the settle window of an
    // unpaid subscription made the new subscription first, then reported the old one's last counts stamped
    // after the new one began, then cancelled the old one: Billing Meters bill an event on every live
    // subscription to the price. Now stamped before the promotion began (`MeterReport.reportStamp`).
    cause: "a promotion inside a settle window bills the old subscription's counts on its final invoice only",
    commands: [
      ...promotedInSettleWindow(4, 45),
      { _tag: "Usage", c: 1, units: 2 },
      { _tag: "Advance", minutes: 41 },
      { _tag: "Sync" }
    ],
    // The 4 units, counted within the delay before the demotion's move: gone with the key under
    // "dropped/reset"; under "dropped/kept" back with it, and billed on the old subscription.
    expected: { "dropped/reset": loses(4) }
  },
  {
    // Issue 9 (and this property at FC_SEED=7, 300 histories, under "kept/kept"): a card added just after
    // UTC midnight replaced the unpaid subscription and cancelled it at once, before yesterday's last
    // counts showed (40 minutes late); reported then, stamped 23:59:59, they were after the new
    // subscription's start and after the old one's final invoice: on no invoice. The replaced
    // subscription now stays open for a settle window, and reports meanwhile are stamped before the
    // replacement began, so they are on its final invoice.
    cause: "issue 9: a replacement just after UTC midnight bills yesterday's last counts on the old subscription",
    commands: [
      { _tag: "ToMidnight", minutesBefore: 1 },
      { _tag: "Promote", c: 1 },
      { _tag: "Usage", c: 1, units: 3 },
      { _tag: "Advance", minutes: 1 },
      { _tag: "Demote", c: 1, how: "finalFailure" },
      { _tag: "Promote", c: 1 },
      { _tag: "Sync" },
      { _tag: "Usage", c: 1, units: 2 }
    ],
    // Under "reset" the 3 units, counted within the delay before the promotion put the key back, are
    // hidden by the new counter (the bound of "reset"); under "dropped/kept" they come back and are billed.
    expected: { "kept/reset": loses(3), "dropped/reset": loses(3) }
  },
  {
    // Unavoidable under "reset": counted within the delay before the key was put back, never shown.
    cause: "reset: usage within the reporting delay before the key is re-added",
    commands: [
      { _tag: "Promote", c: 1 },
      { _tag: "Usage", c: 1, units: 2 },
      { _tag: "Demote", c: 1, how: "detach" },
      { _tag: "Advance", minutes: 20 },
      { _tag: "Promote", c: 1 }
    ],
    expected: {
      "kept/reset": loses(2),
      // Gone with the key at the demotion; under "dropped/kept" back with it, and billed.
      "dropped/reset": loses(2)
    }
  },
  {
    // Was a flow bug under "reset" (lost 5): the day's ledger held the reported 10, the new counter
    // started at 0, so the next 10 units of the day read as already billed. The baseline taken right
    // after the add (`counterOffset`) continues the new counter from the ledger.
    cause: "reset: the new counter's units are billed on top of the day's ledger",
    commands: [
      ...billedThenDemoted,
      { _tag: "Promote", c: 1 },
      { _tag: "Usage", c: 1, units: 5 },
      { _tag: "Advance", minutes: 41 },
      { _tag: "Sync" }
    ],
    expected: {}
  },
  {
    // Unavoidable: the unit was counted within the delay before the demotion's move. Under
    // "dropped/kept" it comes back with the key and is reported then; for a past day the event is
    // stamped inside that day, before the new subscription and after the old one's final invoice:
    // accepted, on no invoice (stranded).
    cause: "dropped/kept: counts back with the key are reported after their subscription's final invoice",
    commands: [
      { _tag: "Promote", c: 1 },
      { _tag: "Usage", c: 1, units: 1 },
      { _tag: "Demote", c: 1, how: "finalFailure" },
      { _tag: "Advance", minutes: 90 },
      { _tag: "Sync" },
      { _tag: "ToMidnight", minutesBefore: 0 },
      { _tag: "Promote", c: 1 }
    ],
    expected: {
      "dropped/kept": loses(1, 1),
      "dropped/reset": loses(1)
    }
  },
  {
    // Was a flow bug under "dropped/kept" (10 stranded): newLink read the key's history while the key
    // was outside the metered plan, saw none, and reported it again once the key was back. A key linked
    // outside the metered plan now takes its baseline when it is added (`baselineDue: "Link"`).
    cause: "dropped/kept: a relinked key's old history comes back and is not reported again",
    commands: [
      ...billedThenDemoted,
      { _tag: "Advance", minutes: 90 },
      { _tag: "Sync" },
      { _tag: "Relink", c: 1 },
      { _tag: "Promote", c: 1 },
      { _tag: "Usage", c: 1, units: 5 }
    ],
    expected: {}
  }
]

describe("the shrunk counterexamples, under each setting", () => {
  for (const r of regressions) {
    it.each(settings)(`${r.cause}: $removedKey/$readdedKey`, async (model) => {
      const o = await run(r.commands, model)
      assert.deepStrictEqual({ lost: o.lost, over: o.over, stranded: o.stranded }, r.expected[nameOf(model)] ?? exact)
    }, 60_000)
  }
})

// As "a relinked key's old history comes back", the same day and to another customer. Before the
// counter baseline, customer 2 was invoiced 15 (customer 1's 10 as well) under "dropped/kept", and 0
// under "kept/reset" (newLink saw the 10, the re-added counter restarted, the ledger swallowed the 5).
describe("a key handed to another customer the same day", () => {
  for (const model of settings) {
    it.effect(`bills the new customer for its own usage only: ${nameOf(model)}`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const driver = yield* Driver.Driver
        const repo = yield* CustomerRepo.CustomerRepo
        yield* driver.setUsageModel(model)
        yield* signUpMetered(1)
        yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 10 })
        yield* TestClock.adjust("41 minutes")
        yield* settleOk(UsageSync.syncUsage())
        yield* settleOk(HandleEvent.handleEvent(
          StripeEvents.invoicePaymentFailed({
            customerId: customerId(1),
            subscriptionId: yield* heldSubscription(1),
            created: yield* nowSeconds
          })
        ))
        yield* TestClock.adjust("90 minutes")
        yield* settleOk(UsageSync.syncUsage())
        yield* repo.remove(Option.getOrThrow(yield* driver.record(customerId(1))))
        yield* driver.createStripeCustomer(customerId(2), 1)
        yield* repo.create(yield* UsageSync.newLink({ customerId: customerId(2), apiKeyId: apiKeyId(1) }))
        yield* settleOk(HandleEvent.handleEvent(
          StripeEvents.setupIntentSucceeded({ customerId: customerId(2), created: yield* nowSeconds })
        ))
        yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 5 })
        yield* TestClock.adjust("41 minutes")
        yield* settleOk(UsageSync.syncUsage())
        const today = UtcDay.fromMillis(T0)
        assert.strictEqual(yield* driver.billed({ customerId: customerId(1), day: today }), 10)
        assert.strictEqual(
          yield* driver.billed({ customerId: customerId(2), day: today }),
          5
        )
      }).pipe(Effect.provide(testLayer({ lookbackDays: 14 }))))
  }
})

// The settle window (BillingConfig default: 1 hour) must cover the reporting delay: the sync that closes
// it reads counts made up to (close - delay), and the key left the metered plan at the demotion, when
// the window began. A close right at the window's end covers a delay up to the window, not a minute more.
describe("the default settle window covers a reporting delay up to its own length", () => {
  const closeOnTime: ReadonlyArray<Command> = [
    { _tag: "Promote", c: 1 },
    { _tag: "Usage", c: 1, units: 5 },
    { _tag: "Demote", c: 1, how: "finalFailure" },
    { _tag: "Advance", minutes: 60 },
    { _tag: "Sync" }
  ]
  it.each([{ minutes: 40, lost: 0 }, { minutes: 60, lost: 0 }, { minutes: 61, lost: 5 }])(
    "a delay of $minutes minutes loses $lost units",
    async ({ lost, minutes }) => {
      // kept/kept allows no loss: a lossy history is rejected, naming what it lost.
      const said = await run(closeOnTime, { ...MemoryState.exactUsage, delayMillis: minutes * 60_000 }).then(
        (o) => `lost ${o.lost} units`,
        (e) => String(e)
      )
      assert.include(said, `lost ${lost} units`)
    },
    60_000
  )
})

// Found by this property at seed 191554140: a card added a day after a final payment failure (no sync
// closed the settle window meanwhile) retired the unpaid subscription before the key's last metered
// counts were reported; reported after its final invoice and stamped before the new subscription
// began, they were on no invoice. A promotion that retires now reports the key's usage first.
it("a promotion that retires an unpaid subscription reports its last counts before the final invoice", async () => {
  const outcome = await run([
    { _tag: "Promote", c: 1 },
    { _tag: "Usage", c: 1, units: 1 },
    { _tag: "Demote", c: 1, how: "finalFailure" },
    { _tag: "Relink", c: 2 },
    { _tag: "Usage", c: 1, units: 1 },
    { _tag: "Promote", c: 1 },
    { _tag: "Sync" },
    { _tag: "Usage", c: 1, units: 1 }
  ], settings[0]!)
  assert.deepStrictEqual({ lost: outcome.lost, over: outcome.over, stranded: outcome.stranded }, {
    lost: 0,
    over: 0,
    stranded: 0
  })
}, 60_000)

// Found here: a relinked record starts again at generation 0 without a subscription, so the next
// promotion's idempotency key was the first promotion's, and within Stripe's 24-hour replay window
// Stripe answered with the old, cancelled subscription. The key now names the link (`linkedAt`).
it("a customer relinked and promoted again within 24 hours gets a live subscription", async () => {
  await run([
    { _tag: "Promote", c: 1 },
    { _tag: "Demote", c: 1, how: "finalFailure" },
    { _tag: "Advance", minutes: 90 },
    { _tag: "Sync" },
    { _tag: "Relink", c: 1, sameDay: true },
    { _tag: "Promote", c: 1 }
  ], MemoryState.exactUsage)
}, 60_000)

describe.each(settings)(
  "billing with GetUsage 40 minutes late, removed key $removedKey, re-added key $readdedKey",
  (model) => {
    it(`is exact or loses at most the setting's bound, over ${numRuns} histories (seed ${seed})`, async () => {
      const totals = {
        histories: 0,
        lossy: 0,
        lost: 0,
        maxLost: 0,
        lossBound: 0,
        stranded: 0,
        used: 0,
        vanished: 0,
        counterResets: 0
      }
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
          const o = await run(commands, model)
          totals.histories++
          if (o.lost > 0) totals.lossy++
          totals.lost += o.lost
          totals.maxLost = Math.max(totals.maxLost, o.lost)
          totals.lossBound += o.lossBound
          totals.stranded += o.stranded
          totals.used += o.used
          totals.vanished += o.vanished
          totals.counterResets += o.counterResets
        }),
        { numRuns, seed }
      )
      console.log(`usage model ${model.removedKey}/${model.readdedKey}: ${JSON.stringify(totals)} (FC_SEED=${seed})`)
    }, 1_800_000)
  }
)
