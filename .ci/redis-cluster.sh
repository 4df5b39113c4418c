#!/usr/bin/env bash
# A Redis Cluster on loopback for the `cluster_*` tests of commerce-redis: three
# primaries and three replicas on ports 7000-7005 (REDIS_CLUSTER_PORT: the first
# port), each node in its own directory under REDIS_CLUSTER_DIR (default
# /tmp/commerce-redis-cluster), no persistence.
#
#   .ci/redis-cluster.sh start   # idempotent: starts missing nodes, creates the
#                                # cluster if it was never created, waits until ok
#   .ci/redis-cluster.sh stop    # shuts every node down and removes the directory
#   .ci/redis-cluster.sh urls    # prints the REDIS_CLUSTER_URLS value
#
# A node that was killed (the failover test does that) is started again by `start`
# from its own nodes.conf and rejoins as a replica of whoever took its slots.
set -euo pipefail

DIR="${REDIS_CLUSTER_DIR:-/tmp/commerce-redis-cluster}"
FIRST="${REDIS_CLUSTER_PORT:-7000}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=("$((FIRST + i))"); done
# Short enough that a failover takes a few seconds, long enough that a loaded
# 2-core machine does not fail nodes over by itself.
NODE_TIMEOUT_MS="${REDIS_CLUSTER_NODE_TIMEOUT_MS:-3000}"

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

urls() {
  local out=() p
  for p in "${PORTS[@]}"; do out+=("redis://127.0.0.1:$p"); done
  (IFS=,; echo "${out[*]}")
}

start_node() {
  local port=$1
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" \
    --save "" --appendonly no --dir "$DIR/$port" \
    --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid"
}

wait_until() { # tries, command...
  local tries=$1; shift
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

cluster_ok() {
  local p
  for p in "${PORTS[@]}"; do
    cli "$p" cluster info | grep -q '^cluster_state:ok' || return 1
  done
  # every node knows the other five
  for p in "${PORTS[@]}"; do
    [ "$(cli "$p" cluster nodes | grep -vc 'fail\|handshake\|noaddr')" -eq 6 ] || return 1
    [ "$(cli "$p" cluster nodes | grep -c 'slave')" -eq 3 ] || return 1
  done
  # every replica is in sync with its primary
  for p in "${PORTS[@]}"; do
    if cli "$p" info replication | grep -q '^role:slave'; then
      cli "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}

start() {
  local p
  for p in "${PORTS[@]}"; do
    cli "$p" ping >/dev/null 2>&1 || start_node "$p"
  done
  for p in "${PORTS[@]}"; do
    wait_until 50 cli "$p" ping || { echo "redis node $p did not start (see $DIR/$p/redis.log)" >&2; exit 1; }
  done
  if cli "${PORTS[0]}" cluster info | grep -q '^cluster_slots_assigned:0'; then
    local nodes=()
    for p in "${PORTS[@]}"; do nodes+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
  fi
  if ! wait_until 150 cluster_ok; then
    echo "the Redis Cluster under $DIR did not reach cluster_state:ok; reset it with" >&2
    echo "  $0 stop && $0 start" >&2
    exit 1
  fi
  echo "Redis Cluster ok: REDIS_CLUSTER_URLS=$(urls)"
}

stop() {
  local p
  for p in "${PORTS[@]}"; do
    cli "$p" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  urls) urls ;;
  *) echo "usage: $0 start|stop|urls" >&2; exit 2 ;;
esac
