# Sourced by the bench scripts: one way to pick, start and stop the runtime they measure.

# bench_runtime_bin [BIN]: prints BIN when given (a runtime built elsewhere), else builds
# the release runtime and prints its path.
bench_runtime_bin() {
  if [ -n "${1:-}" ]; then
    echo "$1"
    return
  fi
  cargo build --release -q -p hermes-runtime >&2
  echo "${CARGO_TARGET_DIR:-$PWD/target}/release/hermes-runtime"
}

# bench_start NAME BIN PORT WORKDIR [VAR=value ...]: starts BIN on 127.0.0.1:PORT with the
# model dir, JSON logs to WORKDIR/server.log and the given variables; waits (120 s at most)
# for /readyz 200 and keeps its body in WORKDIR/readyz.json. Sets BENCH_PID; exits with
# the server's log when it dies or never gets ready.
bench_start() {
  local name=$1 bin=$2 port=$3 work=$4
  shift 4
  env HERMES_HOST=127.0.0.1 HERMES_PORT="$port" HERMES_MODEL_DIR="${MODEL_DIR:-$PWD/models}" \
    HERMES_LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}" "$@" "$bin" > "$work/server.log" 2>&1 &
  BENCH_PID=$!
  local deadline=$(($(date +%s) + 120))
  until curl -sf -o "$work/readyz.json" "http://127.0.0.1:$port/readyz"; do
    if ! kill -0 "$BENCH_PID" 2> /dev/null; then
      echo "$name: hermes-runtime exited before ready:" >&2
      cat "$work/server.log" >&2
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$name: not ready within 120 s" >&2
      exit 1
    fi
    sleep 0.005
  done
}

# bench_stop: stops the runtime bench_start started (no-op when none runs).
bench_stop() {
  if [ -n "${BENCH_PID:-}" ]; then
    kill "$BENCH_PID" 2> /dev/null || true
    wait "$BENCH_PID" 2> /dev/null || true
    BENCH_PID=
  fi
}

# bench_rss_kb: resident KiB of the runtime bench_start started.
bench_rss_kb() {
  awk '/^VmRSS:/ {print $2}' "/proc/$BENCH_PID/status"
}
