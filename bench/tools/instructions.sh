#!/bin/bash
# CPU work per request as a count, not a time: the server runs under valgrind's callgrind,
# takes WARM requests, its counters are zeroed, then it takes N more and the instructions
# executed for those N are divided by N. Counts do not move with CPU steal or clock changes
# (time-based probes swing 10-30 % on this VM), so a 2 % change is visible in one run.
#   bench/tools/instructions.sh <h1|h2|ws-h1|ws-h2> <label> <server command...>
# h1/h2: hello requests from h2load (N after WARM). ws-h1/ws-h2: 32-byte echoes from
# bench/clients/ws-load.ts (50 clients, WS_SECONDS of echoes after a first run as warm-up),
# divided by the echoes the client counted.
# The server gets PORT in its environment and `--port P` appended. ngi re-executes itself to
# cap V8's young generation: pass NODE_OPTIONS=--max-semi-space-size=8 so it does not (valgrind
# does not follow the re-exec) and compare raw servers with the same flag.
# Not a speed: callgrind runs ~50x slower than native, so timers and GC pacing differ from a
# real run. Use it to compare two builds of the same server, confirm with the harness.
set -euo pipefail
proto=$1 label=$2
shift 2
N=${N:-20000} WARM=${WARM:-5000}
PORT=$((20000 + RANDOM % 10000))
export PORT
out=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" "$@" --port "$PORT" >"$out/server.log" 2>&1 &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null || true; sleep 1; kill -KILL "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT
prior=(); [ "$proto" = h2 ] && prior=(--http2-prior-knowledge)
for _ in $(seq 1 600); do curl -s "${prior[@]}" -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.2; done
here=$(cd "$(dirname "$0")" && pwd)
# Prints how many requests or echoes it completed.
load() {
  case "$proto" in
    h1) h2load --h1 -c64 -n "$1" "http://127.0.0.1:$PORT/" >/dev/null; echo "$1" ;;
    h2) h2load -c16 -m32 -n "$1" "http://127.0.0.1:$PORT/" >/dev/null; echo "$1" ;;
    ws-*) node --import tsx "$here/../clients/ws-load.ts" --url "http://127.0.0.1:$PORT/ws" --transport "${proto#ws-}" \
            --clients 50 --size 32 --warmup 0 --duration "$2" | node -e 'process.stdin.on("data", (d) => console.log(JSON.parse(d).echoes))' ;;
  esac
}
load "$WARM" "${WS_SECONDS:-10}" >/dev/null
callgrind_control -z "$pid" >/dev/null 2>&1
n=$(load "$N" "${WS_SECONDS:-10}")
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
total=$(cat "$out"/cg.* 2>/dev/null | awk '/^totals:|^summary:/{print $2}' | sort -n | tail -1)
unit=request; [ "${proto#ws-}" != "$proto" ] && unit=echo
echo "$label instructions_per_$unit=$(( total / n )) (n=$n)"
