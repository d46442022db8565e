#!/usr/bin/env bash
# `npm run bench` / `npm run bench:full`: starts the peers the suite needs that are down (PostgreSQL,
# MariaDB, versitygw) and runs bench/suite.ts under `nice -n 10`, so suites sharing the machine keep their
# share. Peers are left running: other suites may be using them by the time the bench ends.
# Arguments go to the suite: --quick | --full [--huge] [--engines postgres,mysql] [--sizes 100,1000] [--rounds N].
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=../scripts/versions.sh
source "$root/scripts/versions.sh"
export PATH="$SAFEKEEP_BIN:$root/node_modules/.bin:$PATH"

mapfile -t down < <(bash "$root/scripts/peers.sh" status | awk '($1 == "postgres" || $1 == "mariadb" || $1 == "versitygw") && $2 == "down" { print $1 }')
if [ "${#down[@]}" -gt 0 ]; then bash "$root/scripts/peers.sh" start "${down[@]}"; fi

cd "$root"
exec nice -n 10 node bench/suite.ts "$@"
