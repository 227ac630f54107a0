#!/usr/bin/env bash
# `make bench`: the runtime's baseline on this machine, against a release build.
#  - seconds from process start to /readyz 200, and process RSS once ready;
#  - /embed_text throughput and p50/p95/p99 latency at concurrency 1, 8 and 32
#    (wrk, one thread, keep-alive connections, a rotating set of everyday sentences).
# Prints a table and writes bench/results/runtime-<UTC time>.json.
#
# Knobs: BENCH_DURATION (seconds per level, default 20), BENCH_WARMUP (default 3),
# BENCH_CONCURRENCY (default "1 8 32"), BENCH_PORT (default 18180).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
LEVELS=${BENCH_CONCURRENCY:-"1 8 32"}
PORT=${BENCH_PORT:-18180}
BASE=http://127.0.0.1:$PORT
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/runtime-$STAMP.json
WORK=$(mktemp -d)

if ! command -v wrk > /dev/null; then
  echo "bench: installing wrk (apt)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk > /dev/null
fi

. scripts/bench-lib.sh
BIN=$(bench_runtime_bin)
cleanup() { bench_stop; rm -rf "$WORK"; }
trap cleanup EXIT

# Start to ready, measured from just before exec.
START=$(date +%s.%N)
# Rate limits and the cache off: the load repeats 64 sentences from one address.
bench_start bench "$BIN" "$PORT" "$WORK" HERMES_MODELS=all-minilm-l6-v2 HERMES_RATE_LIMIT_PER_MINUTE=0 HERMES_EMBEDDING_CACHE_BYTES=0
READY=$(date +%s.%N)
RSS_KB=$(bench_rss_kb)

for c in $LEVELS; do
  wrk -t1 -c"$c" -d"${WARMUP}s" -s bench/post_json.lua "$BASE/embed_text" > /dev/null
  wrk -t1 -c"$c" -d"${DURATION}s" --timeout 30s -s bench/post_json.lua "$BASE/embed_text" \
    | sed -n 's/^BENCH_JSON //p' > "$WORK/c$c.json"
done
RSS_AFTER_KB=$(bench_rss_kb)

mkdir -p "$OUT_DIR"
python3 - "$WORK" "$OUT" "$START" "$READY" "$RSS_KB" "$RSS_AFTER_KB" "$DURATION" "$LEVELS" <<'EOF'
import json, os, platform, subprocess, sys
work, out, start, ready, rss_kb, rss_after_kb, duration, levels = sys.argv[1:]
readyz = json.load(open(os.path.join(work, "readyz.json")))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
except OSError:
    rev = ""
rev = os.environ.get("BENCH_GIT_REV") or rev or "unknown"
result = {
    "benchmark": "hermes-runtime /embed_text",
    "utc": os.path.basename(out)[len("runtime-"):-len(".json")],
    "git": rev,
    "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
    "build": "release",
    "start_to_ready_seconds": round(float(ready) - float(start), 3),
    "rss_after_load_bytes": int(rss_kb) * 1024,
    "rss_after_bench_bytes": int(rss_after_kb) * 1024,
    "models": readyz["models"],
    "load_generator": "wrk 1 thread, keep-alive, 16 rotating sentences (8-40 tokens)",
    "seconds_per_level": float(duration),
    "embed_text": [],
}
for c in levels.split():
    level = json.load(open(os.path.join(work, f"c{c}.json")))
    result["embed_text"].append({"concurrency": int(c), **level})
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")

mib = 1024 * 1024
print(f"\nhermes-runtime /embed_text  ({result['machine']['cores']} cores, {cpu}, git {rev})")
print(f"start to ready: {result['start_to_ready_seconds']:.3f} s   RSS after load: {result['rss_after_load_bytes'] / mib:.1f} MiB")
for m in result["models"]:
    print(f"model {m['id']}: load {m['load_seconds']:.3f} s, +{m['resident_bytes'] / mib:.1f} MiB resident")
print()
print(f"{'concurrency':>11} {'req/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'non-2xx':>8} {'errors':>7}")
for r in result["embed_text"]:
    print(f"{r['concurrency']:>11} {r['rps']:>9.1f} {r['p50_ms']:>9.2f} {r['p95_ms']:>9.2f} {r['p99_ms']:>9.2f} {r['non_2xx']:>8} {r['socket_errors']:>7}")
print(f"\nwritten: {out}")
EOF

# The capability benches below start their own servers: stop the embedding server first.
cleanup; trap - EXIT
scripts/bench-embed.sh # /embed_text vs the Python service and the raw ONNX Runtime ceiling
scripts/bench-llm.sh   # LLM decode speed vs llama.cpp
scripts/bench-stt.sh   # speech-to-text real-time factor vs faster-whisper
scripts/bench-tts.sh   # text-to-speech real-time factor vs piper-tts
scripts/bench-sophia.sh # /llm latency with Sophia down vs up
scripts/bench-nlp.sh    # NLP pipeline words/s vs spaCy
scripts/bench-memory.sh # working memory per capability at its worst admitted input
