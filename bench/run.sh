#!/usr/bin/env bash
# llm-bridge benchmark: llm-bridge vs nginx proxy_pass vs the mock upstream
# reached directly. See bench/README.md for what each figure means.
#
#   bench/run.sh                       # from the repository root
#   DURATION=10 CONNECTIONS=16 bench/run.sh
#
# Optional environment: DURATION (seconds per load run, default 10),
# CONNECTIONS (wrk connections under load, default 32), THREADS (wrk threads,
# default 1), WARMUP (seconds of unmeasured load before each run, default 2),
# TTFB_COUNT (sequential streams per first-token run, default 200), STREAMS
# (concurrent slow streams, default 1000), SETTLE_SECS (wait before the
# memory reading after the slow streams, default 60), KEEP_WORK=1 (keep the
# temporary folder with every process's output).
#
# Writes the summary to stdout and to bench/results/latest.txt.
set -euo pipefail

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
SETTLE_SECS="${SETTLE_SECS:-60}"
WARMUP="${WARMUP:-2}"
TTFB_COUNT="${TTFB_COUNT:-200}"
STREAMS="${STREAMS:-1000}"
# Mock settings of the stream runs.
TTFB_CHUNK_DELAY_MS=20
TTFB_CHUNKS=1
SLOW_CHUNKS=20
SLOW_CHUNK_DELAY_MS=50

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS_DIR="$ROOT/bench/results"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BRIDGE_BIN="$TARGET_DIR/release/llm-bridge"
MOCK_BIN="$TARGET_DIR/release/examples/mock_upstream"
PROBE_BIN="$TARGET_DIR/release/examples/stream_probe"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/llm-bridge-bench.XXXXXX")"
# nginx workers drop to an unprivileged user when started as root.
chmod 755 "$WORK"
PIDS=()
FAILED_CHECKS=()

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# --- process management -----------------------------------------------------

# Waits up to 10 s for PID to exit after SIGTERM, then kills it.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local kept=() p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do
    [[ $p == "$pid" ]] || kept+=("$p")
  done
  PIDS=(${kept[@]+"${kept[@]}"})
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do
    stop_pid "$pid"
  done
  if [[ $status -ne 0 || ${KEEP_WORK:-0} == 1 ]]; then
    log "process output kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# With two cores or more, the proxies run on core 0 and the load generators
# and the mock on core 1, so a proxy's figures are its own core's.
if (($(nproc) >= 2)) && command -v taskset >/dev/null; then
  ON_PROXY_CORE=(taskset -c 0)
  ON_LOAD_CORE=(taskset -c 1)
  PINNING="proxies on core 0; wrk, probes and mock on core 1"
else
  ON_PROXY_CORE=()
  ON_LOAD_CORE=()
  PINNING="not pinned (one core, or no taskset)"
fi

# start NAME CMD...: runs CMD in $WORK/NAME (so no .env or config file of the
# repository is picked up), output in $WORK/NAME.out and .err. Sets LAST_PID.
start() {
  local name=$1
  shift
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec "$@") >"$WORK/$name.out" 2>"$WORK/$name.err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# wait_listening NAME PID: waits for the "listening on http://ADDR" line and
# prints ADDR.
wait_listening() {
  local name=$1 pid=$2 line deadline=$((SECONDS + 30))
  while true; do
    if line=$(grep -m1 -o 'listening on http://[^ /]*' "$WORK/$name.out" 2>/dev/null); then
      echo "${line#listening on http://}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited early: $(tail -n 20 "$WORK/$name.err")"
    ((SECONDS < deadline)) || die "$name did not start within 30 s"
    sleep 0.05
  done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 12000))
    port_in_use "$port" || {
      echo "$port"
      return 0
    }
  done
  die "no free port found"
}

# http_request METHOD ADDR PATH [BODY]: one HTTP/1.1 request over bash's
# /dev/tcp; prints the status code, then the body.
http_request() {
  local method=$1 addr=$2 path=$3 body=${4:-} status
  exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}"
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$method" "$path" "$addr" "${#body}" "$body" >&3
  IFS=' ' read -r _ status _ <&3
  echo "$status"
  # Headers, then the body.
  sed '1,/^\r$/d' <&3
  exec 3<&- 3>&-
}

# --- /proc readings ----------------------------------------------------------

CLK_TCK="$(getconf CLK_TCK)"

