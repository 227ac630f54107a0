#!/usr/bin/env python3
"""Validates HermesDeployment manifests against the CRD's openAPIV3Schema.

Usage: validate_examples.py CRD.yaml EXAMPLE.yaml...

Every document of every example must be a HermesDeployment of the CRD's group and a
served version, and must pass that version's schema the way `kubectl apply` sees it:
unknown fields are rejected (kubectl's default strict field validation), so a typo in
an example fails here instead of being pruned silently by the API server.

Then it proves that the check can fail: mutations of the valid examples that the CRD
must reject (replicas 0, an unknown task, an unknown field, a repeated model) are
validated too, and each of them must FAIL. x-kubernetes-list-type (set, map) is checked
like the API server does; unique model names must therefore be a list-type map (or a
CEL rule, which this script cannot evaluate: it then says so and fails).

CEL rules (x-kubernetes-validations) are evaluated by the API server only; they are
counted and reported, not checked here.
"""

from __future__ import annotations

import copy
import re
import sys
from typing import Any, Callable, Iterator

import jsonschema
import yaml

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class CheckError(Exception):
    """A finding that fails the check, with the file it concerns."""


def load_documents(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict):
            raise CheckError(f"{path}: a document is not a mapping")
    return docs


def strict(schema: Any) -> Any:
    """The schema as Kubernetes applies it: unknown fields rejected in every object that
    lists properties and does not preserve unknown fields; `nullable` admits null."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields", False)
    ):
        out["additionalProperties"] = False
    return out


def count_cel_rules(schema: Any) -> int:
    if isinstance(schema, list):
        return sum(count_cel_rules(s) for s in schema)
    if not isinstance(schema, dict):
        return 0
    own = len(schema.get("x-kubernetes-validations", []))
    return own + sum(count_cel_rules(v) for v in schema.values())


def list_type(validator: Any, kind: str, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """x-kubernetes-list-type: `set` items are unique; `map` items are unique by their
    x-kubernetes-list-map-keys (the API server refuses duplicates of both)."""
    if not isinstance(instance, list) or kind not in ("set", "map"):
        return
    keys = schema.get("x-kubernetes-list-map-keys", [])
    seen: set[str] = set()
    for item in instance:
        if kind == "map" and isinstance(item, dict):
            ident = repr([item.get(k) for k in keys])
        else:
            ident = repr(item)
        if ident in seen:
            yield jsonschema.ValidationError(f"duplicate entry {ident} in a list of type {kind}")
        seen.add(ident)


KubernetesValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"x-kubernetes-list-type": list_type}
)


class Crd:
    def __init__(self, path: str):
        docs = load_documents(path)
        if len(docs) != 1 or docs[0].get("kind") != "CustomResourceDefinition":
            raise CheckError(f"{path}: expected exactly one CustomResourceDefinition")
        spec = docs[0]["spec"]
        self.group: str = spec["group"]
        self.kind: str = spec["names"]["kind"]
        self.validators: dict[str, Any] = {}
        self.cel_rules = 0
        for version in spec["versions"]:
            if not version.get("served", False):
                continue
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if schema is None:
                raise CheckError(f"{path}: version {version['name']} has no openAPIV3Schema")
            # apiVersion, kind and metadata are checked by the API server itself; the
            # schema may leave them out, so allow them at the top level.
            schema = strict(schema)
            props = schema.setdefault("properties", {})
            for top in ("apiVersion", "kind", "metadata"):
                props.setdefault(top, {"type": "string" if top != "metadata" else "object"})
            KubernetesValidator.check_schema(schema)
            self.validators[f"{self.group}/{version['name']}"] = KubernetesValidator(schema)
            self.cel_rules += count_cel_rules(schema)
        if not self.validators:
            raise CheckError(f"{path}: no served version")

    def errors(self, doc: dict[str, Any]) -> list[str]:
        """Every reason the API server would refuse `doc` (CEL aside); empty when valid."""
        if doc.get("kind") != self.kind:
            return [f"kind is {doc.get('kind')!r}, expected {self.kind!r}"]
        validator = self.validators.get(doc.get("apiVersion", ""))
        if validator is None:
            return [f"apiVersion {doc.get('apiVersion')!r} is not served ({sorted(self.validators)})"]
        found = []
        name = (doc.get("metadata") or {}).get("name", "")
        if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
            found.append(f"metadata.name {name!r} is not a DNS subdomain")
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in e.absolute_path) or "(root)"
            found.append(f"{where}: {e.message}")
        return found


Mutation = Callable[[dict[str, Any]], bool]


def set_replicas_zero(doc: dict[str, Any]) -> bool:
    doc["spec"]["replicas"] = 0
    return True


def set_unknown_task(doc: dict[str, Any]) -> bool:
    models = doc["spec"].get("models") or []
    if not models:
        return False
    models[0]["task"] = "translate"
    return True


def add_unknown_field(doc: dict[str, Any]) -> bool:
    doc["spec"]["replicaz"] = 2
    return True


def duplicate_model(doc: dict[str, Any]) -> bool:
    models = doc["spec"].get("models") or []
    if not models:
        return False
    models.append(copy.deepcopy(models[0]))
    return True


MUTATIONS: dict[str, Mutation] = {
    "spec.replicas = 0": set_replicas_zero,
    "models[0].task = 'translate'": set_unknown_task,
    "unknown field spec.replicaz": add_unknown_field,
    "models[0] repeated": duplicate_model,
}


def hermes_documents(paths: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in paths:
        for doc in load_documents(path):
            yield path, doc


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    crd = Crd(argv[1])
    failed = 0
    checked: list[tuple[str, dict[str, Any]]] = []
    for path, doc in hermes_documents(argv[2:]):
        name = (doc.get("metadata") or {}).get("name", "?")
        errs = crd.errors(doc)
        if errs:
            failed += 1
            print(f"FAIL {path}: {doc.get('kind')}/{name}")
            for e in errs:
                print(f"       {e}")
        else:
            print(f"ok   {path}: {doc['kind']}/{name} valid against {doc['apiVersion']}")
            checked.append((path, doc))
    if not checked and not failed:
        print("FAIL no HermesDeployment found in the examples")
        return 1

    # The check must be able to fail: each mutation of a valid example must be refused.
    for what, mutate in MUTATIONS.items():
        for path, base in checked:
            doc = copy.deepcopy(base)
            if mutate(doc):
                break
        else:
            print(f"FAIL mutation '{what}' applies to none of the examples")
            failed += 1
            continue
        errs = crd.errors(doc)
        if errs:
            print(f"ok   {path} with {what}: rejected ({errs[0]})")
        else:
            print(f"FAIL {path} with {what}: accepted, but the CRD schema must reject it")
            failed += 1

    print(f"note {crd.cel_rules} CEL rule(s) in the CRD are enforced by the API server, not here")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (CheckError, OSError, yaml.YAMLError, KeyError) as e:
        print(f"FAIL {e!r}")
        sys.exit(1)
