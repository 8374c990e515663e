#!/usr/bin/env node
/**
 * `npm run bench`: one `UsageSync.syncUsage()` run on the in-memory Layers at 1k, 10k and 100k
 * metered customers. Each size runs in a fresh child process, so peak RSS is that size's alone; the
 * parent prints a table, checks the targets (PASS/MISS, never a failure: bench machines are shared
 * and noisy) and writes `bench/results/sync-usage.{json,md}` at the repository root. The run fails
 * only when the sync is wrong: units accepted by Stripe differ from units seeded, or a customer failed.
 *
 * Usage: `node dist/bin/bench.js [--sizes 1000,10000,100000] [--reps 5,5,3] [--no-write]`;
 * `node dist/bin/bench.js --child 100000 --reps 1` runs one size in this process (for `--cpu-prof`).
 *
 * @since 0.1.0
 */
import { BillingConfig, Ids, UsageSource, UsageSync, UtcDay } from "@augint-billing/core"
import { Clock, Effect, Layer, Logger, LogLevel } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Driver from "../Driver.js"
import * as Memory from "../Memory.js"

const RESULT_PREFIX = "BENCH_RESULT "

/** The targets of issue #2, on a 2-core machine. */
const TARGETS = {
  largestMillis: 5_000,
  largestRssMb: 512,
  maxScaling: 11
} as const

/** Port calls one run made, and the fewest it could make. */
interface Calls {
  readonly made: Readonly<Record<string, number>>
  readonly minimum: Readonly<Record<string, number>>
}

/** What one repetition measured. */
interface Repetition {
  readonly millis: number
  /** User + system CPU time of the process during the run: less sensitive than wall time to a busy machine. */
  readonly cpuMillis: number
  readonly calls: Calls
  readonly unitsSeeded: number
  readonly unitsAccepted: number
}

/** What a child reports for one size. */
interface ChildResult {
  readonly customers: number
  readonly repetitions: ReadonlyArray<Repetition>
  readonly peakRssMb: number
  readonly days: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------------
// Child: seed, sync, verify

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

const runChild = async (customers: number, reps: number): Promise<void> => {
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

// ---------------------------------------------------------------------------------------------------
// Parent: one child per size, summary, files

interface SizeSummary {
  readonly customers: number
  readonly repetitions: number
  readonly medianMs: number
  readonly minMs: number
  readonly maxMs: number
  readonly medianCpuMs: number
  readonly usPerCustomer: number
  readonly peakRssMb: number
  readonly calls: ReadonlyArray<{ readonly method: string; readonly made: number; readonly minimum: number }>
  readonly callsAtMinimum: boolean
  readonly unitsSeeded: number
  readonly unitsAccepted: number
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const summarise = (child: ChildResult): SizeSummary => {
  const times = child.repetitions.map((r) => r.millis)
  const medianMs = median(times)
  // Every repetition makes the same calls on the same state; report the largest count of each method.
  const made: Record<string, number> = {}
  const minimum: Record<string, number> = {}
  for (const r of child.repetitions) {
    for (const [k, v] of Object.entries(r.calls.made)) made[k] = Math.max(made[k] ?? 0, v)
    for (const [k, v] of Object.entries(r.calls.minimum)) minimum[k] = v
  }
  const methods = [...new Set([...Object.keys(minimum), ...Object.keys(made)])]
  const calls = methods.map((method) => ({ method, made: made[method] ?? 0, minimum: minimum[method] ?? 0 }))
  return {
    customers: child.customers,
    repetitions: times.length,
    medianMs,
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    medianCpuMs: median(child.repetitions.map((r) => r.cpuMillis)),
    usPerCustomer: (medianMs * 1000) / child.customers,
    peakRssMb: child.peakRssMb,
    calls,
    callsAtMinimum: calls.every((c) => c.made === c.minimum),
    unitsSeeded: child.repetitions[0]!.unitsSeeded,
    unitsAccepted: child.repetitions[0]!.unitsAccepted
  }
}

const shell = (cmd: string, args: ReadonlyArray<string>): string | undefined => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return undefined
  }
}

const spawnChild = (script: string, customers: number, reps: number): ChildResult => {
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", ...process.execArgv, script, "--child", String(customers), "--reps", String(reps)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 }
  )
  const line = child.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX))
  if (child.status !== 0 || line === undefined) {
    process.stderr.write(child.stdout)
    throw new Error(`the ${customers}-customer run failed (exit ${child.status ?? child.signal})`)
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult
}