# cpu_ticks PID...: utime + stime of the processes (all threads), in ticks.
cpu_ticks() {
  local total=0 pid stat fields
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat")
    # Fields after "(comm)": state is field 3, utime 14, stime 15.
    read -r -a fields <<<"${stat##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# status_kb PID FIELD: a kB figure of /proc/PID/status (VmRSS, VmHWM).
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# calc EXPR [DECIMALS]: floating-point arithmetic; "?" when a figure is
# missing (a failed run).
calc() {
  if [[ $1 == *'?'* ]]; then
    echo '?'
    return 0
  fi
  awk "BEGIN { printf \"%.${2:-3}f\", $1 }"
}

# signed A-B with DECIMALS (default 3), e.g. +0.152
delta() {
  if [[ $1$2 == *'?'* ]]; then
    echo '?'
    return 0
  fi
  awk "BEGIN { printf \"%+.${3:-3}f\", $1 - ($2) }"
}

# --- results -----------------------------------------------------------------

declare -A R
# load_kv PREFIX FILE: key=value lines into R[PREFIX_key].
load_kv() {
  local key value
  while IFS='=' read -r key value; do
    [[ -n $key && $key != *' '* ]] && R["${1}_$key"]=$value
  done <"$2"
}

# check NAME PASS(0/1) TEXT
check() {
  if [[ $2 == 1 ]]; then
    CHECK_LINES+=("  [PASS] $1: $3")
  else
    CHECK_LINES+=("  [FAIL] $1: $3")
    FAILED_CHECKS+=("$1")
  fi
}
CHECK_LINES=()

# --- set-up ------------------------------------------------------------------

install_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} from the Debian archive"
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

install_tools
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"

# 1,000 client sockets + 1,000 upstream sockets in the same process tree.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < 2 * STREAMS + 256)); then
  die "open-file limit $(ulimit -n) is too low for $STREAMS streams"
fi

log "building (release): llm-bridge, examples mock_upstream and stream_probe"
cargo build --release --quiet --bin llm-bridge --example mock_upstream --example stream_probe
for bin in "$BRIDGE_BIN" "$MOCK_BIN" "$PROBE_BIN"; do
  [[ -x $bin ]] || die "missing $bin (CARGO_TARGET_DIR?)"
done
mkdir -p "$RESULTS_DIR"

# start_mock NAME ARGS...: sets MOCK_ADDR and MOCK_PID.
start_mock() {
  local name=$1
  shift
  start "$name" ${ON_LOAD_CORE[@]+"${ON_LOAD_CORE[@]}"} "$MOCK_BIN" --listen 127.0.0.1:0 "$@"
  MOCK_PID=$LAST_PID
  MOCK_ADDR=$(wait_listening "$name" "$MOCK_PID")
}

# start_bridge NAME UPSTREAM_ADDR [CACHE_MODE]: the default configuration
# (RUST_LOG unset: level info, stderr to a file; cache on, usage store on),
# or with the cache in CACHE_MODE (the cache-off row). Sets BRIDGE_ADDR and
# BRIDGE_PID and records its idle RSS after one GET /health.
start_bridge() {
  local name=$1 upstream=$2 mode=${3:-} status
  local cache_mode=()
  [[ -n $mode ]] && cache_mode=(LLM_BRIDGE_CACHE_MODE="$mode")
  start "$name" env -i PATH="$PATH" \
    LLM_BRIDGE_LISTEN=127.0.0.1:0 \
    OPENAI_BASE_URL="http://$upstream/v1" \
    OPENAI_API_KEY=sk-bench \
    ANTHROPIC_BASE_URL="http://$upstream/v1" \
    ANTHROPIC_API_KEY=sk-bench \
    ${cache_mode[@]+"${cache_mode[@]}"} \
    ${ON_PROXY_CORE[@]+"${ON_PROXY_CORE[@]}"} \
    "$BRIDGE_BIN" --cache-dir "$WORK/$name/cache" --log-dir "$WORK/$name/logs"
  BRIDGE_PID=$LAST_PID
  BRIDGE_ADDR=$(wait_listening "$name" "$BRIDGE_PID")
  status=$(http_request GET "$BRIDGE_ADDR" /health | head -n1)
  [[ $status == 200 ]] || die "$name: GET /health answered $status"
  R["${name}_idle_rss_kb"]=$(status_kb "$BRIDGE_PID" VmRSS)
  R["${name}_idle_anon_kb"]=$(status_kb "$BRIDGE_PID" RssAnon)
  R["${name}_idle_file_kb"]=$(status_kb "$BRIDGE_PID" RssFile)
  R["${name}_idle_threads"]=$(status_kb "$BRIDGE_PID" Threads)
}

# log_gaps FILE...: request-log lines lost by the (lossy, non-blocking)
# writer, as "missing/expected" over the retained files: generated request
# ids end in a 16-hex-digit counter, so the retained lines should hold every
# counter value between the lowest and the highest one. Rotation drops whole
# old files; lines are written in completion order, not id order, so the
# lowest 100 ids are skipped as a margin.
log_gaps() {
  local ids first last count
  ids=$(cat "$@" 2>/dev/null | grep -o '"request_id":"[0-9a-f]\{32\}"' | cut -c31-46 | sort | tail -n +100) || true
  count=$(grep -c . <<<"$ids" || true)
  if ((count < 2)); then
    echo "n/a"
    return 0
  fi
  first=$(head -n1 <<<"$ids")
  last=$(tail -n1 <<<"$ids")
  echo "$((16#$last - 16#$first + 1 - count))/$((16#$last - 16#$first + 1))"
}

