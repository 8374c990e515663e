#!/usr/bin/env node
/**
 * `npm run demo`: the simulated month on the in-memory Layers. Exits 1 when an invariant broke.
 */
import { Effect } from "effect"
import * as Simulation from "../Simulation.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : Number(process.argv[i + 1])
}

const started = Date.now()
const report = await Effect.runPromise(Simulation.run({
  ...(arg("customers") === undefined ? {} : { customers: arg("customers")! }),
  ...(arg("days") === undefined ? {} : { days: arg("days")! }),
  ...(arg("seed") === undefined ? {} : { seed: arg("seed")! })
}))
console.log(Simulation.format(report))
console.log(`simulated in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(report.violations.length === 0 ? 0 : 1)
