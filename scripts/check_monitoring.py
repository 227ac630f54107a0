#!/usr/bin/env python3
"""Checks the monitoring objects of a rendered hermes-operator chart, which
kubernetes-validate has no schema for. Reads `helm template` output (--rendered FILE).

- writes every other document to --native-out FILE (for kubernetes-validate --strict);
- PodMonitor, ServiceMonitor, PrometheusRule: valid against the structural schemas of
  scripts/monitoring_schemas.json (upstream field names only, unknown fields rejected);
- the PrometheusRule's groups pass `promtool check rules` (PromQL, templates, durations);
  with --rules-test FILE, `promtool test rules` runs FILE against them (the file names
  the rendered rules `slo-rules.yaml`);
- the Grafana dashboard ConfigMap (a `*.json` data key): valid JSON with unique panel ids,
  every panel on the `${datasource}` variable, and every PromQL expression (panel
  targets and variable queries, Grafana's `$__rate_interval`, `$__range` and `$variables`
  substituted) parses: they go through `promtool check rules` as recording rules;
- the label contract (--label-source files, Rust `const X: &str = "..."`): the runtime
  PodMonitor scrapes port HTTP_PORT_NAME at METRICS_PATH and relabels the pod's namespace
  to PROM_LABEL_NAMESPACE, its REVISION_LABEL to PROM_LABEL_REVISION (what the operator's
  canary queries select on) and its INSTANCE label to `hermesdeployment` (what the rules
  and the operator's SLO objectives join on);
- every `hermes_*` metric name in the rules and the dashboard is one the runtime or the
  operator exports (--metrics-source files: `"hermes_..."` string constants, and
  `register("name", ...)` under `sub_registry_with_prefix("prefix")`), and every
  `a:b:c` name is recorded by the rules;
- it proves each check can fail: a misspelt PodMonitor field, a missing revision label,
  a broken expression and an unknown metric name are each rejected.

Prints one `ok ...` line per check; exits 1 with `FAIL ...` lines otherwise.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

import jsonschema
import yaml

MONITORING_API = "monitoring.coreos.com/v1"
HERE = os.path.dirname(os.path.abspath(__file__))
# Grafana's variables, replaced by something PromQL parses (a duration or a regex).
GRAFANA_DURATIONS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}
HISTOGRAM_OR_COUNTER_SUFFIXES = ("", "_total", "_bucket", "_sum", "_count", "_created")


def load_schemas() -> dict[str, Any]:
    with open(os.path.join(HERE, "monitoring_schemas.json"), encoding="utf-8") as f:
        return json.load(f)


def schema_errors(doc: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    kind = doc.get("kind")
    if kind not in schemas["kinds"]:
        return [f"{kind}: no structural schema for this kind in monitoring_schemas.json"]
    schema = dict(schemas["kinds"][kind])
    schema["definitions"] = schemas["definitions"]
    validator = jsonschema.Draft7Validator(schema)
    name = (doc.get("metadata") or {}).get("name", "?")
    return [
        f"{kind} {name}: {'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def promtool(promtool_bin: str, *args: str) -> tuple[bool, str]:
    p = subprocess.run([promtool_bin, *args], capture_output=True, text=True, timeout=60)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def check_rules_file(promtool_bin: str, groups: list[dict[str, Any]], workdir: str, name: str) -> tuple[bool, str]:
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": groups}, f, sort_keys=False)
    return promtool(promtool_bin, "check", "rules", path)


def grafana_to_promql(expr: str) -> str:
    """A dashboard expression as plain PromQL: `label_values(sel, label)` -> `sel`, Grafana's
    durations -> fixed ones, `$var`/`${var}` (inside matchers) -> `.*`."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", expr, re.S)
    if m:
        expr = m.group(1)
    for var, value in GRAFANA_DURATIONS.items():
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?", ".*", expr)


