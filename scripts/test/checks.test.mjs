// The audit and licence checks of `npm test` decide as they say. Run by scripts/test-all.sh.
import assert from "node:assert/strict"
import { test } from "node:test"
import { summarize } from "../audit.mjs"
import { isAllowed } from "../licenses.mjs"

// `npm audit --json` (npm 7+, auditReportVersion 2): counts per severity in metadata.vulnerabilities.
const report = (counts, vulnerabilities = {}) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } }
  })

test("audit: a high or critical advisory fails, moderate and low do not", () => {
  assert.equal(summarize(report({ moderate: 2, low: 1 })).code, 0)
  const high = summarize(report({ high: 1 }, { qs: { severity: "high", range: "<6.10.3" } }))
  assert.equal(high.code, 1)
  assert.deepEqual(high.lines, [
    "npm audit (production dependencies): 0 critical, 1 high, 0 moderate, 0 low, 0 info",
    "  high: qs <6.10.3"
  ])
  assert.equal(summarize(report({ critical: 1 })).code, 1)
})

test("audit: an unreachable endpoint is said and does not fail", () => {
  const refused = summarize(JSON.stringify({ message: "405 Method Not Allowed", statusCode: 405 }))
  assert.equal(refused.code, 0)
  assert.match(refused.lines[0], /unreachable \(405 Method Not Allowed\); not failing/)
  assert.equal(summarize("").code, 0)
})

test("licences: allow-listed ids and expressions pass, copyleft does not", () => {
  for (const ok of ["MIT", "Apache-2.0", "(MIT OR Apache-2.0)", "(MIT OR GPL-3.0-only)", "MIT AND ISC"]) {
    assert.equal(isAllowed(ok), true, ok)
  }
  for (const no of ["GPL-3.0-only", "(none recorded)", "MIT AND GPL-2.0", "SEE LICENSE IN LICENSE", "UNLICENSED"]) {
    assert.equal(isAllowed(no), false, no)
  }
})
