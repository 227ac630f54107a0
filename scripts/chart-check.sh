#!/usr/bin/env bash
# The Helm chart and example checks of `make test` (tools from `make tools`). Prints each
# check; exits non-zero when any fails. Offline: no cluster needed.
#   1. the CRD exists in crds/ and the chart's copy in charts/hermes-operator/crds/ is identical;
#   2. `helm lint --strict` with the default values and each charts/hermes-operator/ci/*-values.yaml;
#      values.schema.json rejects a misspelt value;
#   3. `helm template --include-crds` of each of those, through `kubernetes-validate --strict`
#      against Kubernetes 1.35 (an object of a kind it has no schema for fails too), after
#      proving the validator rejects a broken Deployment; the Prometheus Operator kinds it
#      has no schema for (PodMonitor, ServiceMonitor, PrometheusRule) go to
#      scripts/check_monitoring.py instead: structural schemas, `promtool check rules`,
#      the dashboard's PromQL, metric names the runtime and operator export, the label
#      contract; and `promtool test rules` of scripts/promtool/slo-rules.test.yaml against
#      the rules rendered with their defaults;
#   4. the rendered chart's policy (scripts/check_rendered_chart.py): the kinds the values
#      switch on, hardened pod, least-privilege RBAC equal to the operator's declaration,
#      flags and env names that `hermes-operator run` has;
#   5. every examples/*.yaml against the CRD's openAPIV3Schema, and mutations that must
#      fail do fail (scripts/validate_examples.py);
#   6. `helm package` works and the package carries the CRD.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR=${HERMES_TOOLS_DIR:-$PWD/.tools}
HELM="$TOOLS_DIR/bin/helm"
VENV=${HERMES_VENV:-$PWD/.venv}
PY="$VENV/bin/python"
VALIDATE="$VENV/bin/kubernetes-validate"
K8S_VERSION=1.35.0
CHART=charts/hermes-operator
CRD=crds/hermes.logos.dev_hermesdeployments.yaml
CHART_CRD="$CHART/crds/$(basename "$CRD")"
RBAC_SOURCE=operator/src/lib.rs
CLI_SOURCE=operator/src/main.rs
PROMTOOL=${HERMES_PROMTOOL:-promtool}
RULES_TEST=scripts/promtool/slo-rules.test.yaml
# Where the metric names and the Prometheus labels the rules and the dashboard use are defined.
METRICS_SOURCES=(interface/src/metrics.rs operator/src/metrics.rs operator/src/slo_metrics.rs)
LABEL_SOURCES=(interface/src/metrics.rs interface/src/probes.rs operator/src/analysis/promql.rs operator/src/build/labels.rs)

failures=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

pass() { echo "chart-check: ok   $*"; }
fail() {
  echo "chart-check: FAIL $*" >&2
  failures=$((failures + 1))
}

for tool in "$HELM" "$PY" "$VALIDATE"; do
  [ -x "$tool" ] || { echo "chart-check: FAIL $tool missing; run 'make tools'" >&2; exit 1; }
done
command -v "$PROMTOOL" > /dev/null \
  || { echo "chart-check: FAIL promtool missing (Debian package prometheus); run 'make tools'" >&2; exit 1; }

# 1. The CRD and the chart's copy of it.
if [ ! -f "$CRD" ]; then
  fail "$CRD missing: generate it with 'make crds' (hermes-operator crd)"
elif [ ! -f "$CHART_CRD" ]; then
  fail "$CHART_CRD missing: cp $CRD $CHART_CRD"
elif ! cmp -s "$CRD" "$CHART_CRD"; then
  diff -u "$CRD" "$CHART_CRD" | head -20 >&2 || true
  fail "$CHART_CRD differs from $CRD: cp $CRD $CHART_CRD"
else
  pass "$CHART_CRD is identical to $CRD"
fi

