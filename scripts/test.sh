#!/usr/bin/env bash
# `npm test`: installs whatever is missing (scripts/setup.sh), starts the local peers that are not already
# running, runs the typecheck, the linter and the whole vitest suite, then stops the peers it started.
# Extra arguments go to vitest (`npm test -- test/peers`). SAFEKEEP_KEEP_PEERS=1 leaves the peers running.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

bash "$here/setup.sh"
export PATH="$SAFEKEEP_BIN:$root/node_modules/.bin:$PATH"

mapfile -t down < <(bash "$here/peers.sh" status | awk '$2 == "down" { print $1 }')
stop_started() {
  if [ "${#down[@]}" -gt 0 ] && [ "${SAFEKEEP_KEEP_PEERS:-0}" != 1 ]; then bash "$here/peers.sh" stop "${down[@]}"; fi
}
trap stop_started EXIT
# Starting is idempotent, so a peer whose port was briefly held (a socket still closing) gets one more try.
if [ "${#down[@]}" -gt 0 ]; then
  bash "$here/peers.sh" start "${down[@]}" || { sleep 3 && bash "$here/peers.sh" start "${down[@]}"; }
fi

cd "$root"
echo "[test] typecheck" >&2
tsc --noEmit -p .
echo "[test] lint" >&2
biome check .
echo "[test] vitest on node $(node --version)" >&2
vitest run "$@"
