#!/bin/bash
# `ngi serve --workers N` scaling, hello over HTTP/1.1, nothing pinned (a 2-core machine has
# no core to spare for the load generator, so wrk shares the cores with the workers):
#   bench/tools/workers-scaling.sh [repeats, default 3] [max workers, default 2]
# Prints req/s of a raw node:http process and of 1..N workers, alternated per repeat.
set -euo pipefail
cd "$(dirname "$0")/../.."
repeats=${1:-3} max=${2:-2}
run() {
  local label=$1; shift
  local port=$((20000 + RANDOM % 10000))
  PORT=$port "$@" --port "$port" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  wrk -t1 -c64 -d2s "http://127.0.0.1:$port/" >/dev/null
  local rps; rps=$(wrk -t1 -c64 -d5s "http://127.0.0.1:$port/" | awk '/Requests\/sec/{print $2}')
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "$label $rps"
}
for _ in $(seq 1 "$repeats"); do
  run node-http node bench/apps/node-http.mjs
  for n in $(seq 1 "$max"); do run "ngi-workers-$n" node dist/cli/run.js serve bench/apps/ngi-app.mjs --quiet --workers "$n"; done
done
