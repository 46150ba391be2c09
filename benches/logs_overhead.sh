#!/usr/bin/env bash
# What keeping every invocation's log costs the HTTP front door: http_load.sh's warm Invoke of
# `hello` with the log store on (the default) and off (LAMBKIN_LOGS_MAX_MB=0), alternated round by
# round on one machine; prints each round's requests/s and their ratio, then the median ratio.
#
#   bash benches/logs_overhead.sh [rounds=4] [seconds=5] [connections=32]
#
# Needs what http_load.sh needs (a release build, the examples, wrk, boto3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
seconds=${2:-5}
connections=${3:-32}
rps() {
    LAMBKIN_LOGS_MAX_MB=$1 bash benches/http_load.sh "$seconds" "$connections" 2>/dev/null |
        awk '$1 == "invoke" && $2 ~ /^[0-9]+$/ { print $3 }'
}
ratios=()
printf '%-6s %14s %14s %8s\n' round "logs on" "logs off" ratio
for round in $(seq "$rounds"); do
    on=$(rps 1024)
    off=$(rps 0)
    ratio=$(python3 -c "print(f'{$on / $off:.3f}')")
    ratios+=("$ratio")
    printf '%-6s %14s %14s %8s\n' "$round" "$on" "$off" "$ratio"
done
python3 -c "import statistics, sys; print('median ratio (on/off):', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
