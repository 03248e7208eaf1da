#!/usr/bin/env bash
# Counts the wake-ups of an idle `hush run`: the context switches of each of
# its threads (/proc/PID/task/*/status) over IDLE_SECS seconds (default 60)
# with no traffic at all, the store, retention and rule following on, as on
# a phone with its screen off.
#
#   bash tests/bench/idle.sh              # one minute
#   IDLE_SECS=10 bash tests/bench/idle.sh # a quick check of the script
#   CONNECTS=2000 bash tests/bench/idle.sh  # idle after that many TCP
#                                         # connects through Hush: asleep
#                                         # again once they are over
#
# Prints one line per thread (name, voluntary and involuntary switches), the
# sums per column, and their total. Root. Not part of CI. Cargo builds into $CARGO_TARGET_DIR,
# default /tmp/target-bench. Only 198.18.0.0/15 is used; no namespace has a
# route out.
set -euo pipefail
cd "$(dirname "$0")/../.."

IDLE_SECS=${IDLE_SECS:-60}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}
cargo build --release -p hush-linux >&2
HUSH="$CARGO_TARGET_DIR/release/hush"

P="hi$$"
PH=$P-ph SRV=$P-srv
WORK=$(mktemp -d)
HUSH_PID=""
cleanup() {
  [ -z "$HUSH_PID" ] || kill "$HUSH_PID" 2>/dev/null || true
  sleep 0.3
  for ns in "$PH" "$SRV"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in "$PH" "$SRV"; do
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
done
ip link add hiv0 netns "$PH" type veth peer name his0 netns "$SRV"
ip netns exec "$PH" ip addr add 198.19.0.1/24 dev hiv0 noprefixroute
ip netns exec "$PH" ip link set hiv0 up
ip netns exec "$PH" ip route add 198.19.0.0/24 dev hiv0 table 100
ip netns exec "$PH" ip rule add oif hiv0 lookup 100
ip netns exec "$PH" ip tuntap add dev hush0 mode tun
ip netns exec "$PH" ip addr add 198.18.0.1/24 dev hush0
ip netns exec "$PH" ip link set hush0 up
ip netns exec "$PH" ip route add default dev hush0
ip netns exec "$SRV" ip addr add 198.19.0.2/24 dev his0
ip netns exec "$SRV" ip link set his0 up

ip netns exec "$PH" "$HUSH" run --tun hush0 --out-iface hiv0 --upstream 198.19.0.2:53 \
  --db "$WORK/hush.db" 2>"$WORK/hush.log" & HUSH_PID=$!
for _ in $(seq 100); do grep -q ready "$WORK/hush.log" && break; sleep 0.1; done
grep -q ready "$WORK/hush.log" || { echo "hush did not start:" >&2; cat "$WORK/hush.log" >&2; exit 1; }
if [ "${CONNECTS:-0}" -gt 0 ]; then
  ip netns exec "$SRV" python3 tests/bench/conns.py server 9000 & SERVER_PID=$!
  sleep 0.5
  ip netns exec "$PH" timeout 120 python3 tests/bench/conns.py latency 198.19.0.2 9000 "$CONNECTS" >&2
  kill "$SERVER_PID"
fi
# Start-up work (lists, the store's first writes) and the connects' ends
# (closes, the sweep after the last flow) are not idle.
sleep 5

snapshot() { # prints "tid name voluntary involuntary" per thread
  local task
  for task in /proc/"$HUSH_PID"/task/*; do
    awk -v tid="${task##*/}" '
      /^Name:/ {name = $2}
      /^voluntary_ctxt_switches/ {v = $2}
      /^nonvoluntary_ctxt_switches/ {n = $2}
      END {print tid, name, v, n}' "$task/status" 2>/dev/null || true
  done
}
snapshot >"$WORK/before"
sleep "$IDLE_SECS"
snapshot >"$WORK/after"
kill -0 "$HUSH_PID" || { echo "hush died while idle:" >&2; cat "$WORK/hush.log" >&2; exit 1; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "## idle hush run: context switches per thread over ${IDLE_SECS} s"
echo "| thread | voluntary | involuntary |"
echo "|---|---|---|"
# A thread that started during the window counts from zero.
awk 'NR == FNR {v[$1] = $3; n[$1] = $4; next}
     {dv = $3 - v[$1]; dn = $4 - n[$1]; tv += dv; tn += dn
      printf "| %s (%s) | %d | %d |\n", $2, $1, dv, dn}
     END {printf "| **all threads** | %d | %d |\n", tv, tn
          printf "\ntotal: %d context switches in %d s (goal: 60 or fewer a minute)\n", tv + tn, secs}' \
  secs="$IDLE_SECS" "$WORK/before" "$WORK/after"
