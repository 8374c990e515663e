#!/usr/bin/env node
/**
 * `npm run bench`: one `UsageSync.syncUsage()` run on the in-memory Layers at 1k, 10k and 100k
 * metered customers. Each size runs in a fresh child process, so peak RSS is that size's alone; the
 * parent prints a table, checks the targets (PASS/MISS, never a failure: bench machines are shared
 * and noisy) and writes `bench/results/sync-usage.{json,md}` at the repository root. The run fails
 * only when the sync is wrong: units accepted by Stripe differ from units seeded, or a customer failed.
 *
 * Then the latency-faithful benchmark (`bench/latency.ts`): the same flows on modelled services under a
 * virtual clock, one process and fanned out, written to `bench/results/sync-latency.{json,md}`.
 *
 * Usage: `node dist/bin/bench.js [--sizes 1000,10000,100000] [--reps 5,5,3] [--no-write]
 * [--latency-sizes 10000,100000,1000000] [--workers 16] [--no-latency | --latency-only]`;
 * `node dist/bin/bench.js --child 100000 --reps 1` runs one in-memory size in this process, and
 * `--latency-child 10000,16` one latency scenario (customers, workers; 0 workers: one process);
 * `--latency-render` rewrites `sync-latency.md` from the saved `sync-latency.json`.
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"
import { runChild } from "./bench/child.js"
import { renderSaved, runLatencyChild, runLatencyParent } from "./bench/latency.js"
import { runParent } from "./bench/parent.js"
import { argValue } from "./bench/shared.js"

const childSize = argValue("--child")
const latencyChild = argValue("--latency-child")
if (latencyChild !== undefined) {
  runLatencyChild(latencyChild)
} else if (process.argv.includes("--latency-render")) {
  renderSaved(fileURLToPath(import.meta.url))
} else if (childSize !== undefined) {
  runChild(Number(childSize), Number(argValue("--reps") ?? "1")).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
} else {
  try {
    const script = fileURLToPath(import.meta.url)
    if (!process.argv.includes("--latency-only")) runParent(script)
    if (!process.argv.includes("--no-latency")) runLatencyParent(script)
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
