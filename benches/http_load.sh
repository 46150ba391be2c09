#!/usr/bin/env bash
# Load on the HTTP front door: a real `lambkin serve`, the `hello` example created through the
# API, then wrk against two routes in the same run, at each concurrency:
#   - warm synchronous Invoke of `hello` (POST /2015-03-31/functions/hello/invocations);
#   - the trivial non-wasm route GET /health, the ceiling the same server reaches without wasm;
#   - asynchronous Invoke (Event) of `hello`: the 202 once the event is fsynced to the queue.
#
#   bash benches/http_load.sh [seconds=10] [concurrencies="1 32"]
#   LAMBKIN_BIN=/path/to/lambkin bash benches/http_load.sh ...   (another build, for a before/after)
#
# Needs: a release build (cargo build --release -p lambkin-host), the examples built to wasm,
# wrk (apt-get install wrk), python3 with boto3. Talks to 127.0.0.1 only; stops by itself.
# wrk runs one thread (two when the connections allow) and shares the machine with the server.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
concurrencies=${2:-"1 32"}
bin=${LAMBKIN_BIN:-target/release/lambkin}
wasm=examples/target/wasm32-wasip2/release/hello.wasm
for needed in "$bin" "$wasm"; do
    [ -e "$needed" ] || { echo "missing $needed: build first" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LAMBKIN_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
done

python3 benches/deploy_hello.py "$port" "$wasm"

cat >"$work/invoke.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"load"}'
wrk.headers["Content-Type"] = "application/json"
LUA
sed 's/^wrk.headers\["Content-Type"\].*/&\nwrk.headers["X-Amz-Invocation-Type"] = "Event"/' \
    "$work/invoke.lua" >"$work/event.lua"

# One wrk run; prints "requests/s p50 p99" of it.
run() {
    local connections=$1 url=$2 script=${3:-}
    local threads=$((connections > 1 ? 2 : 1))
    local args=(-t"$threads" -c"$connections" -d"${seconds}s" --latency)
    [ -n "$script" ] && args+=(-s "$script")
    wrk "${args[@]}" "$url" >"$work/wrk.out"
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps, p50, p99}' "$work/wrk.out"
}

printf '%-12s %-8s %12s %10s %10s\n' route conns "requests/s" p50 p99
for c in $concurrencies; do
    # Warm-up, so every connection's first request does not count.
    wrk -t1 -c"$c" -d1s -s "$work/invoke.lua" "http://127.0.0.1:$port/2015-03-31/functions/hello/invocations" >/dev/null
    read -r irps ip50 ip99 < <(run "$c" "http://127.0.0.1:$port/2015-03-31/functions/hello/invocations" "$work/invoke.lua")
    read -r hrps hp50 hp99 < <(run "$c" "http://127.0.0.1:$port/health")
    read -r erps ep50 ep99 < <(run "$c" "http://127.0.0.1:$port/2015-03-31/functions/hello/invocations" "$work/event.lua")
    printf '%-12s %-8s %12s %10s %10s\n' invoke "$c" "$irps" "$ip50" "$ip99"
    printf '%-12s %-8s %12s %10s %10s\n' health "$c" "$hrps" "$hp50" "$hp99"
    printf '%-12s %-8s %12s %10s %10s\n' event "$c" "$erps" "$ep50" "$ep99"
    python3 -c "print(f'  invoke / health throughput at c=$c: {100 * $irps / $hrps:.0f}%')"
done
