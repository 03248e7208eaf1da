#!/usr/bin/env bash
# The cost of an app that retries a blocked name in a loop: `hush run` (with
# the store) answers ATTEMPTS DNS queries for a name on the built-in list
# from one app (uid 10001), one after the other, each waiting for its
# answer. Prints hush's CPU seconds per 1,000 blocked lookups and what the
# store kept (rows, and attempts counted in them).
#
#   bash tests/bench/retry.sh                  # 20,000 attempts, each from a new socket
#   SAME_SOCKET=1 bash tests/bench/retry.sh    # ...all from one socket
#   ATTEMPTS=500 bash tests/bench/retry.sh     # a quick check of the script
#
# Each answer is checked: NXDOMAIN, with the query's ID and question. Root.
# Not part of CI. Cargo builds into $CARGO_TARGET_DIR, default
# /tmp/target-bench. Only 198.18.0.0/15 is used; no namespace has a route out.
set -euo pipefail
cd "$(dirname "$0")/../.."

ATTEMPTS=${ATTEMPTS:-20000}
SAME_SOCKET=${SAME_SOCKET:-0}
NAME=${NAME:-mistat.india.xiaomi.com.edgesuite.net}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}
cargo build --release -p hush-linux >&2
HUSH="$CARGO_TARGET_DIR/release/hush"

P="hr$$"
PH=$P-ph SRV=$P-srv
WORK=$(mktemp -d)
chmod 755 "$WORK"
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
ip link add hrv0 netns "$PH" type veth peer name hrs0 netns "$SRV"
ip netns exec "$PH" ip addr add 198.19.0.1/24 dev hrv0 noprefixroute
ip netns exec "$PH" ip link set hrv0 up
ip netns exec "$PH" ip route add 198.19.0.0/24 dev hrv0 table 100
ip netns exec "$PH" ip rule add oif hrv0 lookup 100
ip netns exec "$PH" ip tuntap add dev hush0 mode tun
ip netns exec "$PH" ip addr add 198.18.0.1/24 dev hush0
ip netns exec "$PH" ip link set hush0 up
ip netns exec "$PH" ip route add default dev hush0
ip netns exec "$SRV" ip addr add 198.19.0.2/24 dev hrs0
ip netns exec "$SRV" ip link set hrs0 up

ip netns exec "$PH" "$HUSH" run --tun hush0 --out-iface hrv0 --upstream 198.19.0.2:53 \
  --db "$WORK/hush.db" 2>"$WORK/hush.log" & HUSH_PID=$!
for _ in $(seq 100); do grep -q ready "$WORK/hush.log" && break; sleep 0.1; done
grep -q ready "$WORK/hush.log" || { echo "hush did not start:" >&2; cat "$WORK/hush.log" >&2; exit 1; }
sleep 2

cat >"$WORK/app.py" <<'EOF'
import os, socket, struct, sys, time
attempts, same, name = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
server = ("198.18.0.53", 53)
ok = bad = lost = 0
sock = None
started = time.monotonic()
for i in range(attempts):
    if sock is None or not same:
        if sock: sock.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(1.0)
    qid = (i * 7919 + 1) & 0xFFFF
    sock.sendto(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + b"\0\1\0\1", server)
    try:
        answer = sock.recv(4096)
    except socket.timeout:
        lost += 1
        continue
    rid, flags = struct.unpack(">HH", answer[:4])
    if rid == qid and flags & 0x8000 and flags & 0xF == 3 and qname in answer:
        ok += 1
    else:
        bad += 1
print(f"{ok} {bad} {lost} {time.monotonic() - started:.3f}")
EOF

cpu() { awk '{print $14 + $15}' /proc/"$HUSH_PID"/stat; }
threads() { # "name ticks" per thread
  local task
  for task in /proc/"$HUSH_PID"/task/*; do
    # The name is in parentheses and may hold spaces; the times follow it.
    sed 's/^[0-9]* (\(.*\)) /\1\t/' "$task/stat" 2>/dev/null |
      awk -F'\t' -v tid="${task##*/}" '{split($2, f, " "); print $1 "(" tid ")", f[12] + f[13]}'
  done
}
TICKS=$(getconf CLK_TCK)
threads >"$WORK/threads-before"
before=$(cpu)
read -r ok bad lost secs < <(ip netns exec "$PH" setpriv --reuid 10001 --regid 10001 --clear-groups \
  /usr/bin/python3 "$WORK/app.py" "$ATTEMPTS" "$SAME_SOCKET" "$NAME")
sleep 1 # the writer catches up; idle, Hush costs nothing meanwhile
after=$(cpu)
threads >"$WORK/threads-after"
# A graceful stop writes what is held.
kill -INT "$HUSH_PID"
wait "$HUSH_PID" || true
HUSH_PID=""
read -r rows counted < <(python3 - "$WORK/hush.db" "$NAME" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
columns = [r[1] for r in db.execute("PRAGMA table_info(events)")]
count = "repeats" if "repeats" in columns else "1"
rows, counted = db.execute(
    f"SELECT count(*), coalesce(sum({count}), 0) FROM events WHERE host = ? AND uid = 10001",
    (sys.argv[2],)).fetchone()
print(rows, counted)
EOF
)

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "attempts: $ATTEMPTS ($([ "$SAME_SOCKET" = 1 ] && echo "one socket" || echo "a new socket each"))," \
  "answered right: $ok, wrong: $bad, lost: $lost, in $secs s"
awk -v c=$((after - before)) -v t="$TICKS" -v n="$ATTEMPTS" \
  'BEGIN {printf "hush CPU: %.2f s, %.3f s per 1,000 blocked lookups\n", c / t, c / t / n * 1000}'
echo "stored: $rows rows for the name, counting $counted attempts"
echo -n "CPU by thread (s):"
awk -v t="$TICKS" 'NR == FNR {b[$1] = $2; next} {printf " %s %.2f", $1, ($2 - b[$1]) / t}' \
  "$WORK/threads-before" "$WORK/threads-after"
echo
[ "$bad" = 0 ] && [ "$ok" -gt 0 ]
