#!/usr/bin/env bash
# Working memory per capability (called by scripts/bench.sh, or on its own): for each
# built model, the release runtime serving only that model; resident KiB once ready,
# then the peak (VmHWM, reset through /proc/PID/clear_refs) while it answers the worst
# request it admits, one at a time:
#  - embedding: /embed_text with the longest text admitted (HERMES_MAX_TEXT_CHARS, 10,000);
#  - stt: /stt with 11 minutes of 8 kHz 8-bit noise: transcription reads audio in windows
#    of at most 5 minutes, so any audio past two windows has the same peak (a longer
#    file adds only its compressed upload, bounded by HERMES_STT_MAX_BYTES);
#  - tts: /tts with 4,990 characters as one sentence, then as many sentences;
#  - llm: /llm with a ~1,900-token prompt and max_tokens at the cap (2048), sampled.
# working = peak - ready: the figure `working_bytes` of interface/src/catalog.rs.
# Prints a table and writes bench/results/memory-<UTC time>.json.
#
# Knobs: BENCH_MEMORY_MODELS (default: the four built models), BENCH_MEMORY_BIN (a
# runtime built elsewhere), BENCH_MEMORY_PORT (default 18182).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
PORT=${BENCH_MEMORY_PORT:-18182}
MODELS=${BENCH_MEMORY_MODELS:-"all-minilm-l6-v2 whisper-tiny-en piper-en-us-joe-medium smollm2-135m-instruct"}
BASE=http://127.0.0.1:$PORT
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/memory-$STAMP.json
WORK=$(mktemp -d)

. scripts/bench-lib.sh
BIN=$(bench_runtime_bin "${BENCH_MEMORY_BIN:-}")
cleanup() { bench_stop; rm -rf "$WORK"; }
trap cleanup EXIT

# The worst inputs, written once.
python3 - "$WORK" <<'PY'
import json, random, struct, sys
work = sys.argv[1]
rng = random.Random(7)
words = "the quick brown fox jumps over a lazy dog while seven tired sailors sing about distant harbours and silver rain".split()
def text(chars, sep=" "):
    out = []
    n = 0
    while n < chars:
        w = rng.choice(words)
        out.append(w)
        n += len(w) + 1
    return sep.join(out)[:chars]
json.dump({"text": text(9_990)}, open(f"{work}/embed.json", "w"))
one = text(4989).rstrip() + "."
json.dump({"text": one}, open(f"{work}/tts-one-sentence.json", "w"))
sentences = ". ".join(text(60) for _ in range(80))[:4989] + "."
json.dump({"text": sentences}, open(f"{work}/tts-sentences.json", "w"))
json.dump({"prompt": "Summarise this: " + text(9_000), "max_tokens": 2048, "temperature": 1.0},
          open(f"{work}/llm.json", "w"))
rate, seconds = 8000, 660
data = bytes(128 + rng.randint(-3, 3) for _ in range(rate * seconds))
header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
    "<IHHIIHH", 16, 1, 1, rate, rate, 1, 8) + b"data" + struct.pack("<I", len(data))
open(f"{work}/stt.wav", "wb").write(header + data)
PY

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
printf '%-24s %-22s %10s %10s %10s %6s %8s\n' model input ready_MiB peak_MiB working_MiB status seconds
echo "[" > "$WORK/results.json"
first=1
measure() { # model label curl-args...
  local model=$1 label=$2
  shift 2
  local ready peak status start end
  ready=$(kib "$BENCH_PID" VmRSS)
  echo 5 > "/proc/$BENCH_PID/clear_refs"
  start=$(date +%s.%N)
  # PARALLEL requests at once (1 unless set); the status column lists each distinct one.
  status=$(seq "${PARALLEL:-1}" | xargs -P "${PARALLEL:-1}" -I{} \
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 900 "$@" | sort -u | paste -sd/ || true)
  end=$(date +%s.%N)
  peak=$(kib "$BENCH_PID" VmHWM)
  local working=$((peak - ready))
  printf '%-24s %-22s %10.1f %10.1f %10.1f %6s %8.1f\n' "$model" "$label" \
    "$(echo "$ready/1024" | bc -l)" "$(echo "$peak/1024" | bc -l)" "$(echo "$working/1024" | bc -l)" \
    "$status" "$(echo "$end - $start" | bc -l)"
  [ $first -eq 1 ] || echo "," >> "$WORK/results.json"
  first=0
  printf '{"model":"%s","input":"%s","ready_kib":%s,"peak_kib":%s,"working_kib":%s,"status":"%s"}' \
    "$model" "$label" "$ready" "$peak" "$working" "$status" >> "$WORK/results.json"
}
json() { echo -H content-type:application/json --data-binary "@$WORK/$1"; }

for model in $MODELS; do
  # The embedding cache off: repeated texts must be computed to be measured.
  bench_start bench-memory "$BIN" "$PORT" "$WORK" HERMES_MODELS="$model" HERMES_EMBEDDING_CACHE_BYTES=0 \
    HERMES_RATE_LIMIT_PER_MINUTE=0 HERMES_RATE_LIMIT_LLM_PER_MINUTE=0
  case $model in
    all-minilm-l6-v2)
      # shellcheck disable=SC2046
      measure "$model" "10,000 chars" -X POST "$BASE/embed_text" $(json embed.json)
      # A full batch: 16 at once fill two passes of 8 texts of 256 tokens (cache off).
      # shellcheck disable=SC2046
      PARALLEL=16 measure "$model" "16 x 10,000 chars" -X POST "$BASE/embed_text" $(json embed.json) ;;
    whisper-tiny-en)
      measure "$model" "660 s WAV" -X POST "$BASE/stt" -F "audio=@$WORK/stt.wav;type=audio/wav" ;;
    piper-en-us-joe-medium)
      # shellcheck disable=SC2046
      measure "$model" "4990 chars, 1 sentence" -X POST "$BASE/tts" $(json tts-one-sentence.json)
      # shellcheck disable=SC2046
      measure "$model" "4990 chars, sentences" -X POST "$BASE/tts" $(json tts-sentences.json) ;;
    smollm2-135m-instruct)
      # shellcheck disable=SC2046
      measure "$model" "1900-token prompt, 2048" -X POST "$BASE/llm" $(json llm.json) ;;
  esac
  bench_stop
done
echo "]" >> "$WORK/results.json"
mkdir -p "$OUT_DIR"
cp "$WORK/results.json" "$OUT"
echo "wrote $OUT"
