// The closing line of `npm test`: "N passed, N failed" over the `.vitest-results.json` that
// scripts/vitest-counter.mjs wrote in each package. A failure is a failed test, a test file that failed
// without a failed test (it did not load, a hook threw), an unhandled error, an interrupted run, and a
// package that has a test script but wrote no results (its vitest run crashed). Exits 1 on any failure.
//   node scripts/count-results.mjs [package-dir ...]   (default: every packages/* with a test script)
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.resolve(Path.dirname(new URL(import.meta.url).pathname), "..")
const hasTests = (dir) => {
  const manifest = Path.join(dir, "package.json")
  return Fs.existsSync(manifest) && JSON.parse(Fs.readFileSync(manifest, "utf8")).scripts?.test !== undefined
}
const dirs = process.argv.length > 2
  ? process.argv.slice(2)
  : Fs.readdirSync(Path.join(root, "packages")).map((p) => Path.join(root, "packages", p)).filter(hasTests)

let passed = 0
let failed = 0
const lines = []
for (const dir of dirs) {
  const name = Path.basename(dir)
  const file = Path.join(dir, ".vitest-results.json")
  if (!Fs.existsSync(file)) {
    failed++
    lines.push(`  ${name}: no results: its vitest run crashed or did not run (1 failure)`)
    continue
  }
  const r = JSON.parse(Fs.readFileSync(file, "utf8"))
  let mine = r.failed + r.failedModules.length + r.unhandledErrors.length + (r.reason === "interrupted" ? 1 : 0)
  // vitest said the run failed (coverage threshold, a setup error) and nothing above counts it.
  if (mine === 0 && r.reason === "failed") mine = 1
  passed += r.passed
  failed += mine
  lines.push(`  ${name}: ${r.passed} passed, ${mine} failed${r.skipped > 0 ? `, ${r.skipped} skipped` : ""}`)
  for (const t of r.failedTests ?? []) lines.push(`    failed: ${t.file} > ${t.name}: ${t.errors.join("; ")}`)
  for (const m of r.failedModules) lines.push(`    file failed without a failed test: ${m.file}: ${m.errors.join("; ")}`)
  for (const e of r.unhandledErrors) lines.push(`    unhandled error: ${e}`)
  if (r.reason === "interrupted") lines.push("    the run was interrupted")
}

// Coverage, when the run collected it (`--coverage.enabled`): each package's own sources.
const coverage = dirs.flatMap((dir) => {
  const file = Path.join(dir, "coverage", "coverage-summary.json")
  if (!Fs.existsSync(file)) return []
  const t = JSON.parse(Fs.readFileSync(file, "utf8")).total
  const pct = (k) => `${k} ${t[k].pct}% (${t[k].covered}/${t[k].total})`
  return [`  ${Path.basename(dir)}: ${["lines", "branches", "functions"].map(pct).join(", ")}`]
})
if (coverage.length > 0) {
  console.log("coverage of each package's src/ by its own tests:")
  for (const line of coverage) console.log(line)
}
console.log(`vitest results of ${dirs.length} packages:`)
for (const line of lines) console.log(line)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 || dirs.length === 0 ? 1 : 0)
