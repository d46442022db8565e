#!/usr/bin/env bash
# OpenMetadata's "back up before every upgrade", as a gate: back the metadata up now, check the backup, and
# only then run the upgrade. Any failure stops here, with a non-zero exit, before the upgrade starts.
#
#   scripts/recipes/openmetadata-upgrade-gate.sh <target> [safekeep run flags...] [-- <upgrade command...>]
#
#   <target>         the deployed Safekeep target holding OpenMetadata's database (a MySQL or PostgreSQL dump,
#                    or an RDS snapshot target)
#   run flags        passed to `safekeep run`: --stack, --region, --endpoint-url, --timeout, --poll-interval
#   upgrade command  run only once the backup is proven; without one, the gate only reports
#
# What "proven" means: for a dump, `safekeep run --wait` succeeded (the manifest landed, written only after
# every object was stored whole) and `safekeep verify` then read every object back from S3 and matched its
# SHA-256 and the engine's own completeness check. For an RDS snapshot target, `run --wait` succeeded, which
# the snapshot flow reports only once every snapshot (and every copy) is `available`.
#
# Exit codes: those of `safekeep run` (1 failed, 5 timed out) or `safekeep verify` (3 corrupt); 1 when the run's
# result cannot be read; then the upgrade command's own.
set -euo pipefail

SAFEKEEP=${SAFEKEEP:-safekeep}
usage="usage: $0 <target> [safekeep run flags...] [-- <upgrade command...>]"
[[ $# -ge 1 && $1 != -* ]] || { echo "$usage" >&2; exit 2; }
target=$1
shift

run_flags=()
verify_flags=()
while [[ $# -gt 0 && $1 != -- ]]; do
  run_flags+=("$1")
  # verify talks to the same S3 endpoint as run.
  if [[ $1 == --endpoint-url && $# -ge 2 ]]; then verify_flags+=("$1" "$2"); run_flags+=("$2"); shift; fi
  shift
done
[[ ${1:-} == -- ]] && shift
upgrade=("$@")

echo "upgrade gate: backing up ${target} before the upgrade" >&2
result=$("$SAFEKEEP" run "$target" --wait --json "${run_flags[@]}") || {
  code=$?
  echo "upgrade gate: the backup of ${target} did not succeed; the upgrade was NOT started" >&2
  exit "$code"
}

# Read the run's JSON line with the Node that Safekeep runs on (no jq needed).
read -r kind manifest < <(printf '%s' "$result" | tail -n 1 | node -e '
  let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
    const run = JSON.parse(text); console.log(`${run.kind ?? "?"} ${run.manifest ?? "-"}`);
  });')

case $kind in
  dump)
    if [[ $manifest == - ]]; then
      echo "upgrade gate: the run of ${target} reported no manifest; the upgrade was NOT started" >&2
      exit 1
    fi
    "$SAFEKEEP" verify --from "$manifest" "${verify_flags[@]}" >&2 || {
      code=$?
      echo "upgrade gate: the backup ${manifest} did not verify; the upgrade was NOT started" >&2
      exit "$code"
    }
    echo "upgrade gate: backup verified: ${manifest}" >&2
    ;;
  snapshot)
    echo "upgrade gate: every snapshot of ${target} is available" >&2
    ;;
  *)
    echo "upgrade gate: could not read the run's result; the upgrade was NOT started" >&2
    exit 1
    ;;
esac

if [[ ${#upgrade[@]} -eq 0 ]]; then
  echo "upgrade gate: go ahead with the upgrade" >&2
  exit 0
fi
echo "upgrade gate: starting the upgrade: ${upgrade[*]}" >&2
exec "${upgrade[@]}"
