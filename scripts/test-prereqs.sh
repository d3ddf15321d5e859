#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest hook): makes a fresh machine ready for the suite.
# Installs redis-server and FerretDB if missing (scripts/install-services.sh) and the npm
# dependencies if node_modules is missing. Tests start their own private service instances.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
GOBIN_DIR="$(go env GOPATH 2>/dev/null | cut -d: -f1)/bin"
if ! command -v redis-server >/dev/null 2>&1 || ! { command -v ferretdb || ls "$GOBIN_DIR/ferretdb"; } >/dev/null 2>&1; then
  bash scripts/install-services.sh
fi
# Test peers: SIPp (sip-tester) and baresip (baresip-core) for telephony; chromium for the console.
TEST_PEERS=()
command -v sipp >/dev/null 2>&1 || TEST_PEERS+=(sip-tester)
command -v baresip >/dev/null 2>&1 || TEST_PEERS+=(baresip-core)
# The console's browser tests: Debian's chromium (driven by playwright-core) and CJK fonts.
[[ -x /usr/bin/chromium ]] || TEST_PEERS+=(chromium)
fc-list 2>/dev/null | grep -qi "noto.*cjk" || TEST_PEERS+=(fonts-noto-cjk)
if [[ ${#TEST_PEERS[@]} -gt 0 ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${TEST_PEERS[@]}"
fi
if [[ ! -d node_modules ]]; then
  npm ci --no-audit --no-fund
fi
