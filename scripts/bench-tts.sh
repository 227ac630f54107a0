#!/usr/bin/env bash
# Text-to-speech benchmark (called by scripts/bench.sh, or on its own):
#  - hermes: the release runtime serving only the Piper voice, POST /tts one request
#    at a time (HTTP, espeak-ng processes, ONNX Runtime, WAV encoding included);
#  - peer: the same voice files through `piper-tts` from PyPI (in-process Python,
#    its bundled espeak-ng, onnxruntime), installed for the bench only in its own venv;
#  both with the same ONNX Runtime intra-op threads, the same texts, the voice's
#  own inference settings. Real-time factor = seconds of audio per wall second.
# Also reports the voice's load time and resident bytes as /readyz measures them.
# Prints a table and the ratio; writes bench/results/tts-<UTC time>.json.
#
# Knobs: BENCH_TTS_THREADS (default 2), BENCH_TTS_ROUNDS (default 2), BENCH_TTS_BIN,
# BENCH_TTS_PORT (default 18181), BENCH_PEER_VENV (default ~/.cache/hermes/bench-piper-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
THREADS=${BENCH_TTS_THREADS:-2}
ROUNDS=${BENCH_TTS_ROUNDS:-2}
PORT=${BENCH_TTS_PORT:-18181}
PEER_VENV=${BENCH_PEER_VENV:-$HOME/.cache/hermes/bench-piper-venv}
PEER_PKGS="piper-tts==1.8.0 onnxruntime==1.31.1"
VOICE_ID=piper-en-us-joe-medium
VOICE_ONNX=$MODEL_DIR/$VOICE_ID/en_US-joe-medium.onnx
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/tts-$STAMP.json
WORK=$(mktemp -d)

[ -f "$VOICE_ONNX" ] || { echo "bench-tts: $VOICE_ONNX missing: run \`make models\`" >&2; exit 1; }
scripts/tools.sh espeak-ng > /dev/null

if ! "$PEER_VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("piper-tts") != "1.8.0")' 2> /dev/null; then
  echo "bench-tts: installing the peer ($PEER_PKGS) into $PEER_VENV"
  python3 -m venv "$PEER_VENV"
  # shellcheck disable=SC2086
  "$PEER_VENV/bin/pip" install --quiet $PEER_PKGS
fi

# BENCH_TTS_BIN: an already built runtime binary to measure instead of a fresh release build.
. scripts/bench-lib.sh
BIN=$(bench_runtime_bin "${BENCH_TTS_BIN:-}")
cleanup() { bench_stop; rm -rf "$WORK"; }
trap cleanup EXIT
bench_start bench-tts "$BIN" "$PORT" "$WORK" HERMES_MODELS="$VOICE_ID" HERMES_TTS_THREADS="$THREADS"

cat > "$WORK/texts.json" <<'EOF'
[
  "Hello, and welcome to Hermes.",
  "The quick brown fox jumps over the lazy dog, and then it runs back into the forest.",
  "Please call me back when you arrive at the station; I will wait for you near the main entrance.",
  "Speech synthesis turns written words into sound. Each sentence is spoken on its own, with a short pause after it. Longer paragraphs simply take longer.",
  "Can you tell me where the nearest library is? I would like to borrow a few books about the history of the city, its bridges and its old harbour.",
  "The weather today is sunny with a light breeze from the west. Tomorrow, clouds will move in from the sea, and rain is expected by the evening."
]
EOF

# The peer: same voice files, same intra-op threads, one warm-up, then the rounds.
cat > "$WORK/peer.py" <<'EOF'
import json, sys, time
import onnxruntime
from piper import PiperVoice
onnx_path, texts_path, threads, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
texts = json.load(open(texts_path))
voice = PiperVoice.load(onnx_path)
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
voice.session = onnxruntime.InferenceSession(onnx_path, sess_options=options, providers=["CPUExecutionProvider"])
rate = voice.config.sample_rate
def speak(text):
    return sum(len(chunk.audio_int16_array) for chunk in voice.synthesize(text)) / rate
speak(texts[0])
audio = wall = 0.0
for _ in range(rounds):
    for text in texts:
        start = time.perf_counter()
        audio += speak(text)
        wall += time.perf_counter() - start
print(json.dumps({"audio_seconds": audio, "wall_seconds": wall}))
EOF

# Hermes over HTTP, one request at a time, one warm-up first.
cat > "$WORK/hermes.py" <<'EOF'
import json, struct, sys, time, urllib.request
base, texts_path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = json.load(open(texts_path))
def speak(text):
    request = urllib.request.Request(base + "/tts", data=json.dumps({"text": text}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        wav = response.read()
    channels, rate = struct.unpack("<HI", wav[22:28])
    return (len(wav) - 44) / 2 / channels / rate
speak(texts[0])
audio = wall = 0.0
for _ in range(rounds):
    for text in texts:
        start = time.perf_counter()
        audio += speak(text)
        wall += time.perf_counter() - start
print(json.dumps({"audio_seconds": audio, "wall_seconds": wall}))
EOF

python3 "$WORK/hermes.py" "http://127.0.0.1:$PORT" "$WORK/texts.json" "$ROUNDS" > "$WORK/hermes.json"
RSS_KB=$(bench_rss_kb)
bench_stop
"$PEER_VENV/bin/python" "$WORK/peer.py" "$VOICE_ONNX" "$WORK/texts.json" "$THREADS" "$ROUNDS" > "$WORK/peer.json"

mkdir -p "$OUT_DIR"
python3 - "$WORK" "$OUT" "$THREADS" "$ROUNDS" "$RSS_KB" <<'EOF'
import json, os, platform, sys
work, out, threads, rounds, rss_kb = sys.argv[1:]
load = lambda name: json.load(open(os.path.join(work, name)))
hermes, peer, readyz = load("hermes.json"), load("peer.json"), load("readyz.json")
for r in (hermes, peer):
    r["rtf"] = r["audio_seconds"] / r["wall_seconds"]
model = next(m for m in readyz["models"] if m["id"] == "piper-en-us-joe-medium")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
result = {
    "benchmark": "hermes-runtime /tts vs piper-tts 1.8.0 (same voice)",
    "utc": os.path.basename(out)[len("tts-"):-len(".json")],
    "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
    "intra_op_threads": int(threads),
    "rounds": int(rounds),
    "voice": {"id": model["id"], "load_seconds": model["load_seconds"], "resident_bytes": model["resident_bytes"]},
    "rss_after_bench_bytes": int(rss_kb) * 1024,
    "hermes": hermes,
    "peer": peer,
    "ratio_hermes_over_peer": hermes["rtf"] / peer["rtf"],
}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
mib = 1024 * 1024
print(f"\ntext-to-speech, {model['id']}  ({result['machine']['cores']} cores, {cpu}, {threads} intra-op threads)")
print(f"voice load + warm-up: {model['load_seconds']:.3f} s, +{model['resident_bytes'] / mib:.1f} MiB resident")
print(f"{'':>22} {'audio s':>9} {'wall s':>9} {'RTF':>7}")
print(f"{'hermes /tts (HTTP)':>22} {hermes['audio_seconds']:>9.1f} {hermes['wall_seconds']:>9.2f} {hermes['rtf']:>7.2f}")
print(f"{'piper-tts (in-proc)':>22} {peer['audio_seconds']:>9.1f} {peer['wall_seconds']:>9.2f} {peer['rtf']:>7.2f}")
print(f"ratio hermes / piper-tts: {result['ratio_hermes_over_peer']:.2f}")
print(f"written: {out}")
EOF
