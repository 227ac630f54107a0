#!/usr/bin/env bash
# End-to-end test of the operator on a throw-away kind cluster.
#
# NEEDS A MACHINE WITH DOCKER and `kind` on the PATH. It cannot run on the development
# machines of this project nor in its CI: they reach only the package registries (no
# Docker engine, no container images, no kube-apiserver). `make test` covers the same
# ground offline (pure reconcile tests, tower-test API scenarios, chart checks); this
# script is the check against a real API server, kubelet and scheduler.
#
# What it does:
#   1. creates a kind cluster ($CLUSTER, default hermes-e2e);
#   2. builds the operator and runtime images (operator/Dockerfile, runtime/Dockerfile)
#      and loads them into the cluster's nodes;
#   3. installs charts/hermes-operator (CRD, RBAC, operator) and waits for the operator;
#   4. applies examples/hermesdeployment-minimal.yaml with its image set to the runtime
#      image just built, and waits for the HermesDeployment's Ready condition;
#   5. prints the status, the objects the operator made and the operator's log, checks
#      that the pods carry the memory limit the status reports, and POSTs /embed_text
#      through the operator-made Service (port-forward to $LOCAL_PORT, default 18080);
#   6. deletes the cluster (KEEP_CLUSTER=1 keeps it for a look around).
#
# Usage: e2e/kind.sh            environment: CLUSTER, KEEP_CLUSTER, READY_TIMEOUT (10m),
#                               SKIP_BUILD=1 (reuse hermes-{operator,runtime}:e2e images)
# helm and kubectl come from $HERMES_TOOLS_DIR/bin (`make tools`) when there, else the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-hermes-e2e}
KEEP_CLUSTER=${KEEP_CLUSTER:-0}
READY_TIMEOUT=${READY_TIMEOUT:-10m}
SKIP_BUILD=${SKIP_BUILD:-0}
OPERATOR_IMAGE=hermes-operator:e2e
RUNTIME_IMAGE=hermes-runtime:e2e
OPERATOR_NS=hermes-system
APP_NS=hermes-e2e
EXAMPLE=examples/hermesdeployment-minimal.yaml
TOOLS_BIN=${HERMES_TOOLS_DIR:-$PWD/.tools}/bin
[ -d "$TOOLS_BIN" ] && PATH="$TOOLS_BIN:$PATH"

log() { echo "e2e: $*"; }
die() {
  echo "e2e: FAIL $*" >&2
  exit 1
}

for tool in docker kind kubectl helm curl; do
  command -v "$tool" > /dev/null || die "$tool not found (helm, kubectl: 'make tools'; kind: https://kind.sigs.k8s.io)"
done
docker info > /dev/null 2>&1 || die "no Docker engine reachable: this script needs one"
[ -f "$EXAMPLE" ] || die "$EXAMPLE missing"

KUBECTL=(kubectl --context "kind-$CLUSTER")
LOCAL_PORT=${LOCAL_PORT:-18080}
PORT_FORWARD_PID=

