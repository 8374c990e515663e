/**
 * The latency-faithful benchmark (`npm run bench`, after the in-memory one): the scenarios of
 * `scenarios.ts`, each in a fresh child process (peak RSS is its own), then the bounds set by the
 * rate limits alone, the targets of issue #10 (PASS/MISS), and `bench/results/sync-latency.{json,md}`.
 *
 * @since 0.3.0
 */
import { BillingConfig, Stripe } from "@augint-billing/core"
import { execFileSync, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { DEPLOYMENT, runScenario, type ScenarioResult } from "./scenarios.js"
import { SERVICES } from "./services.js"
import { argValue, RESULT_PREFIX } from "./shared.js"
import { meanOf } from "./virtual.js"

const peakRssMb = (): number => {
  const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(Fs.readFileSync("/proc/self/status", "utf8"))
  return hwm === null ? process.resourceUsage().maxRSS / 1024 : Number(hwm[1]) / 1024
}

/** Child: one scenario (`--latency-child customers,workers[,maxRuns]`), one result line. @since 0.3.0 @category utils */
export const runLatencyChild = (spec: string): void => {
  const [customers, workers, maxRuns] = spec.split(",").map(Number)
  const started = performance.now()
  const result = runScenario(customers!, workers!, maxRuns === undefined ? {} : { maxRuns })
  const out = { ...result, realMillis: performance.now() - started, peakRssMb: peakRssMb() }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(out)}\n`)
}

type Measured = ScenarioResult & { readonly realMillis: number; readonly peakRssMb: number }

const spawn = (script: string, spec: string): Measured => {
  const child = spawnSync(
    process.execPath,
    // A larger young generation: the flows allocate fast and short-lived (11% less CPU at 10k).
    ["--max-semi-space-size=64", "--max-old-space-size=8192", script, "--latency-child", spec],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 }
  )
  const line = child.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX))
  if (child.status !== 0 || line === undefined) throw new Error(`scenario ${spec} failed (exit ${child.status})`)
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as Measured
}

const num = (n: number) => Math.round(n).toLocaleString("en-US")
const secs = (ms: number) => `${(ms / 1000).toFixed(0)} s`
const mark = (ok: boolean) => (ok ? "PASS" : "MISS")

/**
 * The time the rate limits alone allow a fan-out of `customers` (seconds): the coordinator must read
 * every GetUsage and GetUsagePlanKeys page before any item exists (a key's counts may be on any page),
 * at 10 requests/s after a burst of 40; then every meter event, a hundred to a v2 stream request, at
 * the stream's 10,000 requests/s (the path the workers take; v1's 1,000 events/s would be 100 times
 * slower).
 */
const boundSeconds = (customers: number, events: number) => {
  const pages = 2 * Math.ceil(customers / 500)
  const apiGateway = Math.max(0, pages - SERVICES.apiGateway.burst!) / SERVICES.apiGateway.limit!
  const stripe = Math.ceil(events / Stripe.MAX_STREAM_BATCH) / SERVICES.stripeMeterStream.limit!
  return { pages, apiGateway, stripe, total: apiGateway + stripe }
}

// The closing notes, from the figures.
const findings = (results: ReadonlyArray<Measured>): Array<string> => {
  const out: Array<string> = []
  const single = results.filter((r) => r.workers === 0)
  for (const cut of single.filter((r) => r.runs[0]?.stoppedEarly === true && r.runs[0].customersSeen > 0)) {
    const first = cut.runs[0]!
    const rate = first.customersSeen / (first.simulatedMillis / 1000)
    const rest = cut.runs.length > 1 && cut.runs[cut.runs.length - 1]!.customersLeft === 0
      ? `the next hourly runs take the rest first: all synced after ${cut.runs.length} runs, exactly once`
      : `at that pace the rest would take about ${
        Math.ceil(cut.customers / first.customersSeen)
      } hourly runs, past the promise that no customer waits more than two: this size is the fan-out's`
    out.push(
      `- **One process at ${num(cut.customers)} customers** syncs about ${rate.toFixed(0)} customers/s at the ` +
        `default concurrency of ${BillingConfig.defaults.syncConcurrency} (each customer a DynamoDB write-ahead, ` +
        "a Stripe v1 meter event and a DynamoDB commit in sequence, about 200 ms, after the run's reads of usage " +
        `and plan keys): a 10-minute run reaches ${num(first.customersSeen)}, stops starting customers 30 s ` +
        `before its deadline (${num(first.customersLeft)} left, \`stoppedEarly\`), and ${rest}.`
    )
  }
  const huge = single.find((r) => r.customers >= 1_000_000 && r.runs[0]?.customersSeen === 0)
  if (huge !== undefined) {
    out.push(
      `- At ${num(huge.customers)} customers one process never starts a customer: reading usage and the plan's ` +
        `keys (${num(huge.services["apiGateway"]?.calls ?? 0)} API Gateway calls) takes ` +
        `${secs(huge.simulatedMillis)}, past the deadline; in Lambda the 600 s timeout cuts it (\`SyncCutShort\`). ` +
        "One process is for small deployments; the fan-out for the rest."
    )
  }
  const fans = results.filter((r) => r.workers > 0)
  const slowCoordinator = fans.filter((r) => (r.coordinatorMillis ?? 0) > DEPLOYMENT.coordinatorTimeoutMillis)
  for (const r of slowCoordinator) {
    out.push(
      `- **The coordinator** needs ${secs(r.coordinatorMillis!)} at ${num(r.customers)} customers, over its ` +
        `${secs(DEPLOYMENT.coordinatorTimeoutMillis)} timeout in the template: it reads GetUsage and then ` +
        "GetUsagePlanKeys page after page (latency-bound at about 5 pages/s, half the 10/s limit). Reading the " +
        "two listings at once would halve it; past about 400,000 customers the timeout must rise (Lambda allows 900 s)."
    )
  }
  for (const r of fans) {
    const v1 = r.services["stripeMeterEvents"]
    const stream = r.services["stripeMeterStream"]
    const requests = stream?.calls ?? 0
    const throttled = (v1?.throttled ?? 0) + (stream?.throttled ?? 0)
    out.push(
      `- Fan-out, ${r.workers} workers, ${num(r.customers)} customers: ${num(r.eventsAccepted)} meter events in ` +
        `${num(requests)} v2 stream requests (peak ${num(stream?.peakPerSecond ?? 0)}/s of 10,000/s) and ` +
        `${num(v1?.calls ?? 0)} v1 calls (peak ${num(v1?.peakPerSecond ?? 0)}/s of 1,000/s: the late count for ` +
        "yesterday that one customer in ten has is that customer's second report, sent after its first " +
        `commit in a gathering of its own, under ${Stripe.MIN_STREAM_BATCH} events)` +
        `${throttled > 0 ? `, ${num(throttled)} refused with 429 and retried` : ""}; longest invocation ` +
        `${secs(r.maxInvocationMillis ?? 0)}; ${num(r.itemsRedelivered ?? 0)} items delivered again.`
    )
  }
  out.push(
    `- Workers send their customers' meter events through the v2 stream (\`MeterBatch\`, a ` +
      `${Stripe.MAX_STREAM_BATCH}-event request per gathering), so Stripe's limits do not bind the fan-out: ` +
      "the coordinator's reads (API Gateway's 10 requests/s) and the workers' concurrency do. On v1 alone " +
      "(1,000 events/s) a million customers' 1.1 million events would take 1,100 s."
  )
  return out
}

