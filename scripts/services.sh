#!/usr/bin/env bash
# Local development services: Redis and FerretDB (MongoDB wire protocol on SQLite).
#
#   bash scripts/services.sh start    # start both (no-op if already running)
#   bash scripts/services.sh stop     # stop both
#   bash scripts/services.sh status   # exit 0 if both are running, 3 otherwise
#
# Data lives in <repo>/data/redis and <repo>/data/ferretdb; pid files and logs
# in <repo>/data/. Both listen on 127.0.0.1 only.
#   REDIS_PORT     (default 16379)  -> redis://127.0.0.1:$REDIS_PORT
#   FERRETDB_PORT  (default 27027)  -> mongodb://127.0.0.1:$FERRETDB_PORT/hotline
# Install the binaries first with: bash scripts/install-services.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/data"
REDIS_PORT="${REDIS_PORT:-16379}"
FERRETDB_PORT="${FERRETDB_PORT:-27027}"
HOST=127.0.0.1
START_TIMEOUT="${SERVICES_START_TIMEOUT:-30}"

REDIS_PID="$DATA/redis.pid"
REDIS_LOG="$DATA/redis.log"
FERRET_PID="$DATA/ferretdb.pid"
FERRET_LOG="$DATA/ferretdb.log"

REDIS_URL_OUT="redis://$HOST:$REDIS_PORT"
MONGO_URL_OUT="mongodb://$HOST:$FERRETDB_PORT/hotline"

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

find_ferretdb() {
  local c gopath
  if c="$(command -v ferretdb 2>/dev/null)"; then echo "$c"; return 0; fi
  if command -v go >/dev/null 2>&1; then
    gopath="$(go env GOPATH 2>/dev/null | cut -d: -f1)"
    if [[ -n "$gopath" && -x "$gopath/bin/ferretdb" ]]; then echo "$gopath/bin/ferretdb"; return 0; fi
  fi
  if [[ -x "$HOME/go/bin/ferretdb" ]]; then echo "$HOME/go/bin/ferretdb"; return 0; fi
  return 1
}

# pid_alive PIDFILE COMM -> prints pid and returns 0 if the process in PIDFILE
# is alive and its command name is COMM (guards against recycled pids).
pid_alive() {
  local pidfile="$1" comm="$2" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm"* ]] || return 1
  echo "$pid"
}

tcp_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

redis_ping() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]; }

start_redis() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found; run: bash scripts/install-services.sh"
  local pid
  if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
    log "redis already running (pid $pid) on $REDIS_URL_OUT"
    return 0
  fi
  if tcp_open "$REDIS_PORT"; then
    die "port $REDIS_PORT is already in use by another process (set REDIS_PORT to use a different port)"
  fi
  mkdir -p "$DATA/redis"
  rm -f "$REDIS_PID"
  log "starting redis on $HOST:$REDIS_PORT (data: $DATA/redis, log: $REDIS_LOG)"
  redis-server \
    --port "$REDIS_PORT" \
    --bind "$HOST" \
    --protected-mode no \
    --dir "$DATA/redis" \
    --appendonly yes \
    --maxmemory-policy noeviction \
    --daemonize yes \
    --pidfile "$REDIS_PID" \
    --logfile "$REDIS_LOG"
}

start_ferretdb() {
  local bin pid
  bin="$(find_ferretdb)" || die "ferretdb not found (looked on PATH, \$(go env GOPATH)/bin and ~/go/bin); run: bash scripts/install-services.sh"
  if pid="$(pid_alive "$FERRET_PID" ferretdb)"; then
    log "ferretdb already running (pid $pid) on $MONGO_URL_OUT"
    return 0
  fi
  if tcp_open "$FERRETDB_PORT"; then
    die "port $FERRETDB_PORT is already in use by another process (set FERRETDB_PORT to use a different port)"
  fi
  mkdir -p "$DATA/ferretdb"
  rm -f "$FERRET_PID"
  log "starting ferretdb on $HOST:$FERRETDB_PORT (data: $DATA/ferretdb, log: $FERRET_LOG)"
  # setsid + nohup: detach from the calling terminal/process group so the
  # server keeps running after this script (or npm start) exits or gets ^C.
  # The inner bash records its own pid and then execs ferretdb (same pid).
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$FERRET_PID" \
    "$bin" \
    --handler=sqlite \
    "--sqlite-url=file:$DATA/ferretdb/?_txlock=immediate&_pragma=busy_timeout(60000)" \
    "--state-dir=$DATA/ferretdb" \
    "--listen-addr=$HOST:$FERRETDB_PORT" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=info \
    </dev/null >>"$FERRET_LOG" 2>&1 &
}

wait_ready() {
  local deadline=$((SECONDS + START_TIMEOUT)) redis_ok=0 ferret_ok=0
  while ((SECONDS < deadline)); do
    ((redis_ok)) || { redis_ping && redis_ok=1; }
    ((ferret_ok)) || { tcp_open "$FERRETDB_PORT" && pid_alive "$FERRET_PID" ferretdb >/dev/null && ferret_ok=1; }
    if ((redis_ok && ferret_ok)); then return 0; fi
    # fail fast if a server died during startup
    if [[ -s "$FERRET_PID" ]] && ! ((ferret_ok)) && ! kill -0 "$(tr -dc '0-9' <"$FERRET_PID")" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  if ! ((redis_ok)); then
    log "redis did not become ready within ${START_TIMEOUT}s; last lines of $REDIS_LOG:" >&2
    tail -n 30 "$REDIS_LOG" >&2 2>/dev/null || true
  fi
  if ! ((ferret_ok)); then
    log "ferretdb did not become ready within ${START_TIMEOUT}s; last lines of $FERRET_LOG:" >&2
    tail -n 30 "$FERRET_LOG" >&2 2>/dev/null || true
  fi
  return 1
}

# stop_pid PIDFILE COMM NAME
stop_pid() {
  local pidfile="$1" comm="$2" name="$3" pid i
  if ! pid="$(pid_alive "$pidfile" "$comm")"; then
    log "$name not running"
    rm -f "$pidfile"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do   # up to 10 s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not exit after 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

status() {
  local rc=0 pid
  if pid="$(pid_alive "$REDIS_PID" redis-server)"; then
    if redis_ping; then log "redis:    running (pid $pid)  $REDIS_URL_OUT"
    else log "redis:    process $pid alive but not answering PING on port $REDIS_PORT"; rc=3; fi
  else
    log "redis:    stopped"; rc=3
  fi
  if pid="$(pid_alive "$FERRET_PID" ferretdb)"; then
    if tcp_open "$FERRETDB_PORT"; then log "ferretdb: running (pid $pid)  $MONGO_URL_OUT"
    else log "ferretdb: process $pid alive but port $FERRETDB_PORT not accepting connections"; rc=3; fi
  else
    log "ferretdb: stopped"; rc=3
  fi
  return $rc
}

cmd="${1:-}"
case "$cmd" in
  start)
    mkdir -p "$DATA"
    start_redis
    start_ferretdb
    wait_ready || die "services failed to start (see logs in $DATA)"
    log "ready:"
    echo "REDIS_URL=$REDIS_URL_OUT"
    echo "MONGODB_URL=$MONGO_URL_OUT"
    log "stop them with: bash scripts/services.sh stop"
    ;;
  stop)
    stop_pid "$FERRET_PID" ferretdb ferretdb
    stop_pid "$REDIS_PID" redis-server redis
    ;;
  status)
    status
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
