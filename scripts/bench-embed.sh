#!/usr/bin/env bash
# `make bench` (embeddings): /embed_text of this runtime against the Python service it
# replaces, and the raw ONNX Runtime ceiling, in one run on this machine:
#  (a) hermes-runtime (release) with the embedding model only; no Milvus runs, so each
#      embedding is also appended (fsync'd) to a fresh outbox under the run's work dir,
#      as in production with Milvus down (the peer stores nothing); the embedding cache
#      is off (the load repeats 64 sentences: it would measure the cache, not the engine;
#      BENCH_RUNTIME_ENV=HERMES_EMBEDDING_CACHE_BYTES=33554432 turns it back on); the
#      per-client rate limit is off (wrk is one client);
#  (b) the Python peer built the way the earlier service was (scripts/bench_embed_peer.py:
#      FastAPI, async handler calling SentenceTransformer.encode, one uvicorn worker,
#      torch with 2 threads, the same weights);
#  (c) Python onnxruntime on the project's graph (model.onnx), 2 intra-op threads, no
#      HTTP, batch 1/8/32 (scripts/bench_embed_ort.py).
# (a) and (b) run alone, one after the other, under the same wrk load (one thread,
# keep-alive, the 64 sentences of bench/sentences64.txt, 5-30 words) at each
# concurrency: throughput, p50/p95/p99 and their ratios, RSS after the load, seconds
# from start to ready. Prints a table; writes bench/results/embed-<UTC time>.json.
#
# The peer's packages (torch, sentence-transformers, FastAPI, uvicorn, onnxruntime) go
# into a bench-only venv (BENCH_EMBED_VENV, default ~/.cache/hermes/venv-bench-embed),
# never into the project venv or `make test`. PyPI has only the CUDA build of torch for
# Linux, so that build (with its CUDA packages, ~4 GB) is installed; it runs on the CPU.
#
# Knobs: BENCH_DURATION (seconds per level, default 20), BENCH_WARMUP (default 3),
# BENCH_CONCURRENCY (default "1 8 32 64"), BENCH_PORT (default 18190, the peer +1),
# BENCH_RUNTIME_BIN (a runtime built elsewhere), BENCH_RUNTIME_ENV (extra VAR=value
# words for the runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
LEVELS=${BENCH_CONCURRENCY:-"1 8 32 64"}
PORT=${BENCH_PORT:-18190}
PEER_PORT=$((PORT + 1))
SENTENCES=$PWD/bench/sentences64.txt
VENV=${BENCH_EMBED_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hermes/venv-bench-embed}
PEER_PKGS="torch==2.15.0 sentence-transformers==6.2.0 fastapi==0.163.2 uvicorn==0.54.0 onnxruntime==1.31.1 numpy==2.3.5"
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/embed-$STAMP.json
WORK=$(mktemp -d)
MINILM=$MODEL_DIR/all-minilm-l6-v2

if [ ! -f "$MINILM/model.onnx" ]; then
  echo "bench-embed: $MINILM/model.onnx missing; run \`make models\`" >&2
  exit 1
fi
if ! command -v wrk > /dev/null; then
  echo "bench-embed: installing wrk (apt)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk > /dev/null
fi
if [ "$(cat "$VENV/.bench-embed" 2> /dev/null)" != "$PEER_PKGS" ]; then
  echo "bench-embed: installing the Python peer into $VENV (torch: the CUDA build, the only one on PyPI)"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet $PEER_PKGS
  echo "$PEER_PKGS" > "$VENV/.bench-embed"
fi

. scripts/bench-lib.sh
BIN=$(bench_runtime_bin "${BENCH_RUNTIME_BIN:-}")
PEER_PID=
cleanup() {
  bench_stop
  if [ -n "$PEER_PID" ]; then kill "$PEER_PID" 2> /dev/null || true; wait "$PEER_PID" 2> /dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# load NAME URL: wrk at every level into $WORK/NAME-c<level>.json.
load() {
  local name=$1 url=$2 c
  for c in $LEVELS; do
    BENCH_SENTENCES=$SENTENCES wrk -t1 -c"$c" -d"${WARMUP}s" -s bench/post_json.lua "$url" > /dev/null
    BENCH_SENTENCES=$SENTENCES wrk -t1 -c"$c" -d"${DURATION}s" --timeout 30s -s bench/post_json.lua "$url" \
      | sed -n 's/^BENCH_JSON //p' > "$WORK/$name-c$c.json"
    echo "bench-embed: $name c=$c $(cat "$WORK/$name-c$c.json")"
  done
}

# (a) the runtime.
mkdir -p "$WORK/runtime"
START=$(date +%s.%N)
# shellcheck disable=SC2086
bench_start bench-embed "$BIN" "$PORT" "$WORK/runtime" HERMES_MODELS=all-minilm-l6-v2 \
  HERMES_OUTBOX_DIR="$WORK/runtime/outbox" HERMES_EMBEDDING_CACHE_BYTES=0 HERMES_RATE_LIMIT_PER_MINUTE=0 \
  ${BENCH_RUNTIME_ENV:-}
READY=$(date +%s.%N)
echo "runtime $START $READY $(bench_rss_kb)" > "$WORK/runtime.start"
load runtime "http://127.0.0.1:$PORT/embed_text"
echo "$(bench_rss_kb)" > "$WORK/runtime.rss"
bench_stop

# (b) the Python peer.
START=$(date +%s.%N)
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" scripts/bench_embed_peer.py "$MINILM" "$PEER_PORT" \
  > "$WORK/peer.log" 2>&1 &
PEER_PID=$!
deadline=$(($(date +%s) + 300))
until curl -sf -o /dev/null "http://127.0.0.1:$PEER_PORT/readyz"; do
  if ! kill -0 "$PEER_PID" 2> /dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
    echo "bench-embed: the Python peer did not get ready:" >&2
    cat "$WORK/peer.log" >&2
    exit 1
  fi
  sleep 0.05
done
READY=$(date +%s.%N)
echo "peer $START $READY $(awk '/^VmRSS:/ {print $2}' "/proc/$PEER_PID/status")" > "$WORK/peer.start"
load peer "http://127.0.0.1:$PEER_PORT/embed_text"
awk '/^VmRSS:/ {print $2}' "/proc/$PEER_PID/status" > "$WORK/peer.rss"
kill "$PEER_PID" && wait "$PEER_PID" 2> /dev/null || true
PEER_PID=

# (c) the raw ONNX Runtime ceiling.
echo "bench-embed: raw ONNX Runtime on model.onnx"
"$VENV/bin/python" scripts/bench_embed_ort.py "$MINILM" "$SENTENCES" 1 8 32 > "$WORK/ort.json"

mkdir -p "$OUT_DIR"
python3 scripts/bench_embed_report.py "$WORK" "$OUT" "$DURATION" "$LEVELS" "${BENCH_RUNTIME_ENV:-}"
