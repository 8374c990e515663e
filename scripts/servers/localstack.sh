#!/usr/bin/env bash
# LocalStack in host mode (no Docker), API Gateway only, on 127.0.0.1:${LOCALSTACK_PORT:-14566}: unlike
# moto it serves invoked REST APIs and enforces their API keys, so a key's usage plan can be checked
# end to end (scripts/servers/localstack-check.mjs). It has no GetUsage and no per-stage conflict.
# Installed once into <repo>/.tools/localstack-venv with Python 3.13 ($LOCALSTACK_PYTHON).
#   scripts/servers/localstack.sh start   # idempotent: does nothing when the port already answers
#   scripts/servers/localstack.sh check   # the end-to-end key check against it
#   scripts/servers/localstack.sh stop
set -euo pipefail

LOCALSTACK_VERSION="2026.3.0"
# localstack-core 2026.3.0 imports cbor2._decoder (gone in cbor2 6) and calls X509.add_extensions
# (gone in pyOpenSSL 25), which resolves no older cryptography than 44.
PINS=("cbor2==5.6.5" "pyOpenSSL==24.3.0" "cryptography==44.0.3")
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME="localstack"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/localstack-venv"
# The pyenv shim answers "command not found" unless 3.13 is selected: take the interpreter itself.
PYTHON="${LOCALSTACK_PYTHON:-/root/.pyenv/versions/3.13.0/bin/python3.13}"
PORT="${LOCALSTACK_PORT:-14566}"
PID_FILE="$TOOLS/localstack.pid"
LOG_FILE="$TOOLS/localstack.log"
INSTALL_LOG="$TOOLS/localstack-install.log"
# The first start imports a large runtime.
TIMEOUT="${SERVER_START_TIMEOUT:-180}"

answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/_localstack/health" || true)"
  [[ "$code" == "200" ]]
}

install() {
  if "$VENV/bin/python" -c "
import sys
from importlib.metadata import version
sys.exit(version('localstack-core') != '$LOCALSTACK_VERSION' or version('cbor2') != '5.6.5')" 2>/dev/null; then
    return 0
  fi
  # Several minutes; the pins go in a second pip run, over what the runtime extra resolved.
  venv_install localstack "$VENV" "$INSTALL_LOG" "$PYTHON" "localstack-core[runtime]==$LOCALSTACK_VERSION"
  if ! "$VENV/bin/pip" install --disable-pip-version-check -q "${PINS[@]}" >>"$INSTALL_LOG" 2>&1; then
    echo "localstack: installation failed; last log lines:" >&2
    tail -n 20 "$INSTALL_LOG" >&2 || true
    exit 1
  fi
}

start() {
  if answers; then
    echo "localstack: already answering on 127.0.0.1:$PORT"
    return 0
  fi
  install
  mkdir -p "$TOOLS/localstack-volume"
  # Hypercorn: the default Twisted server needs service_identity, which the runtime extra lacks.
  GATEWAY_LISTEN="127.0.0.1:$PORT" GATEWAY_SERVER=hypercorn SERVICES=apigateway,sts \
    LOCALSTACK_VOLUME_DIR="$TOOLS/localstack-volume" \
    nohup "$VENV/bin/python" -m localstack.runtime.main >"$LOG_FILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  server_wait "$pid" "localstack.runtime.main"
}

stop() {
  server_stop
}

case "${1:-}" in
  start) start ;;
  check) LOCALSTACK_URL="http://127.0.0.1:$PORT" node "$(dirname "${BASH_SOURCE[0]}")/localstack-check.mjs" ;;
  stop) stop ;;
  *) echo "usage: $0 start|check|stop" >&2; exit 2 ;;
esac