NONSTREAM_BODY='{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":false}'

# sanity_post NAME ADDR: one non-streamed request must answer 200 with the
# mock's text.
sanity_post() {
  local out
  out=$(http_request POST "$2" /v1/chat/completions "$NONSTREAM_BODY")
  [[ $(head -n1 <<<"$out") == 200 && $out == *"Hello from the mock"* ]] ||
    die "$1: a non-streamed request failed: $out"
}

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$NONSTREAM_BODY'
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("duration_us=%d\n", summary.duration))
  io.write(string.format("errors=%d\n", e.connect + e.read + e.write + e.status + e.timeout))
  io.write(string.format("status_errors=%d\n", e.status))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("p%d_us=%.0f\n", p, latency:percentile(p)))
  end
  io.write(string.format("mean_us=%.1f\n", latency.mean))
end
EOF

# The same, but every request asks something new (a per-thread counter in
# the message), so a cache misses every time.
{
  cat <<'EOF'
local counter = 0
local run = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
local id = "0"
function setup(thread)
  thread:set("id", tostring(math.random(1, 1000000000)))
end
function request()
  counter = counter + 1
  local body = '{"model":"gpt-4.1","messages":[{"role":"user","content":"hi ' .. run .. ' ' .. id .. ' ' .. counter .. '"}],"stream":false}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
EOF
  sed -n '/^function done/,$p' "$WORK/post.lua"
} >"$WORK/unique.lua"

