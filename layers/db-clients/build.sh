#!/bin/sh
# Builds the db-clients Lambda layer: the PostgreSQL and MariaDB client tools with the shared libraries the
# Lambda runtime lacks. CDK asset bundling runs it at deploy time inside Lambda's own image
# (public.ecr.aws/lambda/nodejs:24, arm64), so the tools are built for exactly the Amazon Linux 2023 they
# run on. /asset-input is this directory; what lands in /asset-output is mounted at /opt in the function:
#
#   /opt/bin/                 wrappers: pg_dump pg_dumpall pg_restore psql mariadb-dump mysqldump mariadb mysql
#   /opt/libexec/db-clients/  the real binaries
#   /opt/lib/                 libraries the runtime does not have (libpq, ...), mariadb/plugin/ auth plugins
#   /opt/VERSIONS             what was installed
#
# The worker starts tools with a minimal environment (no LD_LIBRARY_PATH), so each tool in /opt/bin is a
# small sh wrapper that points the loader at /opt/lib before it execs the real binary.
#
# The asset hash is this directory's content: bump LAYER_REVISION to rebuild with the newest packages.
set -eu

LAYER_REVISION=1
OUT="${1:-/asset-output}"
# Newest first: the first major the AL2023 repositories offer wins (pg_dump dumps older servers, never newer).
PG_MAJORS="${PG_MAJORS:-18 17 16 15}"
# AL2023 packages MariaDB per stream: mariadb105 (10.5), mariadb1011 (10.11), mariadb114 (11.4), ...
MARIADB_STREAMS="${MARIADB_STREAMS:-118 114 1011 105}"
LIBEXEC=libexec/db-clients
BASELINE=/tmp/runtime-libraries.sha256

log() { printf '[db-clients] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# ---- 1. What the runtime already has, before anything is installed: every library in the loader's default
# directories, by content (a library dnf upgrades below counts as missing, so the layer ships the new one).
: >"$BASELINE"
for dir in /lib64 /usr/lib64 /lib /usr/lib; do
  for lib in "$dir"/*.so "$dir"/*.so.*; do
    if [ -f "$lib" ]; then sha256sum "$(readlink -f "$lib")" | cut -d' ' -f1 >>"$BASELINE"; fi
  done
done
log "runtime baseline: $(wc -l <"$BASELINE") libraries (revision $LAYER_REVISION)"

# The Lambda images ship microdnf (and call it dnf); a full dnf works the same way.
if command -v dnf >/dev/null 2>&1; then DNF=dnf; else DNF=microdnf; fi
dnf_install() { "$DNF" install -y --nodocs --setopt=install_weak_deps=0 "$@"; }

# Installs the first package of the list that the repositories know; "no such package" moves on, any
# other failure (network, signature) stops the build rather than silently picking an older version.
install_first() {
  for package in "$@"; do
    if dnf_install "$package" >/tmp/dnf.log 2>&1; then
      echo "$package"
      return 0
    fi
    case "$(cat /tmp/dnf.log)" in
    *"No package matches"* | *"No match for argument"* | *"Unable to find a match"*) log "no package $package" ;;
    *)
      cat /tmp/dnf.log >&2
      die "installing $package failed"
      ;;
    esac
  done
  return 1
}

dnf_install grep >/dev/null 2>&1 || die 'installing grep failed'

# ---- 2. The newest PostgreSQL client (postgresqlNN holds psql, pg_dump, pg_dumpall, pg_restore).
PG_PACKAGE="$(install_first $(for major in $PG_MAJORS; do echo "postgresql$major"; done))" ||
  die "none of postgresql{$(echo "$PG_MAJORS" | tr ' ' ',')} is in the AL2023 repositories; set PG_MAJORS"
log "installed $PG_PACKAGE"

# ---- 3. The newest MariaDB client (mariadb-dump / mysqldump and mariadb / mysql). Newer streams split
# some client programs into -client-utils; it is optional where the main package holds them.
MARIADB_PACKAGE="$(install_first $(for stream in $MARIADB_STREAMS; do echo "mariadb$stream"; done))" ||
  die "none of mariadb{$(echo "$MARIADB_STREAMS" | tr ' ' ',')} is in the AL2023 repositories; set MARIADB_STREAMS"
install_first "$MARIADB_PACKAGE-client-utils" >/dev/null || true
log "installed $MARIADB_PACKAGE"

# ---- 4. The real binaries, and a wrapper for each name the worker may call.
mkdir -p "$OUT/bin" "$OUT/$LIBEXEC" "$OUT/lib/mariadb/plugin"

which_of() {
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then
      readlink -f "$(command -v "$name")"
      return 0
    fi
  done
  return 1
}

# wrapper <name in /opt/bin> <binary in libexec> [extra variable assignment]
wrapper() {
  {
    echo '#!/bin/sh'
    echo "# db-clients layer: $2 with the layer's libraries (Safekeep starts tools with a minimal environment)."
    echo 'LD_LIBRARY_PATH=/opt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}'
    echo 'export LD_LIBRARY_PATH'
    if [ -n "${3:-}" ]; then echo "export $3"; fi
    echo "exec /opt/$LIBEXEC/$2 \"\$@\""
  } >"$OUT/bin/$1"
  chmod 0755 "$OUT/bin/$1"
}

for tool in pg_dump pg_dumpall pg_restore psql; do
  # pg_dumpall finds pg_dump next to its own binary, so all four live side by side in libexec.
  install -m 0755 "$(which_of "$tool")" "$OUT/$LIBEXEC/$tool" || die "$PG_PACKAGE has no $tool"
  wrapper "$tool" "$tool"
done

# Connector/C loads authentication plugins (caching_sha2_password for MySQL 8 servers) from this directory.
MARIADB_PLUGINS='MARIADB_PLUGIN_DIR=/opt/lib/mariadb/plugin'
install -m 0755 "$(which_of mariadb-dump mysqldump)" "$OUT/$LIBEXEC/mariadb-dump" || die "$MARIADB_PACKAGE has no mariadb-dump"
install -m 0755 "$(which_of mariadb mysql)" "$OUT/$LIBEXEC/mariadb" || die "$MARIADB_PACKAGE has no mariadb client"
# Exec the real names: MariaDB 11 warns on stderr when started as mysqldump or mysql.
wrapper mariadb-dump mariadb-dump "$MARIADB_PLUGINS"
wrapper mysqldump mariadb-dump "$MARIADB_PLUGINS"
wrapper mariadb mariadb "$MARIADB_PLUGINS"
wrapper mysql mariadb "$MARIADB_PLUGINS"
for dir in /usr/lib64/mariadb/plugin /usr/lib64/mysql/plugin /usr/lib/mariadb/plugin; do
  for plugin in "$dir"/*.so; do
    if [ -f "$plugin" ]; then install -m 0755 "$plugin" "$OUT/lib/mariadb/plugin/"; fi
  done
done

# ---- 5. Every library those binaries and plugins load (the loader lists the whole closure) that the
# runtime lacks. glibc is never shipped: it must match the runtime's own loader.
LOADER="$(for candidate in /lib/ld-linux-aarch64.so.1 /lib64/ld-linux-x86-64.so.2; do
  if [ -x "$candidate" ]; then
    echo "$candidate"
    break
  fi
done)"
[ -n "$LOADER" ] || die 'no dynamic loader found'

is_glibc() {
  case "$1" in
  */ld-linux* | ld-linux* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.*) return 0 ;;
  *) return 1 ;;
  esac
}

