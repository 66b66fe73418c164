"""The pipeline model's data: stages, their deps, outs and params, and the pipeline.

Built by `model.build_pipeline`; read by every rule. Paths are repo-relative, and every
value keeps the position of the YAML that produced it.
"""

from __future__ import annotations

import ast
import heapq
import json
import posixpath
import re
import sys
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dvc_gitops.dvcmodel.interpolation import (
    Context,
)
from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlDoc, YamlProblem

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project


DEFAULT_PARAMS = "params.yaml"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Ref:
    """One path-like entry as the user wrote it, resolved."""

    path: str  # repo-relative, '/'-separated, normalised (wdir applied)
    raw: str  # the text after interpolation, as written relative to wdir
    file: str  # the YAML file it was written in (repo-relative)
    mark: Mark  # where (the list item / value)


@dataclass(frozen=True)
class Out(Ref):
    kind: str = "outs"  # "outs" | "metrics" | "plots"
    cache: bool = True
    persist: bool = False


@dataclass(frozen=True)
class ParamRef:
    file: str  # repo-relative params file (default params.yaml in the stage's wdir)
    key: str | None  # dotted key, or None for "the whole file"
    source: str  # the dvc.yaml it was declared in
    mark: Mark


@dataclass
class Stage:
    """One stage as DVC runs it (a foreach/matrix member is a stage of its own)."""

    address: str  # as `dvc status --json` prints it: "train", "sub/dvc.yaml:train"
    name: str  # the name inside its dvc.yaml ("fe@a")
    definition: str  # the YAML key that defined it ("fe" for foreach members)
    dvcfile: str  # repo-relative path of its dvc.yaml
    wdir: str  # repo-relative working dir ("." at the root)
    cmds: list[str]
    cmd_mark: Mark
    deps: list[Ref]
    outs: list[Out]  # outs + metrics + plots
    params: list[ParamRef]
    frozen: bool
    always_changed: bool
    mark: Mark  # the stage's key in its dvc.yaml
    json_path: JsonPath  # ("stages", "train")
    # Where the stage's own keys live: ("stages", "fe", "do") for a foreach member.
    template_path: JsonPath = ()
    # The member's key for foreach/matrix stages ("a" in "fe@a"), else None.
    member: str | None = None
    # The DVC project (folder holding `.dvc/`, repo-relative, "." at the root) DVC loads
    # the stage in; "." too for a dvc.yaml in no project. Projects never share a graph.
    project: str = "."


@dataclass(frozen=True)
class Issue:
    """Something DVC refuses (or a likely mistake) found while resolving, at its YAML.

    `kind` names the problem for the rule that reports it (see `params_checks`).
    """

    kind: str
    file: str
    mark: Mark
    message: str


@dataclass(frozen=True)
class VarsEntry:
    """One `vars` item: a file (with optional keys) or an inline mapping."""

    dvcfile: str
    stage: str | None  # the stage whose `vars` it is, None for the file's
    file: str | None  # repo-relative vars file, None for an inline mapping
    keys: tuple[str, ...] | None
    mark: Mark


