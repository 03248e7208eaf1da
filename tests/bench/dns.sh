#!/usr/bin/env bash
# Lookups per second and their latency through `hush run` (release build),
# with the upstream plain (UDP), DNS over TLS and DNS over HTTPS, measured by
# dnsperf in the phone's namespace. The resolver is unbound in a server
# namespace (plain on 53, DoT on 853, DoH on 8443 under a lab CA, answers
# cached) in front of dnsmasq, which holds the names. A last run asks
# unbound directly from its own namespace, without Hush, as the baseline.
#
#   bash tests/bench/dns.sh                        # 20 s per run
#   DNS_SECS=5 bash tests/bench/dns.sh             # a quick check of the script
#   DNS_CLIENTS=4 DNS_OUTSTANDING=64 bash tests/bench/dns.sh
#   DNS_MODE=latency bash tests/bench/dns.sh       # the latency table only
#
# Latency (DNS_MODE latency or both, the default): one query outstanding
# (dnsperf -c 1 -q 1 -v), DNS_LATENCY_PASSES passes over the 100 names or
# DNS_LATENCY_SECS, whichever ends first, on a warm connection, each
# query's latency reported (over UDP dnsperf paces such a run at about 30
# queries a second, idle between them; each latency is still send to
# answer); the table gives their
# median, mean and 90th percentile, and the median's difference from the
# lab's round trip: dnsperf in the phone's namespace asking unbound over the
# same link without Hush (from the link's own address, 198.19.0.1, routed
# around the tun by a rule that only that source matches). A row asking
# unbound's DoT directly (dnsperf -m dot) shows what unbound's own TLS path
# costs, apart from Hush. (dnsperf's DoH client took about 44 ms a query
# against this unbound, Hush's about 0.3 ms: not a baseline, left out.)
# DNS_KEEP=DIR keeps each run's dnsperf output there.
#
# Each run is bounded in time (-l DNS_SECS) and in count (-n: at most
# DNS_PASSES passes over the query file). Prints a Markdown table. Root;
# needs dnsperf, unbound, dnsmasq, openssl (apt-get install -y dnsperf
# unbound dnsmasq-base openssl). Not part of CI. Cargo builds into
# $CARGO_TARGET_DIR, default /tmp/target-bench. Only 198.18.0.0/15 is used;
# no namespace has a route out.
set -euo pipefail
cd "$(dirname "$0")/../.."

DNS_SECS=${DNS_SECS:-20}
DNS_CLIENTS=${DNS_CLIENTS:-4}
DNS_OUTSTANDING=${DNS_OUTSTANDING:-64}
DNS_PASSES=${DNS_PASSES:-2000}
DNS_MODE=${DNS_MODE:-both}
DNS_LATENCY_PASSES=${DNS_LATENCY_PASSES:-30}
DNS_LATENCY_SECS=${DNS_LATENCY_SECS:-30}
case "$DNS_MODE" in latency | throughput | both) ;; *) echo "DNS_MODE is latency, throughput or both" >&2; exit 2 ;; esac
for tool in dnsperf unbound dnsmasq openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y dnsperf unbound dnsmasq-base openssl)" >&2; exit 1; }
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}
cargo build --release -p hush-linux >&2
HUSH="$CARGO_TARGET_DIR/release/hush"

