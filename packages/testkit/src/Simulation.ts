/**
 * A simulated month of usage billing on the in-memory Layers, driven by the real flows: sign-ups,
 * cards attached, hourly traffic and syncs, a payment that fails and recovers, one that finally fails
 * and demotes mid-day (with late API Gateway counts), spend alerts at 50/80/100 % of a monthly limit,
 * a customer capped at its spend cap (its key in the capped plan, then its cap raised), month-end
 * invoices, duplicated and reordered webhooks and injected faults. It ends by checking DESIGN.md's
 * invariants per customer and day, and the spend cap's (`CapInvariants`).
 *
 * @since 0.1.0
 */
import {
  BillingConfig,
  CustomerSettings,
  HandleEvent,
  type Ids,
  SpendAlerts,
  SpendCap,
  UsageSync,
  UtcDay
} from "@augint-billing/core"
import { Effect, Exit, Fiber, Layer, Logger, LogLevel, Option, TestClock, TestContext } from "effect"
import * as AlertSinkMemory from "./AlertSinkMemory.js"
import * as CapInvariants from "./CapInvariants.js"
import { Driver } from "./Driver.js"
import { prng } from "./internal/prng.js"
import * as Invariants from "./Invariants.js"
import * as Memory from "./Memory.js"
import * as StripeEvents from "./StripeEvents.js"

/** Options of a simulation. @since 0.1.0 @category models */
export interface Options {
  /** Customers signing up on day one (default 36). */
  readonly customers?: number
  /** Days simulated (default 30). */
  readonly days?: number
  /** First instant simulated (default 2026-03-01T00:00:00Z). */
  readonly start?: number
  /** Seed of the pseudo-random traffic, faults and deliveries (default 42). */
  readonly seed?: number
  /** Called after each simulated hour with the hours done, out of `days * 24` (progress display). */
  readonly onHour?: (done: number, total: number) => void
}

/** What happened to one customer. @since 0.1.0 @category models */
export interface CustomerSummary {
  readonly customerId: Ids.CustomerId
  /** Plan changes, e.g. `2026-03-02 05:00 FREE -> METERED`. */
  readonly planChanges: ReadonlyArray<string>
  /** Requests made, in either plan. */
  readonly unitsUsed: number
  /** Requests API Gateway counted in the metered plan. */
  readonly unitsMetered: number
  /** Requests API Gateway counted in the capped plan (never billed). */
  readonly unitsCapped: number
  /** Spend alerts sent (distinct ids), as `period:percent`. */
  readonly alerts: ReadonlyArray<string>
  /** Units Stripe accepted as meter events. */
  readonly unitsBilled: number
  /** Whether billed equals metered for every day. */
  readonly exact: boolean
  readonly finalPlan: "FREE" | "METERED" | "CAPPED"
}

/** The outcome of a simulation. @since 0.1.0 @category models */
export interface Report {
  readonly customers: ReadonlyArray<CustomerSummary>
  readonly syncRuns: number
  readonly webhookDeliveries: number
  readonly duplicateDeliveries: number
  readonly faultsInjected: number
  readonly meterEvents: number
  /** The invariants checked, one line each. */
  readonly invariants: ReadonlyArray<string>
  /** Invariant violations; empty when everything held. */
  readonly violations: ReadonlyArray<string>
}

const METERED = "METERED" as Ids.UsagePlanId
const CAPPED = "CAPPED" as Ids.UsagePlanId
// Spend alerts at 50/80/100 % of this many units a month; the capped customer's cap, then raised.
const ALERT_UNITS = 40_000
const CAP_UNITS = 20_000
const RAISED_CAP_UNITS = 35_000
const config: BillingConfig.BillingSettings = { ...BillingConfig.defaults, lookbackDays: 3, cappedPlanId: CAPPED }

/** The invariants the simulation checks, as the summary prints them. @since 0.4.0 @category constants */
export const INVARIANTS: ReadonlyArray<string> = [
  "billed == counted in the metered plan, per customer and UTC day",
  "each key in exactly one plan, matching the record and payment state (FREE / METERED / CAPPED)",
  "no report left pending; every meter event on exactly one invoice; no subscription billed twice",
  "a capped key is billed no more than the metered plan counted before its move (nothing counted while capped)",
  "a customer at its cap is capped; a key is capped only in its record's period (none left after a renewal)"
]
const HOUR = 3_600_000

