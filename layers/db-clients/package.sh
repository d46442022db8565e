#!/bin/sh
# Packages the db-clients layer when `cdk deploy` publishes it, never during `cdk synth`.
#
# The layer's CDK asset names this script as its build command (a file asset with an `executable` source,
# see DbClientToolsLayer in infra/constructs/lambda-runner.ts): cdk-assets runs it only when the asset is not
# in the bootstrap bucket yet, and reads the path of the finished zip from the last line of stdout. It runs
# build.sh in Lambda's own image, exactly as `layers/db-clients/README.md` shows by hand, so it needs Docker
# (with arm64 emulation on an x86-64 host) and `zip` or python3 on the deploying machine.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/safekeep-db-clients.XXXXXX")"
mkdir "$work/layer"
docker run --rm --platform linux/arm64 -u root --entrypoint /bin/sh \
  -v "$here:/asset-input:ro" -v "$work/layer:/asset-output" \
  public.ecr.aws/lambda/nodejs:24 /asset-input/build.sh /asset-output >&2
if command -v zip >/dev/null 2>&1; then
  (cd "$work/layer" && zip -q -r -X -y "$work/layer.zip" .) >&2
else
  (cd "$work/layer" && python3 -m zipfile -c "$work/layer.zip" $(ls -A)) >&2
fi
echo "$work/layer.zip"
