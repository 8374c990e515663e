// The audit of `npm test`: `npm audit` of the production dependencies (what the Lambda bundles and the
// CLI ship; dev tools never reach a customer), failing on a high or critical advisory. When the
// registry's audit endpoint cannot be reached (offline, a proxy that refuses its POST), it says so and
// does not fail: the run checks the code, not the network.
//   node scripts/audit.mjs
import { execFile } from "node:child_process"

/** What `npm audit --json` printed, as lines to show and an exit code. */
export const summarize = (stdout) => {
  let report
  try {
    report = JSON.parse(stdout)
  } catch {
    return { code: 0, lines: ["npm audit: no report (the audit endpoint is unreachable); not failing"] }
  }
  const counts = report.metadata?.vulnerabilities
  if (counts === undefined) {
    const why = report.message ?? report.error?.summary ?? "no vulnerability counts in the answer"
    return { code: 0, lines: [`npm audit: the audit endpoint is unreachable (${why}); not failing`] }
  }
  const levels = ["critical", "high", "moderate", "low", "info"]
  const lines = [
    `npm audit (production dependencies): ${levels.map((l) => `${counts[l] ?? 0} ${l}`).join(", ")}`
  ]
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    if (v.severity === "high" || v.severity === "critical") lines.push(`  ${v.severity}: ${name} ${v.range ?? ""}`)
  }
  return { code: (counts.critical ?? 0) + (counts.high ?? 0) > 0 ? 1 : 0, lines }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // npm audit exits 1 both on findings and on errors: its JSON tells them apart.
  execFile("npm", ["audit", "--omit=dev", "--json"], { maxBuffer: 64 * 1024 * 1024 }, (_error, stdout) => {
    const { code, lines } = summarize(stdout)
    for (const line of lines) console.log(line)
    process.exit(code)
  })
}
