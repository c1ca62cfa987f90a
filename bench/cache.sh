#!/usr/bin/env bash
# Cache benchmark: hit throughput and latency with 100, 100,000 and
# 1,000,000 entries in the folder, how soon the server listens and finishes
# its start-up scan at each size, and the overhead of a miss (which stores
# the answer) over a plain proxied request. See bench/README.md.
#
#   bench/cache.sh                     # from the repository root
#   DURATION=10 CONNECTIONS=16 SIZES="100 100000 1000000" bench/cache.sh
#
# Writes the summary to stdout and to bench/results/cache-latest.txt.
set -euo pipefail

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
SIZES="${SIZES:-100 100000 1000000}"
read -r -a SIZE_LIST <<<"$SIZES"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/llm-bridge-cache-bench.XXXXXX")"
BENCH_NAME=cache-bench
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian's packages"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

log "building (release): llm-bridge, examples mock_upstream and cache_fill"
cargo build --release --quiet --bin llm-bridge --example mock_upstream --example cache_fill


start mock "$BIN/examples/mock_upstream" --listen 127.0.0.1:0
MOCK="$ADDR"

# Lua for wrk: `random` picks one of N cached questions per request; `unique`
# sends a question never asked before (every request a miss).
cat >"$WORK/random.lua" <<'LUA'
local n = tonumber(os.getenv("ENTRIES"))
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", counter) end
function init() math.randomseed(seed * 7919) end
function request()
  local body = string.format('{"model":"gpt-4.1","messages":[{"role":"user","content":"question %d"}]}', math.random(0, n - 1))
  return wrk.format("POST", "/v1/chat/completions", {["Content-Type"] = "application/json"}, body)
end
LUA
cat >"$WORK/unique.lua" <<'LUA'
local counter = 0
function setup(thread) counter = counter + 1; thread:set("tid", counter) end
local n = 0
function request()
  n = n + 1
  local body = string.format('{"model":"gpt-4.1","messages":[{"role":"user","content":"new %d-%d-%d"}]}', tid, os.time(), n)
  return wrk.format("POST", "/v1/chat/completions", {["Content-Type"] = "application/json"}, body)
end
LUA

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# Runs wrk with CONNS connections (default $CONNECTIONS); prints
# "req/s p50 p90 p99 non2xx cpu_us_per_req" (CPU of PID).
load() {
  local script=$1 url=$2 pid=$3 out before after threads=2 conns=${CONNS:-$CONNECTIONS}
  ((conns == 1)) && threads=1
  before=$(ticks "$pid")
  out=$(wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency -s "$WORK/$script" "$url")
  after=$(ticks "$pid")
  awk -v before="$before" -v after="$after" -v tck="$CLK_TCK" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    / 50% / { p50 = ms($2) } / 90% / { p90 = ms($2) } / 99% / { p99 = ms($2) }
    /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 } /Non-2xx/ { bad = $NF }
    END { printf "%.0f %.3f %.3f %.3f %d %.1f\n", rps, p50, p90, p99, bad, (after - before) * 1e6 / tck / n }' <<<"$out"
}

