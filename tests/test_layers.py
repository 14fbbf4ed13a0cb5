"""The package's layers, checked from the source: no import cycle, and no layer reaching up.

Every import counts, also those inside functions and under `if TYPE_CHECKING:` (that is how the
cycles hid). One exception, for cycles only: `socialscale.open()`, the library entry in the
package's `__init__`, imports the session when it is called; it stands above every layer, while
the package's constants (`__version__`, `USER_AGENT`) are the bottom one.
The layers (docs/design.md has the map):
- store/ imports only the basics (errors, models, timeutil, text, dburl) and itself;
- sources/ never imports store/, cli/, output/ or the pipeline;
- nothing outside cli/ imports cli/ (but `python -m socialscale`, which runs it);
- only cli/ and the renderers (output/) import typer, click or rich.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from doctools import REPO

PACKAGE = REPO / "socialscale"
ROOT = "socialscale"  # the package itself: its constants at the bottom, its open() at the top
BASICS = {"socialscale", "socialscale.errors", "socialscale.models", "socialscale.timeutil", "socialscale.text",
          "socialscale.dburl"}
TERMINAL = ("typer", "click", "rich")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a package's module when `from package import module`)
    line: int
    typing_only: bool

    def __str__(self) -> str:
        return f"{self.source} imports {self.target} (line {self.line}{', for typing' if self.typing_only else ''})"


def module_names(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(root: Path) -> list[Import]:
    """Every import statement in the package, wherever it stands."""
    modules = module_names(root)
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = {id(node) for block in ast.walk(tree) if _is_type_checking(block)
                       for stmt in block.body for node in ast.walk(stmt)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for target in targets:
                found.append(Import(name, target, node.lineno, id(node) in typing_only))
    return found


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def cycles(edges: list[Import]) -> list[list[str]]:
    """The import cycles (strongly connected groups of modules), each as a closed path."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.target.startswith(e.source.split(".")[0]) and e.source != ROOT:
            graph.setdefault(e.source, set()).add(e.target)
    return [_path(graph, set(group)) for group in _components(graph)
            if len(group) > 1 or group[0] in graph.get(group[0], ())]


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, in the order they complete."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = stack[stack.index(node):]
            del stack[stack.index(node):]
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _path(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """One closed path through a cycle's modules, for the failure message."""
    start = min(group)
    path, seen = [start], {start}
    while True:
        nxt = min(n for n in graph[path[-1]] if n in group)
        path.append(nxt)
        if nxt in seen:
            return path[path.index(nxt):]
        seen.add(nxt)


def reaching_up(edges: list[Import]) -> list[str]:
    """Imports that break the layers above, as one line each."""
    def under(module: str, *parts: str) -> bool:
        return any(module == f"socialscale.{p}" or module.startswith(f"socialscale.{p}.") for p in parts)

    bad = []
    for e in edges:
        top = e.target.split(".")[0]
        if under(e.source, "store") and e.target.startswith("socialscale") and not (
                under(e.target, "store") or e.target in BASICS):
            bad.append(f"{e}: store/ imports only the basics ({', '.join(sorted(BASICS))})")
        if under(e.source, "sources") and under(e.target, "store", "cli", "output", "pipeline"):
            bad.append(f"{e}: sources/ never imports store/, cli/, output/ or the pipeline")
        if not under(e.source, "cli", "__main__") and under(e.target, "cli"):
            bad.append(f"{e}: only cli/ imports cli/")
        if top in TERMINAL and not under(e.source, "cli", "output"):
            bad.append(f"{e}: only cli/ and output/ import {top}")
    return bad


def test_the_walk_sees_imports_inside_functions():
    edges = imports_of(PACKAGE)
    inside = [e for e in edges if e.source == "socialscale.cli.setup" and e.target == "socialscale.demo.run"]
    assert inside and not inside[0].typing_only  # `demo` imports it in its body
    assert any(e.source == "socialscale.sources.base" and e.target == "socialscale.fetch" and e.typing_only
               for e in edges)
    assert {e.source for e in edges} <= set(module_names(PACKAGE))


def test_there_is_no_import_cycle():
    found = cycles(imports_of(PACKAGE))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_layer_reaches_up():
    bad = reaching_up(imports_of(PACKAGE))
    assert not bad, "\n".join(bad)


def test_the_checks_catch_a_cycle_hidden_in_a_function_and_a_layer_reaching_up(tmp_path):
    pkg = tmp_path / "socialscale"
    (pkg / "store").mkdir(parents=True)
    (pkg / "sources").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "store" / "__init__.py").write_text("")
    (pkg / "sources" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from socialscale import b\n")
    (pkg / "b.py").write_text("def f():\n    from socialscale.a import x\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from socialscale.d import y\n")
    (pkg / "d.py").write_text("def f():\n    from socialscale.c import x\n")
    (pkg / "store" / "items.py").write_text("def f():\n    import socialscale.sources.feed\n")
    (pkg / "sources" / "feed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                             "    from socialscale.store import items\nimport rich\n")
    edges = imports_of(pkg)
    assert cycles(edges) == [["socialscale.a", "socialscale.b", "socialscale.a"],
                             ["socialscale.c", "socialscale.d", "socialscale.c"],
                             ["socialscale.sources.feed", "socialscale.store.items", "socialscale.sources.feed"]]
    assert {line.split(":")[-1].strip() for line in reaching_up(edges)} == {
        "sources/ never imports store/, cli/, output/ or the pipeline",
        "only cli/ and output/ import rich",
        "store/ imports only the basics (socialscale, socialscale.dburl, socialscale.errors, socialscale.models, "
        "socialscale.text, socialscale.timeutil)",
    }


def test_code_points_at_the_docs_in_the_repository():
    """The design contract (design.md) is not shipped: code cites the docs/ page that says the same."""
    import re

    bad = [f"{path.relative_to(REPO)}:{n}" for path in sorted(PACKAGE.rglob("*.py"))
           for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
           if re.search(r"(?<!docs/)\bdesign\.md", line)]
    assert not bad, "cite docs/<page>.md, not design.md: " + ", ".join(bad)
