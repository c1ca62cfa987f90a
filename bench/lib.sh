# What bench/cache.sh and bench/redis.sh share: their log line, the clean-up
# of what they started, and starting a program that says where it listens.
# Source it after setting BENCH_NAME (the log's tag) and WORK (the temp
# folder); it sets PIDS and installs the clean-up on exit.

PIDS=()

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME CMD...: a program that prints "... listening on http://ADDR..."
# as its first line; sets ADDR and PID.
start() {
  local name=$1 i
  shift
  : >"$WORK/$name.out"
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  for ((i = 0; i < 200; i++)); do
    ADDR=$(sed -n 's|.*listening on http://\([^/]*\).*|\1|p' "$WORK/$name.out" | head -n1)
    [[ -n "$ADDR" ]] && return 0
    sleep 0.05
  done
  log "$name did not start:"; cat "$WORK/$name.err" >&2; exit 1
}