// Run under the TestClock to completion, moving time in small steps while it sleeps (retries).
const settle = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(self)
    for (let i = 0; i < 20_000; i++) {
      // Most operations finish without sleeping: let them run before moving the clock, since every
      // TestClock adjustment waits for a real timer tick.
      for (let k = 0; k < 64; k++) {
        yield* Effect.yieldNow()
        const done = yield* Fiber.poll(fiber)
        if (Option.isSome(done)) return done.value
      }
      yield* TestClock.adjust("250 millis")
    }
    return yield* Effect.dieMessage("an operation never finished")
  })

/** Run the simulated month. @since 0.1.0 @category utils */
export const run = (options: Options = {}): Effect.Effect<Report> => {
  const customers = options.customers ?? 36
  const days = options.days ?? 30
  const start = options.start ?? Date.parse("2026-03-01T00:00:00.000Z")
  const random = prng(options.seed ?? 42)
  const chance = (p: number) => random() < p
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)]!

  return Effect.gen(function*() {
    yield* TestClock.setTime(start)
    const driver = yield* Driver
    const { state } = driver
    const ids = Array.from({ length: customers }, (_, i) => ({
      customerId: `cus_Sim${String(i + 1).padStart(3, "0")}` as Ids.CustomerId,
      apiKeyId: `simkey${String(i + 1).padStart(3, "0")}` as Ids.ApiKeyId
    }))
    const used = new Map<Ids.CustomerId, number>()
    const changes = new Map<Ids.CustomerId, Array<string>>()
    const lastPlan = new Map<Ids.CustomerId, string>()
    const queue: Array<unknown> = []
    let syncRuns = 0
    let deliveries = 0
    let duplicates = 0
    let faults = 0
    const violations: Array<string> = []

    const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ")
    const planOf = (customerId: Ids.CustomerId, now: number) => {
      const record = state.records.get(customerId)
      return record === undefined ? "FREE" : SpendCap.isCapped(record, now) ? "CAPPED" : record.plan
    }
    const notePlans = (now: number) => {
      for (const { customerId } of ids) {
        const plan = planOf(customerId, now)
        const before = lastPlan.get(customerId) ?? "FREE"
        if (plan !== before) changes.get(customerId)!.push(`${stamp(now)} ${before} -> ${plan}`)
        lastPlan.set(customerId, plan)
      }
    }
    const deliverAll = Effect.gen(function*() {
      // Stripe does not order deliveries: shuffle, and deliver some twice.
      for (let i = queue.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1))
        ;[queue[i], queue[j]] = [queue[j], queue[i]]
      }
      const batch = queue.splice(0)
      for (const event of batch) {
        const times = chance(0.15) ? 2 : 1
        if (times === 2) duplicates++
        for (let t = 0; t < times; t++) {
          deliveries++
          const exit = yield* settle(HandleEvent.handleEvent(event))
          // Stripe delivers again only what was answered with "retry" (or not answered at all).
          const retried = Exit.isFailure(exit) &&
            (exit.cause._tag !== "Fail" || HandleEvent.classify(exit.cause.error) === "retry")
          if (retried && t === times - 1) queue.push(event)
        }
      }
    })
    const injectFault = Effect.gen(function*() {
      faults++
      const kind = pick(["transient", "crash-after-accept", "throttle", "commit-crash"] as const)
      if (kind === "transient") yield* driver.failNext("Stripe.reportUsage", { times: 2 })
      else if (kind === "crash-after-accept") yield* driver.failNext("Stripe.reportUsage", { when: "after", times: 7 })
      else if (kind === "throttle") yield* driver.failNext("UsageSource.getUsagePage", { times: 3 })
      else yield* driver.failNext("CustomerRepo.update", { skip: 1, die: true })
    })

    for (const c of ids) {
      yield* driver.signUp(c)
      used.set(c.customerId, 0)
      changes.set(c.customerId, [])
    }
    // Who adds a card on which day, who fails to pay and recovers, who stops paying.
    const cardDay = new Map(ids.map((c) => [c.customerId, chance(0.8) ? Math.floor(random() * 5) : -1]))
    const metered = ids.filter((c) => cardDay.get(c.customerId)! >= 0)
    const recovers = metered[0]
    const defaults = metered[1]
    // A customer whose own cap stops its spending mid-month; its cap is raised on day 22.
    const capped = metered[2]
    if (capped !== undefined) yield* settle(SpendCap.setCap(capped.customerId, CAP_UNITS))
    // The seller's capped plan lets a trickle through: 100 requests a day, the rest refused.
    state.quotas.set(CAPPED, { limit: 100, period: "DAY" })

    for (let hour = 0; hour < days * 24; hour++) {
      options.onHour?.(hour, days * 24)
      const now = start + hour * HOUR
      const day = Math.floor(hour / 24)
      const created = Math.floor(now / 1000)
      for (const c of ids) {
        if (cardDay.get(c.customerId) === day && hour % 24 === 9) {
          yield* driver.setPaymentMethods(c.customerId, 1)
          queue.push(StripeEvents.setupIntentSucceeded({ customerId: c.customerId, created }))
        }
        // Traffic: a steady base with bursts, working hours busier.
        const busy = hour % 24 >= 8 && hour % 24 < 20 ? 3 : 1
        const units = Math.floor(random() * 40 * busy) + (chance(0.05) ? Math.floor(random() * 2_000) : 0)
        const counted = yield* driver.addUsage({ apiKeyId: c.apiKeyId, units })
        if (counted) used.set(c.customerId, used.get(c.customerId)! + units)
      }
      const sub = (c: typeof ids[number] | undefined) =>
        c === undefined
          ? undefined
          : [...state.subscriptions.values()].find((s) =>
            s.customerId === c.customerId && Invariants.LIVE_STATUSES.has(s.status)
          )
      // Day 12: a payment fails, Stripe will retry; day 14 it is paid.
      if (day === 12 && hour % 24 === 6 && sub(recovers) !== undefined) {
        sub(recovers)!.status = "past_due"
        queue.push(StripeEvents.invoicePaymentFailed({
          customerId: recovers!.customerId,
          subscriptionId: sub(recovers)!.id,
          created,
          nextPaymentAttempt: created + 2 * 86_400,
          attemptCount: 1
        }))
      }
      if (day === 14 && hour % 24 === 6 && sub(recovers)?.status === "past_due") {
        sub(recovers)!.status = "active"
        queue.push(
          StripeEvents.invoicePaid({ customerId: recovers!.customerId, subscriptionId: sub(recovers)!.id, created })
        )
      }
      // Day 20, mid-day: the final attempt fails and the customer is demoted.
      if (day === 20 && hour % 24 === 13 && sub(defaults) !== undefined) {
        const unpaid = sub(defaults)!
        unpaid.status = "unpaid"
        queue.push(
          StripeEvents.invoicePaymentFailed({ customerId: defaults!.customerId, subscriptionId: unpaid.id, created })
        )
      }
      if (day === 22 && hour % 24 === 10 && capped !== undefined) {
        yield* settle(SpendCap.setCap(capped.customerId, RAISED_CAP_UNITS))
      }
      // Month end: Stripe creates the invoices; each one flushes the customer's usage.
      if (day === days - 1 && hour % 24 === 23) {
        for (const c of metered) {
          const subscriptionId = state.records.get(c.customerId)?.subscriptionId
          if (subscriptionId !== undefined) {
            queue.push(StripeEvents.invoiceCreated({ customerId: c.customerId, subscriptionId, created }))
          }
        }
      }
      if (chance(0.04)) yield* injectFault
      yield* deliverAll
      // API Gateway counts some metered requests of a just-demoted customer late.
      const record = defaults === undefined ? undefined : state.records.get(defaults.customerId)
      if (
        record?.plan === "FREE" && record.subscriptionId !== undefined && record.settleUntil !== undefined &&
        record.settleUntil > now
      ) {
        yield* driver.addUsage({ apiKeyId: defaults!.apiKeyId, units: 11, usagePlanId: METERED })
        used.set(defaults!.customerId, used.get(defaults!.customerId)! + 11)
      }
      // The hourly schedule, now and then twice at once (an EventBridge retry overlapping a run).
      syncRuns++
      yield* settle(
        chance(0.03)
          ? Effect.asVoid(Effect.all([UsageSync.syncUsage(), UsageSync.syncUsage()], { concurrency: 2 }))
          : Effect.asVoid(UsageSync.syncUsage())
      )
      notePlans(now)
      yield* TestClock.adjust("1 hour")
    }

    // Settle: no more faults, every pending delivery retried, the settle window closed, a last sync.
    yield* driver.clearFaults
    for (let i = 0; queue.length > 0 && i < 50; i++) yield* deliverAll
    if (queue.length > 0) violations.push(`${queue.length} webhook deliveries never succeeded`)
    yield* TestClock.adjust("2 hours")
    syncRuns++
    const last = yield* settle(UsageSync.syncUsage())
    if (Exit.isFailure(last)) violations.push("the closing sync failed")
    notePlans(start + days * 24 * HOUR)

    const end = start + days * 24 * HOUR
    violations.push(...Invariants.violations(state, ids, METERED, CAPPED))
    violations.push(...CapInvariants.capViolations(state, ids, config, end))
    const sent = (yield* AlertSinkMemory.AlertLog).alerts
    const summaries: Array<CustomerSummary> = []
    for (const c of ids) {
      const meteredByDay = state.usage.get(METERED)?.get(c.apiKeyId) ?? new Map<UtcDay.UtcDay, number>()
      const unitsMetered = [...meteredByDay.values()].reduce((n, u) => n + u, 0)
      const unitsBilled = state.meterEvents.reduce((n, e) => e.customerId === c.customerId ? n + e.value : n, 0)
      const cappedByDay = state.usage.get(CAPPED)?.get(c.apiKeyId) ?? new Map<UtcDay.UtcDay, number>()
      summaries.push({
        customerId: c.customerId,
        planChanges: changes.get(c.customerId)!,
        unitsUsed: used.get(c.customerId)!,
        unitsMetered,
        unitsCapped: [...cappedByDay.values()].reduce((n, u) => n + u, 0),
        alerts: [
          ...new Set(sent.filter((a) => a.customerId === c.customerId).map((a) => `${a.period}:${a.percent}%`))
        ],
        unitsBilled,
        exact: !violations.some((v) => v.startsWith(`${c.customerId} on `)),
        finalPlan: planOf(c.customerId, end)
      })
    }
    return {
      customers: summaries,
      syncRuns,
      webhookDeliveries: deliveries,
      duplicateDeliveries: duplicates,
      faultsInjected: faults,
      meterEvents: state.meterEvents.length,
      invariants: INVARIANTS,
      violations
    }
  }).pipe(
    Effect.provide(SpendAlerts.layer.pipe(Layer.provideMerge(Layer.mergeAll(
      Memory.layerMemory({ usagePlans: ["FREE_10K", "METERED", "CAPPED"] }),
      BillingConfig.layer(config),
      AlertSinkMemory.layerMemory,
      CustomerSettings.layer({ alertUnits: ALERT_UNITS })
    )))),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(LogLevel.None)
  )
}

