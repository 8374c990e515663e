# Shared by the server and tool scripts: install a pinned Python tool into a venv, wait for a started
# server, stop the one a script started. The server functions need the caller to define `answers`
# (does the port answer?) and set NAME, PORT, PID_FILE, LOG_FILE, TIMEOUT.

# venv_install NAME VENV LOG PYTHON PACKAGE...: create VENV with PYTHON and pip install the pinned
# PACKAGEs into it (output to LOG); on failure print LOG's last lines and exit 1.
venv_install() {
  local name="$1" venv="$2" log="$3" python="$4"
  shift 4
  mkdir -p "$(dirname "$venv")"
  echo "$name: installing $* into $venv (log $log)" >&2
  if ! { "$python" -m venv "$venv" && "$venv/bin/pip" install --disable-pip-version-check -q "$@"; } >"$log" 2>&1; then
    echo "$name: installation failed; last log lines:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
}

# Wait until the server with pid $1 answers; on death or timeout print its last log lines and exit 1.
server_wait() {
  local pid="$1" what="${2:-the server}"
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if answers; then
      echo "$NAME: started (pid $pid) on 127.0.0.1:$PORT, log $LOG_FILE"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$NAME: $what exited before answering on port $PORT; last log lines:" >&2
      tail -n 20 "$LOG_FILE" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "$NAME: not answering on 127.0.0.1:$PORT after ${TIMEOUT}s; stopping it; last log lines:" >&2
  tail -n 20 "$LOG_FILE" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  exit 1
}

# Stop the server whose pid this script recorded, if it still runs.
server_stop() {
  if [[ -f "$PID_FILE" ]]; then
    local pid
    pid="$(cat "$PID_FILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      echo "$NAME: stopped (pid $pid)"
    fi
    rm -f "$PID_FILE"
  else
    echo "$NAME: no pid file, nothing to stop"
  fi
}
