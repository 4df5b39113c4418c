#!/usr/bin/env bash
# A streaming read replica of the local PostgreSQL (127.0.0.1:5432) on port 5433,
# and pgbouncer in transaction mode on port 6432 in front of the primary, for the
# `replica_*` and `pgbouncer_*` tests of commerce-postgres.
#
#   .ci/pg-replica.sh start   # idempotent: allows replication connections from
#                             # 127.0.0.1 on the primary (pg_hba.conf + reload),
#                             # takes a pg_basebackup if there is none, starts the
#                             # replica and pgbouncer if they are not answering
#   .ci/pg-replica.sh replica # only the replica (what .ci/run starts)
#   .ci/pg-replica.sh bouncer # only pgbouncer (the pgbouncer_* tests)
#   .ci/pg-replica.sh stop    # stops both and removes their directories
#
# Directories: PG_REPLICA_DIR (default /tmp/commerce-pg-replica) and
# PGBOUNCER_DIR (default /tmp/commerce-pgbouncer). Runs as root or as postgres.
set -euo pipefail

PRIMARY_PORT="${PG_PRIMARY_PORT:-5432}"
REPLICA_PORT="${PG_REPLICA_PORT:-5433}"
BOUNCER_PORT="${PGBOUNCER_PORT:-6432}"
REPLICA_DIR="${PG_REPLICA_DIR:-/tmp/commerce-pg-replica}"
BOUNCER_DIR="${PGBOUNCER_DIR:-/tmp/commerce-pgbouncer}"
VERSION="$(ls /etc/postgresql | sort -n | tail -1)"
BIN="/usr/lib/postgresql/$VERSION/bin"
HBA="/etc/postgresql/$VERSION/main/pg_hba.conf"
# pgbouncer >= 1.21 tracks protocol-level prepared statements in transaction mode
# (max_prepared_statements), which sqlx's statement cache needs. Debian bookworm
# ships 1.18: build a newer one (see docs/scaling.md) and name it here, or it is
# looked for under /opt/pgbouncer-*/bin.
PGBOUNCER_BIN="${PGBOUNCER_BIN:-$( (ls -d /opt/pgbouncer-*/bin/pgbouncer 2>/dev/null || true) | sort -V | tail -1)}"
PGBOUNCER_BIN="${PGBOUNCER_BIN:-pgbouncer}"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_until() { # tries, command...
  local tries=$1; shift
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

allow_replication() {
  if ! grep -Eq '^host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust' "$HBA"; then
    echo "host replication all 127.0.0.1/32 trust" >>"$HBA"
    psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atc 'select pg_reload_conf()' >/dev/null
  fi
}

start_replica() {
  if pg_isready -h 127.0.0.1 -p "$REPLICA_PORT" >/dev/null 2>&1; then return 0; fi
  if [ ! -f "$REPLICA_DIR/standby.signal" ]; then
    rm -rf "$REPLICA_DIR"
    mkdir -p "$REPLICA_DIR"
    chown postgres:postgres "$REPLICA_DIR" 2>/dev/null || true
    chmod 700 "$REPLICA_DIR"
    # -R writes primary_conninfo and standby.signal; -c fast: no wait for a checkpoint.
    as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
      -D "$REPLICA_DIR" -R -X stream -c fast
    # Debian keeps the configuration under /etc: give the replica its own.
    as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$REPLICA_DIR'
hot_standby = on
max_connections = 100
shared_buffers = 32MB
fsync = off
EOF
    as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  fi
  as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w start >/dev/null
  wait_until 100 pg_isready -h 127.0.0.1 -p "$REPLICA_PORT"
  psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -Atc 'select pg_is_in_recovery()' | grep -q t
}

start_bouncer() {
  if pg_isready -h 127.0.0.1 -p "$BOUNCER_PORT" >/dev/null 2>&1; then return 0; fi
  mkdir -p "$BOUNCER_DIR"
  cat >"$BOUNCER_DIR/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PRIMARY_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $BOUNCER_DIR/userlist.txt
pool_mode = transaction
; one small pool per test database, and few server connections in all: the
; primary's max_connections (100) is shared with every other test
default_pool_size = 4
max_client_conn = 500
max_user_connections = 16
server_idle_timeout = 5
server_reset_query =
max_prepared_statements = 200
ignore_startup_parameters = extra_float_digits,options
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $BOUNCER_DIR/pgbouncer.pid
EOF
  echo '"postgres" ""' >"$BOUNCER_DIR/userlist.txt"
  chown -R postgres:postgres "$BOUNCER_DIR" 2>/dev/null || true
  as_postgres "$PGBOUNCER_BIN" -d "$BOUNCER_DIR/pgbouncer.ini"
  wait_until 50 pg_isready -h 127.0.0.1 -p "$BOUNCER_PORT"
  "$PGBOUNCER_BIN" --version | head -1
}

stop() {
  if [ -f "$BOUNCER_DIR/pgbouncer.pid" ]; then
    kill "$(cat "$BOUNCER_DIR/pgbouncer.pid")" 2>/dev/null || true
  fi
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$REPLICA_DIR" "$BOUNCER_DIR"
}

case "${1:-}" in
  start|replica)
    allow_replication
    start_replica
    [ "$1" = replica ] && { echo "replica: postgres://postgres@127.0.0.1:$REPLICA_PORT"; exit 0; }
    ;;&
  start|bouncer)
    start_bouncer
    echo "replica: postgres://postgres@127.0.0.1:$REPLICA_PORT  pgbouncer: postgres://postgres@127.0.0.1:$BOUNCER_PORT"
    ;;
  stop) stop ;;
  *) echo "usage: $0 start|replica|bouncer|stop" >&2; exit 2 ;;
esac
