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
import { fileURLToPath } from "node:url"
import { runChild } from "./bench/child.js"
import { runParent } from "./bench/parent.js"
import { argValue } from "./bench/shared.js"

const childSize = argValue("--child")
if (childSize !== undefined) {
  runChild(Number(childSize), Number(argValue("--reps") ?? "1")).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
} else {
  try {
    runParent(fileURLToPath(import.meta.url))
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