/** Parent: every scenario, the tables, the targets, the results files. @since 0.3.0 @category utils */
export const runLatencyParent = (script: string): void => {
  const repoRoot = Path.resolve(Path.dirname(script), "../../../..")
  const meta: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    commit: execFileSync("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
  }
  const sizes = (argValue("--latency-sizes") ?? "10000,100000,1000000").split(",").map(Number)
  const fanWorkers = Number(argValue("--workers") ?? "16")
  const specs: Array<string> = []
  for (const n of sizes) {
    // One process: hourly runs until every customer is synced (one run at a million: where it stops).
    specs.push(`${n},0,${n >= 1_000_000 ? 1 : 3}`)
    if (n < 1_000_000 && fanWorkers !== DEPLOYMENT.templateMaxConcurrency) {
      specs.push(`${n},${DEPLOYMENT.templateMaxConcurrency}`)
    }
    specs.push(`${n},${fanWorkers}`)
  }
  // One worker container handling 10 invocations in turn: its real CPU and memory, alone.
  const probeSpec = "2000,1"
  const results: Array<Measured> = []
  for (const spec of specs) {
    process.stderr.write(`  latency scenario ${spec} ...\n`)
    results.push(spawn(script, spec))
    const r = results[results.length - 1]!
    process.stderr.write(
      `    ${secs(r.simulatedMillis)} simulated, ${secs(r.realMillis)} real, exactly-once ${r.exactlyOnce}\n`
    )
  }
  const probe = spawn(script, probeSpec)
  render({ results, probe, meta, fanWorkers, repoRoot })
}