const mark = (ok: boolean) => (ok ? "PASS" : "MISS")
const fmt = (n: number, digits = 0) => n.toFixed(digits)
const num = (n: number) => n.toLocaleString("en-US")

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}

const runParent = (): void => {
  const script = fileURLToPath(import.meta.url)
  const repoRoot = Path.resolve(Path.dirname(script), "../../../..")
  const sizes = (argValue("--sizes") ?? "1000,10000,100000").split(",").map(Number)
  const reps = (argValue("--reps") ?? "5,5,3").split(",").map(Number)
  const repsFor = (i: number) => reps[Math.min(i, reps.length - 1)]!

  const env = {
    date: new Date().toISOString(),
    node: process.version,
    nproc: Number(shell("nproc", []) ?? Os.availableParallelism()),
    cpu: Os.cpus()[0]?.model ?? "unknown",
    platform: `${Os.platform()} ${Os.release()} ${Os.arch()}`,
    commit: shell("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]) ?? "unknown"
  }
  const config = BillingConfig.defaults
  console.log(`syncUsage benchmark: in-memory Layers, ${env.node}, ${env.nproc} CPUs (${env.cpu})`)
  console.log(
    `sync concurrency ${config.syncConcurrency}, lookback ${config.lookbackDays} days: today and yesterday are read` +
      ` in ONE ranged GetUsage call per plan (pages of ${UsageSource.MAX_PAGE_SIZE} keys)`
  )

  const results: Array<SizeSummary> = []
  let days: ReadonlyArray<string> = []
  sizes.forEach((customers, i) => {
    const child = spawnChild(script, customers, repsFor(i))
    days = child.days
    results.push(summarise(child))
  })

  const scaling = results.slice(1).map((r, i) => ({
    from: results[i]!.customers,
    to: r.customers,
    customersRatio: r.customers / results[i]!.customers,
    timeRatio: r.medianMs / results[i]!.medianMs
  }))
  const largest = results[results.length - 1]!
  const targets = [
    {
      target: `${num(largest.customers)} customers in under ${TARGETS.largestMillis / 1000} s`,
      value: `${fmt(largest.medianMs)} ms`,
      ok: largest.medianMs < TARGETS.largestMillis
    },
    {
      target: `${num(largest.customers)} customers under ${TARGETS.largestRssMb} MB peak RSS`,
      value: `${fmt(largest.peakRssMb)} MB`,
      ok: largest.peakRssMb < TARGETS.largestRssMb
    },
    ...scaling.map((s) => ({
      target: `${s.customersRatio}x customers (${num(s.from)} -> ${num(s.to)}) costs at most ${
        TARGETS.maxScaling * s.customersRatio / 10
      }x time`,
      value: `${fmt(s.timeRatio, 2)}x`,
      ok: s.timeRatio <= TARGETS.maxScaling * s.customersRatio / 10
    })),
    {
      target: "port calls made = minimum, every size",
      value: results.map((r) => `${num(r.customers)}: ${r.callsAtMinimum ? "=" : "!="}`).join(", "),
      ok: results.every((r) => r.callsAtMinimum)
    }
  ]

  const callCell = (r: SizeSummary, method: string) => {
    const c = r.calls.find((x) => x.method === method)
    return c === undefined ? "0/0" : `${num(c.made)}/${num(c.minimum)}`
  }
  const header = [
    "customers",
    "runs",
    "median ms",
    "min ms",
    "max ms",
    "CPU ms",
    "µs/customer",
    "peak RSS MB",
    "usage pages",
    "repo writes",
    "meter events",
    "calls = min"
  ]
  const rows = results.map((r) => [
    num(r.customers),
    String(r.repetitions),
    fmt(r.medianMs),
    fmt(r.minMs),
    fmt(r.maxMs),
    fmt(r.medianCpuMs),
    fmt(r.usPerCustomer, 1),
    fmt(r.peakRssMb),
    callCell(r, "UsageSource.getUsagePage"),
    callCell(r, "CustomerRepo.update"),
    callCell(r, "Stripe.reportUsage"),
    r.callsAtMinimum ? "yes" : "NO"
  ])
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, c) => cell.padStart(widths[c]!)).join("  ")
  console.log("")
  console.log(line(header))
  for (const row of rows) console.log(line(row))
  console.log("(calls: made/minimum)")
  for (const s of scaling) console.log(`scaling ${num(s.from)} -> ${num(s.to)}: ${fmt(s.timeRatio, 2)}x time`)
  for (const r of results) {
    const extra = r.calls.filter((c) => c.made !== c.minimum)
    if (extra.length > 0) {
      console.log(`${num(r.customers)}: ${extra.map((c) => `${c.method} ${c.made} (minimum ${c.minimum})`).join(", ")}`)
    }
  }
  console.log("exactly-once: units accepted by Stripe = units seeded, every size and run: OK")
  console.log("")
  for (const t of targets) console.log(`${mark(t.ok)}  ${t.target}: ${t.value}`)

  if (process.argv.includes("--no-write")) return
  const outDir = Path.join(repoRoot, "bench", "results")
  Fs.mkdirSync(outDir, { recursive: true })
  const json = {
    benchmark: "UsageSync.syncUsage on Memory.layerMemory() + BillingConfig.layer()",
    command: "npm run bench",
    environment: env,
    settings: { syncConcurrency: config.syncConcurrency, lookbackDays: config.lookbackDays, days },
    note: `today and yesterday are read in ONE ranged GetUsage call per plan; minimum usage pages are ` +
      `ceil(keys/${UsageSource.MAX_PAGE_SIZE}) for the metered plan, repository writes 2 per customer with ` +
      `new usage (write-ahead + commit), meter events 1 per customer with new usage`,
    sizes: results,
    scaling,
    targets: targets.map((t) => ({ target: t.target, value: t.value, result: mark(t.ok) }))
  }
  Fs.writeFileSync(Path.join(outDir, "sync-usage.json"), `${JSON.stringify(json, null, 2)}\n`)
  const md = [
    "# `syncUsage` benchmark",
    "",
    `Command: \`npm run bench\` (from the repository root). ${env.date}, Node ${env.node}, ${env.nproc} CPUs ` +
    `(${env.cpu}), ${env.platform}, commit ${env.commit}.`,
    "",
    `\`UsageSync.syncUsage()\` on \`Memory.layerMemory()\` + \`BillingConfig.layer()\` (sync concurrency ` +
    `${config.syncConcurrency}), every customer metered with new usage today. Each size runs in a fresh ` +
    "process; the time is one sync run (seeding excluded), the median of the runs; CPU ms is the median " +
    "user + system CPU time of the run (the machine is shared: CPU time is the steadier figure).",
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---:").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    `Calls are made/minimum. The sync reads today and yesterday in ONE ranged GetUsage call per plan, so ` +
    `the minimum usage pages are ceil(keys/${UsageSource.MAX_PAGE_SIZE}); repository writes are 2 per customer ` +
    "with new usage (write-ahead + commit); meter events 1 per customer with new usage. Exactly-once " +
    "was checked at every size: units accepted by Stripe = units seeded, per customer.",
    "",
    ...scaling.map((s) => `- Scaling ${num(s.from)} -> ${num(s.to)} customers: ${fmt(s.timeRatio, 2)}x time`),
    "",
    "| target | measured | result |",
    "| --- | ---: | :---: |",
    ...targets.map((t) => `| ${t.target} | ${t.value} | ${mark(t.ok)} |`),
    ""
  ].join("\n")
  Fs.writeFileSync(Path.join(outDir, "sync-usage.md"), md)
  console.log(`\nwrote ${Path.relative(process.cwd(), Path.join(outDir, "sync-usage.json"))} and sync-usage.md`)
}

const childSize = argValue("--child")
if (childSize !== undefined) {
  runChild(Number(childSize), Number(argValue("--reps") ?? "1")).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
} else {
  try {
    runParent()
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
