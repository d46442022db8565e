#!/usr/bin/env bash
# `npm start`, the main job on embedded defaults: installs what is missing, then synthesizes the Safekeep
# stack from the example config (safekeep.config.yaml), offline and without AWS credentials.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
bash "$here/setup.sh"
export PATH="$SAFEKEEP_BIN:$root/node_modules/.bin:$PATH"
cd "$root"
cdk synth --quiet "$@"
echo "[start] synthesized $(ls cdk.out/*.template.json | tr '\n' ' ')from safekeep.config.yaml; cdk.out/validation-report.json has the compliance report" >&2