const pad = (s: string | number, n: number) => String(s).padStart(n)

/** The report as a readable table with a verdict line. @since 0.1.0 @category utils */
export const format = (report: Report): string => {
  const lines = [
    `${"customer".padEnd(12)} ${pad("used", 9)} ${pad("metered", 9)} ${pad("billed", 9)} ${pad("capped", 7)} ${
      pad("equal", 6)
    }  plan changes`
  ]
  for (const c of report.customers) {
    lines.push(
      `${c.customerId.padEnd(12)} ${pad(c.unitsUsed, 9)} ${pad(c.unitsMetered, 9)} ${pad(c.unitsBilled, 9)} ${
        pad(c.unitsCapped, 7)
      } ${pad(c.exact ? "yes" : "NO", 6)}  ${c.planChanges.length === 0 ? "(stayed FREE)" : c.planChanges.join("; ")}`
    )
  }
  const total = (f: (c: CustomerSummary) => number) => report.customers.reduce((n, c) => n + f(c), 0)
  lines.push(
    "",
    `customers ${report.customers.length} (${
      report.customers.filter((c) => c.finalPlan === "METERED").length
    } metered at the end)` +
      `, units used ${total((c) => c.unitsUsed)}, metered ${total((c) => c.unitsMetered)}, billed ${
        total((c) => c.unitsBilled)
      }`,
    `sync runs ${report.syncRuns}, meter events ${report.meterEvents}, webhook deliveries ${report.webhookDeliveries} ` +
      `(${report.duplicateDeliveries} duplicated), faults injected ${report.faultsInjected}`,
    `spend alerts ${total((c) => c.alerts.length)} sent to ${
      report.customers.filter((c) => c.alerts.length > 0).length
    } customers (50/80/100 % of ${ALERT_UNITS} units a month); capped: ${
      report.customers.filter((c) => c.unitsCapped > 0).map((c) =>
        `${c.customerId} (${c.unitsCapped} units in the capped plan, not billed)`
      )
        .join(", ") || "none"
    }`,
    report.violations.length === 0
      ? `invariants: HELD\n  ${report.invariants.join("\n  ")}`
      : `invariants: BROKEN\n  ${report.violations.join("\n  ")}`
  )
  return lines.join("\n")
}
