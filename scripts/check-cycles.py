#!/usr/bin/env python3
"""Fails when a crate's modules import each other in a cycle (module = file granularity).

Usage: scripts/check-cycles.py CRATE_SRC_DIR [CRATE_SRC_DIR ...]   (e.g. operator/src)

The rule, so that every crate's module graph has one direction:
- A node is a module file: `lib.rs`/`main.rs` are the crate root `crate`; `foo.rs` and
  `foo/mod.rs` are both the module `foo`, and the files under `foo/` are its children
  (`foo/bar.rs` is `foo::bar`). Inline modules (`mod tests { ... }`) belong to their file.
- An edge A -> B is a path A writes that names module B or an item B defines: a `use`
  statement (`use crate::a::b::{self, C}`, `use super::x`, `pub use child::Y`) or a path
  in the code (`crate::a::b::f()`, `super::x::T`, `self::child::f()`). A path resolves to
  the longest module prefix that exists as a file, so `crate::build::canary::name` is an
  edge to `build::canary` and `crate::build::Desired` an edge to `build`. An item a module
  only re-exports from its own child (`pub use policy::NoDataPolicy` in `rollout/mod.rs`)
  resolves to that child: `crate::rollout::NoDataPolicy` is an edge to `rollout::policy`.
- A parent naming its own child by the bare child name in code (`deployment::build(..)`
  in `build/mod.rs`) is how a parent composes the children it declares with `mod`, and a
  parent re-exporting its child (`pub use machine::Action`) is the parent's public face;
  neither is an edge. A private `use child::X` (or a `self::`/`crate::` path to the child)
  is an edge: the parent's own code depends on the child.
- So a child may use its parent's items (also items the parent re-exports from a
  sibling); that is a cycle only if the parent imports the child back. Sibling edges go through the
  parent's path (`super::labels` -> `build::labels`) and do not involve the parent.
- Self-edges (`use super::*` in a file's own `mod tests`) are ignored; external crates
  (`kube::`, `std::`) are not modules of the crate and are ignored.

Prints one cycle (as `a -> b -> a`) per group of modules that reach each other, with the
group, and exits 1; exits 0 when there is none.
"""

import re
import sys
from pathlib import Path

ROOT = "crate"


def module_of(src: Path, file: Path) -> str:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return ROOT
    if parts[-1] == "mod":
        parts = parts[:-1]
    return "::".join([ROOT] + parts)


def strip_comments_and_strings(text: str) -> str:
    # Block comments, line comments (incl. doc comments), string and char literals.
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r'r(#*)".*?"\1', '""', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"'(\\.|[^'\\])'", "' '", text)
    return text


def expand_use_tree(tree: str) -> list[tuple[str, str]]:
    """`a::{b, c::{d as e, self}}` -> [("a::b", "b"), ("a::c::d", "e"), ("a::c", "c")]."""
    tree = re.sub(r"\s+as\s+", " as ", tree.strip())
    tree = re.sub(r"\s*(::|\{|\}|,)\s*", r"\1", tree)
    out: list[tuple[str, str]] = []

    def walk(prefix: str, s: str) -> None:
        depth, start, items = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(s[start:i])
                start = i + 1
        items.append(s[start:])
        for item in items:
            if not item:
                continue
            brace = item.find("{")
            if brace >= 0:
                walk(join(prefix, item[:brace].rstrip(":")), item[brace + 1 : item.rfind("}")])
                continue
            path, _, alias = item.partition(" as ")
            if path in ("self", "*"):
                full = prefix
            else:
                full = join(prefix, path)
            name = alias or full.split("::")[-1]
            out.append((full, "*" if path == "*" else name))

    walk("", tree)
    return [(p, n) for p, n in out if p]


def join(a: str, b: str) -> str:
    if not a:
        return b
    if not b:
        return a
    return f"{a}::{b}"


