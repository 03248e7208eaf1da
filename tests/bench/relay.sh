#!/usr/bin/env bash
# Benchmarks Hush's relay in network namespaces, side by side with the direct
# path and an existing userspace tun relay (tun2proxy + microsocks) as anchor:
# single-stream TCP throughput both ways (iperf3) at tun MTU 1500 and 9000,
# CPU seconds per GB relayed, TCP connect latency, and Hush's memory with
# 10,000 open connections and across many short ones.
#
#   bash tests/bench/relay.sh            # the full run (about 15 minutes)
#   bash tests/bench/relay.sh --quick    # a small run to check the script
#   bash tests/bench/relay.sh --memory   # only the memory part
#   bash tests/bench/relay.sh --flood    # only a hostile app's flood: memory,
#                                        # and another app's share beside it
#   bash tests/bench/relay.sh --latency  # only the connect latency, MTU 1500
#                                        # and 9000, in ROUNDS interleaved rounds
#   bash tests/bench/relay.sh --idle-flows  # single-stream throughput with 0,
#                                        # 1,000 and 10,000 idle open flows beside
#                                        # it, in REPS interleaved rounds (MTU 1500)
#   bash tests/bench/relay.sh --throughput  # only single-stream throughput and
#                                        # CPU per GB, MTU 1500 and 9000, in REPS
#                                        # interleaved rounds (no anchor)
#   bash tests/bench/relay.sh --capture     # single-stream throughput and CPU per
#                                        # GB with no capture, with the stream's
#                                        # app captured, and with another app
#                                        # captured, in REPS interleaved rounds
#                                        # (MTU 1500 and 9000)
#   HUSH_OLD=/path/to/hush bash tests/bench/relay.sh --latency|--idle-flows|--throughput
#                                        # ...with an older build beside it
#   BENCH_QUICK=1 bash tests/bench/relay.sh   # the same as --quick
# REPS (rounds, default 3), HOLD and CHURN (connection counts) and CHURN_SECS (the time allowed for the
# short connections, default 900 s) may be set in the environment. Cargo
# builds into $CARGO_TARGET_DIR, default /tmp/target-bench, so the benchmark
# does not lock the workspace's own target directory.
#
# Root. Not part of CI. Installs iperf3, microsocks, python3 and iproute2 with
# apt, and tun2proxy with cargo (into $T2P_ROOT, default /tmp/tun2proxy).
# Only 198.18.0.0/15 and fd00::/8 are used; no namespace has a route out.
set -euo pipefail
cd "$(dirname "$0")/../.."

QUICK=${BENCH_QUICK:-0} MEMORY_ONLY=0 FLOOD_ONLY=0 LATENCY_ONLY=0 IDLE_FLOWS_ONLY=0 THROUGHPUT_ONLY=0 CAPTURE_ONLY=0
[ "${1:-}" = "--quick" ] && QUICK=1
[ "${1:-}" = "--memory" ] && MEMORY_ONLY=1
[ "${1:-}" = "--flood" ] && FLOOD_ONLY=1
[ "${1:-}" = "--latency" ] && LATENCY_ONLY=1
[ "${1:-}" = "--idle-flows" ] && IDLE_FLOWS_ONLY=1
[ "${1:-}" = "--throughput" ] && THROUGHPUT_ONLY=1
[ "${1:-}" = "--capture" ] && CAPTURE_ONLY=1
# The hostile app's connections (under the fd limit, 20,000 here).
FLOOD=${FLOOD:-16000}
if [ "$QUICK" = 1 ]; then
  REPS=1 SECS=2 LAT=300 HOLD=${HOLD:-1000} CHURN=${CHURN:-20000} CHURN_SECS=${CHURN_SECS:-120}
else
  REPS=${REPS:-3} SECS=5 LAT=2000 HOLD=${HOLD:-10000} CHURN=${CHURN:-1000000} CHURN_SECS=${CHURN_SECS:-900}
fi
CHURN_WORKERS=4
T2P_ROOT=${T2P_ROOT:-/tmp/tun2proxy}
CONNS="$PWD/tests/bench/conns.py"

