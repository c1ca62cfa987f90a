#!/usr/bin/env bash
# Shared-cache benchmark: the CPU and latency of a cache hit served from
# the local folder (no Redis), from the local tier in front of Redis (the
# default with [redis]), from Redis alone (local_tier = false), and with
# requests per minute counted in Redis (the shared limiter's cost). The
# proxy is pinned to core 0, the mock, redis-server and wrk to core 1 (when
# there are two cores and taskset). See bench/README.md.
#
#   bench/redis.sh                     # from the repository root
#   DURATION=10 CONNECTIONS=32 bench/redis.sh
#
# Writes the summary to stdout and to bench/results/redis-latest.txt.
set -euo pipefail

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/llm-bridge-redis-bench.XXXXXX")"
BENCH_NAME=redis-bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if (($(nproc) >= 2)) && command -v taskset >/dev/null; then
  PROXY=(taskset -c 0) LOAD=(taskset -c 1) PINNING="proxy on core 0; mock, Redis and wrk on core 1"
else
  PROXY=() LOAD=() PINNING="not pinned"
fi

log "building (release): llm-bridge, example mock_upstream"
cargo build --release --quiet --bin llm-bridge --example mock_upstream


start mock "${LOAD[@]+"${LOAD[@]}"}" "$BIN/examples/mock_upstream" --listen 127.0.0.1:0
MOCK=$ADDR
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${LOAD[@]+"${LOAD[@]}"}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$WORK" >"$WORK/redis.out" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 200; i++)); do
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  sleep 0.05
done

cat >"$WORK/hit.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-4.1","messages":[{"role":"user","content":"the same question"}]}'
LUA
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
declare -A R

# run NAME CONFIG: a fresh instance with CONFIG as llm-bridge.toml; one
# request stores the answer, then wrk asks it again and again.
run() {
  local name=$1 config=$2 dir="$WORK/$1" before after out requests hz
  mkdir -p "$dir"
  printf '%s\n' "$config" >"$dir/llm-bridge.toml"
  (cd "$dir" && start "$name" env -i PATH="$PATH" LLM_BRIDGE_LISTEN=127.0.0.1:0 \
    OPENAI_BASE_URL="http://$MOCK/v1" OPENAI_API_KEY=sk-bench \
    "${PROXY[@]+"${PROXY[@]}"}" "$BIN/llm-bridge" && echo "$ADDR $PID" >"$dir/addr")
  read -r ADDR PID <"$dir/addr"
  PIDS+=("$PID")
  curl -s -o /dev/null -X POST "http://$ADDR/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"gpt-4.1","messages":[{"role":"user","content":"the same question"}]}'
  sleep 0.5 # the first answer is stored after it is sent
  "${LOAD[@]+"${LOAD[@]}"}" wrk -t1 -c1 -d"$DURATION"s --latency -s "$WORK/hit.lua" \
    "http://$ADDR/v1/chat/completions" >"$dir/light.wrk"
  R[${name}_light_p50]=$(awk '$1 == "50%" { print $2 }' "$dir/light.wrk")
  before=$(cpu_ticks "$PID")
  "${LOAD[@]+"${LOAD[@]}"}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION"s -s "$WORK/hit.lua" \
    "http://$ADDR/v1/chat/completions" >"$dir/load.wrk"
  after=$(cpu_ticks "$PID")
  requests=$(awk '/requests in/ { print $1 }' "$dir/load.wrk")
  hz=$(getconf CLK_TCK)
  R[${name}_rps]=$(awk -v r="$requests" -v d="$DURATION" 'BEGIN { printf "%d", r / d }')
  R[${name}_cpu_us]=$(awk -v t=$((after - before)) -v hz="$hz" -v r="$requests" \
    'BEGIN { printf "%.1f", t / hz * 1e6 / r }')
  R[${name}_status]=$(curl -s -o /dev/null -w '%{http_code} %header{x-cache}' -X POST \
    "http://$ADDR/v1/chat/completions" -H 'content-type: application/json' \
    -d '{"model":"gpt-4.1","messages":[{"role":"user","content":"the same question"}]}')
  kill "$PID"
  log "$name: ${R[${name}_rps]} req/s, ${R[${name}_cpu_us]} µs CPU per hit, light p50 ${R[${name}_light_p50]}"
}

URL="redis://127.0.0.1:$REDIS_PORT/0"
run local ""
run tiered "[redis]
url = \"$URL\"
prefix = \"bench-tiered\""
run redis "[redis]
url = \"$URL\"
prefix = \"bench-redis\"
local_tier = false"
run limited "[redis]
url = \"$URL\"
prefix = \"bench-limited\"
[limits]
requests_per_minute = 4000000000"

mkdir -p bench/results
{
  echo "llm-bridge shared-cache benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $PINNING"
  echo "hits of one stored answer: wrk -t1 -c$CONNECTIONS for ${DURATION}s (CPU), then -c1 (latency)"
  printf '  %-34s %10s %14s %12s %14s\n' "hit served from" "req/s" "CPU µs/hit" "light p50" "last answer"
  printf '  %-34s %10s %14s %12s %14s\n' "the local folder (no Redis)" "${R[local_rps]}" "${R[local_cpu_us]}" "${R[local_light_p50]}" "${R[local_status]}"
  printf '  %-34s %10s %14s %12s %14s\n' "the local tier in front of Redis" "${R[tiered_rps]}" "${R[tiered_cpu_us]}" "${R[tiered_light_p50]}" "${R[tiered_status]}"
  printf '  %-34s %10s %14s %12s %14s\n' "Redis alone (local_tier = false)" "${R[redis_rps]}" "${R[redis_cpu_us]}" "${R[redis_light_p50]}" "${R[redis_status]}"
  printf '  %-34s %10s %14s %12s %14s\n' "local tier, RPM counted in Redis" "${R[limited_rps]}" "${R[limited_cpu_us]}" "${R[limited_light_p50]}" "${R[limited_status]}"
  ratio=$(awk -v a="${R[redis_cpu_us]}" -v b="${R[local_cpu_us]}" 'BEGIN { printf "%.2f", a / b }')
  tier=$(awk -v a="${R[tiered_cpu_us]}" -v b="${R[local_cpu_us]}" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')
  echo "targets: a hit from Redis <= 2x a local-file hit's CPU: ${ratio}x; a local-tier hit unchanged: $tier"
  echo "the shared limiter adds (light-load p50): ${R[tiered_light_p50]} -> ${R[limited_light_p50]} (target <= +0.2 ms)"
} | tee bench/results/redis-latest.txt