# On any exit: diagnostics when it failed, then the cluster goes unless KEEP_CLUSTER=1.
cleanup() {
  local rc=$?
  if [ -n "$PORT_FORWARD_PID" ]; then kill "$PORT_FORWARD_PID" 2> /dev/null || true; fi
  if [ "$rc" -ne 0 ] && kind get clusters 2> /dev/null | grep -qx "$CLUSTER"; then
    log "failed (exit $rc); diagnostics:"
    "${KUBECTL[@]}" get hermesdeployments,deployments,services,poddisruptionbudgets,pods -A -o wide || true
    "${KUBECTL[@]}" -n "$APP_NS" describe hermesdeployments || true
    "${KUBECTL[@]}" get events -A --sort-by=.lastTimestamp | tail -40 || true
    "${KUBECTL[@]}" -n "$OPERATOR_NS" logs deploy/hermes-operator --tail=200 || true
  fi
  if [ "$KEEP_CLUSTER" = 1 ]; then
    log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
  else
    log "deleting cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" > /dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT

log "1/6 creating kind cluster $CLUSTER"
if kind get clusters 2> /dev/null | grep -qx "$CLUSTER"; then
  die "cluster $CLUSTER already exists; delete it or set CLUSTER"
fi
kind create cluster --name "$CLUSTER" --wait 180s

log "2/6 building and loading images"
if [ "$SKIP_BUILD" != 1 ]; then
  docker build -f operator/Dockerfile -t "$OPERATOR_IMAGE" .
  docker build -f runtime/Dockerfile -t "$RUNTIME_IMAGE" .
fi
kind load docker-image --name "$CLUSTER" "$OPERATOR_IMAGE" "$RUNTIME_IMAGE"

log "3/6 installing charts/hermes-operator"
helm --kube-context "kind-$CLUSTER" install hermes-operator charts/hermes-operator \
  --namespace "$OPERATOR_NS" --create-namespace \
  --set image.repository="${OPERATOR_IMAGE%%:*}" --set image.tag="${OPERATOR_IMAGE##*:}" \
  --set image.pullPolicy=Never \
  --wait --timeout 5m
"${KUBECTL[@]}" wait crd/hermesdeployments.hermes.logos.dev --for=condition=Established --timeout=60s

log "4/6 applying $EXAMPLE with image $RUNTIME_IMAGE"
"${KUBECTL[@]}" create namespace "$APP_NS"
# The example names a published image; point spec.image (two-space indent under spec) at
# the one just loaded, and refuse to go on if the example's layout changed.
manifest=$(sed -E "s|^(  image:).*|\1 $RUNTIME_IMAGE|" "$EXAMPLE")
grep -q "^  image: $RUNTIME_IMAGE\$" <<< "$manifest" || die "could not set spec.image in $EXAMPLE"
name=$("${KUBECTL[@]}" -n "$APP_NS" apply -f - -o name <<< "$manifest")
log "applied $name in namespace $APP_NS; waiting up to $READY_TIMEOUT for Ready"
"${KUBECTL[@]}" -n "$APP_NS" wait "$name" --for=condition=Ready --timeout="$READY_TIMEOUT"

log "5/6 status"
"${KUBECTL[@]}" -n "$APP_NS" get "$name" -o wide
"${KUBECTL[@]}" -n "$APP_NS" get "$name" -o jsonpath='{.status}{"\n"}'
"${KUBECTL[@]}" -n "$APP_NS" get deployments,services,poddisruptionbudgets,pods -o wide
"${KUBECTL[@]}" -n "$APP_NS" get pods \
  -o jsonpath='{range .items[*]}{.metadata.name}: memory limit {.spec.containers[0].resources.limits.memory}{"\n"}{end}'
"${KUBECTL[@]}" -n "$OPERATOR_NS" logs deploy/hermes-operator --tail=30

# The pods got the memory limit the status reports.
want=$("${KUBECTL[@]}" -n "$APP_NS" get "$name" -o jsonpath='{.status.memory.limit}')
hd=${name#*/}
got=$("${KUBECTL[@]}" -n "$APP_NS" get deployment "$hd" -o jsonpath='{.spec.template.spec.containers[0].resources.limits.memory}')
if [ -z "$want" ] || [ "$want" != "$got" ]; then
  die "status memory limit '$want' but the Deployment has '$got'"
fi
log "memory limit $got, as the status says"

# The runtime answers through the Service the operator made (named like the resource).
"${KUBECTL[@]}" -n "$APP_NS" port-forward "service/$hd" "$LOCAL_PORT:8080" > /dev/null 2>&1 &
PORT_FORWARD_PID=$!
for _ in $(seq 1 30); do
  curl -sf "http://127.0.0.1:$LOCAL_PORT/readyz" > /dev/null && break
  sleep 1
done
curl -sf "http://127.0.0.1:$LOCAL_PORT/readyz" > /dev/null || die "/readyz not answering through service/$hd"
reply=$(curl -sf -X POST "http://127.0.0.1:$LOCAL_PORT/embed_text" \
  -H 'content-type: application/json' -d '{"text": "Hermes carries messages."}') \
  || die "POST /embed_text failed"
grep -q '"dimension": *384' <<< "$reply" || die "unexpected /embed_text reply: ${reply:0:200}"
log "POST /embed_text through service/$hd: 384-dimensional embedding"

log "6/6 passed: $name is Ready and serves"