@dataclass
class Pipeline:
    """Every stage by address, plus what could not be resolved and why."""

    stages: dict[str, Stage] = field(default_factory=dict)
    # dvcfile -> why DVC refuses it (YAML, schema, vars, a template): one line. Its
    # stages are kept as far as they resolved.
    problems: dict[str, str] = field(default_factory=dict)
    # Each refusal (or likely mistake) at its YAML position; params_checks reports them.
    issues: list[Issue] = field(default_factory=list)
    contexts: dict[str, Context] = field(default_factory=dict)  # dvcfile -> context
    vars_entries: list[VarsEntry] = field(default_factory=list)
    # Params files the context loaded automatically (params.yaml beside a dvc.yaml).
    default_params: dict[str, str] = field(default_factory=dict)  # dvcfile -> file
    # Keys `${...}` selected from params/vars files: (file, key path).
    used_keys: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    # Per dvc.yaml, the stage definitions in declaration order (YAML keys).
    definitions: dict[str, list[str]] = field(default_factory=dict)
    # dvc.yaml files DVC never loads -> why: the address of the stage whose output folder
    # holds them, "ignored by git", "ignored by sub/.dvcignore", or "inside the DVC
    # subrepo 'x'".
    ignored: dict[str, str] = field(default_factory=dict)
    # dvc.yaml -> the DVC project DVC loads it in (see `Stage.project`), for every file.
    project_of: dict[str, str] = field(default_factory=dict)

    def parts(self) -> list[Pipeline]:
        """One pipeline per DVC project (this one when there is only one): what DVC
        loads together, so graph rules never join stages of separate projects."""
        return list(self._parts.values())

    def part(self, project: str) -> Pipeline:
        """The pipeline of one DVC project (empty when it has no stages)."""
        return self._parts.get(project) or Pipeline()

    @cached_property
    def _parts(self) -> dict[str, Pipeline]:
        keys = sorted(set(self.project_of.values()) | {s.project for s in self.stages.values()})
        if len(keys) <= 1:
            return {keys[0] if keys else ".": self}
        parts: dict[str, Pipeline] = {}
        for key in keys:
            files = {f for f, p in self.project_of.items() if p == key}
            parts[key] = Pipeline(
                stages={a: s for a, s in self.stages.items() if s.project == key},
                problems={f: m for f, m in self.problems.items() if f in files},
                issues=[i for i in self.issues if i.file in files],
                contexts={f: c for f, c in self.contexts.items() if f in files},
                vars_entries=[v for v in self.vars_entries if v.dvcfile in files],
                default_params={f: p for f, p in self.default_params.items() if f in files},
                used_keys=self.used_keys,
                definitions={f: d for f, d in self.definitions.items() if f in files},
                ignored={f: w for f, w in self.ignored.items() if f in files},
                project_of={f: key for f in files},
            )
        return parts

    def producers(self) -> dict[str, str]:
        """Out path -> the address of the (first) stage that declares it."""
        return dict(self._producers)

    @cached_property
    def _producers(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for stage in self.stages.values():
            for out in stage.outs:
                found.setdefault(out.path, stage.address)
        return found

    @cached_property
    def _sorted_outs(self) -> list[str]:
        return sorted(self._producers)

    def producers_of(self, path: str) -> list[str]:
        """Addresses of stages with an out equal to, above, or below `path`."""
        # The graph, the order and the params rules ask for the same deps again and again.
        known = self._producers_of.get(path)
        if known is None:
            known = self._producers_of[path] = tuple(self._find_producers(path))
        return list(known)

    @cached_property
    def _producers_of(self) -> dict[str, tuple[str, ...]]:
        return {}

    def _find_producers(self, path: str) -> list[str]:
        parts = self._parts
        if len(parts) > 1:  # every project's stages that write it
            return [a for part in parts.values() for a in part.producers_of(path)]
        found: list[str] = []
        producers = self._producers
        probe = path
        while True:
            address = producers.get(probe)
            if address is not None:
                found.append(address)
            if probe in ("", ".", "/") or "/" not in probe:
                break
            probe = probe.rsplit("/", 1)[0]
        prefix = "" if path == "." else path.rstrip("/") + "/"
        outs = self._sorted_outs
        index = bisect_left(outs, prefix)
        while index < len(outs) and outs[index].startswith(prefix):
            found.append(producers[outs[index]])
            index += 1
        return list(dict.fromkeys(found))

    @cached_property
    def _edges(self) -> list[tuple[str, str]]:
        parts = self._parts
        if len(parts) > 1:  # DVC builds one graph per project
            return [edge for part in parts.values() for edge in part._edges]
        edges: dict[tuple[str, str], None] = {}
        for stage in self.stages.values():
            for dep in stage.deps:
                for upstream in self.producers_of(dep.path):
                    if upstream != stage.address:
                        edges[(upstream, stage.address)] = None
        return list(edges)

    def edges(self) -> list[tuple[str, str]]:
        """(upstream, downstream) pairs: a dep of downstream is (under) an out of upstream."""
        return list(self._edges)

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {a: [] for a in self.stages}
        for up, down in self._edges:
            children[up].append(down)
        return children

    @cached_property
    def _parents(self) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {a: [] for a in self.stages}
        for up, down in self._edges:
            parents[down].append(up)
        return parents

    @cached_property
    def _order(self) -> list[str]:
        index = {a: i for i, a in enumerate(self.stages)}
        waiting = {a: len(p) for a, p in self._parents.items()}
        ready = [(index[a], a) for a, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, address = heapq.heappop(ready)
            order.append(address)
            for child in self._children[address]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (index[child], child))
        placed = set(order)
        order.extend(a for a in self.stages if a not in placed)  # stages in a cycle
        return order

    def topological_order(self) -> list[str]:
        """Every address, upstream first; declaration order breaks ties (cycles last)."""
        return list(self._order)

    def downstream(self, address: str) -> list[str]:
        """Every stage that re-runs after `address`, transitively, in topological order."""
        return self._reach(address, self._children)

    def upstream(self, address: str) -> list[str]:
        """Every stage `address` depends on, transitively, in topological order."""
        return self._reach(address, self._parents)

    def _reach(self, address: str, links: dict[str, list[str]]) -> list[str]:
        seen: set[str] = set()
        todo = list(links.get(address, []))
        while todo:
            current = todo.pop()
            if current in seen or current == address:
                continue
            seen.add(current)
            todo.extend(links.get(current, []))
        # Sorted by position, not filtered from the whole order: dvc-status asks this of
        # every stale stage, and 4,000 stages x 4,000 was a second.
        return sorted(seen, key=self._position.__getitem__)

    @cached_property
    def _position(self) -> dict[str, int]:
        return {address: i for i, address in enumerate(self._order)}

    def context(self, dvcfile: str) -> dict[str, Any]:
        """The resolved vars/params context of a dvc.yaml (plain data)."""
        found = self.contexts.get(dvcfile)
        return dict(found.data) if found else {}


def stage_address(dvcfile: str, name: str) -> str:
    """A stage's address as DVC prints it from the repository root."""
    return name if dvcfile == "dvc.yaml" else f"{dvcfile}:{name}"


def join_path(wdir: str, raw: str) -> str:
    """`raw` (as written relative to `wdir`) as a normalised repo-relative path."""
    if _URL.match(raw) or raw.startswith("/"):
        return raw
    joined = posixpath.normpath(posixpath.join(wdir, raw.replace("\\", "/")))
    return joined


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def param_value(values: Any, key: str) -> Any:
    """The value a params key names, as DVC reads it; MISSING when there is none.

    A key may hold dots itself (`train.lr` at the top level); otherwise each part steps
    into a mapping, or into a list by index.
    """
    if isinstance(values, dict) and key in values:
        return values[key]
    node = values
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


class LoadProblem(Exception):
    """A params/vars file DVC cannot load: why, and where in it when that is known."""

    def __init__(self, message: str, mark: Mark | None = None, kind: str = "") -> None:
        super().__init__(message)
        self.mark = mark or Mark(1, 1)
        self.kind = kind  # "outside": a path out of the repository, never read


class ParamsLoader:
    """Params and vars files, read once each (YAML through the project's cache)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.cache: dict[str, Any] = {}

    def load(self, rel: str) -> dict[str, Any]:
        """The file's mapping; raises LoadProblem with DVC's reason."""
        if rel not in self.cache:
            try:
                self.cache[rel] = self._load(rel)
            except LoadProblem as exc:
                self.cache[rel] = exc
        found = self.cache[rel]
        if isinstance(found, LoadProblem):
            raise found
        return found  # type: ignore[no-any-return]

    def doc(self, rel: str) -> YamlDoc | None:
        """The YamlDoc of a YAML params file (for marks), when it loads."""
        if _suffix(rel) in (".json", ".toml", ".py"):
            return None
        try:
            return self.project.yaml(rel)
        except Exception:
            return None

    def _load(self, rel: str) -> dict[str, Any]:
        from dvc_gitops.core.project import FileProblem

        if not self.project.exists(rel):
            raise LoadProblem(f"'{rel}' does not exist")
        if not self.project.inside(rel):
            raise LoadProblem(f"'{rel}' lies outside the repository", kind="outside")
        if self.project.is_dir(rel):
            raise LoadProblem(f"'{rel}' is a directory")
        suffix = _suffix(rel)
        try:
            if suffix == ".json":
                data = json.loads(self.project.read_text(rel))
            elif suffix == ".toml":
                data = _toml(self.project.read_text(rel))
            elif suffix == ".py":
                data = _python_params(self.project.read_text(rel))
            else:  # DVC reads an empty or falsy YAML document as {}
                data = self.project.yaml(rel).data or {}
        except (YamlProblem, FileProblem) as exc:
            raise LoadProblem(f"'{rel}' cannot be read: {exc.message}", exc.mark) from None
        except (RecursionError, MemoryError):
            raise LoadProblem(f"'{rel}' is nested too deeply for Python's parser") from None
        except (ValueError, SyntaxError) as exc:
            raise LoadProblem(f"'{rel}' cannot be parsed: {exc}") from None
        if not isinstance(data, dict):
            raise LoadProblem(
                f"'{rel}' holds a {type(data).__name__}, not a mapping of keys"
                if data is not None
                else f"'{rel}' is null, not a mapping of keys"
            )
        return data


def _suffix(rel: str) -> str:
    return posixpath.splitext(rel)[1].lower()


def _toml(text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    return tomllib.loads(text)


def _python_params(text: str) -> dict[str, Any]:
    """Top-level literal assignments and class attributes, as DVC reads a params .py."""
    tree = ast.parse(text)
    found: dict[str, Any] = {}

    def literals(body: list[ast.stmt]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for node in body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            elif isinstance(node, ast.ClassDef):
                values[node.name] = literals(node.body)
                continue
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    try:
                        values[target.id] = ast.literal_eval(value)
                    except ValueError:
                        continue
        return values

    found.update(literals(tree.body))
    return found
