// The licence check of `npm test`: every package in package-lock.json (the exact tree `npm ci`
// installs, dev dependencies included) must be under a licence of the allow-list below. npm records
// each package's `license` in the lockfile, so no dependency is needed to read them. An SPDX
// expression passes when one side of each OR is allowed, and every side of each AND.
//   node scripts/licenses.mjs [package-lock.json]
import * as Fs from "node:fs"

/** Permissive licences: use, change and ship without copyleft or field-of-use terms. */
export const allowed = new Set([
  "MIT",
  "ISC",
  "Apache-2.0",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "0BSD",
  "BlueOak-1.0.0",
  "CC0-1.0",
  "CC-BY-4.0",
  "Unlicense",
  "Python-2.0"
])

/** Whether an SPDX expression (`MIT`, `(MIT OR Apache-2.0)`, `MIT AND ISC`) is allowed. */
export const isAllowed = (expression) =>
  expression.replace(/[()]/g, " ").split(/\s+OR\s+/).some((alternative) =>
    alternative.split(/\s+AND\s+/).every((id) => allowed.has(id.trim()))
  )

const check = (lockfile) => {
  const lock = JSON.parse(Fs.readFileSync(lockfile, "utf8"))
  const counts = new Map()
  const refused = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    // The root and the workspaces' links are this repository's own code.
    if (!path.includes("node_modules/") || entry.link) continue
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length)
    const license = typeof entry.license === "string" ? entry.license : "(none recorded)"
    counts.set(license, (counts.get(license) ?? 0) + 1)
    if (!isAllowed(license)) refused.push(`${name}@${entry.version}: ${license}`)
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n}`).join(", ")
  console.log(`licences of ${total} packages: ${summary}`)
  if (refused.length > 0) {
    console.log(`${refused.length} outside the allow-list (scripts/licenses.mjs):`)
    for (const r of refused) console.log(`  ${r}`)
    return 1
  }
  console.log("all within the allow-list")
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(check(process.argv[2] ?? "package-lock.json"))
