#!/usr/bin/env bash
# Installs the local backing services used for development and tests:
#   - redis-server (Debian package)
#   - FerretDB v1 (MongoDB wire-protocol server on SQLite), built with Go
#
# Idempotent: does nothing if both are already present and working.
# Intended for Debian 12 with Go and Node preinstalled; run as root
# (or as a user with sudo) when redis-server still has to be installed.
set -euo pipefail

FERRETDB_MODULE="github.com/FerretDB/FerretDB"
FERRETDB_VERSIONS=(v1.24.2 v1.24.1)

log() { printf '[install-services] %s\n' "$*"; }
die() { printf '[install-services] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (re-run this script as root)"
  fi
}

# ---------------------------------------------------------------- redis ----
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  log "redis-server already installed: $(redis-server --version | head -n1)"
else
  log "redis-server not found; installing it with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after apt-get install"
  log "installed: $(redis-server --version | head -n1)"
fi

# ------------------------------------------------------------- ferretdb ----
command -v go >/dev/null 2>&1 || die "Go toolchain not found (needed to build FerretDB)"
GOBIN_DIR="$(go env GOPATH | cut -d: -f1)/bin"
FERRETDB_BIN="$GOBIN_DIR/ferretdb"

ferretdb_works() {
  [[ -x "$1" ]] && "$1" --version >/dev/null 2>&1
}

# NOTE: a plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.x`
# produces a binary that panics at startup ("Invalid build/version/version.txt
# file content"): the release version is taken from an embedded, generated
# build/version/version.txt that is not part of the published Go module.
# So we fetch the module source with `go mod download`, add version.txt, and
# `go build` it into $(go env GOPATH)/bin/ferretdb instead.
build_ferretdb() (
  # runs in a subshell so the EXIT trap cleans up the work dir
  version="$1"
  log "building FerretDB $version from $FERRETDB_MODULE@$version"
  dir="$(cd / && GOFLAGS=-mod=mod go mod download -json "$FERRETDB_MODULE@$version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)" || exit 1
  [[ -n "$dir" && -d "$dir" ]] || { log "go mod download did not report a source dir"; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp -R "$dir/." "$work/"
  chmod -R u+w "$work"
  printf '%s\n' "$version" >"$work/build/version/version.txt"
  printf 'go-build\n' >"$work/build/version/package.txt"
  mkdir -p "$GOBIN_DIR"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) || exit 1
  if ! ferretdb_works "$FERRETDB_BIN.tmp"; then
    rm -f "$FERRETDB_BIN.tmp"
    log "freshly built binary does not run"
    exit 1
  fi
  mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
)

if ferretdb_works "$FERRETDB_BIN"; then
  log "ferretdb already installed: $FERRETDB_BIN ($("$FERRETDB_BIN" --version | head -n1))"
else
  if [[ -e "$FERRETDB_BIN" ]]; then
    log "$FERRETDB_BIN exists but does not run (probably a plain 'go install' build); rebuilding"
  else
    log "ferretdb not found in $GOBIN_DIR"
  fi
  ok=0
  for v in "${FERRETDB_VERSIONS[@]}"; do
    if build_ferretdb "$v"; then ok=1; break; fi
    log "building FerretDB $v failed; trying the next version"
  done
  [[ $ok -eq 1 ]] || die "could not build FerretDB (tried ${FERRETDB_VERSIONS[*]})"
  log "installed: $FERRETDB_BIN ($("$FERRETDB_BIN" --version | head -n1))"
fi

case ":$PATH:" in
  *":$GOBIN_DIR:"*) ;;
  *) log "note: $GOBIN_DIR is not on PATH (the project scripts find ferretdb there anyway)" ;;
esac
log "done"