bridge() { # name cache-dir mode
  start "$1" env -i PATH="$PATH" OPENAI_BASE_URL="http://$MOCK/v1" OPENAI_API_KEY=sk-bench \
    LLM_BRIDGE_CACHE_MODE="$3" "$BIN/llm-bridge" --listen 127.0.0.1:0 \
    --cache-dir "$2" --log-dir "$WORK/logs-$1"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# startup NAME DIR: starts llm-bridge (default configuration) on DIR and
# records in R[NAME_*] the milliseconds until it listened and until its
# start-up scan reported, and its RSS then. Leaves it running (PID, ADDR).
startup() {
  local name=$1 dir=$2 began line i
  began=$(now_ms)
  env -i PATH="$PATH" OPENAI_BASE_URL="http://$MOCK/v1" OPENAI_API_KEY=sk-bench \
    "$BIN/llm-bridge" --listen 127.0.0.1:0 --cache-dir "$dir" --log-dir "$WORK/logs-$name" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  for ((i = 0; i < 20000; i++)); do
    ADDR=$(sed -n 's|.*listening on http://\([^/]*\).*|\1|p' "$WORK/$name.out" | head -n1)
    [[ -n "$ADDR" ]] && break
    sleep 0.002
  done
  [[ -n "$ADDR" ]] || { log "$name did not start"; cat "$WORK/$name.err" >&2; exit 1; }
  R[${name}_listen_ms]=$(($(now_ms) - began))
  for ((i = 0; i < 600000; i++)); do
    line=$(grep -m1 'cache: ' "$WORK/$name.err" || true)
    [[ -n "$line" ]] && break
    sleep 0.01
  done
  R[${name}_scan_ms]=$(($(now_ms) - began))
  R[${name}_rss_kb]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")
}

declare -A R
for n in "${SIZE_LIST[@]}"; do
  log "filling a cache folder with $n entries"
  "$BIN/examples/cache_fill" --dir "$WORK/cache-$n" --count "$n" --base-url "http://$MOCK/v1" >/dev/null
  # The folder at rest, as a restart finds it: not while the kernel is still
  # writing out the files just made (three million for the largest size).
  sync
  startup "hits-$n" "$WORK/cache-$n"
  status=$(curl -s -o /dev/null -D - -H 'content-type: application/json' \
    -d '{"model":"gpt-4.1","messages":[{"role":"user","content":"question 7"}]}' \
    "http://$ADDR/v1/chat/completions" | tr -d '\r' | sed -n 's/^x-cache: //p')
  [[ "$status" == HIT ]] || { log "expected a HIT, got '$status'"; exit 1; }
  log "hits with $n entries"
  R[hits-$n]=$(ENTRIES=$n load random.lua "http://$ADDR/v1/chat/completions" "$PID")
  R[light-hits-$n]=$(CONNS=1 ENTRIES=$n load random.lua "http://$ADDR/v1/chat/completions" "$PID")
done

log "misses (each stores its answer)"
bridge misses "$WORK/cache-empty" read-write
R[misses]=$(load unique.lua "http://$ADDR/v1/chat/completions" "$PID")
R[light-misses]=$(CONNS=1 load unique.lua "http://$ADDR/v1/chat/completions" "$PID")
stored=$(find "$WORK/cache-empty" -name '*.meta.json' | wc -l)
log "plain proxy (cache off)"
bridge off "$WORK/cache-off" off
R[off]=$(load unique.lua "http://$ADDR/v1/chat/completions" "$PID")
R[light-off]=$(CONNS=1 load unique.lua "http://$ADDR/v1/chat/completions" "$PID")
log "the mock, directly"
R[direct]=$(load unique.lua "http://$MOCK/v1/chat/completions" "${PIDS[0]}")
R[light-direct]=$(CONNS=1 load unique.lua "http://$MOCK/v1/chat/completions" "${PIDS[0]}")

mkdir -p bench/results
{
  echo "llm-bridge cache benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "the folders' files are in the page cache (written just before the runs, then synced)"
  for load_kind in "" light-; do
    echo
    if [[ -z "$load_kind" ]]; then
      echo "under load: wrk -t2 -c$CONNECTIONS -d${DURATION}s"
    else
      echo "light load: wrk -t1 -c1 -d${DURATION}s"
    fi
    printf '%-34s %9s %9s %9s %9s %8s %12s\n' "run" "req/s" "p50 ms" "p90 ms" "p99 ms" "non-2xx" "CPU µs/req"
    runs=()
    for n in "${SIZE_LIST[@]}"; do runs+=("hits-$n"); done
    for run in "${runs[@]}" misses off direct; do
      read -r rps p50 p90 p99 bad cpu <<<"${R[$load_kind$run]}"
      case $run in
        hits-*) label="hits, ${run#hits-} entries" ;;
        misses) label="misses (upstream call + store)" ;;
        off) label="cache off (plain proxy)" ;;
        direct) label="mock directly" cpu="-" ;;
      esac
      printf '%-34s %9s %9s %9s %9s %8s %12s\n' "$label" "$rps" "$p50" "$p90" "$p99" "$bad" "$cpu"
    done
  done
  read -r _ miss50 _ _ _ _ <<<"${R[light-misses]}"
  read -r _ off50 _ _ _ _ <<<"${R[light-off]}"
  first=${SIZE_LIST[0]}
  last=${SIZE_LIST[${#SIZE_LIST[@]} - 1]}
  read -r _ small50 _ _ _ _ <<<"${R[light-hits-$first]}"
  read -r _ big50 _ _ _ _ <<<"${R[light-hits-$last]}"
  echo
  echo "light load, p50: miss overhead over the plain proxy $(awk -v a="$miss50" -v b="$off50" 'BEGIN { printf "%+.3f ms", a - b }'); hit with $last entries vs $first: $(awk -v a="$big50" -v b="$small50" 'BEGIN { printf "%+.3f ms", a - b }')"
  echo
  echo "start-up (default configuration): from exec to listening, to the start-up scan's report, RSS then"
  for n in "${SIZE_LIST[@]}"; do
    printf '  %9s entries: listening after %5s ms, scan done after %7s ms, RSS %6s MB\n' "$n" \
      "${R[hits-${n}_listen_ms]}" "${R[hits-${n}_scan_ms]}" "$(awk -v k="${R[hits-${n}_rss_kb]}" 'BEGIN { printf "%.1f", k / 1024 }')"
  done
  echo "entries stored by the miss run: $stored"
} | tee bench/results/cache-latest.txt