need=()
command -v iperf3 >/dev/null || need+=(iperf3)
NEED_ANCHOR=1
[ "$MEMORY_ONLY" = 1 ] || [ "$FLOOD_ONLY" = 1 ] || [ "$LATENCY_ONLY" = 1 ] || [ "$IDLE_FLOWS_ONLY" = 1 ] || [ "$THROUGHPUT_ONLY" = 1 ] || [ "$CAPTURE_ONLY" = 1 ] && NEED_ANCHOR=0
[ "$NEED_ANCHOR" = 0 ] || command -v microsocks >/dev/null || need+=(microsocks)
command -v python3 >/dev/null || need+=(python3)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
T2P="$T2P_ROOT/bin/tun2proxy-bin"
if [ "$NEED_ANCHOR" = 1 ] && [ ! -x "$T2P" ]; then
  echo "installing tun2proxy into $T2P_ROOT (once)..." >&2
  cargo install tun2proxy --locked --root "$T2P_ROOT" >/dev/null
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}
cargo build --release -p hush-linux >&2
HUSH="$CARGO_TARGET_DIR/release/hush"

P="hb$$"
SRV=$P-srv PH=$P-ph DIR=$P-dir AN=$P-an
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for ns in "$SRV" "$PH" "$DIR" "$AN"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Background jobs use `ip netns exec` directly, not this function: `ip`
# execs the program, so `$!` is the program's own pid (to kill, and to read
# CPU time and memory from).
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---- the namespaces ------------------------------------------------------
for ns in "$SRV" "$PH" "$DIR" "$AN"; do
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
done
# Hush's phone: default routes into the tun; only sockets bound to the veth
# (Hush's own) reach the server, as on a phone.
ip link add hbv0 netns "$PH" type veth peer name hbs0 netns "$SRV"
in_ns "$PH" ip addr add 198.19.0.1/24 dev hbv0 noprefixroute
in_ns "$PH" ip link set hbv0 up
in_ns "$PH" ip route add 198.19.0.0/24 dev hbv0 table 100
in_ns "$PH" ip rule add oif hbv0 lookup 100
in_ns "$PH" ip tuntap add dev hush0 mode tun
in_ns "$PH" ip addr add 198.18.0.1/24 dev hush0
in_ns "$PH" ip link set hush0 up
in_ns "$PH" ip route add default dev hush0
in_ns "$SRV" ip addr add 198.19.0.2/24 dev hbs0
in_ns "$SRV" ip link set hbs0 up
# The direct path: a plain veth, no relay.
ip link add hbv1 netns "$DIR" type veth peer name hbs1 netns "$SRV"
in_ns "$DIR" ip addr add 198.19.1.1/24 dev hbv1
in_ns "$DIR" ip link set hbv1 up
in_ns "$SRV" ip addr add 198.19.1.2/24 dev hbs1
in_ns "$SRV" ip link set hbs1 up
# The anchor's phone: tun2proxy's tun, microsocks on loopback whose outgoing
# sockets use the veth's address, routed by source.
ip link add hbv2 netns "$AN" type veth peer name hbs2 netns "$SRV"
in_ns "$AN" ip addr add 198.19.2.1/24 dev hbv2 noprefixroute
in_ns "$AN" ip link set hbv2 up
in_ns "$AN" ip route add 198.19.2.0/24 dev hbv2 table 100
in_ns "$AN" ip rule add from 198.19.2.1 lookup 100
in_ns "$SRV" ip addr add 198.19.2.2/24 dev hbs2
in_ns "$SRV" ip link set hbs2 up

for ns in "$SRV" "$PH" "$DIR" "$AN"; do
  in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
done
# Up to the hard limit (some containers cap it near 20,000).
ulimit -n "$(ulimit -Hn)"
in_ns "$SRV" iperf3 -s -D --pidfile "/tmp/$P-iperf.pid" >/dev/null
ip netns exec "$SRV" python3 "$CONNS" server 9000 & PIDS+=($!)
sleep 0.5
PIDS+=("$(cat "/tmp/$P-iperf.pid")")

