#!/usr/bin/env bash
# Three redis-sentinel processes over a replikv primary and two replikv
# replicas; a writer that asks Sentinel for the primary before each write
# (what a Sentinel-aware client such as go-redis's NewFailoverClient does);
# kill -9 of the primary; writes resume on the promoted replica.
#
# Needs redis-sentinel and redis-cli (apt-get install redis-sentinel
# redis-tools) and Go. Run from anywhere: examples/sentinel/run.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== building replikv into $work"
(cd "$repo" && go build -o "$work/replikv" ./cmd/replikv)

start_node() { # name port [replicaof-port]
  printf '# %s\nport %s\n' "$1" "$2" > "$work/$1.conf"
  [ -n "${3:-}" ] && echo "replicaof 127.0.0.1 $3" >> "$work/$1.conf"
  "$work/replikv" "$work/$1.conf" 2> "$work/$1.log" &
  pids+=($!)
}
start_node primary 7000
start_node replica1 7001 7000
start_node replica2 7002 7000
until redis-cli -p 7000 ping >/dev/null 2>&1; do sleep 0.1; done
primary_pid=${pids[0]}

for i in 1 2 3; do
  cat > "$work/sentinel$i.conf" <<EOC
port 2700$i
dir $work
sentinel monitor m 127.0.0.1 7000 2
sentinel down-after-milliseconds m 1000
sentinel failover-timeout m 5000
EOC
  redis-sentinel "$work/sentinel$i.conf" > "$work/sentinel$i.log" 2>&1 &
  pids+=($!)
done

echo "== waiting for the sentinels to find the replicas and each other"
until [ "$(redis-cli -p 27001 sentinel replicas m 2>/dev/null | grep -cx name)" = 2 ] &&
      [ "$(redis-cli -p 27001 sentinel sentinels m 2>/dev/null | grep -cx name)" = 2 ]; do sleep 0.5; done
redis-cli -p 27001 sentinel get-master-addr-by-name m | paste -sd: | sed 's/^/primary: /'

write() { # asks Sentinel for the primary, then writes there
  local addr; addr=($(redis-cli -p 27001 sentinel get-master-addr-by-name m))
  redis-cli -h "${addr[0]}" -p "${addr[1]}" set "key:$1" "$1" 2>/dev/null | grep -qx OK && echo "${addr[1]}"
}
for i in $(seq 1 5); do echo "write $i -> $(write "$i" || echo failed)"; done

echo "== kill -9 of the primary"
kill -9 "$primary_pid"
i=6
until port=$(write "$i") && [ "$port" != 7000 ]; do echo "write $i -> failed (waiting for the failover)"; i=$((i+1)); sleep 0.5; done
echo "write $i -> $port: the new primary"
echo "== the other replica now follows it:"
for p in 7001 7002; do [ "$p" = "$port" ] || redis-cli -p "$p" info replication | grep -E '^(role|master_port|master_link_status)'; done