# 2. Lint, for the default values and each CI variant.
variants=("")
for f in "$CHART"/ci/*-values.yaml; do variants+=("$f"); done
for values in "${variants[@]}"; do
  label=${values:-default values}
  args=()
  [ -n "$values" ] && args=(-f "$values")
  if "$HELM" lint --strict "$CHART" "${args[@]}" > "$WORK/lint.out" 2>&1; then
    pass "helm lint --strict ($label)"
  else
    cat "$WORK/lint.out" >&2
    fail "helm lint --strict ($label)"
  fi
done
if "$HELM" template t "$CHART" --set metrics.prot=9090 > /dev/null 2>&1; then
  fail "values.schema.json accepted the misspelt value metrics.prot"
else
  pass "values.schema.json rejects a misspelt value (metrics.prot)"
fi

# 3. Render and validate against the Kubernetes schemas. kubernetes-validate only warns
# (exit 0) for a kind it has no schema for, so every line must be an INFO pass.
validate_k8s() { # FILE LABEL
  local out="$WORK/validate.out"
  if "$VALIDATE" --strict -k "$K8S_VERSION" "$1" > "$out" 2>&1 && ! grep -qv '^INFO .* passed ' "$out"; then
    pass "kubernetes-validate --strict -k $K8S_VERSION ($2): $(grep -c '^INFO' "$out") objects"
  else
    cat "$out" >&2
    fail "kubernetes-validate --strict -k $K8S_VERSION ($2)"
  fi
}
cat > "$WORK/broken.yaml" << 'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: 1
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers: [{name: c, image: x, livenessProbe: {httpGet: {path: /healthz}}, imagePullPolcy: Always}]
EOF
if "$VALIDATE" --strict -k "$K8S_VERSION" "$WORK/broken.yaml" > /dev/null 2>&1; then
  fail "kubernetes-validate accepted a Deployment with an unknown field and a probe without port"
else
  pass "kubernetes-validate rejects a broken Deployment (so its passes mean something)"
fi
for values in "${variants[@]}"; do
  label=${values:-default values}
  args=()
  [ -n "$values" ] && args=(-f "$values")
  rendered="$WORK/rendered.yaml"
  if ! "$HELM" template hermes-operator "$CHART" --namespace hermes-system --include-crds \
    "${args[@]}" > "$rendered" 2> "$WORK/template.err"; then
    cat "$WORK/template.err" >&2
    fail "helm template ($label)"
    continue
  fi
  # The Prometheus Operator kinds are checked by check_monitoring.py; the rest by kubernetes-validate.
  monitoring_args=(--rendered "$rendered" --native-out "$WORK/native.yaml" --promtool "$PROMTOOL")
  for src in "${METRICS_SOURCES[@]}"; do monitoring_args+=(--metrics-source "$src"); done
  for src in "${LABEL_SOURCES[@]}"; do monitoring_args+=(--label-source "$src"); done
  if "$PY" scripts/check_monitoring.py "${monitoring_args[@]}" > "$WORK/monitoring.out" 2>&1; then
    pass "monitoring objects ($label): $(sed 's/^ok *//' "$WORK/monitoring.out")"
  else
    cat "$WORK/monitoring.out" >&2
    fail "monitoring objects ($label)"
  fi
  validate_k8s "$WORK/native.yaml" "$label"
  # 4. Policy of what was rendered (without the CRD).
  "$HELM" template hermes-operator "$CHART" --namespace hermes-system "${args[@]}" > "$rendered"
  # The kinds follow the values' flags; a variant may also name them in a
  # `# expect-kinds: A,B` line (checked too).
  kind_args=(--chart-values "$CHART/values.yaml")
  [ -n "$values" ] && kind_args+=(--values "$values")
  if [ -n "$values" ] && grep -q '^# expect-kinds: ' "$values"; then
    kind_args+=(--expect-kinds "$(sed -n 's/^# expect-kinds: *//p' "$values")")
  fi
  rbac_args=()
  if grep -q '^kind: ClusterRole$' "$rendered"; then
    if [ -f "$RBAC_SOURCE" ]; then
      rbac_args=(--rbac "$RBAC_SOURCE")
    else
      fail "$RBAC_SOURCE missing: the chart's RBAC cannot be compared with the operator's"
    fi
  fi
  if "$PY" scripts/check_rendered_chart.py "${kind_args[@]}" "${rbac_args[@]}" \
    --cli "$CLI_SOURCE" < "$rendered" \
    > "$WORK/policy.out" 2>&1; then
    pass "policy ($label): $(sed 's/^ok *//' "$WORK/policy.out")"
  else
    cat "$WORK/policy.out" >&2
    fail "policy ($label)"
  fi
done

# The alerts' behaviour: promtool's unit test against the rules as rendered by default.
rules_values="monitoring.prometheusRule.enabled=true"
if "$HELM" template hermes-operator "$CHART" --namespace hermes-system --set "$rules_values" \
  > "$WORK/rules.yaml" 2> "$WORK/template.err" \
  && "$PY" scripts/check_monitoring.py --rendered "$WORK/rules.yaml" --native-out /dev/null \
    --promtool "$PROMTOOL" --rules-test "$RULES_TEST" > "$WORK/rules.out" 2>&1; then
  pass "PrometheusRule ($rules_values): $(sed 's/^ok *//' "$WORK/rules.out")"
else
  cat "$WORK/template.err" "$WORK/rules.out" >&2 2> /dev/null || true
  fail "promtool test rules $RULES_TEST"
fi
if "$HELM" template t "$CHART" --set monitoring.serviceMonitor.enabled=true \
  --set metrics.service.enabled=false > /dev/null 2>&1; then
  fail "the chart rendered a ServiceMonitor without the metrics Service it scrapes"
else
  pass "a ServiceMonitor without metrics.service.enabled is refused"
fi

# 5. Examples against the CRD schema.
shopt -s nullglob
examples=(examples/*.yaml examples/*.yml)
shopt -u nullglob
if [ ! -f "$CRD" ]; then
  fail "examples not validated: $CRD missing"
elif [ ${#examples[@]} -eq 0 ]; then
  fail "no examples/*.yaml to validate"
elif "$PY" scripts/validate_examples.py "$CRD" "${examples[@]}" > "$WORK/examples.out" 2>&1; then
  sed 's/^/chart-check:      /' "$WORK/examples.out"
  pass "${#examples[@]} example file(s) valid against the CRD schema; bad variants rejected"
else
  sed 's/^/chart-check:      /' "$WORK/examples.out" >&2
  fail "examples against the CRD schema"
fi

# 6. Packaging: crds/ must be real files inside the package.
if "$HELM" package "$CHART" -d "$WORK/pkg" > /dev/null 2>&1 \
  && tar -tzf "$WORK"/pkg/hermes-operator-*.tgz | grep -x "hermes-operator/crds/$(basename "$CRD")" > /dev/null; then
  pass "helm package carries $(basename "$CHART_CRD")"
else
  fail "helm package, or the CRD missing from the package"
fi

if [ "$failures" -ne 0 ]; then
  echo "chart-check: $failures check(s) FAILED" >&2
  exit 1
fi
echo "chart-check: all checks passed"
