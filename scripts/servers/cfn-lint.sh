#!/usr/bin/env bash
# cfn-lint (PyPI), pinned, installed once into <repo>/.tools/cfn-venv; runs it on the given templates.
#   scripts/servers/cfn-lint.sh packages/lambda/template.yaml
set -euo pipefail

CFN_LINT_VERSION="1.51.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/cfn-venv"
INSTALL_LOG="$TOOLS/cfn-lint-install.log"

if ! { [[ -x "$VENV/bin/cfn-lint" ]] && [[ "$("$VENV/bin/cfn-lint" --version 2>/dev/null)" == "cfn-lint $CFN_LINT_VERSION" ]]; }; then
  mkdir -p "$TOOLS"
  echo "cfn-lint: installing cfn-lint==$CFN_LINT_VERSION into $VENV (log $INSTALL_LOG)" >&2
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install --disable-pip-version-check -q "cfn-lint==$CFN_LINT_VERSION"; } >"$INSTALL_LOG" 2>&1; then
    echo "cfn-lint: installation failed; last log lines:" >&2
    tail -n 20 "$INSTALL_LOG" >&2 || true
    exit 1
  fi
fi

exec "$VENV/bin/cfn-lint" "$@"
