#!/usr/bin/env bash
# `make bench` (LLM part): decode speed of the runtime's `local` provider
# (SmolLM2-135M-Instruct Q4_1, candle, release build, streamed over HTTP) and, in
# the same run, of llama.cpp on the same GGUF through llama-cpp-python (in
# process, no HTTP), same conversations, greedy, same max_tokens; prints both
# and the ratio, and writes bench/results/llm-<UTC time>.json.
#
# The peer lives in its own venv (.venv-bench, bench only). PyPI ships
# llama-cpp-python as source: the first install compiles llama.cpp (about
# 5-10 minutes on 2 cores). BENCH_LLM_PEER=0 skips the peer. BENCH_PORT moves
# the runtime (default 18181).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
PORT=${BENCH_PORT:-18181}
BASE=http://127.0.0.1:$PORT
LLM_ID=smollm2-135m-instruct
GGUF=$(ls "$MODEL_DIR/$LLM_ID"/*.gguf)
THREADS=$(nproc)
PEER_VENV=${HERMES_BENCH_VENV:-$PWD/.venv-bench}
PEER_PKG=llama-cpp-python==0.3.36
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/llm-$STAMP.json
WORK=$(mktemp -d)

. scripts/bench-lib.sh
BIN=$(bench_runtime_bin)
cleanup() { bench_stop; rm -rf "$WORK"; }
trap cleanup EXIT
bench_start bench-llm "$BIN" "$PORT" "$WORK" HERMES_MODELS="$LLM_ID"

RSS_KB=$(bench_rss_kb)
echo "bench-llm: hermes local provider ($THREADS cores)"
python3 scripts/bench_llm.py hermes "$BASE" > "$WORK/hermes.json"
bench_stop

echo '{}' > "$WORK/peer.json"
if [ "${BENCH_LLM_PEER:-1}" != 0 ]; then
  if [ ! -x "$PEER_VENV/bin/python" ]; then python3 -m venv "$PEER_VENV"; fi
  if ! "$PEER_VENV/bin/python" -c 'import llama_cpp' 2> /dev/null; then
    echo "bench-llm: installing $PEER_PKG into $PEER_VENV (compiles llama.cpp: minutes)"
    CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL=$THREADS \
      "$PEER_VENV/bin/pip" install --quiet "$PEER_PKG" \
      || echo "bench-llm: $PEER_PKG did not install; reporting without a peer" >&2
  fi
  if "$PEER_VENV/bin/python" -c 'import llama_cpp' 2> /dev/null; then
    echo "bench-llm: llama.cpp (llama-cpp-python) on the same GGUF"
    "$PEER_VENV/bin/python" scripts/bench_llm.py llamacpp "$GGUF" "$THREADS" > "$WORK/peer.json"
  fi
fi

mkdir -p "$OUT_DIR"
python3 - "$WORK/hermes.json" "$WORK/peer.json" "$OUT" "$GGUF" "$WORK/readyz.json" "$RSS_KB" <<'PY'
import json, os, platform, sys
hermes, peer, out, gguf = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
model = json.load(open(sys.argv[5]))["models"][0]
hermes["load_seconds"] = model["load_seconds"]
hermes["model_resident_bytes"] = model["resident_bytes"]
hermes["process_rss_bytes"] = int(sys.argv[6]) * 1024
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
result = {
    "benchmark": "LLM decode speed: hermes local provider vs llama.cpp",
    "utc": os.path.basename(out)[len("llm-"):-len(".json")],
    "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
    "model": os.path.basename(gguf),
    "settings": "greedy, max_tokens 128, system 'You are a helpful assistant.', 3 prompts after one short warm-up generation",
    "hermes": hermes,
    "llama_cpp": peer or None,
}
if peer:
    result["ratio_decode"] = hermes["decode_tokens_per_second"] / peer["decode_tokens_per_second"]
    result["ratio_end_to_end"] = hermes["end_to_end_tokens_per_second"] / peer["end_to_end_tokens_per_second"]
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
print(f"\nLLM decode speed ({result['machine']['cores']} cores, {cpu}), {result['model']}, greedy, 128 tokens max")
print(f"{'engine':<34} {'decode tok/s':>12} {'end-to-end tok/s':>17} {'first token s':>14} {'tokens':>7}")
rows = [("hermes local (candle, HTTP stream)", hermes)]
if peer:
    rows.append((f"llama.cpp (llama-cpp-python {peer['version']})", peer))
for name, r in rows:
    print(f"{name:<34} {r['decode_tokens_per_second']:>12.1f} {r['end_to_end_tokens_per_second']:>17.1f} "
          f"{r['mean_first_token_seconds']:>14.3f} {r['completion_tokens']:>7}")
print(f"hermes: load + warm-up {hermes['load_seconds']:.2f} s, model +{hermes['model_resident_bytes'] / 2**20:.0f} MiB, "
      f"process RSS {hermes['process_rss_bytes'] / 2**20:.0f} MiB"
      + (f"; llama.cpp load {peer['load_seconds']:.2f} s" if peer else ""))
if peer:
    print(f"\nratio hermes / llama.cpp: decode {result['ratio_decode']:.2f}, end-to-end {result['ratio_end_to_end']:.2f}")
else:
    print("\nno peer measured")
print(f"written: {out}")
PY
