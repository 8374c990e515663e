#!/usr/bin/env bash
# cfn-lint (PyPI), pinned, installed once into <repo>/.tools/cfn-venv; runs it on the given templates.
#   scripts/servers/cfn-lint.sh packages/lambda/template.yaml
set -euo pipefail

CFN_LINT_VERSION="1.51.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/cfn-venv"
INSTALL_LOG="$TOOLS/cfn-lint-install.log"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! { [[ -x "$VENV/bin/cfn-lint" ]] && [[ "$("$VENV/bin/cfn-lint" --version 2>/dev/null)" == "cfn-lint $CFN_LINT_VERSION" ]]; }; then
  venv_install cfn-lint "$VENV" "$INSTALL_LOG" python3 "cfn-lint==$CFN_LINT_VERSION"
fi

exec "$VENV/bin/cfn-lint" "$@"
