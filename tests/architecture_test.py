"""The layout's arrows: hooks and commands use the domains, domains use the core, the core
uses only the formats, and no two of our modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "dvc_gitops"
# Lower layers never import higher ones. Domains may use each other, without circles.
LAYERS = {
    "formats": 0,
    "core": 1,
    "dvcmodel": 2,
    "pins": 2,
    "status": 2,
    "mlflow": 2,
    "setup": 2,
    "export": 2,
    "review": 2,
    "storage": 2,
    "hooks": 3,
    "cli": 3,
    "rules_docs": 3,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Our modules that `path` imports anywhere (top level, functions, TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: a relative import; write dvc_gitops.… in full")
    return {name for name in found if name.startswith("dvc_gitops")}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {
    name: {m for m in imports_of(path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}


def part(module: str) -> str:
    """The package (core, dvcmodel, hooks, ...) or top-level module a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_package_has_a_layer() -> None:
    unknown = {part(m) for m in MODULES} - set(LAYERS) - {"__init__", "dvc_gitops"}
    assert not unknown, f"give these a layer in LAYERS: {sorted(unknown)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_arrow_points_up(module: str) -> None:
    own = LAYERS.get(part(module), 0)
    upward = sorted(m for m in GRAPH[module] if LAYERS.get(part(m), 0) > own)
    assert not upward, f"{module} imports from a higher layer: {upward}"


def test_only_the_cli_and_hooks_import_hooks() -> None:
    offenders = sorted(
        m
        for m, targets in GRAPH.items()
        if part(m) not in ("hooks", "cli") and any(part(t) == "hooks" for t in targets)
    )
    assert not offenders


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_among_modules() -> None:
    assert cycle_in(GRAPH) is None, " -> ".join(cycle_in(GRAPH) or [])


def test_no_import_circle_among_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(part(module), set()).update(
            part(t) for t in targets if part(t) != part(module)
        )
    assert cycle_in(packages) is None, " -> ".join(cycle_in(packages) or [])


def test_the_circle_finder_finds_a_circle() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) is None