HUSH_PID=""
start_hush() { # MTU [more hush run arguments]
  stop_hush
  in_ns "$PH" ip link set hush0 mtu "$1"
  ip netns exec "$PH" "${HUSH_BIN:-$HUSH}" run --tun hush0 --out-iface hbv0 --upstream 198.19.0.2:53 \
    --no-default-list "${@:2}" 2>"/tmp/$P-hush.log" & HUSH_PID=$!
  PIDS+=("$HUSH_PID")
  for _ in $(seq 100); do grep -q ready "/tmp/$P-hush.log" && return; sleep 0.1; done
  echo "hush did not start:" >&2; cat "/tmp/$P-hush.log" >&2; exit 1
}
# Stops the run, with hush's log, if hush has died (a crash is a finding).
check_hush() { # phase
  [ -n "$HUSH_PID" ] || return 0
  kill -0 "$HUSH_PID" 2>/dev/null && return 0
  echo "hush (pid $HUSH_PID) is gone during: $1; its log:" >&2
  cat "/tmp/$P-hush.log" >&2
  exit 1
}
stop_hush() {
  [ -n "$HUSH_PID" ] || return 0
  check_hush "the phase before stopping it"
  kill "$HUSH_PID" 2>/dev/null || true
  wait "$HUSH_PID" 2>/dev/null || true
  HUSH_PID=""
}

ANCHOR_PIDS=""
start_anchor() { # MTU
  stop_anchor
  ip netns exec "$AN" microsocks -i 127.0.0.1 -p 1080 -b 198.19.2.1 >/dev/null 2>&1 & local socks=$!
  # Its MSS option set to the MTU's, so the kernel sends full segments, and
  # its session cap raised from 200: the fairest settings it has.
  ip netns exec "$AN" "$T2P" --tun t2p0 --proxy socks5://127.0.0.1:1080 --mtu "$1" \
    --tcp-mss $(($1 - 40)) --max-sessions 20000 >"/tmp/$P-t2p.log" 2>&1 & local t2p=$!
  PIDS+=("$socks" "$t2p")
  ANCHOR_PIDS="$socks $t2p"
  for _ in $(seq 50); do ip netns exec "$AN" ip link show t2p0 >/dev/null 2>&1 && break; sleep 0.1; done
  in_ns "$AN" ip addr add 198.18.0.1/24 dev t2p0 2>/dev/null || true
  in_ns "$AN" ip link set t2p0 mtu "$1" up
  in_ns "$AN" ip route replace default dev t2p0
}
stop_anchor() {
  [ -n "$ANCHOR_PIDS" ] || return 0
  # shellcheck disable=SC2086
  kill $ANCHOR_PIDS 2>/dev/null || true
  sleep 0.3
  ANCHOR_PIDS=""
}

# CPU ticks (user+sys) of the given pids, summed.
ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.2f}")' "$@"; }

# One iperf3 run: prints "Gbps bytes".
iperf_once() { # ns addr [-R]
  local ns=$1 addr=$2; shift 2
  timeout $((SECS + 30)) ip netns exec "$ns" iperf3 -c "$addr" -t "$SECS" -J "$@" | python3 -c '
import json, sys
end = json.load(sys.stdin)["end"]
r = end["sum_received"]
print("%.3f %d" % (r["bits_per_second"] / 1e9, r["bytes"]))'
}