def dashboard_exprs(dashboard: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """(where, expression) of every query, and structural problems."""
    exprs: list[tuple[str, str]] = []
    problems: list[str] = []
    panels = list(dashboard.get("panels", []))
    for p in list(panels):
        panels.extend(p.get("panels", []))
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append(f"dashboard: panel ids are not unique and set: {ids}")
    for p in panels:
        if p.get("type") == "row":
            continue
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"dashboard: {where} is not on the ${{datasource}} variable")
        if not p.get("targets"):
            problems.append(f"dashboard: {where} has no query")
        for t in p.get("targets", []):
            exprs.append((f"{where} target {t.get('refId')}", t.get("expr", "")))
    for v in (dashboard.get("templating") or {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else q or ""
            exprs.append((f"variable {v.get('name')}", q))
    return exprs, problems


def exported_metric_names(paths: list[str]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            src = f.read()
        prefixes = re.findall(r'sub_registry_with_prefix\(\s*"([a-z0-9_]+)"\s*\)', src)
        names.update(n for n in re.findall(r'"(hermes_[a-z0-9_]+)"', src) if n not in prefixes)
        for prefix in prefixes:
            for n in re.findall(r'\.register\(\s*"([a-z0-9_]+)"', src):
                names.add(f"{prefix}_{n}")
    return names


def rust_str_consts(paths: list[str]) -> dict[str, str]:
    consts: dict[str, str] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            consts.update(re.findall(r'const\s+([A-Z0-9_]+)\s*:\s*&str\s*=\s*"([^"]*)"', f.read()))
    return consts


def pod_label_meta(label: str) -> str:
    """Prometheus's service-discovery name of a pod label."""
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


def label_contract(podmonitor: dict[str, Any], consts: dict[str, str]) -> list[str]:
    need = ["HTTP_PORT_NAME", "METRICS_PATH", "PROM_LABEL_NAMESPACE", "PROM_LABEL_REVISION", "REVISION_LABEL", "INSTANCE"]
    missing = [c for c in need if c not in consts]
    if missing:
        return [f"label contract: constants {missing} not found in the --label-source files"]
    problems = []
    name = podmonitor["metadata"]["name"]
    for ep in podmonitor["spec"]["podMetricsEndpoints"]:
        if ep.get("port") != consts["HTTP_PORT_NAME"] or ep.get("path", "/metrics") != consts["METRICS_PATH"]:
            problems.append(f"PodMonitor {name}: scrapes {ep.get('port')}{ep.get('path')}, the runtime serves "
                            f"{consts['HTTP_PORT_NAME']}{consts['METRICS_PATH']}")
        mapped = {
            (tuple(r.get("sourceLabels", [])), r.get("targetLabel"))
            for r in ep.get("relabelings", [])
            if r.get("action", "replace").lower() == "replace" and r.get("regex", "(.*)") == "(.*)"
            and r.get("replacement", "$1") == "$1"
        }
        for source, target in (
            ("__meta_kubernetes_namespace", consts["PROM_LABEL_NAMESPACE"]),
            (pod_label_meta(consts["REVISION_LABEL"]), consts["PROM_LABEL_REVISION"]),
            (pod_label_meta(consts["INSTANCE"]), "hermesdeployment"),
        ):
            if ((source,), target) not in mapped:
                problems.append(f"PodMonitor {name}: no relabeling of {source} to {target}")
    return problems


def unknown_metrics(exprs: list[tuple[str, str]], exported: set[str], recorded: set[str]) -> list[str]:
    problems = []
    for where, expr in exprs:
        # Strings (label values, regexes) are not names.
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
        for name in set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare)):
            if ":" in name:
                if name not in recorded:
                    problems.append(f"{where}: {name} is not recorded by the chart's rules")
            elif name.startswith("hermes_") and not any(
                name == e + s for e in exported for s in HISTOGRAM_OR_COUNTER_SUFFIXES
            ):
                problems.append(f"{where}: metric {name} is not exported by the runtime or the operator")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--native-out", required=True)
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--rules-test")
    ap.add_argument("--metrics-source", action="append", default=[])
    ap.add_argument("--label-source", action="append", default=[])
    args = ap.parse_args()

    with open(args.rendered, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    native = [d for d in docs if d.get("apiVersion") != MONITORING_API]
    monitoring = [d for d in docs if d.get("apiVersion") == MONITORING_API]
    with open(args.native_out, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(native, f, sort_keys=False)

    schemas = load_schemas()
    oks: list[str] = []
    problems: list[str] = []
    exported = exported_metric_names(args.metrics_source)
    if args.metrics_source and not exported:
        problems.append(f"no exported metric names found in {args.metrics_source}")

    with tempfile.TemporaryDirectory() as work:
        # 1. Structure of the monitoring kinds, and proof that a misspelt field fails.
        for d in monitoring:
            errs = schema_errors(d, schemas)
            problems += errs
            if not errs:
                oks.append(f"{d['kind']} {d['metadata']['name']}: valid against its structural schema")
        for d in (d for d in monitoring if d["kind"] == "PodMonitor"):
            broken = copy.deepcopy(d)
            broken["spec"]["podMetricEndpoints"] = broken["spec"].pop("podMetricsEndpoints", [])
            if not schema_errors(broken, schemas):
                problems.append("the PodMonitor schema accepted a misspelt field (podMetricEndpoints)")

        if args.label_source:
            consts = rust_str_consts(args.label_source)
            for d in (d for d in monitoring if d["kind"] == "PodMonitor"):
                contract = label_contract(d, consts)
                problems += contract
                broken = copy.deepcopy(d)
                for r in broken["spec"]["podMetricsEndpoints"][0].get("relabelings", []):
                    if r.get("targetLabel") == consts.get("PROM_LABEL_REVISION"):
                        r["targetLabel"] = "rev"
                if not label_contract(broken, consts):
                    problems.append("the label contract accepted a PodMonitor without the revision label")
                if not contract:
                    oks.append(
                        f"label contract: {consts['PROM_LABEL_NAMESPACE']}, {consts['PROM_LABEL_REVISION']} "
                        f"(from {consts['REVISION_LABEL']}), hermesdeployment (from {consts['INSTANCE']})"
                    )

        # 2. The rules through promtool.
        groups: list[dict[str, Any]] = []
        for d in (d for d in monitoring if d["kind"] == "PrometheusRule"):
            groups += d["spec"]["groups"]
        recorded = {r["record"] for g in groups for r in g["rules"] if "record" in r}
        rule_exprs = [
            (f"rule {r.get('record') or r.get('alert')}", str(r["expr"])) for g in groups for r in g["rules"]
        ]
        if groups:
            ok, out = check_rules_file(args.promtool, groups, work, "slo-rules.yaml")
            if ok:
                oks.append(f"promtool check rules: {len(rule_exprs)} rules of the PrometheusRule")
            else:
                problems.append(f"promtool check rules on the PrometheusRule:\n{out}")
            broken = copy.deepcopy(groups)
            broken[0]["rules"][0]["expr"] = "sum by (route (rate(x[5m]))"
            if check_rules_file(args.promtool, broken, work, "broken.yaml")[0]:
                problems.append("promtool accepted a broken expression (so its passes mean nothing)")
            if args.rules_test:
                shutil.copy(args.rules_test, os.path.join(work, "slo-rules.test.yaml"))
                ok, out = promtool(args.promtool, "test", "rules", os.path.join(work, "slo-rules.test.yaml"))
                if ok:
                    oks.append(f"promtool test rules {os.path.relpath(args.rules_test)}: alerts fire for the burning SLOs only")
                else:
                    problems.append(f"promtool test rules {args.rules_test}:\n{out}")
        elif args.rules_test:
            problems.append("--rules-test given but nothing rendered a PrometheusRule")

        # 3. The dashboard.
        dash_exprs: list[tuple[str, str]] = []
        for d in (d for d in native if d.get("kind") == "ConfigMap"):
            for key, text in (d.get("data") or {}).items():
                if not key.endswith(".json"):
                    continue
                try:
                    dashboard = json.loads(text)
                except json.JSONDecodeError as e:
                    problems.append(f"ConfigMap {d['metadata']['name']} {key}: not JSON: {e}")
                    continue
                exprs, structure = dashboard_exprs(dashboard)
                problems += structure
                dash_exprs += exprs
                as_rules = [
                    {"name": "dashboard", "rules": [
                        {"record": f"dashboard:expr_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(exprs)
                    ]}
                ]
                ok, out = check_rules_file(args.promtool, as_rules, work, "dashboard.yaml")
                if ok and exprs:
                    oks.append(f"dashboard {key}: {len(exprs)} PromQL expressions parse (promtool)")
                else:
                    problems.append(f"dashboard {key}: expressions that do not parse:\n{out}")

        # 4. Metric names.
        if args.metrics_source and (rule_exprs or dash_exprs):
            unknown = unknown_metrics(rule_exprs + dash_exprs, exported, recorded)
            problems += unknown
            if not unknown:
                oks.append(f"every metric name in rules and dashboard is exported ({len(exported)} known) or recorded")
            if not unknown_metrics([("canary", "rate(hermes_http_requestz_total[5m])")], exported, recorded):
                problems.append("the metric-name check accepted an unknown metric (so its passes mean nothing)")

    for p in problems:
        print(f"FAIL {p}")
    if not problems:
        print("ok   " + ("; ".join(oks) if oks else "no monitoring objects rendered"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
