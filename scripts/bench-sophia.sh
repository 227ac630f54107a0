#!/usr/bin/env bash
# `make bench` (via scripts/bench.sh), Sophia outage: does /llm wait on Sophia? Each /llm
# answer queues a proposal for Sophia in the durable outbox; the answer must not wait for
# its delivery. /llm latency (echo provider, BENCH_SOPHIA_RPS requests/s, default 300, from
# 8 keep-alive connections, BENCH_SOPHIA_SECONDS per phase, default 10) with Sophia up, then
# down in two ways: gone (connections refused) and hanging (accepts connections, never
# answers: deliveries wait for their timeout). A steady rate rather than saturation: the
# question is whether the outage reaches the callers. Prints p50/p99 per phase and the
# ratio to the up phase (the issue's bar: p99 within 20 %), then brings Sophia back and
# waits for every proposal to arrive (stored once each).
# Writes bench/results/sophia-<UTC time>.json. Knobs: BENCH_SOPHIA_SECONDS, BENCH_SOPHIA_RPS,
# BENCH_SOPHIA_PORT (default 18182; Sophia on the next port), BENCH_SOPHIA_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
SECONDS_PER_PHASE=${BENCH_SOPHIA_SECONDS:-10}
RPS=${BENCH_SOPHIA_RPS:-300}
PORT=${BENCH_SOPHIA_PORT:-18182}
SOPHIA_PORT=$((PORT + 1))
BASE=http://127.0.0.1:$PORT
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/sophia-$STAMP.json
WORK=$(mktemp -d)
SOPHIA_PID=

. scripts/bench-lib.sh
BIN=$(bench_runtime_bin "${BENCH_SOPHIA_BIN:-}")
sophia_stop() {
  if [ -n "$SOPHIA_PID" ]; then kill "$SOPHIA_PID" 2> /dev/null || true; wait "$SOPHIA_PID" 2> /dev/null || true; fi
  SOPHIA_PID=
}
sophia_start() { # [--hang]
  python3 scripts/sophia_stub.py "$SOPHIA_PORT" --state "$WORK/sophia-keys" "$@" &
  SOPHIA_PID=$!
  for _ in $(seq 100); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$SOPHIA_PORT") 2> /dev/null; then return; fi
    sleep 0.05
  done
  echo "bench-sophia: the Sophia stub did not start" >&2; exit 1
}
cleanup() { bench_stop; sophia_stop; rm -rf "$WORK"; }
trap cleanup EXIT

sophia_start
bench_start bench-sophia "$BIN" "$PORT" "$WORK" HERMES_MODELS=all-minilm-l6-v2 \
  HERMES_LLM_PROVIDER=echo HERMES_OUTBOX_DIR="$WORK/outbox" \
  SOPHIA_URL="http://127.0.0.1:$SOPHIA_PORT" SOPHIA_API_TOKEN=bench-token

phase() { # name seconds
  python3 scripts/bench_llm_load.py "$BASE" "$RPS" "$2" 8 > "$WORK/$1.json"
  echo "bench-sophia: phase $1: $(cat "$WORK/$1.json")"
}
phase warmup 2
phase up "$SECONDS_PER_PHASE"
sophia_stop
phase refused "$SECONDS_PER_PHASE"
sophia_start --hang
phase hanging "$SECONDS_PER_PHASE"
sophia_stop
sophia_start

# Every answered /llm has its proposal: wait (bounded) until Sophia holds them all.
expected=$(python3 -c 'import json,sys; print(sum(json.load(open(f"{sys.argv[1]}/{p}.json"))["requests"] for p in ("warmup","up","refused","hanging")))' "$WORK")
DEADLINE=$(($(date +%s) + 300))
START_DRAIN=$(date +%s.%N)
while :; do
  curl -sf "http://127.0.0.1:$SOPHIA_PORT/stats" > "$WORK/stats.json" || true
  stored=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("stored", 0))' "$WORK/stats.json" 2> /dev/null || echo 0)
  [ "$stored" -ge "$expected" ] && break
  if [ "$(date +%s)" -ge "$DEADLINE" ]; then echo "bench-sophia: only $stored of $expected proposals arrived in 300 s" >&2; break; fi
  sleep 0.5
done
DRAIN_SECONDS=$(python3 -c "import time; print(round(time.time() - $START_DRAIN, 1))")

mkdir -p "$OUT_DIR"
python3 - "$WORK" "$OUT" "$SECONDS_PER_PHASE" "$DRAIN_SECONDS" "$RPS" <<'PY'
import json, os, sys
work, out, seconds, drain, rps = sys.argv[1:]
phases = {p: json.load(open(f"{work}/{p}.json")) for p in ("up", "refused", "hanging")}
stats = json.load(open(f"{work}/stats.json"))
up = phases["up"]
result = {
    "benchmark": "/llm (echo provider) latency while Sophia is down",
    "utc": os.path.basename(out)[len("sophia-"):-len(".json")],
    "load_generator": f"scripts/bench_llm_load.py, {rps} requests/s over 8 keep-alive connections, {seconds} s per phase",
    "phases": phases,
    "p99_ratio_to_up": {p: round(v["p99_ms"] / up["p99_ms"], 2) for p, v in phases.items()},
    "proposals": {"stored": stats.get("stored"), "posts": stats.get("posts"),
                  "answered_requests": sum(v["requests"] for v in phases.values())
                  + json.load(open(f"{work}/warmup.json"))["requests"],
                  "seconds_to_drain_after_sophia_returned": float(drain)},
}
json.dump(result, open(out, "w"), indent=2)
print(f"\n/llm with Sophia up / gone / hanging (echo provider, {rps} requests/s, 8 connections, {seconds} s each)")
print(f"{'sophia':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99 ratio':>9} {'non-2xx':>8}")
for p, v in phases.items():
    print(f"{p:>8} {v['rps']:>9.1f} {v['p50_ms']:>8.2f} {v['p99_ms']:>8.2f} {result['p99_ratio_to_up'][p]:>9.2f} {v['non_2xx']:>8}")
pr = result["proposals"]
print(f"proposals: {pr['stored']} stored ({pr['posts']} POSTs) for {pr['answered_requests']} answers; "
      f"all in {pr['seconds_to_drain_after_sophia_returned']} s after Sophia returned")
print(f"written: {out}")
PY
