#!/usr/bin/env bash
# The AWS SAM CLI (PyPI aws-sam-cli), pinned, installed once into <repo>/.tools/sam-venv; runs it with
# the given arguments, e.g. from packages/lambda:
#   bash ../../scripts/servers/sam-cli.sh validate --lint
#   bash ../../scripts/servers/sam-cli.sh build
# Telemetry is off. `sam build` of this template copies the esbuild bundles (no Docker, no npm).
set -euo pipefail

SAM_CLI_VERSION="1.170.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/sam-venv"
INSTALL_LOG="$TOOLS/sam-cli-install.log"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export SAM_CLI_TELEMETRY=0

if ! { [[ -x "$VENV/bin/sam" ]] && [[ "$("$VENV/bin/sam" --version 2>/dev/null)" == "SAM CLI, version $SAM_CLI_VERSION" ]]; }; then
  venv_install sam-cli "$VENV" "$INSTALL_LOG" python3 "aws-sam-cli==$SAM_CLI_VERSION"
fi

exec "$VENV/bin/sam" "$@"
