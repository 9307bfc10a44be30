#!/bin/bash
# A quick before/after probe (not a result): one server under load, its CPU time per request.
#   bench/tools/pair.sh <h1|h2> <label> <server command...>
# The server gets PORT in its environment and `--port P` appended (the bench apps read PORT,
# ngi serve reads --port), runs on core 0; wrk -t1 -c64 (h1) or h2load -c16 -m32 (h2) on
# core 1 for 2 s of warm-up and DUR (default 5) s measured. Prints req/s and the server's CPU
# microseconds per request (from /proc/<pid>/stat), which a busy client skews less than req/s.
# Alternate the two sides of a comparison several times: single runs swing by 10-30 % here.
set -euo pipefail
proto=$1 label=$2
shift 2
PORT=$((20000 + RANDOM % 10000))
export PORT
taskset -c 0 "$@" --port "$PORT" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
prior=(); [ "$proto" = h2 ] && prior=(--http2-prior-knowledge)
for _ in $(seq 1 100); do curl -s "${prior[@]}" -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
load() {
  if [ "$proto" = h1 ]; then taskset -c 1 wrk -t1 -c64 -d"$1"s "http://127.0.0.1:$PORT/"
  else taskset -c 1 h2load -c16 -m32 -D "$1" "http://127.0.0.1:$PORT/"; fi
}
load 2 >/dev/null
t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
out=$(load "${DUR:-5}")
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
if [ "$proto" = h1 ]; then
  n=$(awk '/requests in/{print $1}' <<<"$out"); rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
else
  n=$(awk '/^requests:/{print $8}' <<<"$out"); rps=$(awk '/^finished in/{print $4}' <<<"$out")
fi
echo "$label req/s=$rps server_cpu_us_per_request=$(echo "scale=2; ($t1-$t0)*1000000/$(getconf CLK_TCK)/$n" | bc)"