# wrk_run KEY SCRIPT ADDR THREADS CONNECTIONS PIDS...: a warm-up, then a
# measured run with SCRIPT (post or unique) whose results go to R[KEY_*],
# with the CPU time of PIDS (if any) per request in R[KEY_cpu_us_per_req].
wrk_run() {
  local key=$1 script="$WORK/$2.lua" addr=$3 threads=$4 conns=$5
  shift 5
  local url="http://$addr/v1/chat/completions" before after
  local wrk=(${ON_LOAD_CORE[@]+"${ON_LOAD_CORE[@]}"} wrk)
  "${wrk[@]}" -t"$threads" -c"$conns" -d"${WARMUP}s" -s "$script" "$url" >"$WORK/$key.warmup" 2>&1
  (($# > 0)) && before=$(cpu_ticks "$@")
  "${wrk[@]}" -t"$threads" -c"$conns" -d"${DURATION}s" --latency -s "$script" "$url" >"$WORK/$key.wrk" 2>&1 ||
    die "wrk failed for $key: $(cat "$WORK/$key.wrk")"
  (($# > 0)) && after=$(cpu_ticks "$@")
  grep -E '^[a-z0-9_]+=' "$WORK/$key.wrk" >"$WORK/$key.kv"
  load_kv "$key" "$WORK/$key.kv"
  R["${key}_rps"]=$(calc "${R[${key}_requests]} / (${R[${key}_duration_us]} / 1e6)" 0)
  if (($# > 0)); then
    R["${key}_cpu_us_per_req"]=$(calc "($after - $before) * 1e6 / $CLK_TCK / ${R[${key}_requests]}" 1)
  else
    R["${key}_cpu_us_per_req"]="-"
  fi
  log "$key: ${R[${key}_rps]} req/s, p50 $(calc "${R[${key}_p50_us]} / 1000") ms, errors ${R[${key}_errors]}, CPU ${R[${key}_cpu_us_per_req]} µs/req"
}

# --- non-streamed load ------------------------------------------------------------

log "non-streamed load: wrk -t$THREADS -c$CONNECTIONS, ${DURATION}s per target (+${WARMUP}s warm-up)"
start_mock mock-fast
FAST_ADDR=$MOCK_ADDR
FAST_MOCK_PID=$MOCK_PID

# start_nginx NAME UPSTREAM_ADDR: one nginx worker proxying to UPSTREAM_ADDR,
# on the proxy core. Sets NGINX_ADDR, NGINX_PID and NGINX_PIDS (master and
# worker, whose CPU time is counted).
start_nginx() {
  local name=$1 upstream=$2 port dir i
  dir=$WORK/$name
  port=$(free_port)
  mkdir -p "$dir/temp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 8192;
}
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    keepalive_requests 1000000;
    upstream mock {
        server $upstream;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
  start "$name" ${ON_PROXY_CORE[@]+"${ON_PROXY_CORE[@]}"} "$NGINX_BIN" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  NGINX_PID=$LAST_PID
  NGINX_ADDR="127.0.0.1:$port"
  for ((i = 0; ; i++)); do
    port_in_use "$port" && break
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$dir.err" "$dir/error.log" 2>/dev/null)"
    ((i < 600)) || die "nginx did not start"
    sleep 0.05
  done
  mapfile -t NGINX_WORKERS < <(pgrep -P "$NGINX_PID")
  ((${#NGINX_WORKERS[@]} == 1)) || die "expected one nginx worker, found ${#NGINX_WORKERS[@]}"
  NGINX_PIDS=("$NGINX_PID" "${NGINX_WORKERS[@]}")
}

start_nginx nginx "$FAST_ADDR"

start_bridge bridge-fast "$FAST_ADDR"
FASTBRIDGE_PID=$BRIDGE_PID
FASTBRIDGE_ADDR=$BRIDGE_ADDR
start_bridge bridge-off "$FAST_ADDR" off
OFFBRIDGE_PID=$BRIDGE_PID
OFFBRIDGE_ADDR=$BRIDGE_ADDR

sanity_post direct "$FAST_ADDR"
sanity_post nginx "$NGINX_ADDR"
# Also the entry every hit run is served from.
sanity_post llm-bridge "$FASTBRIDGE_ADDR"
sanity_post llm-bridge-off "$OFFBRIDGE_ADDR"

# Misses: every request new (nginx and the mock do not care). Hits: one
# request over and over, from the entry stored above. Cache off: the same
# request proxied every time.
# The mock's own CPU per request: axum and hyper serving a fixed answer,
# the floor of any answer served by the same stack.
wrk_run load_direct unique "$FAST_ADDR" "$THREADS" "$CONNECTIONS" "$FAST_MOCK_PID"
wrk_run load_nginx unique "$NGINX_ADDR" "$THREADS" "$CONNECTIONS" "${NGINX_PIDS[@]}"
wrk_run load_miss unique "$FASTBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$FASTBRIDGE_PID"
wrk_run load_hit post "$FASTBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$FASTBRIDGE_PID"
wrk_run load_off post "$OFFBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$OFFBRIDGE_PID"
# The same miss and hit runs with one dashboard viewer on the live feed
# (open mode: loopback needs no key), which gets an event per request.
start viewer ${ON_LOAD_CORE[@]+"${ON_LOAD_CORE[@]}"} curl -sN "http://$FASTBRIDGE_ADDR/api/live" -o "$WORK/viewer.events"
VIEWER_PID=$LAST_PID
wrk_run load_miss_viewer unique "$FASTBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$FASTBRIDGE_PID"
wrk_run load_hit_viewer post "$FASTBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$FASTBRIDGE_PID"
R[viewer_events]=$(grep -c '^event: request' "$WORK/viewer.events" || true)
# No `event: dropped` is the usual case: grep's exit 1 must not end the run.
R[viewer_dropped]=$({ grep -A1 '^event: dropped' "$WORK/viewer.events" || true; } | { grep -o '[0-9]\+' || true; } | awk '{ s += $1 } END { print s + 0 }')
stop_pid "$VIEWER_PID"
# The cache grows with every unique body, and a miss costs more in a larger
# folder: the same runs again without the viewer, so the viewer's runs are
# compared with the mean of the runs on either side of them.
wrk_run load_miss_after unique "$FASTBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$FASTBRIDGE_PID"
wrk_run load_hit_after post "$FASTBRIDGE_ADDR" "$THREADS" "$CONNECTIONS" "$FASTBRIDGE_PID"

log "light load: wrk -t1 -c1, ${DURATION}s per target"
wrk_run light_direct unique "$FAST_ADDR" 1 1 "$FAST_MOCK_PID"
wrk_run light_nginx unique "$NGINX_ADDR" 1 1 "${NGINX_PIDS[@]}"
wrk_run light_miss unique "$FASTBRIDGE_ADDR" 1 1 "$FASTBRIDGE_PID"
wrk_run light_hit post "$FASTBRIDGE_ADDR" 1 1 "$FASTBRIDGE_PID"
wrk_run light_off post "$OFFBRIDGE_ADDR" 1 1 "$OFFBRIDGE_PID"

R[bridge-fast_hwm_kb]=$(status_kb "$FASTBRIDGE_PID" VmHWM)
stop_pid "$FASTBRIDGE_PID"
R[bridge-fast_log_gaps]=$(log_gaps "$WORK"/bridge-fast/logs/requests.log*)
R[bridge-fast_stderr_lines]=$(wc -l <"$WORK/bridge-fast.err")
R[bridge-fast_warnings]=$(grep -c -E 'WARN|ERROR' "$WORK/bridge-fast.err" || true)
R[bridge-fast_cache_files]=$(find "$WORK/bridge-fast/cache" -type f 2>/dev/null | wc -l)
stop_pid "$OFFBRIDGE_PID"
R[bridge-off_cache_files]=$(find "$WORK/bridge-off/cache" -type f 2>/dev/null | wc -l)
stop_pid "$NGINX_PID"
stop_pid "$MOCK_PID"

# --- streams: first token ---------------------------------------------------------

log "first token: $TTFB_COUNT sequential streams, mock delay ${TTFB_CHUNK_DELAY_MS} ms per event"
start_mock mock-ttfb --chunks "$TTFB_CHUNKS" --chunk-delay-ms "$TTFB_CHUNK_DELAY_MS"
TTFB_MOCK_PID=$MOCK_PID
TTFB_MOCK_ADDR=$MOCK_ADDR
start_bridge bridge-ttfb "$TTFB_MOCK_ADDR"
TTFB_BRIDGE_PID=$BRIDGE_PID
# The same hop through nginx: what a proxy that only copies bytes adds here.
start_nginx nginx-ttfb "$TTFB_MOCK_ADDR"
TTFB_NGINX_PID=$NGINX_PID
TTFB_NGINX_ADDR=$NGINX_ADDR

probe() { # KEY ARGS...
  local key=$1
  shift
  ${ON_LOAD_CORE[@]+"${ON_LOAD_CORE[@]}"} "$PROBE_BIN" "$@" >"$WORK/$key.kv" 2>"$WORK/$key.err" ||
    log "$key: the probe reported failures: $(head -n 5 "$WORK/$key.err")"
  load_kv "$key" "$WORK/$key.kv"
}
# Every stream asks something new: first token of a miss, the cache on.
probe ttfb_direct --mode ttfb --unique --count "$TTFB_COUNT" --url "http://$TTFB_MOCK_ADDR/v1/chat/completions"
probe ttfb_nginx --mode ttfb --unique --count "$TTFB_COUNT" --url "http://$TTFB_NGINX_ADDR/v1/chat/completions"
probe ttfb_bridge --mode ttfb --unique --count "$TTFB_COUNT" --url "http://$BRIDGE_ADDR/v1/chat/completions"
# The same chat client, its model at an Anthropic-native upstream (the mock
# speaks Messages too): the request and every event translated.
probe ttfb_translated --mode ttfb --unique --count "$TTFB_COUNT" --model claude-sonnet-4-5 \
  --url "http://$BRIDGE_ADDR/v1/chat/completions"
stop_pid "$TTFB_BRIDGE_PID"
stop_pid "$TTFB_NGINX_PID"
stop_pid "$TTFB_MOCK_PID"

# --- streams: many slow ones at once --------------------------------------------

log "$STREAMS concurrent streams of $SLOW_CHUNKS chunks x ${SLOW_CHUNK_DELAY_MS} ms"
start_mock mock-slow --chunks "$SLOW_CHUNKS" --chunk-delay-ms "$SLOW_CHUNK_DELAY_MS"
SLOW_MOCK_PID=$MOCK_PID
SLOW_MOCK_ADDR=$MOCK_ADDR
probe conc_direct --mode concurrent --count "$STREAMS" --url "http://$SLOW_MOCK_ADDR/v1/chat/completions"
start_bridge bridge-slow "$SLOW_MOCK_ADDR"
SLOW_BRIDGE_PID=$BRIDGE_PID
before=$(cpu_ticks "$SLOW_BRIDGE_PID")
probe conc_bridge --mode concurrent --unique --count "$STREAMS" --url "http://$BRIDGE_ADDR/v1/chat/completions"
after=$(cpu_ticks "$SLOW_BRIDGE_PID")
R[bridge-slow_rss_end_kb]=$(status_kb "$SLOW_BRIDGE_PID" VmRSS)
log "waiting ${SETTLE_SECS}s for the memory reading after the streams"
sleep "$SETTLE_SECS"
R[conc_bridge_cpu_us_per_stream]=$(calc "($after - $before) * 1e6 / $CLK_TCK / $STREAMS" 0)
R[bridge-slow_hwm_kb]=$(status_kb "$SLOW_BRIDGE_PID" VmHWM)
R[bridge-slow_rss_after_kb]=$(status_kb "$SLOW_BRIDGE_PID" VmRSS)
R[bridge-slow_anon_after_kb]=$(status_kb "$SLOW_BRIDGE_PID" RssAnon)
stop_pid "$SLOW_BRIDGE_PID"
R[bridge-slow_warnings]=$(grep -c -E 'WARN|ERROR' "$WORK/bridge-slow.err" || true)
# For scale: the mock is a plain axum server holding the same streams.
R[mock-slow_hwm_kb]=$(status_kb "$SLOW_MOCK_PID" VmHWM)
stop_pid "$SLOW_MOCK_PID"

# --- large bodies at once ---------------------------------------------------------

# 50 requests of 9 MB sent at once to a fresh instance: the ones past
# [server] bodies_in_flight_bytes (64 MiB by default) get 503 overloaded; the
# peak RSS must stay within the budget + 40 MB. The mock refuses bodies over
# 2 MB (413), which llm-bridge relays: the body still went through it.
log "50 concurrent 9 MB bodies"
start_mock mock-big
BIG_MOCK_PID=$MOCK_PID
start_bridge bridge-big "$MOCK_ADDR"
probe big --mode big --count 50 --bytes 9000000 --url "http://$BRIDGE_ADDR/v1/chat/completions"
R[bridge-big_hwm_kb]=$(status_kb "$BRIDGE_PID" VmHWM)
stop_pid "$BRIDGE_PID"
stop_pid "$BIG_MOCK_PID"

# --- the disk's floor ------------------------------------------------------------

# What creating an entry's three files costs on this disk, without llm-bridge:
# the floor under the CPU of a miss (each miss stores one entry).
log "store floor: creating 5000 entries of three files in $WORK"
cc -O2 -o "$WORK/store_floor" "$ROOT/bench/store_floor.c" || die "cc failed on bench/store_floor.c"
mkdir -p "$WORK/floor"
${ON_PROXY_CORE[@]+"${ON_PROXY_CORE[@]}"} "$WORK/store_floor" "$WORK/floor" 5000 | tr ' ' '\n' >"$WORK/floor.kv"
load_kv floor "$WORK/floor.kv"
rm -rf "$WORK/floor"

# --- summary -------------------------------------------------------------------

ms() { calc "$(g "$1") / 1000" "${2:-3}"; }
mb() { calc "$(g "$1") / 1024" 1; }
g() { echo "${R[$1]:-?}"; }

load_row() { # LABEL KEY DIRECT_KEY
  local added="-"
  [[ $2 != "$3" ]] && added=$(delta "$(ms "${2}_p50_us")" "$(ms "${3}_p50_us")")
  printf '  %-24s %9s %9s %9s %9s %8s %12s %11s\n' "$1" "$(g "${2}_rps")" "$(ms "${2}_p50_us")" \
    "$(ms "${2}_p90_us")" "$(ms "${2}_p99_us")" "$(g "${2}_errors")" "$(g "${2}_cpu_us_per_req")" "$added"
}
ttfb_row() { # LABEL KEY
  local added="-"
  [[ $2 != ttfb_direct ]] && added=$(delta "$(g "${2}_first_content_p50_ms")" "$(g ttfb_direct_first_content_p50_ms)")
  printf '  %-24s %9s %9s %9s %9s %11s %8s %11s\n' "$1" "$(g "${2}_first_content_p50_ms")" \
    "$(g "${2}_first_content_p90_ms")" "$(g "${2}_first_content_p99_ms")" "$(g "${2}_headers_p50_ms")" \
    "$(g "${2}_count")" "$(g "${2}_failed")" "$added"
}
conc_row() { # LABEL KEY
  printf '  %-24s %9s %9s %9s %10s %10s\n' "$1" "$(g "${2}_completed")/$(g "${2}_requested")" \
    "$(g "${2}_failed")" "$(calc "$(g "${2}_wall_ms") / 1000" 2)" \
    "$(calc "$(g "${2}_stream_p50_ms") / 1000" 2)" "$(calc "$(g "${2}_stream_max_ms") / 1000" 2)"
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || commit="$commit+uncommitted changes"

# Target checks.
n_cpu=${R[load_nginx_cpu_us_per_req]}
miss_cpu=${R[load_miss_cpu_us_per_req]}
hit_cpu=${R[load_hit_cpu_us_per_req]}
check "CPU per miss <= 2x nginx's per proxied request" "$(calc "$miss_cpu <= 2 * $n_cpu" 0)" \
  "llm-bridge $miss_cpu µs vs nginx $n_cpu µs"
check "CPU per hit <= nginx's per proxied request" "$(calc "$hit_cpu <= $n_cpu" 0)" \
  "llm-bridge $hit_cpu µs vs nginx $n_cpu µs (the mock, axum answering a fixed body: ${R[load_direct_cpu_us_per_req]} µs)"
check "hit throughput >= nginx's proxied throughput" \
  "$(calc "(${R[load_hit_rps]} >= ${R[load_nginx_rps]})" 0)" \
  "${R[load_hit_rps]} vs ${R[load_nginx_rps]} req/s"
light_added=$(delta "$(ms light_miss_p50_us)" "$(ms light_direct_p50_us)")
check "light-load added p50 of a miss <= 0.3 ms" "$(calc "$light_added <= 0.3" 0)" \
  "$light_added ms (nginx: $(delta "$(ms light_nginx_p50_us)" "$(ms light_direct_p50_us)") ms)"
ttfb_nginx_added=$(delta "$(g ttfb_nginx_first_content_p50_ms)" "$(g ttfb_direct_first_content_p50_ms)")
ttfb_added=$(delta "$(g ttfb_bridge_first_content_p50_ms)" "$(g ttfb_direct_first_content_p50_ms)")
ttfb_added99=$(delta "$(g ttfb_bridge_first_content_p99_ms)" "$(g ttfb_direct_first_content_p99_ms)")
check "first token of a miss <= direct + 0.5 ms (p50)" "$(calc "$ttfb_added <= 0.5 && $(g ttfb_bridge_failed) == 0" 0)" \
  "$ttfb_added ms at p50 ($ttfb_added99 ms at p99; nginx: $ttfb_nginx_added ms)"
translated_added=$(delta "$(g ttfb_translated_first_content_p50_ms)" "$(g ttfb_direct_first_content_p50_ms)")
check "translated first token <= direct + 0.5 ms (p50)" \
  "$(calc "$translated_added <= 0.5 && $(g ttfb_translated_failed) == 0" 0)" \
  "$translated_added ms at p50 (chat client, Anthropic-native upstream; nginx: $ttfb_nginx_added ms)"
peak_mb=$(mb bridge-slow_hwm_kb)
check "$STREAMS slow streams complete, peak RSS <= 40 MB" \
  "$(calc "$(g conc_bridge_completed) == $STREAMS && $(g conc_bridge_failed) == 0 && $peak_mb <= 40" 0)" \
  "$(g conc_bridge_completed)/$STREAMS completed, peak RSS $peak_mb MB"
big_mb=$(mb bridge-big_hwm_kb)
check "50 concurrent 9 MB bodies: peak RSS <= 64 MB budget + 40 MB" "$(calc "$big_mb <= 104" 0)" \
  "peak RSS $big_mb MB; answers: ${R[big_status_503]:-0} x 503, ${R[big_status_413]:-0} x 413 (the mock's own limit), ${R[big_status_200]:-0} x 200, ${R[big_status_failed]:-0} without an answer (connection closed while sending)"
idle_mb=$(mb bridge-slow_idle_rss_kb)
settled_mb=$(mb bridge-slow_rss_after_kb)
check "RSS ${SETTLE_SECS}s after the streams <= idle x 1.1 + 5 MB" \
  "$(calc "$settled_mb <= $idle_mb * 1.1 + 5" 0)" "$settled_mb MB (idle $idle_mb MB)"
check "idle RSS <= 15 MB" "$(calc "$idle_mb <= 15" 0)" "$idle_mb MB"
[[ ${R[bridge-off_cache_files]} == 0 ]] ||
  check "cache stayed off in the cache-off row" 0 "${R[bridge-off_cache_files]} files in its cache folder"
for kind in miss hit; do
  without=$(calc "($(g load_${kind}_cpu_us_per_req) + $(g load_${kind}_after_cpu_us_per_req)) / 2" 1)
  check "$kind CPU with a dashboard viewer <= 1.05x without" \
    "$(calc "$(g load_${kind}_viewer_cpu_us_per_req) <= $without * 1.05" 0)" \
    "$(g load_${kind}_viewer_cpu_us_per_req) µs vs $without µs (mean of $(g load_${kind}_cpu_us_per_req) before and $(g load_${kind}_after_cpu_us_per_req) after)"
done
for key in load_direct load_nginx load_miss load_hit load_off light_direct light_nginx light_miss light_hit light_off; do
  [[ ${R[${key}_errors]} == 0 ]] || check "no errors in $key" 0 "${R[${key}_errors]} errors"
done

{
  echo "llm-bridge benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores, ${cpu_model:-unknown CPU}, $(uname -sr); llm-bridge $commit"
  echo "llm-bridge: the default configuration (RUST_LOG unset = level info, stderr to a file; one JSON"
  echo "line per request in requests.log; cache on; usage store on), and a second instance with the"
  echo "cache off. nginx: 1 worker, access_log on, proxy_buffering off, upstream keepalive."
  echo "Cores: $PINNING. MB = MiB."
  echo
  echo "Non-streamed load: wrk -t$THREADS -c$CONNECTIONS, keep-alive, ${DURATION}s (after ${WARMUP}s warm-up)"
  echo "(miss: every request new; hit: one request repeated; CPU µs/req: the proxy's own CPU time;"
  echo "for direct, the mock's: axum and hyper answering with a fixed body)"
  printf '  %-24s %9s %9s %9s %9s %8s %12s %11s\n' target req/s "p50 ms" "p90 ms" "p99 ms" errors "CPU µs/req" "+p50 ms"
  load_row "direct (mock)" load_direct load_direct
  load_row "nginx -> mock" load_nginx load_direct
  load_row "llm-bridge, miss" load_miss load_direct
  load_row "llm-bridge, hit" load_hit load_direct
  load_row "llm-bridge, cache off" load_off load_direct
  load_row "miss, dashboard viewer" load_miss_viewer load_direct
  load_row "hit, dashboard viewer" load_hit_viewer load_direct
  load_row "miss, viewer gone" load_miss_after load_direct
  load_row "hit, viewer gone" load_hit_after load_direct
  echo "  (the viewer got $(g viewer_events) events; $(g viewer_dropped) dropped for it)"
  echo
  echo "Light load: wrk -t1 -c1 (one request at a time), ${DURATION}s"
  printf '  %-24s %9s %9s %9s %9s %8s %12s %11s\n' target req/s "p50 ms" "p90 ms" "p99 ms" errors "CPU µs/req" "+p50 ms"
  load_row "direct (mock)" light_direct light_direct
  load_row "nginx -> mock" light_nginx light_direct
  load_row "llm-bridge, miss" light_miss light_direct
  load_row "llm-bridge, hit" light_hit light_direct
  load_row "llm-bridge, cache off" light_off light_direct
  echo
  echo "Stream first token: $TTFB_COUNT sequential streams, each asking something new (misses),"
  echo "mock waits ${TTFB_CHUNK_DELAY_MS} ms before each event"
  echo "(time from sending to the first event with non-empty delta.content; ms)"
  printf '  %-24s %9s %9s %9s %9s %11s %8s %11s\n' target p50 p90 p99 "hdrs p50" streams failed "+p50 ms"
  ttfb_row "direct (mock)" ttfb_direct
  ttfb_row "nginx -> mock" ttfb_nginx
  ttfb_row "llm-bridge -> mock" ttfb_bridge
  ttfb_row "translated (Anthropic)" ttfb_translated
  echo
  echo "$STREAMS concurrent slow streams (misses, cache on): $SLOW_CHUNKS chunks, ${SLOW_CHUNK_DELAY_MS} ms before each event"
  printf '  %-24s %9s %9s %9s %10s %10s\n' target completed failed "wall s" "p50 s" "max s"
  conc_row "direct (mock)" conc_direct
  conc_row "llm-bridge -> mock" conc_bridge
  [[ -n ${R[conc_bridge_first_error]:-} ]] && echo "  first error: ${R[conc_bridge_first_error]}"
  echo
  echo "llm-bridge memory and other figures"
  printf '  %-44s %s\n' \
    "idle RSS (after start-up + GET /health):" \
    "$(mb bridge-slow_idle_rss_kb) MB = $(mb bridge-slow_idle_anon_kb) anon + $(mb bridge-slow_idle_file_kb) file-backed, $(g bridge-slow_idle_threads) threads (non-stream instance: $(mb bridge-fast_idle_rss_kb) MB)" \
    "peak RSS (VmHWM) with $STREAMS streams:" \
    "$peak_mb MB (when they ended: $(mb bridge-slow_rss_end_kb) MB; ${SETTLE_SECS}s later: $settled_mb MB, $(mb bridge-slow_anon_after_kb) anon)" \
    "peak RSS (VmHWM), non-stream instance:" "$(mb bridge-fast_hwm_kb) MB" \
    "for scale, the mock's peak RSS (VmHWM):" "$(mb mock-slow_hwm_kb) MB (axum, 1 thread, served both $STREAMS-stream runs)" \
    "CPU per slow stream ($((SLOW_CHUNKS + 3)) events):" "$(g conc_bridge_cpu_us_per_stream) µs" \
    "requests.log lines lost (missing/expected):" "$(g bridge-fast_log_gaps) over the retained files (stderr lines: $(g bridge-fast_stderr_lines))" \
    "cache files written (default instance):" "$(g bridge-fast_cache_files)" \
    "floor: an entry's three files, C, same disk:" "$(g floor_cpu_us_per_entry) µs CPU per entry ($(g floor_wall_us_per_entry) µs wall; bench/store_floor.c)" \
    "WARN/ERROR lines on stderr:" "$(g bridge-fast_warnings) (non-stream), $(g bridge-slow_warnings) (streams)"
  echo
  echo "Targets"
  printf '%s\n' "${CHECK_LINES[@]}"
} | tee "$RESULTS_DIR/latest.txt"

if ((${#FAILED_CHECKS[@]} > 0)); then
  log "${#FAILED_CHECKS[@]} target(s) missed: ${FAILED_CHECKS[*]}"
fi