P="hd$$"
PH=$P-ph SRV=$P-srv
WORK=$(mktemp -d)
PIDS=()
HUSH_PID=""
cleanup() {
  [ -z "$HUSH_PID" ] || kill "$HUSH_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
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
ip link add hdv0 netns "$PH" type veth peer name hds0 netns "$SRV"
ip netns exec "$PH" ip addr add 198.19.0.1/24 dev hdv0 noprefixroute
ip netns exec "$PH" ip link set hdv0 up
ip netns exec "$PH" ip route add 198.19.0.0/24 dev hdv0 table 100
ip netns exec "$PH" ip rule add oif hdv0 lookup 100
ip netns exec "$PH" ip tuntap add dev hush0 mode tun
ip netns exec "$PH" ip addr add 198.18.0.1/24 dev hush0
ip netns exec "$PH" ip link set hush0 up
ip netns exec "$PH" ip route add default dev hush0
ip netns exec "$SRV" ip addr add 198.19.0.2/24 dev hds0
ip netns exec "$SRV" ip link set hds0 up

# 100 names, each with an address; dnsperf asks them in turn.
: >"$WORK/queries"
for i in $(seq 1 100); do
  echo "host-record=n$i.bench.test,198.19.1.$i" >>"$WORK/dnsmasq.conf"
  echo "n$i.bench.test A" >>"$WORK/queries"
done
ip netns exec "$SRV" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
  --listen-address=198.19.0.2 --bind-interfaces --port=5300 \
  --conf-file="$WORK/dnsmasq.conf" --user=root --pid-file= & PIDS+=($!)

# The lab CA and the resolver's certificate.
(
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj "/CN=Hush bench CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
    -subj "/CN=resolver.bench.test" 2>/dev/null
  printf 'subjectAltName=DNS:resolver.bench.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
    -extfile server.ext 2>/dev/null
)
cat >"$WORK/unbound.conf" <<EOF
server:
  interface: 198.19.0.2@53
  interface: 198.19.0.2@853
  interface: 198.19.0.2@8443
  tls-port: 853
  https-port: 8443
  tls-service-key: "$WORK/server.key"
  tls-service-pem: "$WORK/server.pem"
  access-control: 0.0.0.0/0 allow
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: "$WORK/unbound.log"
  verbosity: 0
  do-ip6: no
  do-not-query-localhost: no
  module-config: "iterator"
  num-threads: 1
  ratelimit: 0
  ip-ratelimit: 0
  local-zone: "test." nodefault
  http-query-buffer-size: 16m
  http-response-buffer-size: 16m
  http-max-streams: 1024
forward-zone:
  name: "."
  forward-addr: 198.19.0.2@5300
EOF
ip netns exec "$SRV" unbound -d -c "$WORK/unbound.conf" & PIDS+=($!)
for _ in $(seq 100); do
  ip netns exec "$SRV" bash -c 'exec 3<>/dev/tcp/198.19.0.2/8443' 2>/dev/null && break
  sleep 0.1
done

start_hush() { # UPSTREAM [more hush run arguments]
  local upstream=$1
  shift
  ip netns exec "$PH" "$HUSH" run --tun hush0 --out-iface hdv0 --upstream "$upstream" "$@" \
    2>"$WORK/hush.log" & HUSH_PID=$!
  for _ in $(seq 100); do grep -q ready "$WORK/hush.log" && break; sleep 0.1; done
  grep -q ready "$WORK/hush.log" || { echo "hush did not start:" >&2; cat "$WORK/hush.log" >&2; exit 1; }
}
stop_hush() {
  kill -INT "$HUSH_PID"
  wait "$HUSH_PID" || true
  HUSH_PID=""
}

# One dnsperf run: prints "| label | qps | completed | lost | avg ms | stddev ms | max ms |".
perf() { # LABEL NAMESPACE SERVER
  local out="$WORK/perf.out"
  # A warm-up fills unbound's cache and opens Hush's connection.
  ip netns exec "$2" dnsperf -s "$3" -d "$WORK/queries" -n 1 -c 1 -t 2 >/dev/null 2>&1 || true
  timeout $((DNS_SECS + 30)) ip netns exec "$2" dnsperf -s "$3" -d "$WORK/queries" \
    -l "$DNS_SECS" -n "$DNS_PASSES" -c "$DNS_CLIENTS" -q "$DNS_OUTSTANDING" -t 2 >"$out" 2>&1
  awk -v label="$1" '
    /Queries completed:/ {done = $3}
    /Queries lost:/ {lost = $3}
    /Queries per second:/ {qps = $4}
    /Average Latency \(s\):/ {avg = $4 * 1000; max = $8; sub(/\)/, "", max); max *= 1000}
    /Latency StdDev \(s\):/ {sd = $4 * 1000}
    END {printf "| %s | %.0f | %s | %s | %.2f | %.2f | %.1f |\n", label, qps, done, lost, avg, sd, max}' "$out"
}

