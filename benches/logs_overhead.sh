#!/usr/bin/env bash
# What keeping every invocation's log costs the HTTP front door: a warm Invoke of `hello` on two
# servers started side by side, one keeping logs (the default) and one not
# (LAMBKIN_LOGS_MAX_MB=0), both with metrics and traces as they always are (no OTLP endpoint).
# wrk drives one, then the other, round by round; prints each round's requests/s and their ratio,
# then the median ratio. Only invocations run: nothing else (no queued events, no files being
# removed) is left over from one measurement to the next.
#
#   bash benches/logs_overhead.sh [rounds=8] [seconds=5] [connections=32]
#
# Needs a release build, the examples built, wrk and boto3.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-8}
seconds=${2:-5}
connections=${3:-32}
bin=${LAMBKIN_BIN:-target/release/lambkin}
wasm=examples/target/wasm32-wasip2/release/hello.wasm
for needed in "$bin" "$wasm"; do
    [ -e "$needed" ] || { echo "missing $needed: build first" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
# start runs in a command substitution (a subshell): the servers' pids go through a file.
trap 'kill $(cat "$work/pids" 2>/dev/null) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start <name> <logs MB>: a server with `hello` deployed and warm; prints its port.
start() {
    local name=$1 logs_mb=$2 port
    port=$(free_port)
    LAMBKIN_LOG=warn LAMBKIN_LOGS_MAX_MB=$logs_mb "$bin" serve --listen "127.0.0.1:$port" \
        --data-dir "$work/$name" >"$work/$name.log" 2>&1 &
    echo $! >>"$work/pids"
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
        sleep 0.1
    done
    python3 benches/deploy_hello.py "$port" "$wasm"
    echo "$port"
}

cat >"$work/invoke.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"load"}'
wrk.headers["Content-Type"] = "application/json"
LUA

rps() {
    local port=$1 duration=$2
    wrk -t2 -c"$connections" -d"${duration}s" -s "$work/invoke.lua" \
        "http://127.0.0.1:$port/2015-03-31/functions/hello/invocations" |
        awk '/Requests\/sec/ {print $2}'
}

on=$(start on 1024)
off=$(start off 0)
# Warm-up: every connection's environment exists before anything counts.
rps "$on" 1 >/dev/null
rps "$off" 1 >/dev/null

ratios=()
printf '%-6s %14s %14s %8s\n' round "logs on" "logs off" ratio
for round in $(seq "$rounds"); do
    # Alternate which goes first, so neither always follows the other's writeback.
    if [ $((round % 2)) -eq 1 ]; then
        a=$(rps "$on" "$seconds"); b=$(rps "$off" "$seconds")
    else
        b=$(rps "$off" "$seconds"); a=$(rps "$on" "$seconds")
    fi
    ratio=$(python3 -c "print(f'{$a / $b:.3f}')")
    ratios+=("$ratio")
    printf '%-6s %14s %14s %8s\n' "$round" "$a" "$b" "$ratio"
done
python3 -c "import statistics, sys; print('median ratio (on/off):', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
du -sh "$work/on/logs" | awk '{print "logs kept by the server keeping them:", $1}'
