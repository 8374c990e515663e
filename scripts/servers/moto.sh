#!/usr/bin/env bash
# moto server (API Gateway usage plans and keys, Secrets Manager) for the adapters-aws tests, on
# 127.0.0.1:${MOTO_PORT:-15000}. Installed once into <repo>/.tools/moto-venv.
#   scripts/servers/moto.sh start   # idempotent: does nothing when the port already answers
#   scripts/servers/moto.sh stop
set -euo pipefail

MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME="moto"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/moto-venv"
PORT="${MOTO_PORT:-15000}"
PID_FILE="$TOOLS/moto.pid"
LOG_FILE="$TOOLS/moto.log"
INSTALL_LOG="$TOOLS/moto-install.log"
TIMEOUT="${SERVER_START_TIMEOUT:-90}"

answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/moto-api/" || true)"
  [[ "$code" == "200" ]]
}

install() {
  if [[ -x "$VENV/bin/moto_server" ]] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    return 0
  fi
  venv_install moto "$VENV" "$INSTALL_LOG" python3 "moto[server]==$MOTO_VERSION"
}

start() {
  if answers; then
    echo "moto: already answering on 127.0.0.1:$PORT"
    return 0
  fi
  install
  mkdir -p "$TOOLS"
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG_FILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  server_wait "$pid" moto_server
}

stop() {
  server_stop
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
