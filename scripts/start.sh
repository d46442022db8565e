#!/usr/bin/env bash
# `npm start`, the main job on embedded defaults: installs what is missing, then runs the local demo
# (scripts/demo.ts): local peers, sample databases, backup into the local S3 store, verify, restore.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
bash "$here/setup.sh"
export PATH="$SAFEKEEP_BIN:$root/node_modules/.bin:$PATH"
cd "$root"
node scripts/demo.ts "$@"
