/**
 * The sync benchmark's child: seed the in-memory Layers, run `UsageSync.syncUsage()`, verify that
 * Stripe accepted exactly the units seeded, print the result on one line.
 *
 * @since 0.1.0
 */
import { BillingConfig, Ids, UsageSource, UsageSync, UtcDay } from "@augint-billing/core"
import { Clock, Effect, Layer, Logger, LogLevel } from "effect"
import * as Fs from "node:fs"
import * as Driver from "../../Driver.js"
import * as Memory from "../../Memory.js"
import { type ChildResult, type Repetition, RESULT_PREFIX } from "./shared.js"

const customerId = (i: number) => Ids.CustomerId.make(`cus_bench${i}`)
const apiKeyId = (i: number) => Ids.ApiKeyId.make(`key_bench${i}`)
/** Varied, never zero, so each customer has new usage to report. */
const unitsOf = (i: number) => 1 + (i * 7919) % 5000

const seed = (driver: Driver.DriverService, customers: number, meteredPlanId: Ids.UsagePlanId) =>
  Effect.gen(function*() {
    const state = driver.state
    let units = 0
    for (let i = 0; i < customers; i++) {
      const record = yield* driver.signUp({ customerId: customerId(i), apiKeyId: apiKeyId(i), paymentMethods: 1 })
      // What a promotion leaves behind, written directly: the flow is not what is measured here.
      state.records.set(record.customerId, {
        ...record,
        plan: "METERED",
        subscriptionId: Ids.SubscriptionId.make(`sub_bench${i}`),
        version: record.version + 1
      })
      state.membership.set(record.apiKeyId, new Set([meteredPlanId]))
      yield* driver.addUsage({ apiKeyId: record.apiKeyId, units: unitsOf(i) })
      units += unitsOf(i)
    }
    return units
  })

const verify = (
  driver: Driver.DriverService,
  report: UsageSync.SyncReport,
  customers: number,
  unitsSeeded: number,
  today: UtcDay.UtcDay
): string | undefined => {
  const accepted = new Map<string, number>()
  let unitsAccepted = 0
  for (const e of driver.state.meterEvents) {
    accepted.set(e.customerId, (accepted.get(e.customerId) ?? 0) + e.value)
    unitsAccepted += e.value
  }
  if (report.customersFailed > 0) {
    return `${report.customersFailed} customers failed, first: ${report.failures[0]?.reason ?? "?"}`
  }
  if (unitsAccepted !== unitsSeeded) return `Stripe accepted ${unitsAccepted} units, ${unitsSeeded} were counted`
  if (report.unitsReported !== unitsSeeded) {
    return `the report says ${report.unitsReported} units, ${unitsSeeded} counted`
  }
  if (report.customersSeen !== customers) return `the sync saw ${report.customersSeen} of ${customers} customers`
  for (let i = 0; i < customers; i++) {
    const id = customerId(i)
    const got = accepted.get(id) ?? 0
    if (got !== unitsOf(i)) return `${id}: Stripe accepted ${got} units, ${unitsOf(i)} were counted`
    const record = driver.state.records.get(id)
    if (record === undefined || record.pending !== undefined || record.ledger[today] !== unitsOf(i)) {
      return `${id}: the record is not committed at ${unitsOf(i)} units for ${today}`
    }
  }
  return undefined
}

const repetition = (customers: number) =>
  Effect.gen(function*() {
    const config = yield* BillingConfig.BillingConfig
    const driver = yield* Driver.Driver
    const unitsSeeded = yield* seed(driver, customers, config.meteredPlanId)
    yield* driver.resetCalls

    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    const report = yield* UsageSync.syncUsage()
    const millis = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)

    const made = yield* driver.calls
    const today = UtcDay.fromMillis(yield* Clock.currentTimeMillis)

    // Exactly-once: what Stripe accepted, per customer, equals what API Gateway counted.
    const problem = verify(driver, report, customers, unitsSeeded, today)
    if (problem !== undefined) return yield* Effect.dieMessage(`exactly-once check failed: ${problem}`)
    const unitsAccepted = unitsSeeded

    const pagesPerPlan = Math.ceil(customers / UsageSource.MAX_PAGE_SIZE)
    const minimum: Record<string, number> = {
      // One ranged call (yesterday..today) per plan; the sync reads only the metered plan.
      "UsageSource.getUsagePage": pagesPerPlan,
      // Write-ahead and commit per customer with new usage.
      "CustomerRepo.update": 2 * customers,
      "Stripe.reportUsage": customers,
      // The candidates are one paginated listing (the in-memory port counts the listing once).
      "CustomerRepo.listSyncCandidates": 1
    }
    return {
      millis,
      cpuMillis: (cpu.user + cpu.system) / 1000,
      calls: { made: { ...made }, minimum },
      unitsSeeded,
      unitsAccepted,
      days: report.days
    }
  }).pipe(
    Effect.provide(Layer.merge(Memory.layerMemory(), BillingConfig.layer())),
    // The sync logs one summary line per run; the table says the same.
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )

const peakRssMb = (): number => {
  try {
    const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(Fs.readFileSync("/proc/self/status", "utf8"))
    if (hwm !== null) return Number(hwm[1]) / 1024
  } catch {
    // Not Linux: fall back to getrusage.
  }
  return process.resourceUsage().maxRSS / 1024
}

const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.()

/** Run `reps` syncs of `customers` in this process and print the result line. */
export const runChild = async (customers: number, reps: number): Promise<void> => {
  const repetitions: Array<Repetition> = []
  let days: ReadonlyArray<string> = []
  for (let r = 0; r < reps; r++) {
    // Drop the previous repetition's state, so the peak is one repetition's.
    collectGarbage()
    const result = await Effect.runPromise(repetition(customers))
    days = result.days
    repetitions.push({
      millis: result.millis,
      cpuMillis: result.cpuMillis,
      calls: result.calls,
      unitsSeeded: result.unitsSeeded,
      unitsAccepted: result.unitsAccepted
    })
    process.stderr.write(
      `  ${customers} customers, run ${r + 1}/${reps}: ${result.millis.toFixed(0)} ms (CPU ${
        result.cpuMillis.toFixed(0)
      } ms)\n`
    )
  }
  const out: ChildResult = { customers, repetitions, peakRssMb: peakRssMb(), days }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(out)}\n`)
}