# One latency run, one query outstanding: adds "LABEL<TAB>answers<TAB>median
# ms<TAB>mean ms<TAB>p90 ms<TAB>not NOERROR<TAB>lost" to the rows, from
# dnsperf's line per answer and its summary.
latency() { # LABEL NAMESPACE SERVER [dnsperf arguments]
  local label=$1 ns=$2 server=$3 out="$WORK/latency.out"
  shift 3
  ip netns exec "$ns" dnsperf -s "$server" "$@" -d "$WORK/queries" -n 1 -c 1 -q 1 -t 2 >/dev/null 2>&1 || true
  timeout $((DNS_LATENCY_SECS + 30)) ip netns exec "$ns" dnsperf -s "$server" "$@" -d "$WORK/queries" \
    -n "$DNS_LATENCY_PASSES" -l "$DNS_LATENCY_SECS" -c 1 -q 1 -t 2 -v >"$out" 2>&1 || true
  # "> NOERROR n1.bench.test A 0.000284": the RCODE, the question, seconds.
  awk '/^> / {n++; if ($2 != "NOERROR") bad++; print $NF * 1000}
    END {printf "%d %d\n", n, bad + 0 > "/dev/stderr"}' "$out" 2>"$WORK/latency.count" |
    sort -g >"$WORK/latency.ms"
  read -r count bad <"$WORK/latency.count"
  lost=$(awk '/Queries lost:/ {print $3}' "$out")
  [ -z "${DNS_KEEP:-}" ] || cp "$out" "$DNS_KEEP/latency-$(echo "$label" | tr -c 'A-Za-z0-9\n' _).txt"
  [ "$count" -gt 0 ] || { echo "no answers for $label:" >&2; tail -5 "$out" >&2; }
  awk -v label="$label" -v bad="$bad" -v lost="${lost:-?}" '{v[NR] = $1; sum += $1}
    END {if (NR == 0) {printf "%s\t0\t-\t-\t-\t%s\t%s\n", label, bad, lost; exit}
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      p = v[int(NR * 0.9 + 0.5) > 0 ? int(NR * 0.9 + 0.5) : 1]
      printf "%s\t%d\t%.3f\t%.3f\t%.3f\t%s\t%s\n", label, NR, m, sum / NR, p, bad, lost}' \
    "$WORK/latency.ms" >>"$WORK/latency.rows"
}

throughput() { [ "$DNS_MODE" != latency ]; }
latencies() { [ "$DNS_MODE" != throughput ]; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(. /etc/os-release && echo "$PRETTY_NAME"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/latency.rows"
if latencies; then
  # The lab's round trip: the phone's namespace to unbound over the link,
  # no Hush (the link's address as the source takes the link's table).
  ip netns exec "$PH" ip rule add from 198.19.0.1 lookup 100
  latency "no Hush: unbound over the link, plain UDP (the lab's round trip)" "$PH" 198.19.0.2 -a 198.19.0.1
  latency "no Hush: unbound's DoT over the link" "$PH" 198.19.0.2 -a 198.19.0.1 -m dot
  ip netns exec "$PH" ip rule del from 198.19.0.1 lookup 100
fi
if throughput; then
  echo "dnsperf: -l $DNS_SECS -n $DNS_PASSES -c $DNS_CLIENTS -q $DNS_OUTSTANDING, 100 names, answers cached by unbound"
  echo "| path | queries/s | completed | lost | average latency ms | stddev ms | max ms |"
  echo "|---|---|---|---|---|---|---|"
fi
start_hush 198.19.0.2:53
if throughput; then perf "Hush, plain UDP upstream" "$PH" 198.18.0.53; fi
if latencies; then latency "Hush, plain UDP upstream" "$PH" 198.18.0.53; fi
stop_hush
start_hush tls://resolver.bench.test --upstream-address 198.19.0.2 --upstream-ca "$WORK/ca.pem"
if throughput; then perf "Hush, DNS over TLS" "$PH" 198.18.0.53; fi
if latencies; then latency "Hush, DNS over TLS" "$PH" 198.18.0.53; fi
stop_hush
start_hush https://resolver.bench.test:8443/dns-query --upstream-address 198.19.0.2 --upstream-ca "$WORK/ca.pem"
if throughput; then perf "Hush, DNS over HTTPS" "$PH" 198.18.0.53; fi
if latencies; then latency "Hush, DNS over HTTPS" "$PH" 198.18.0.53; fi
stop_hush
if throughput; then perf "no Hush: unbound asked from its own namespace" "$SRV" 198.19.0.2; fi

if latencies; then
  echo
  echo "latency, one query outstanding (dnsperf -c 1 -q 1 -v), at most $DNS_LATENCY_PASSES passes over 100 names or $DNS_LATENCY_SECS s, warm connection; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "| path | answers | not NOERROR | lost | median ms | mean ms | 90th percentile ms | median above the lab's round trip |"
  echo "|---|---|---|---|---|---|---|---|"
  awk -F'\t' 'NR == 1 {base = $3}
    {diff = ($3 == "-") ? "-" : sprintf("%+.3f ms", $3 - base)
     printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $6, $7, $3, $4, $5, diff}' "$WORK/latency.rows"
fi
