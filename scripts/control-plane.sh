#!/usr/bin/env bash
# Builds the Kubernetes control plane the operator's integration tests start (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler in one binary, see
# tests/controlplane/main.go) from the k8s.io/kubernetes Go module, once per release,
# into $HERMES_CACHE/control-plane/<version>/ (default ~/.cache/hermes). Go's own
# build and module caches live there too. Idempotent: a build whose stamp matches
# the release and main.go is reused. It also builds a Prometheus with Kubernetes service
# discovery (the Debian package has none) from the github.com/prometheus/prometheus module.
#   scripts/control-plane.sh            # the default release; links it as control-plane/bin/hermes-control-plane
#   scripts/control-plane.sh 1.34.4     # another release (printed path; the tests take HERMES_CONTROL_PLANE=path)
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS_MODULE_VERSION=v0.316.0 # Prometheus 3.16
DEFAULT_VERSION=1.37.2 # newest served release; 1.34.4 is the oldest tested (docs/control-plane-tests.md)
VERSION=${1:-${HERMES_K8S_VERSION:-$DEFAULT_VERSION}}
CACHE=${HERMES_CACHE:-$HOME/.cache/hermes}
ROOT="$CACHE/control-plane"
DIR="$ROOT/v$VERSION"
BIN="$DIR/hermes-control-plane"
export GOCACHE="$CACHE/go-build" GOMODCACHE="$CACHE/go-mod" GOFLAGS=-mod=mod GOTOOLCHAIN=local

command -v go > /dev/null || { echo "control-plane: go is not installed (Go >= 1.26 needed)" >&2; exit 1; }
WANT="$VERSION $(sha256sum tests/controlplane/main.go | cut -c1-16)"
if [ -x "$BIN" ] && [ "$(cat "$DIR/stamp" 2> /dev/null)" = "$WANT" ]; then
  echo "control-plane: v$VERSION up to date ($BIN)"
else
  MINOR=${VERSION#*.}
  STAGING="v0.$MINOR" # k8s.io/kubernetes v1.X.Y ships its staging modules as k8s.io/* v0.X.Y
  SRC="$DIR/src"
  rm -rf "$SRC"
  mkdir -p "$SRC"
  cp tests/controlplane/main.go "$SRC/"
  echo "control-plane: building kube-apiserver, kube-controller-manager, kube-scheduler and etcd v$VERSION (cold: ~25 min on 2 cores)"
  START=$(date +%s)
  (
    cd "$SRC"
    go mod init hermes.local/controlplane > /dev/null 2>&1
    go mod edit -require "k8s.io/kubernetes@v$VERSION"
    go mod download -json "k8s.io/kubernetes@v$VERSION" > kubernetes.json
    K8S_MOD=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["GoMod"])' kubernetes.json)
    # The staging modules k8s.io/kubernetes requires at v0.0.0 (it replaces them with local paths,
    # which a dependent module does not see): point each at its published release.
    for module in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$K8S_MOD"); do
      go mod edit -replace "$module=$module@$STAGING"
    done
    go mod edit -go "$(awk '$1 == "go" { print $2; exit }' "$K8S_MOD")"
    go mod tidy
    pkg=k8s.io/component-base/version
    go build -trimpath -o "$BIN.tmp" -ldflags "-s -w -X $pkg.gitVersion=v$VERSION -X $pkg.gitMajor=1 \
      -X $pkg.gitMinor=${MINOR%%.*} -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" .
  )
  mv "$BIN.tmp" "$BIN"
  echo "$(($(date +%s) - START))" > "$DIR/build-seconds"
  echo "$WANT" > "$DIR/stamp"
  echo "control-plane: built v$VERSION in $(cat "$DIR/build-seconds")s: $BIN"
fi
if [ "$VERSION" = "$DEFAULT_VERSION" ]; then
  mkdir -p "$ROOT/bin"
  ln -sfn "$BIN" "$ROOT/bin/hermes-control-plane"
fi

PROM_DIR="$ROOT/prometheus/$PROMETHEUS_MODULE_VERSION"
if [ -x "$PROM_DIR/prometheus" ]; then
  echo "control-plane: prometheus $PROMETHEUS_MODULE_VERSION up to date"
else
  echo "control-plane: building prometheus $PROMETHEUS_MODULE_VERSION (kubernetes_sd_configs; cold: ~10 min on 2 cores)"
  START=$(date +%s)
  GOBIN="$PROM_DIR" go install -trimpath -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION"
  echo "$(($(date +%s) - START))" > "$PROM_DIR/build-seconds"
  echo "control-plane: built prometheus in $(cat "$PROM_DIR/build-seconds")s"
fi
mkdir -p "$ROOT/bin"
ln -sfn "$PROM_DIR/prometheus" "$ROOT/bin/prometheus"
# The Go build and module caches take ~11 GB after these builds; only the binaries are
# needed, so they go unless HERMES_KEEP_GO_CACHES=1 (faster rebuilds of other releases).
if [ "${HERMES_KEEP_GO_CACHES:-0}" != 1 ] && { [ -d "$GOCACHE" ] || [ -d "$GOMODCACHE" ]; }; then
  go clean -cache -modcache 2> /dev/null || true
fi
echo "$BIN"