for binary in "$OUT/$LIBEXEC"/* "$OUT/lib/mariadb/plugin"/*.so; do
  [ -f "$binary" ] || continue
  "$LOADER" --list "$binary" >/tmp/needed.txt || die "cannot list the libraries of $binary"
  while read -r soname arrow path _; do
    [ "$arrow" = '=>' ] || continue
    [ "$path" != 'not' ] || die "$(basename "$binary") needs $soname, which no installed package provides"
    if is_glibc "$soname" || [ -f "$OUT/lib/$soname" ]; then continue; fi
    real="$(readlink -f "$path")"
    if ! grep -qxF "$(sha256sum "$real" | cut -d' ' -f1)" "$BASELINE"; then
      install -m 0644 "$real" "$OUT/lib/$soname"
      log "shipping $soname (for $(basename "$binary"))"
    fi
  done </tmp/needed.txt
done

# ---- 6. Smoke test: the tools start through their wrappers, from /opt, with an empty environment.
mkdir -p /opt
cp -a "$OUT/." /opt/
{
  echo "db-clients layer revision $LAYER_REVISION, built on $(. /etc/os-release && echo "$PRETTY_NAME") $(uname -m)"
  echo "packages: $PG_PACKAGE $MARIADB_PACKAGE"
  for tool in pg_dump pg_dumpall pg_restore psql mariadb-dump mariadb; do
    env -i "/opt/bin/$tool" --version || die "/opt/bin/$tool does not start"
  done
} >"$OUT/VERSIONS"
cat "$OUT/VERSIONS" >&2

# The host user (who owns /asset-input) gets the output back: bundling ran as root to install packages.
chown -R "$(stat -c %u:%g /asset-input 2>/dev/null || echo 0:0)" "$OUT"
chmod -R a+rX "$OUT"