USE_RE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S)
PATH_RE = re.compile(r"\b((?:crate|super|self)(?:\s*::\s*\w+)+)")
INLINE_MOD_RE = re.compile(r"\bmod\s+(\w+)\s*\{")


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files: dict[str, list[Path]] = {}
        for f in sorted(src.rglob("*.rs")):
            self.files.setdefault(module_of(src, f), []).append(f)
        self.modules = set(self.files)
        self.texts = {
            m: [strip_comments_and_strings(f.read_text(encoding="utf-8")) for f in fs]
            for m, fs in self.files.items()
        }
        # name -> path of what a module re-exports from its own descendants (`pub use`)
        self.reexports: dict[str, dict[str, tuple[str, str]]] = {m: {} for m in self.modules}
        for m, texts in self.texts.items():
            for text in texts:
                for use in USE_RE.finditer(text):
                    if not use.group(1):
                        continue
                    for path, name in expand_use_tree(use.group(2)):
                        if name != "*":
                            self.reexports[m][name] = (path, m)

    def resolve(self, path: str, current: str, bare_child: bool, depth: int = 0) -> str | None:
        """The module a path names, relative to `current` (None: another crate)."""
        segs = path.split("::")
        if segs[0] == "crate":
            base, segs = [ROOT], segs[1:]
        elif segs[0] in ("super", "self"):
            base = current.split("::")
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super" and len(base) > 1:
                    base = base[:-1]
                segs = segs[1:]
        elif bare_child and f"{current}::{segs[0]}" in self.modules:
            base = current.split("::")
        else:
            return None
        best, used = "::".join(base), 0
        for i in range(1, len(segs) + 1):
            cand = "::".join(base + segs[:i])
            if cand not in self.modules:
                break
            best, used = cand, i
        # An item the module only re-exports from its descendant lives in that descendant.
        rest = segs[used:]
        if rest and depth < 8 and rest[0] in self.reexports.get(best, {}):
            target_path, owner = self.reexports[best][rest[0]]
            target = self.resolve(target_path, owner, True, depth + 1)
            if target and target.startswith(best + "::"):
                return target
        return best

    def edges(self, module: str) -> set[str]:
        found: set[str] = set()
        for text in self.texts[module]:
            found |= self.edges_of(text, module)
        return found

    def edges_of(self, text: str, current: str) -> set[str]:
        # `super` inside an inline `mod x { ... }` is relative to `current::x`.
        regions: list[tuple[int, int, str]] = []
        for m in INLINE_MOD_RE.finditer(text):
            depth, i = 0, m.end() - 1
            while i < len(text):
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            regions.append((m.end(), i, f"{current}::{m.group(1)}"))

        def scope(pos: int) -> str:
            inner = current
            for start, end, name in regions:
                if start <= pos <= end:
                    inner = name
            return inner

        found: set[str] = set()
        use_spans = []
        for m in USE_RE.finditer(text):
            use_spans.append((m.start(), m.end()))
            for path, _ in expand_use_tree(m.group(2)):
                target = self.resolve(path, scope(m.start()), bare_child=True)
                if target and m.group(1) and target.startswith(current + "::"):
                    continue  # a parent re-exporting its own child: its public face
                if target:
                    found.add(target)
        for m in PATH_RE.finditer(text):
            if any(s <= m.start() < e for s, e in use_spans):
                continue
            path = re.sub(r"\s+", "", m.group(1))
            target = self.resolve(path, scope(m.start()), bare_child=False)
            if target:
                found.add(target)
        # The file's own inline modules (`mod tests`) are the file.
        return {t for t in found if t != current and t in self.modules}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each as a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    sccs: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    cycles = []
    for comp in sccs:
        cycles.append(shortest_cycle(graph, comp))
    return cycles


def shortest_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One concrete cycle through the first node of a component (breadth-first)."""
    members = set(comp)
    start = comp[0]
    prev: dict[str, str] = {}
    queue = [start]
    seen = {start}
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in seen:
                seen.add(w)
                prev[w] = v
                queue.append(w)
    return comp + [comp[0]]


def check(src: Path) -> tuple[list[list[str]], int]:
    crate = Crate(src)
    graph = {m: crate.edges(m) for m in crate.modules}
    return find_cycles(graph), len(crate.modules)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    failed = False
    for arg in argv[1:]:
        src = Path(arg)
        if not src.is_dir():
            print(f"{arg}: not a directory", file=sys.stderr)
            return 2
        cycles, count = check(src)
        for cycle in cycles:
            failed = True
            print(f"{arg}: import cycle: {' -> '.join(cycle)}")
            group = sorted(set(cycle))
            print(f"  (modules that reach each other: {', '.join(group)})") if len(group) > 2 else None
        if not cycles:
            print(f"{arg}: {count} modules, no import cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
