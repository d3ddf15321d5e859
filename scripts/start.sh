#!/usr/bin/env bash
# One command to start the whole 12345 hotline system (`npm start`).
#
# - If MONGODB_URL and REDIS_URL are not both set, installs (if needed) and
#   starts local Redis + FerretDB via scripts/services.sh and points the app
#   at them. Those services keep running after the app exits; stop them with
#       bash scripts/services.sh stop
# - Installs npm dependencies if node_modules is missing.
# - Seeds the directory data if the database is empty.
# - Starts the server (PORT defaults to 8080) and the telephony adapter (SIP/UDP
#   on 127.0.0.1:5060 unless SIP_ADDRESS / SIP_PORT say otherwise).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[start] %s\n' "$*"; }

# Make `go install`-ed binaries (ferretdb) visible.
if command -v go >/dev/null 2>&1; then
  GOBIN_DIR="$(go env GOPATH | cut -d: -f1)/bin"
  case ":$PATH:" in *":$GOBIN_DIR:"*) ;; *) export PATH="$PATH:$GOBIN_DIR" ;; esac
fi

ferretdb_ok() {
  local bin
  for bin in "$(command -v ferretdb 2>/dev/null || true)" "${GOBIN_DIR:-/nonexistent}/ferretdb" "$HOME/go/bin/ferretdb"; do
    [[ -n "$bin" && -x "$bin" ]] && "$bin" --version >/dev/null 2>&1 && return 0
  done
  return 1
}

if [[ -z "${MONGODB_URL:-}" || -z "${REDIS_URL:-}" ]]; then
  if ! command -v redis-server >/dev/null 2>&1 || ! ferretdb_ok; then
    log "installing local services (redis-server, ferretdb)"
    bash "$ROOT/scripts/install-services.sh"
  fi
  bash "$ROOT/scripts/services.sh" start
  export MONGODB_URL="${MONGODB_URL:-mongodb://127.0.0.1:${FERRETDB_PORT:-27027}/hotline}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-16379}}"
  log "using local services (stop them with: bash scripts/services.sh stop)"
fi
log "MONGODB_URL=$MONGODB_URL"
log "REDIS_URL=$REDIS_URL"

if [[ ! -d node_modules ]]; then
  log "node_modules missing; running npm ci"
  npm ci
fi

# The console's production build, when missing or older than its sources.
if [[ ! -f agent-console/dist/index.html ]] || [[ -n "$(find agent-console/src agent-console/index.html agent-console/vite.config.ts -newer agent-console/dist/index.html -print -quit 2>/dev/null)" ]]; then
  log "building the console (npm run build:console)"
  npm run build:console
fi

export PORT="${PORT:-8080}"

# A local JWT secret, made once and kept in ./data (production sets JWT_SECRET itself).
if [[ -z "${JWT_SECRET:-}" ]]; then
  mkdir -p "$ROOT/data"
  if [[ ! -s "$ROOT/data/jwt-secret" ]]; then
    (umask 077; node -e "process.stdout.write(require('crypto').randomBytes(48).toString('base64url'))" > "$ROOT/data/jwt-secret")
  fi
  JWT_SECRET="$(cat "$ROOT/data/jwt-secret")"
  export JWT_SECRET
fi

log "seeding directory data (only if empty)"
npx --no-install tsx server/src/directory/seed-cli.ts --if-empty

# Telephony (SIP adapter) in its own process next to the server; stopped with it.
export SIP_PORT="${SIP_PORT:-5060}"
export TELEPHONY_INSTANCE="${TELEPHONY_INSTANCE:-tel1}"
log "starting telephony (SIP/UDP) on ${SIP_ADDRESS:-127.0.0.1}:$SIP_PORT"
npx --no-install tsx telephony/src/main.ts &
TELEPHONY_PID=$!
trap 'kill "$TELEPHONY_PID" 2>/dev/null || true' EXIT INT TERM

log "starting server on port $PORT"
npx --no-install tsx server/src/main.ts
