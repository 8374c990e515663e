/**
 * The sync benchmark's parent: one child process per size, then the summary table, the targets and
 * `bench/results/sync-usage.{json,md}`.
 *
 * @since 0.1.0
 */
import { BillingConfig, UsageSource } from "@augint-billing/core"
import { execFileSync, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { argValue, type ChildResult, RESULT_PREFIX, TARGETS } from "./shared.js"

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

/** Run one child per size of `script` (the bench entry), print the table, check the targets, write the results. */
export const runParent = (script: string): void => {
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
