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

export SAM_CLI_TELEMETRY=0

if ! { [[ -x "$VENV/bin/sam" ]] && [[ "$("$VENV/bin/sam" --version 2>/dev/null)" == "SAM CLI, version $SAM_CLI_VERSION" ]]; }; then
  mkdir -p "$TOOLS"
  echo "sam-cli: installing aws-sam-cli==$SAM_CLI_VERSION into $VENV (log $INSTALL_LOG)" >&2
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install --disable-pip-version-check -q "aws-sam-cli==$SAM_CLI_VERSION"; } >"$INSTALL_LOG" 2>&1; then
    echo "sam-cli: installation failed; last log lines:" >&2
    tail -n 20 "$INSTALL_LOG" >&2 || true
    exit 1
  fi
fi

exec "$VENV/bin/sam" "$@"
