#!/usr/bin/env bash
# stripe-mock for the Stripe adapter's tests: validates every request against Stripe's OpenAPI spec.
#
#   scripts/servers/stripe-mock.sh start   install (once, into .tools/bin) and start it; no-op if it already answers
#   scripts/servers/stripe-mock.sh stop    stop the instance this script started
#
# Environment: STRIPE_MOCK_PORT (default 12111, HTTP), STRIPE_MOCK_HTTPS_PORT (default 12112),
# STRIPE_MOCK_START_TIMEOUT seconds (default 60).
set -euo pipefail

# Pinned: the newest tag on the Go module proxy when the adapter was written.
STRIPE_MOCK_VERSION="v0.203.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin/stripe-mock"
LOG="$TOOLS/stripe-mock.log"
PID_FILE="$TOOLS/stripe-mock.pid"
HOST="127.0.0.1"
PORT="${STRIPE_MOCK_PORT:-12111}"
HTTPS_PORT="${STRIPE_MOCK_HTTPS_PORT:-12112}"
TIMEOUT="${STRIPE_MOCK_START_TIMEOUT:-60}"

# stripe-mock answers any authenticated GET; a 200 on /v1/customers means it is up and serving the spec.
answers() {
  curl -fsS -m 2 -o /dev/null -u "sk_test_123:" "http://$HOST:$PORT/v1/customers" 2>/dev/null
}

install() {
  if [[ -x "$BIN" ]]; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "stripe-mock.sh: the Go toolchain is needed to install stripe-mock $STRIPE_MOCK_VERSION (go: not found)" >&2
    exit 1
  fi
  mkdir -p "$TOOLS/bin"
  echo "stripe-mock.sh: installing github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION into $TOOLS/bin" >&2
  if ! GOBIN="$TOOLS/bin" go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >&2; then
    echo "stripe-mock.sh: go install github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION failed" >&2
    exit 1
  fi
}

start() {
  if answers; then
    echo "stripe-mock.sh: already answering on $HOST:$PORT" >&2
    return 0
  fi
  install
  mkdir -p "$TOOLS"
  nohup "$BIN" -http-addr "$HOST:$PORT" -https-addr "$HOST:$HTTPS_PORT" >"$LOG" 2>&1 &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + TIMEOUT))
  until answers; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      echo "stripe-mock.sh: stripe-mock exited before answering on $HOST:$PORT; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "stripe-mock.sh: stripe-mock did not answer on $HOST:$PORT within ${TIMEOUT}s; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "stripe-mock.sh: stripe-mock $STRIPE_MOCK_VERSION answering on $HOST:$PORT (pid $(cat "$PID_FILE"))" >&2
}

stop() {
  if [[ ! -f "$PID_FILE" ]]; then
    echo "stripe-mock.sh: no pid file, nothing to stop" >&2
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  # Only stop the process this script started, and only if it still is stripe-mock.
  if kill -0 "$pid" 2>/dev/null && [[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == stripe-mock* ]]; then
    kill "$pid"
    echo "stripe-mock.sh: stopped pid $pid" >&2
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
