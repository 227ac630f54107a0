#!/usr/bin/env python3
"""Checks the policy of a rendered hermes-operator chart (`helm template` output on stdin).

Usage: helm template ... | check_rendered_chart.py [--chart-values FILE [--values FILE]]
                                                 [--expect-kinds K1,K2,...] [--rbac FILE]
                                                 [--cli FILE]

- the rendered kinds are exactly the ones the values switch on (--chart-values: the
  chart's values.yaml, --values: the variant on top), and the --expect-kinds list when
  given (a template that silently renders nothing, or something extra, fails);
- the operator pods are hardened: non-root, read-only root filesystem, no privilege
  escalation, every capability dropped, a memory limit, probes on /healthz and /readyz
  of the named metrics port;
- RBAC is least privilege: no wildcards, nothing on secrets, and with --rbac FILE the
  rules equal the ones the operator declares (see rbac_from_source);
- with --cli FILE (operator/src/main.rs): every `--flag` the chart passes is a clap long
  argument there and every environment variable it sets is read there (an `env = "X"`
  of an argument, or RUST_LOG), so a renamed flag fails here, not in a crash-looping pod.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

import yaml

Rule = tuple[str, str, str]  # (apiGroup, resource, verb)


def expand(rules: list[dict[str, Any]]) -> set[Rule]:
    return {
        (g, r, v)
        for rule in rules
        for g in rule.get("apiGroups", [])
        for r in rule.get("resources", [])
        for v in rule.get("verbs", [])
    }


def rbac_from_source(path: str) -> set[Rule]:
    """The operator's declared RBAC: lines `rbac: <group> <resource> <verb,verb,...>` in a
    comment of operator/src/lib.rs (group `core` for the core API group)."""
    declared: set[Rule] = set()
    pattern = re.compile(r"^\s*//[/!]?\s*rbac:\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = pattern.match(line)
            if m:
                group = "" if m.group(1) == "core" else m.group(1)
                for verb in m.group(3).split(","):
                    declared.add((group, m.group(2), verb))
    return declared


def cli_from_source(path: str) -> tuple[set[str], set[str]]:
    """Long flags and env names of the clap arguments in `path`: a field `foo_bar:` after
    an `#[arg(long...)]` is `--foo-bar`; an explicit `long = "x"` is `--x`."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    flags: set[str] = set()
    for m in re.finditer(r"#\[arg\(([^\]]*)\)\]\s*(?:///[^\n]*\s*|#\[[^\]]*\]\s*)*(?:pub\s+)?(\w+)\s*:", src):
        attrs, field = m.group(1), m.group(2)
        explicit = re.search(r'long\s*=\s*"([^"]+)"', attrs)
        if explicit:
            flags.add("--" + explicit.group(1))
        elif re.search(r"\blong\b", attrs):
            flags.add("--" + field.replace("_", "-"))
    envs = set(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', src))
    if "EnvFilter" in src:
        envs.add("RUST_LOG")
    return flags, envs


def merged(base: Any, over: Any) -> Any:
    """Helm's coalescing of a values file over the chart's values (maps merge, the rest
    is replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merged(base.get(k), v) if k in base else v
        return out
    return over


def kinds_from_values(values: dict[str, Any]) -> list[str]:
    """The kinds the templates render for `values` (one flag per optional object)."""
    kinds = ["Deployment"]
    if values["serviceAccount"]["create"]:
        kinds.append("ServiceAccount")
    if values["rbac"]["create"]:
        kinds += ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    if values["metrics"]["service"]["enabled"]:
        kinds.append("Service")
    monitoring = values.get("monitoring") or {}
    for flag, kind in (("podMonitor", "PodMonitor"), ("serviceMonitor", "ServiceMonitor"),
                       ("prometheusRule", "PrometheusRule"), ("grafanaDashboard", "ConfigMap")):
        if (monitoring.get(flag) or {}).get("enabled"):
            kinds.append(kind)
    return sorted(kinds)


def check_cli(deploy: dict[str, Any], path: str) -> list[str]:
    flags, envs = cli_from_source(path)
    problems = []
    for c in deploy["spec"]["template"]["spec"]["containers"]:
        for arg in c.get("args", []):
            if arg.startswith("--") and arg.split("=", 1)[0] not in flags:
                problems.append(f"container {c['name']}: {arg.split('=', 1)[0]} is not a flag of {path} ({sorted(flags)})")
        for env in c.get("env", []):
            if env["name"] not in envs:
                problems.append(f"container {c['name']}: env {env['name']} is not read by {path}")
    return problems


def fmt(rules: set[Rule]) -> str:
    return ", ".join(f"{g or 'core'}/{r}:{v}" for g, r, v in sorted(rules))


def check_pod(deploy: dict[str, Any]) -> list[str]:
    problems = []
    pod = deploy["spec"]["template"]["spec"]
    psc = pod.get("securityContext") or {}
    for c in pod["containers"]:
        sc = c.get("securityContext") or {}
        name = c["name"]
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            problems.append(f"container {name}: runAsNonRoot is not set")
        if (sc.get("runAsUser", psc.get("runAsUser")) or 0) == 0:
            problems.append(f"container {name}: runs as UID 0 or an unset UID")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"container {name}: root filesystem is writable")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"container {name}: privilege escalation allowed")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"container {name}: capabilities not all dropped")
        if not ((c.get("resources") or {}).get("limits") or {}).get("memory"):
            problems.append(f"container {name}: no memory limit")
        ports = {p.get("name"): p for p in c.get("ports", [])}
        if "metrics" not in ports:
            problems.append(f"container {name}: no port named metrics")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (c.get(probe) or {}).get("httpGet") or {}
            if get.get("path") != path or get.get("port") != "metrics":
                problems.append(f"container {name}: {probe} is not GET {path} on port metrics")
    return problems


def check_rbac(docs: list[dict[str, Any]], declared: set[Rule] | None) -> list[str]:
    problems = []
    granted: set[Rule] = set()
    for d in docs:
        if d["kind"] in ("ClusterRole", "Role"):
            rules = expand(d.get("rules", []))
            for g, r, v in rules:
                if "*" in (g, r, v):
                    problems.append(f"{d['kind']} {d['metadata']['name']}: wildcard in {g}/{r}:{v}")
                if r == "secrets":
                    problems.append(f"{d['kind']} {d['metadata']['name']}: access to secrets ({v})")
            granted |= rules
    if declared is not None:
        if not declared:
            problems.append("the operator source declares no `rbac:` lines")
        if granted - declared:
            problems.append(f"granted but not declared by the operator: {fmt(granted - declared)}")
        if declared - granted:
            problems.append(f"declared by the operator but not granted: {fmt(declared - granted)}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect-kinds", default="")
    ap.add_argument("--chart-values", help="the chart's values.yaml")
    ap.add_argument("--values", help="the values file rendered on top of it")
    ap.add_argument("--rbac", help="operator source file declaring its RBAC")
    ap.add_argument("--cli", help="operator source file declaring its command line")
    args = ap.parse_args()

    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    problems = []
    kinds = sorted(d["kind"] for d in docs)
    if args.chart_values:
        with open(args.chart_values, encoding="utf-8") as f:
            values = yaml.safe_load(f)
        if args.values:
            with open(args.values, encoding="utf-8") as f:
                values = merged(values, yaml.safe_load(f) or {})
        expected = kinds_from_values(values)
        if kinds != expected:
            problems.append(f"rendered kinds {kinds}, the values switch on {expected}")
    if args.expect_kinds:
        expected = sorted(args.expect_kinds.split(","))
        if kinds != expected:
            problems.append(f"rendered kinds {kinds}, expected {expected}")
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    if len(deployments) != 1:
        problems.append(f"expected one Deployment, rendered {len(deployments)}")
    for d in deployments:
        problems += check_pod(d)
        if args.cli:
            problems += check_cli(d, args.cli)
    problems += check_rbac(docs, rbac_from_source(args.rbac) if args.rbac else None)

    for p in problems:
        print(f"FAIL {p}")
    if not problems:
        print(f"ok   kinds {','.join(kinds)}; pod hardened; RBAC least privilege"
              + (" and equal to the operator's declaration" if args.rbac else "")
              + ("; flags and env known to the operator's CLI" if args.cli else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