/**
 * Re-render `sync-latency.md` from `sync-latency.json` (`--latency-render`): the text changes, the
 * figures stay those measured.
 *
 * @since 0.3.0
 * @category utils
 */
export const renderSaved = (script: string): void => {
  const repoRoot = Path.resolve(Path.dirname(script), "../../../..")
  const saved = JSON.parse(Fs.readFileSync(Path.join(repoRoot, "bench", "results", "sync-latency.json"), "utf8"))
  render({
    results: saved.scenarios,
    probe: saved.workerProbe,
    meta: saved.environment,
    fanWorkers: saved.fanWorkers ?? 16,
    repoRoot
  })
}

const render = (input: {
  readonly results: ReadonlyArray<Measured>
  readonly probe: Measured
  readonly meta: Record<string, unknown>
  readonly fanWorkers: number
  readonly repoRoot: string
}): void => {
  const { fanWorkers, meta, probe, repoRoot, results } = input
  const serviceNames = Object.keys(SERVICES) as Array<keyof typeof SERVICES>
  const rows = results.map((r) => {
    const bound = boundSeconds(r.customers, r.eventsAccepted)
    return { r, bound }
  })
  const lines: Array<string> = []
  lines.push(
    "| scenario | customers | simulated | runs (customers seen / left) | coordinator | invocations (max) | calls: API GW / Stripe v1 / Stripe v2 stream / Stripe API / DynamoDB r+w | peak/s vs limit: API GW, Stripe v1, Stripe v2 stream | throttled | CPU (real) | peak RSS | bound (2x) | exactly-once |"
  )
  lines.push(`|${" --- |".repeat(13)}`)
  for (const { bound, r } of rows) {
    const s = (n: string) => r.services[n]
    const calls = [
      s("apiGateway")?.calls ?? 0,
      s("stripeMeterEvents")?.calls ?? 0,
      s("stripeMeterStream")?.calls ?? 0,
      s("stripeApi")?.calls ?? 0,
      (s("dynamoRead")?.calls ?? 0) + (s("dynamoWrite")?.calls ?? 0)
    ].map(num).join(" / ")
    const throttled = serviceNames.reduce((n, k) => n + (r.services[k]?.throttled ?? 0), 0)
    lines.push(
      `| ${r.scenario} | ${num(r.customers)} | ${secs(r.simulatedMillis)} | ${
        r.runs.length === 0 ? "-" : r.runs.map((x) => `${num(x.customersSeen)}/${num(x.customersLeft)}`).join(", ")
      } | ${r.coordinatorMillis === undefined ? "-" : secs(r.coordinatorMillis)} | ${
        r.invocations === undefined ? "-" : `${num(r.invocations)} (${secs(r.maxInvocationMillis!)})`
      } | ${calls} | ${
        s("apiGateway")?.peakPerSecond ?? 0
      }/${SERVICES.apiGateway.limit}+${SERVICES.apiGateway.burst}, ${
        s("stripeMeterEvents")?.peakPerSecond ?? 0
      }/${SERVICES.stripeMeterEvents.limit}, ${s("stripeMeterStream")?.peakPerSecond ?? 0}/${
        num(SERVICES.stripeMeterStream.limit!)
      } | ${num(throttled)} | ${secs(r.cpuMillis)} (${secs(r.realMillis)}) | ${num(r.peakRssMb)} MB | ${
        r.workers === 0 ? "-" : `${secs(bound.total * 1000)} (${secs(2 * bound.total * 1000)})`
      } | ${r.exactlyOnce} |`
    )
  }

  const one100k = results.find((r) => r.workers === 0 && r.customers === 100_000)
  const fan1m = rows.find(({ r }) => r.workers === fanWorkers && r.customers === 1_000_000)
  const targets: Array<{ target: string; value: string; ok: boolean }> = []
  if (one100k !== undefined) {
    const first = one100k.runs[0]!
    targets.push({
      target: "one process: 100,000 customers inside one 10-minute run, default settings",
      value: first.stoppedEarly
        ? `stopped before its deadline at ${num(first.customersSeen)} customers (${secs(first.simulatedMillis)}); ` +
          `${num(first.customersLeft)} left to the next run; all synced after ${one100k.runs.length} runs`
        : `${secs(first.simulatedMillis)}`,
      ok: !first.stoppedEarly
    })
  }
  if (fan1m !== undefined) {
    targets.push({
      target: `fan-out (${fanWorkers} workers): 1,000,000 customers within 2x the rate-limit bound`,
      value: `${secs(fan1m.r.simulatedMillis)} against 2 x ${secs(fan1m.bound.total * 1000)}`,
      ok: fan1m.r.simulatedMillis <= 2 * fan1m.bound.total * 1000
    })
  }
  const fans = results.filter((r) => r.workers > 0)
  const maxInvocation = Math.max(...fans.map((r) => r.maxInvocationMillis ?? 0))
  targets.push({
    target: "every worker invocation under 5 minutes (template timeout: 90 s)",
    value: `longest ${secs(maxInvocation)}`,
    ok: maxInvocation < 300_000
  })
  targets.push({
    target: "every worker under 256 MB",
    value: `${num(probe.peakRssMb)} MB peak RSS (one container, ${probe.invocations} invocations)`,
    ok: probe.peakRssMb < 256
  })
  targets.push({
    target: "exactly-once in every scenario (units accepted = units committed per customer and day)",
    value: results.map((r) => r.exactlyOnce).every((x) => x === "OK") ? "all OK" : "VIOLATED",
    ok: results.every((r) => r.exactlyOnce === "OK")
  })
  for (const t of targets) console.log(`${mark(t.ok)}  ${t.target}: ${t.value}`)
  if (!results.every((r) => r.exactlyOnce === "OK")) throw new Error("exactly-once violated")
  if (process.argv.includes("--no-write")) return

  const outDir = Path.join(repoRoot, "bench", "results")
  const json = {
    benchmark: "latency-faithful sync: UsageSync.syncUsage and FanOut.plan/work on modelled services",
    command: "npm run bench",
    environment: meta,
    services: SERVICES,
    deployment: DEPLOYMENT,
    fanWorkers,
    scenarios: rows.map(({ bound, r }) => ({ ...r, boundSeconds: r.workers === 0 ? undefined : bound })),
    workerProbe: probe,
    targets: targets.map((t) => ({ target: t.target, value: t.value, result: mark(t.ok) }))
  }
  Fs.writeFileSync(Path.join(outDir, "sync-latency.json"), `${JSON.stringify(json, null, 2)}\n`)
  const md = [
    "# Sync at scale: latency-faithful benchmark",
    "",
    `Command: \`npm run bench\` (from the repository root). ${String(meta["date"])}, Node ${String(meta["node"])}, ` +
    `commit ${
      String(meta["commit"])
    }. Source: \`packages/testkit/src/bin/bench/{virtual,services,scenarios,latency}.ts\`.`,
    "",
    "The real flows (`UsageSync.syncUsage`; `FanOut.plan` + `FanOut.work`) run on the in-memory Layers, each",
    "port call delayed by a latency drawn from its service's distribution and checked against the service's",
    "published limit, counted across all workers; a call over the limit is refused as the service refuses it",
    "(429 / TooManyRequests / Throttling) and the flows' own retry policies handle it. Time is virtual (a",
    "discrete-event scheduler and `Clock`): the simulated times below are what the latencies and limits",
    "imply, the CPU times what this machine spent. Seeded per run: every customer metered with new usage",
    "today, one in ten also late counts for yesterday (two meter events).",
    "",
    "## Services modelled",
    "",
    "| service | latency ms (min / mode / max, mean) | limit | source |",
    "| --- | --- | --- | --- |",
    ...serviceNames.map((k) => {
      const s = SERVICES[k]
      return `| ${s.label} | ${s.latency.min} / ${s.latency.mode} / ${s.latency.max}, ${
        meanOf(s.latency).toFixed(0)
      } | ${
        s.limit === undefined ? "-" : `${num(s.limit)}/s${s.burst === undefined ? "" : `, burst ${s.burst}`}`
      } | ${s.source} |`
    }),
    "",
    "Latencies are triangular, the issue's ranges with the mode near the low end: network latencies are",
    "right-skewed (most calls near the floor, a tail to the max). Stripe publishes no latency; 100-300 ms",
    "is the range its API is usually observed in from AWS regions. DynamoDB's is its documented",
    "single-digit milliseconds with a tail. API Gateway's management API is Stripe-like (a control plane).",
    "",
    "## Scenarios",
    "",
    ...lines,
    "",
    "Deployment as in `packages/lambda/template.yaml`: single-process sync timeout 600 s (deadline = 590 s,",
    `stops starting customers 30 s before it); worker batch size ${DEPLOYMENT.batchSize}, timeout 90 s, visibility`,
    `timeout 540 s, maxReceiveCount ${DEPLOYMENT.maxReceiveCount}; coordinator timeout ${
      DEPLOYMENT.coordinatorTimeoutMillis / 1000
    } s; the template's`,
    `MaximumConcurrency is ${DEPLOYMENT.templateMaxConcurrency}, each worker at SYNC_CONCURRENCY ${DEPLOYMENT.workerSyncConcurrency}; the single process at the default (${BillingConfig.defaults.syncConcurrency}), lookback ${BillingConfig.defaults.lookbackDays} days.`,
    "",
    "Bound = the time the rate limits alone allow: the coordinator reads every GetUsage and GetUsagePlanKeys",
    "page (500 keys each) before any work item exists, at 10 requests/s after a burst of 40, then every",
    "meter event goes through the v2 stream, 100 a request at 10,000 requests/s. DynamoDB (40,000 units/s)",
    "and SQS never bind. The single process sends v1 meter events (1,000/s), one a customer-day.",
    "",
    "Peak RSS per scenario is the whole simulation's process: it holds the modelled services' state (records,",
    "usage, accepted meter events) beside the flows, so it overstates one deployed process; the worker probe",
    "below is one worker alone (with only its customers' state).",
    "",
    `Worker probe: one container, ${probe.invocations} invocations of ${DEPLOYMENT.batchSize} items (200 customers)`,
    `in turn: ${num(probe.peakRssMb)} MB peak RSS, ${
      (probe.cpuMillis / (probe.invocations ?? 1)).toFixed(0)
    } ms CPU an`,
    `invocation, longest invocation ${secs(probe.maxInvocationMillis ?? 0)} simulated.`,
    "",
    "## What the figures say",
    "",
    ...findings(results),
    "",
    "## Targets",
    "",
    "| target | measured | result |",
    "| --- | --- | :---: |",
    ...targets.map((t) => `| ${t.target} | ${t.value} | ${mark(t.ok)} |`),
    ""
  ].join("\n")
  Fs.writeFileSync(Path.join(outDir, "sync-latency.md"), md)
  console.log(`wrote bench/results/sync-latency.{json,md}`)
}