# Throughput both ways, REPS times each, and CPU s/GB of the relay pids.
# Prints "up_gbps down_gbps cpu_s_per_gb".
throughput() { # ns addr pids...
  local ns=$1 addr=$2; shift 2
  local ups=() downs=() bytes=0 before after out
  before=$(ticks "$@")
  for _ in $(seq "$REPS"); do
    out=$(iperf_once "$ns" "$addr"); ups+=("${out% *}"); bytes=$((bytes + ${out#* }))
    out=$(iperf_once "$ns" "$addr" -R); downs+=("${out% *}"); bytes=$((bytes + ${out#* }))
  done
  after=$(ticks "$@")
  local cpu="-"
  if [ $# -gt 0 ]; then
    cpu=$(python3 -c "print(f'{($after - $before) / $HZ / ($bytes / 1e9):.2f}')")
  fi
  echo "$(median "${ups[@]}") $(median "${downs[@]}") $cpu"
}

latency() { # ns addr
  timeout 600 ip netns exec "$1" python3 "$CONNS" latency "$2" 9000 "$LAT"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "run: reps=$REPS secs=$SECS latency=$LAT hold=$HOLD churn=$CHURN"
echo

# ---- a hostile app's flood ---------------------------------------------------
# One app (uid 10666) opens FLOOD connections at once to a server that sends
# without pause, and never reads: every flow's buffers fill. Another app
# (uid 10001) measures its connects and a download before and during the
# flood. Hush's peak memory (VmHWM) and its refusal counters say whether the
# one budget and the per-app caps hold.
# The system python: one under root's home (pyenv) cannot be run by another uid.
as_uid() { # uid seconds command...: in the phone's namespace, bounded in time
  local uid=$1 secs=$2; shift 2
  timeout "$secs" ip netns exec "$PH" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}
hwm_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
good_app() { # prints "connect median us | download Gbps"
  local lat down
  lat=$(as_uid 10001 300 /usr/bin/python3 "$CONNS" latency 198.19.0.2 9000 300 | awk '{print $2}')
  down=$(as_uid 10001 60 iperf3 -c 198.19.0.2 -t 3 -R -J | python3 -c '
import json, sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')
  echo "$lat | $down"
}
if [ "$FLOOD_ONLY" = 1 ]; then
  ip netns exec "$SRV" python3 "$CONNS" push 9100 & PIDS+=($!)
  start_hush 1500
  echo "## a hostile app's flood: $FLOOD connections at once, never read (MTU 1500)"
  echo "| phase | hush RSS | hush peak (VmHWM) | other app: connect median µs | other app: download Gbit/s |"
  echo "|---|---|---|---|---|"
  echo "| no flood | $(rss_mb "$HUSH_PID") MB | $(hwm_mb "$HUSH_PID") MB | $(good_app) |"
  ip netns exec "$PH" setpriv --reuid=10666 --regid=10666 --clear-groups \
    /usr/bin/python3 "$CONNS" flood 198.19.0.2 9100 "$FLOOD" 600 >"/tmp/$P-flood.log" 2>&1 & FLOODER=$!
  PIDS+=("$FLOODER")
  for _ in $(seq 400); do grep -q '^flood' "/tmp/$P-flood.log" && break; sleep 0.2; done
  sleep 5 # the pushes fill what the flows were given
  check_hush "the flood"
  echo "| flooded | $(rss_mb "$HUSH_PID") MB | $(hwm_mb "$HUSH_PID") MB | $(good_app) |"
  check_hush "the other app beside the flood"
  echo
  echo "hostile app: $(cat "/tmp/$P-flood.log")"
  kill "$FLOODER" 2>/dev/null || true
  wait "$FLOODER" 2>/dev/null || true
  sleep 3
  echo "after the flood: hush RSS $(rss_mb "$HUSH_PID") MB, peak $(hwm_mb "$HUSH_PID") MB"
  stop_hush
  grep -E "TCP connections|refused|small buffers|buffer bytes|owner|overload" "/tmp/$P-hush.log" | sed 's/^/hush: /'
  rm -rf "/tmp/$P-"*
  exit 0
fi

# ---- connect latency only -----------------------------------------------------
# Each round measures every path once, in turn, so that a machine whose load
# changes (shared with other jobs) weighs on all of them alike; the figure
# is the median of the rounds' medians.
if [ "$LATENCY_ONLY" = 1 ]; then
  ROUNDS=${ROUNDS:-5}
  declare -A LATS CPU
  # Each path of each round connects to a server address of its own. Tens
  # of thousands of connects to one address leave its ports in TIME_WAIT,
  # and the kernel's search for a free one, in the client's connects and in
  # Hush's, then took milliseconds a connect by the third round.
  FRESH=100
  fresh_address() { # subnet (0: Hush's veth, 1: the direct one); sets ADDRESS
    FRESH=$((FRESH + 1))
    ADDRESS="198.19.$1.$FRESH"
    in_ns "$SRV" ip addr add "$ADDRESS/24" dev "hbs$1"
  }
  # One path's connects: their latency, and Hush's CPU ticks while they ran.
  timed_connects() { # key
    local before
    fresh_address 0
    before=$(ticks "$HUSH_PID")
    LATS[$1]+="$(latency "$PH" "$ADDRESS" | awk '{print $2}') "
    CPU[$1]=$((${CPU[$1]:-0} + $(ticks "$HUSH_PID") - before))
  }
  for mtu in 1500 9000; do
    for _ in $(seq "$ROUNDS"); do
      fresh_address 1
      LATS[direct-$mtu]+="$(latency "$DIR" "$ADDRESS" | awk '{print $2}') "
      start_hush "$mtu"
      timed_connects "hush-$mtu"
      stop_hush
      if [ -n "${HUSH_OLD:-}" ]; then
        HUSH_BIN=$HUSH_OLD start_hush "$mtu"
        timed_connects "old-$mtu"
        stop_hush
      fi
      start_hush "$mtu" --no-owners
      timed_connects "no-owners-$mtu"
      stop_hush
    done
  done
  # Hush's CPU per connect over all rounds (accept, relay, close), in µs.
  cpu_per_connect() { # key
    [ -n "${CPU[$1]:-}" ] || { echo "-"; return; }
    python3 -c "print(f'{${CPU[$1]} / $HZ / ($LAT * $ROUNDS) * 1e6:.0f}')"
  }
  echo "## TCP connect latency, median us ($LAT sequential connects x $ROUNDS rounds; median of the rounds' medians)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '| %-18s | %8s | %8s | %s | %s\n' path "MTU 1500" "MTU 9000" "Hush CPU µs/connect (1500 / 9000)" "rounds (1500 / 9000)"
  for path in direct hush old no-owners; do
    [ -n "${LATS[$path-1500]:-}" ] || continue
    printf '| %-18s | %8s | %8s | %s / %s | %s / %s\n' "$path" "$(median ${LATS[$path-1500]})" \
      "$(median ${LATS[$path-9000]})" "$(cpu_per_connect "$path-1500")" "$(cpu_per_connect "$path-9000")" \
      "${LATS[$path-1500]% }" "${LATS[$path-9000]% }"
  done
  rm -rf "/tmp/$P-"*
  exit 0
fi

# ---- throughput beside idle flows ----------------------------------------------
# One stream's throughput each way while IDLE_COUNTS connections sit open and
# silent beside it, held by another app (uid 10002), with the limits raised
# for the run (they are not what is measured): the stream's own app keeps
# full-size buffers, as it would beside another app's idle flows (held by
# the same app, past its share of the budget, the stream got small ones and
# measured its window, not the relay). Each round takes
# every count and binary in turn, so that a machine whose load changes
# weighs on all alike; the figure is the median over the rounds.
if [ "$IDLE_FLOWS_ONLY" = 1 ]; then
  IDLE_COUNTS=${IDLE_COUNTS:-0 1000 10000}
  ROOMY=(--flow-memory 8192 --app-tcp-flows 20000 --app-connects 20000)
  declare -A UP DOWN
  binaries=("$HUSH")
  [ -n "${HUSH_OLD:-}" ] && binaries+=("$HUSH_OLD")
  for _ in $(seq "$REPS"); do
    for bin in "${binaries[@]}"; do
      HUSH_BIN=$bin start_hush 1500 "${ROOMY[@]}"
      for n in $IDLE_COUNTS; do
        HOLDER=""
        if [ "$n" -gt 0 ]; then
          rm -f "/tmp/$P-hold.log"
          ip netns exec "$PH" setpriv --reuid=10002 --regid=10002 --clear-groups \
            /usr/bin/python3 "$CONNS" hold 198.19.0.2 9000 "$n" 900 >"/tmp/$P-hold.log" & HOLDER=$!
          PIDS+=("$HOLDER")
          for _ in $(seq 900); do grep -q held "/tmp/$P-hold.log" && break; sleep 0.2; done
          grep -q "^held $n\$" "/tmp/$P-hold.log" ||
            { echo "the holder did not hold $n: $(cat "/tmp/$P-hold.log")" >&2; exit 1; }
          sleep 1
        fi
        check_hush "$n idle flows"
        key="$bin $n"
        UP[$key]+="$(iperf_once "$PH" 198.19.0.2 | cut -d' ' -f1) "
        DOWN[$key]+="$(iperf_once "$PH" 198.19.0.2 -R | cut -d' ' -f1) "
        if [ -n "$HOLDER" ]; then
          kill "$HOLDER" 2>/dev/null || true
          wait "$HOLDER" 2>/dev/null || true
        fi
      done
      stop_hush
    done
  done
  echo "## single-stream TCP beside idle open flows (iperf3, ${SECS} s x $REPS rounds, median Gbit/s; MTU 1500)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "| binary | idle flows | up | down | up vs 0 | down vs 0 | rounds up / down |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  for bin in "${binaries[@]}"; do
    first=${IDLE_COUNTS%% *}
    up0=$(median ${UP[$bin $first]}) down0=$(median ${DOWN[$bin $first]})
    for n in $IDLE_COUNTS; do
      up=$(median ${UP[$bin $n]}) down=$(median ${DOWN[$bin $n]})
      echo "| $bin | $n | $up | $down | $(python3 -c "print(f'{$up / $up0:.0%}')") |" \
        "$(python3 -c "print(f'{$down / $down0:.0%}')") | ${UP[$bin $n]% } / ${DOWN[$bin $n]% } |"
    done
  done
  rm -rf "/tmp/$P-"*
  exit 0
fi

# ---- throughput only, builds side by side ---------------------------------------
# Each round measures every binary at each MTU in turn (one iperf3 run each
# way), so that a machine whose load changes weighs on all alike; the
# figures are medians over the rounds, CPU per GB over all of them.
if [ "$THROUGHPUT_ONLY" = 1 ]; then
  declare -A UP DOWN TICKS BYTES
  binaries=("$HUSH")
  [ -n "${HUSH_OLD:-}" ] && binaries+=("$HUSH_OLD")
  for _ in $(seq "$REPS"); do
    UP[direct]+="$(iperf_once "$DIR" 198.19.1.2 | cut -d' ' -f1) "
    DOWN[direct]+="$(iperf_once "$DIR" 198.19.1.2 -R | cut -d' ' -f1) "
    for mtu in 1500 9000; do
      for bin in "${binaries[@]}"; do
        HUSH_BIN=$bin start_hush "$mtu"
        key="$bin $mtu"
        before=$(ticks "$HUSH_PID")
        out=$(iperf_once "$PH" 198.19.0.2); UP[$key]+="${out% *} "; BYTES[$key]=$((${BYTES[$key]:-0} + ${out#* }))
        out=$(iperf_once "$PH" 198.19.0.2 -R); DOWN[$key]+="${out% *} "; BYTES[$key]=$((${BYTES[$key]:-0} + ${out#* }))
        TICKS[$key]=$((${TICKS[$key]:-0} + $(ticks "$HUSH_PID") - before))
        stop_hush
      done
    done
  done
  echo "## single-stream TCP (iperf3, ${SECS} s x $REPS interleaved rounds, median Gbit/s) and CPU per GB"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "| path | MTU | up | down | down/up | CPU s/GB | rounds up / down |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  echo "| direct | | $(median ${UP[direct]}) | $(median ${DOWN[direct]}) | | | ${UP[direct]% } / ${DOWN[direct]% } |"
  for mtu in 1500 9000; do
    for bin in "${binaries[@]}"; do
      key="$bin $mtu" up=$(median ${UP["$bin $mtu"]}) down=$(median ${DOWN["$bin $mtu"]})
      echo "| $bin | $mtu | $up | $down | $(python3 -c "print(f'{$down / $up:.2f}')") |" \
        "$(python3 -c "print(f'{${TICKS[$key]} / $HZ / (${BYTES[$key]} / 1e9):.2f}')") | ${UP[$key]% } / ${DOWN[$key]% } |"
    done
  done
  rm -rf "/tmp/$P-"*
  exit 0
fi

# ---- the cost of a packet capture ---------------------------------------------
# iperf3 runs as root (uid 0): "captured" captures uid 0, the stream's own
# app (its first 64 KiB each way whole, later packets cut to 160 bytes, the
# default); "whole" the same with --capture-whole; "other" captures uid
# 10002, which sends nothing, so the stream pays only for being looked at. Files rotate at 64 MiB, 4 kept, in
# /tmp; packets the writer could not keep up with are dropped and counted
# (the summary line hush prints at exit), never waited for.
if [ "$CAPTURE_ONLY" = 1 ]; then
  declare -A UP DOWN TICKS BYTES DROPS WRITTEN
  configs=(none captured whole other)
  for _ in $(seq "$REPS"); do
    for mtu in 1500 9000; do
      for config in "${configs[@]}"; do
        case $config in
          none) start_hush "$mtu" ;;
          captured) start_hush "$mtu" --capture-uid 0 --capture "/tmp/$P-cap.pcapng" ;;
          whole) start_hush "$mtu" --capture-uid 0 --capture "/tmp/$P-cap.pcapng" --capture-whole ;;
          other) start_hush "$mtu" --capture-uid 10002 --capture "/tmp/$P-cap.pcapng" ;;
        esac
        key="$config $mtu"
        before=$(ticks "$HUSH_PID")
        out=$(iperf_once "$PH" 198.19.0.2); UP[$key]+="${out% *} "; BYTES[$key]=$((${BYTES[$key]:-0} + ${out#* }))
        out=$(iperf_once "$PH" 198.19.0.2 -R); DOWN[$key]+="${out% *} "; BYTES[$key]=$((${BYTES[$key]:-0} + ${out#* }))
        TICKS[$key]=$((${TICKS[$key]:-0} + $(ticks "$HUSH_PID") - before))
        stop_hush
        DROPS[$key]+="$(sed -n 's/.*packets written, \([0-9]*\) dropped.*/\1/p' "/tmp/$P-hush.log" | head -1) "
        WRITTEN[$key]+="$(sed -n 's/.*: \([0-9]*\) packets written.*/\1/p' "/tmp/$P-hush.log" | head -1) "
        rm -f "/tmp/$P-cap"*
      done
    done
  done
  echo "## single-stream TCP with a capture (iperf3, ${SECS} s x $REPS interleaved rounds, median Gbit/s) and CPU per GB"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "| capture | MTU | up | down | up vs none | down vs none | CPU s/GB | packets written / dropped per run |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  for mtu in 1500 9000; do
    for config in "${configs[@]}"; do
      key="$config $mtu" up=$(median ${UP["$config $mtu"]}) down=$(median ${DOWN["$config $mtu"]})
      base_up=$(median ${UP["none $mtu"]}) base_down=$(median ${DOWN["none $mtu"]})
      echo "| $config | $mtu | $up | $down | $(python3 -c "print(f'{$up / $base_up:.0%}')") | $(python3 -c "print(f'{$down / $base_down:.0%}')") |" \
        "$(python3 -c "print(f'{${TICKS[$key]} / $HZ / (${BYTES[$key]} / 1e9):.2f}')") | ${WRITTEN[$key]:-} / ${DROPS[$key]:-} |"
    done
  done
  rm -rf "/tmp/$P-"*
  exit 0
fi

if [ "$MEMORY_ONLY" = 0 ]; then
declare -A TP
TP[direct]=$(throughput "$DIR" 198.19.1.2)
for mtu in 1500 9000; do
  start_hush "$mtu"
  TP[hush-$mtu]=$(throughput "$PH" 198.19.0.2 "$HUSH_PID")
  if [ "$mtu" = 9000 ]; then
    LAT_HUSH=$(latency "$PH" 198.19.0.2)
    # The same without asking each connection's owner (sock_diag): what
    # per-app attribution adds to a connect.
    start_hush "$mtu" --no-owners
    LAT_NO_OWNERS=$(latency "$PH" 198.19.0.2)
  fi
  stop_hush
  start_anchor "$mtu"
  # shellcheck disable=SC2086
  TP[anchor-$mtu]=$(throughput "$AN" 198.19.2.2 $ANCHOR_PIDS)
  if [ "$mtu" = 9000 ]; then LAT_ANCHOR=$(latency "$AN" 198.19.2.2); fi
  stop_anchor
done
LAT_DIRECT=$(latency "$DIR" 198.19.1.2)

echo "## single-stream TCP (iperf3, ${SECS} s x $REPS, median) and CPU per GB"
printf '| %-22s | %10s | %10s | %12s |\n' path "up Gbps" "down Gbps" "CPU s/GB"
for path in direct hush-1500 anchor-1500 hush-9000 anchor-9000; do
  read -r up down cpu <<<"${TP[$path]}"
  printf '| %-22s | %10s | %10s | %12s |\n' "$path" "$up" "$down" "$cpu"
done
echo
echo "## TCP connect latency ($LAT sequential connects)"
echo "| direct | $LAT_DIRECT |"
echo "| hush   | $LAT_HUSH |"
echo "| hush --no-owners | $LAT_NO_OWNERS |"
echo "| anchor | $LAT_ANCHOR |"
echo
echo "## ratios"
python3 - "${TP[hush-1500]}" "${TP[anchor-1500]}" "${TP[hush-9000]}" "${TP[anchor-9000]}" \
  "$LAT_DIRECT" "$LAT_HUSH" "$LAT_ANCHOR" <<'PY'
import sys
h15, a15, h90, a90 = (list(map(float, x.split())) for x in sys.argv[1:5])
lat = [float(x.split()[1]) for x in sys.argv[5:8]]
for mtu, h, a in ((1500, h15, a15), (9000, h90, a90)):
    print(f"MTU {mtu}: hush/anchor throughput up {h[0] / a[0]:.1f}x, down {h[1] / a[1]:.1f}x;"
          f" anchor/hush CPU per GB {a[2] / h[2]:.1f}x")
print(f"connect latency added over direct (median): hush {lat[1] - lat[0]:.1f} us,"
      f" anchor {lat[2] - lat[0]:.1f} us")
PY
echo
fi

# ---- memory ----------------------------------------------------------------
start_hush 9000
echo "## hush memory (MTU 9000)"
echo "| idle | $(rss_mb "$HUSH_PID") MB |"
ip netns exec "$PH" python3 "$CONNS" hold 198.19.0.2 9000 "$HOLD" 600 >"/tmp/$P-hold.log" & HOLDER=$!
PIDS+=("$HOLDER")
for _ in $(seq 600); do grep -q held "/tmp/$P-hold.log" && break; sleep 0.2; done
sleep 1
check_hush "holding connections open"
echo "| $(cat "/tmp/$P-hold.log") open connections | $(rss_mb "$HUSH_PID") MB |"
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
sleep 3
echo "| after closing them | $(rss_mb "$HUSH_PID") MB |"
chunk=$((CHURN / 10 / CHURN_WORKERS))
started=$(date +%s.%N)
# One deadline for all the short connections: workers stop at it, and so do
# the steps, so the run ends within CHURN_SECS (plus one connect timeout).
deadline=$(python3 -c "import time; print(time.time() + $CHURN_SECS)")
mkdir -p "/tmp/$P-churn"
attempted=0
for step in $(seq 10); do
  pids=()
  for w in $(seq "$CHURN_WORKERS"); do
    timeout $((CHURN_SECS + 60)) ip netns exec "$PH" python3 "$CONNS" churn 198.19.0.2 9000 "$chunk" "$deadline" \
      >"/tmp/$P-churn/$step-$w.out" 2>"/tmp/$P-churn/$step-$w.err" & pids+=($!)
  done
  # A worker's failures are counted in its output; its status is not ours.
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  for w in $(seq "$CHURN_WORKERS"); do
    grep -q '^done' "/tmp/$P-churn/$step-$w.out" ||
      { echo "worker $w of step $step reported nothing; stderr:"; cat "/tmp/$P-churn/$step-$w.err"; }
  done
  check_hush "short connections, step $step"
  attempted=$(cat "/tmp/$P-churn/"*.out | awk '{s += $2 + $4} END {print s + 0}')
  echo "| after $attempted short connections | $(rss_mb "$HUSH_PID") MB |"
  if python3 -c "import sys, time; sys.exit(time.time() < $deadline)"; then
    echo "(stopped at the ${CHURN_SECS} s deadline after step $step of 10)"
    break
  fi
done
elapsed=$(python3 -c "import time; print(f'{time.time() - $started:.0f}')")
done_count=$(cat "/tmp/$P-churn/"*.out | awk '{s += $2} END {print s + 0}')
failed_count=$(cat "/tmp/$P-churn/"*.out | awk '{s += $4} END {print s + 0}')
echo
echo "short connections: $done_count completed, $failed_count failed, of $CHURN planned, in ${elapsed} s" \
  "($(python3 -c "print(round($done_count / max($elapsed, 1)))") per s, $CHURN_WORKERS client processes)"
stop_hush
grep -E "TCP connections|refused|timeouts|resets|reused|open at exit|write errors" "/tmp/$P-hush.log" |
  sed 's/^/hush: /'
rm -rf "/tmp/$P-"*
