"""Every place a Python project declares a dependency, read into `Pin`s with positions.

Manifests: requirements files (`requirements*.txt`, `*.in`, with `-r`/`-c` includes and
`--hash` continuation lines), pyproject.toml (PEP 621 `dependencies` and
`optional-dependencies`, PEP 735 `[dependency-groups]`, Poetry's dependency tables, uv's
dev/constraint lists, PDM and Hatch lists), setup.cfg, setup.py (the literal lists given
to `setup()`, read with `ast`, never run), Pipfile, conda `environment.yml` (and its `pip:`
list), pixi (`pixi.toml` or `[tool.pixi]`: conda and PyPI dependencies, per feature and
target). Locks: uv.lock, poetry.lock, pdm.lock, Pipfile.lock, pixi.lock. Requirement
strings are parsed by `packaging`, TOML by `tomllib` (locks by a line scan: they are
machine-written and large); nothing is installed or imported.
"""

from __future__ import annotations

import ast
import configparser
import dataclasses
import fnmatch
import functools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.formats import tomldoc
from dvc_gitops.formats.tomldoc import TomlDoc, TomlProblem
from dvc_gitops.formats.yamldoc import Mark, YamlProblem

Kind = Literal["declaration", "constraint", "lock"]

REQUIREMENTS_PATTERNS = ("*requirements*.txt", "*requirements*.in", "constraints*.txt")
MANIFEST_NAMES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "pixi.toml")
CONDA_PATTERNS = ("environment*.yml", "environment*.yaml", "conda.yml", "conda.yaml")
LOCK_NAMES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pixi.lock")

# pip's own rules: a comment starts at `#` at the line start or after whitespace, and
# the first word beginning with `-` starts the per-requirement options (`--hash=...`).
_COMMENT = re.compile(r"(^|\s+)#.*$")
_INCLUDE = re.compile(
    r"^(?P<flag>-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=-r)|(?<=-c))(?P<file>\S+)"
)
_NAME_AND_EXTRAS = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*(?:\s*\[[^\]]*\])?")
_CONDA_SPEC = re.compile(r"^(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<spec>.*)$")
# `=3.67.1`, `==3.67.1`, `3.67.1`, each optionally followed by a build string (`=py_0`,
# ` py_0`): conda's match-spec forms that name one version.
_CONDA_EXACT = re.compile(
    r"^(?:==?\s*)?(?P<version>[0-9][0-9A-Za-z.+!_-]*)(?:(?:=|\s+)[A-Za-z0-9_.*]+)?$"
)
_POETRY_EXACT = re.compile(r"^\s*(?:==?)?\s*(?P<version>[0-9][0-9A-Za-z.+!-]*)\s*$")
_PACKAGE_HEADER = re.compile(r"^\[\[package\]\][ \t]*(?:#[^\n]*)?$", re.MULTILINE)
_SUB_TABLE = re.compile(r"^\[", re.MULTILINE)
_LOCK_FIELD = {
    key: re.compile(rf"^{key}[ \t]*=[ \t]*([\"'])([^\"'\n]*)\1", re.MULTILINE)
    for key in ("name", "version")
}
_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7}) ", re.MULTILINE)
_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')
# A pixi.lock package: `- conda: .../dvc-3.60.0-pyhd8ed1ab_0.conda` or
# `- pypi: .../dvc-3.60.0-py3-none-any.whl`, at the start of an item of `packages:`.
_PIXI_PACKAGE = re.compile(
    r"^- (?:conda|pypi): \S*/(?P<name>[A-Za-z0-9_.]+(?:-[A-Za-z][A-Za-z0-9_.]*)*)"
    r"-(?P<version>[0-9][^-/\s]*)-\S*$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Edit:
    """How to pin a declaration in place: `text[start:end]` becomes `template` filled."""

    start: int
    end: int
    template: str  # "=={version}" (PEP 508) or "{version}" (Poetry)

    def apply(self, text: str, version: str) -> str:
        return text[: self.start] + self.template.format(version=version) + text[self.end :]


@dataclass(frozen=True)
class Pin:
    """One declaration (or lock entry) of a package in one file, where it was written."""

    package: str  # normalised: "dvc", "dvc-s3"
    path: str  # repo-relative file
    mark: Mark
    text: str  # as written: "dvc[s3]>=3.0", "^3.0", "dvc=3.67.1"
    version: str | None  # the exact version when pinned exactly (or locked)
    specifier: str | None  # PEP 440 specifier ("" = any); None when not PEP 440 (Poetry ^)
    extras: frozenset[str]
    marker: str  # "" when none
    kind: Kind
    where: str  # "requirements.txt", "[project] dependencies", "uv.lock"
    edit: Edit | None = None  # how --fix pins it, when it can
    no_edit: str = ""  # why --fix leaves it, when it cannot

    @property
    def place(self) -> str:
        return f"{self.path}:{self.mark.line}"


@dataclass(frozen=True)
class Unreadable:
    """A dependency file (or one line of it) that could not be read as its format."""

    path: str
    mark: Mark
    message: str


@dataclass
class Declarations:
    """What `read_declarations` found: pins, files read, problems, and which locks govern."""

    pins: list[Pin] = field(default_factory=list)
    problems: list[Unreadable] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # manifest path -> the files that pin its ranges exactly (lock, compiled .txt, -c file)
    locks: dict[str, list[str]] = field(default_factory=dict)


def exact_version(specifier: SpecifierSet) -> str | None:
    """The version of a lone `==V` / `===V` specifier without a wildcard, else None."""
    specs = list(specifier)
    if len(specs) != 1:
        return None
    spec = specs[0]
    if spec.operator not in ("==", "===") or spec.version.endswith(".*"):
        return None
    return spec.version


def dependency_files(project: Project) -> list[str]:
    """Repo-relative dependency files below the root, manifests first, then locks."""
    found: list[str] = []
    for folder, files, _hidden in project.folders:  # .dvcignore is DVC's, not pip's
        in_requirements_dir = folder.rsplit("/", 1)[-1] == "requirements"
        found.extend(
            f"{folder}/{name}" if folder != "." else name
            for name in files
            if (
                name in MANIFEST_NAMES
                or name in LOCK_NAMES
                or _matches(name, REQUIREMENTS_PATTERNS + CONDA_PATTERNS)
                or (in_requirements_dir and name.endswith((".txt", ".in")))
            )
        )
    order = {n: i for i, n in enumerate(MANIFEST_NAMES)}

    def rank(path: str) -> tuple[int, int, int, str]:
        # Manifests, then conda files, then locks; the shallowest (the root's) first.
        name = path.rsplit("/", 1)[-1]
        group = 2 if name in LOCK_NAMES else 1 if _matches(name, CONDA_PATTERNS) else 0
        return (group, path.count("/"), order.get(name, len(order)), path)

    return sorted(found, key=rank)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return _pattern(patterns).match(name) is not None


@functools.cache
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a set of globs: the walk tests every file name in the repository."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns))


def read_declarations(
    project: Project, wanted: Callable[[str], bool] = lambda _name: True
) -> Declarations:
    """Every declaration of a `wanted` package (by normalised name) in the project."""
    reader = _Reader(project, wanted)
    for path in dependency_files(project):
        reader.read(path)
    return reader.result


class _Reader:
    def __init__(self, project: Project, wanted: Callable[[str], bool]) -> None:
        self.project = project
        self.wanted = wanted
        self.result = Declarations()
        self.done: set[str] = set()

    def problem(self, path: str, mark: Mark, message: str) -> None:
        self.result.problems.append(Unreadable(path, mark, message))

    def pin(self, **fields: Any) -> None:
        self.result.pins.append(Pin(**fields))

    def text(self, path: str) -> str | None:
        try:
            return self.project.read_text(path)
        except FileProblem as exc:
            self.problem(path, exc.mark, exc.message)
            return None

    def read(self, path: str) -> None:
        if path in self.done:
            return
        name = path.rsplit("/", 1)[-1]
        if name == "pyproject.toml":
            self.read_pyproject(path)
        elif name == "setup.cfg":
            self.read_setup_cfg(path)
        elif name == "Pipfile":
            self.read_pipfile(path)
        elif name == "setup.py":
            self.read_setup_py(path)
        elif name in ("uv.lock", "poetry.lock", "pdm.lock"):
            self.read_toml_lock(path)
        elif name == "Pipfile.lock":
            self.read_pipfile_lock(path)
        elif name == "pixi.toml":
            self.read_pixi(path)
        elif name == "pixi.lock":
            self.read_pixi_lock(path)
        elif _matches(name, CONDA_PATTERNS):
            self.read_conda(path)
        else:
            kind: Kind = "constraint" if name.startswith("constraints") else "declaration"
            self.read_requirements(path, kind, [])
            if name.endswith(".in"):
                compiled = path[: -len(".in")] + ".txt"
                if self.project.exists(compiled):
                    self.govern(path, compiled)
        self.done.add(path)

    def govern(self, manifest: str, lock: str) -> None:
        self.result.locks.setdefault(manifest, []).append(lock)

    # -- PEP 508 strings, wherever they are written ------------------------------------

    def requirement(
        self, text: str, path: str, mark: Mark, where: str, kind: Kind, base: int | None
    ) -> Requirement | None:
        """Parse a PEP 508 string; record a pin when wanted. `base`: its offset, if editable."""
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            detail = str(exc).splitlines()[0]
            self.problem(path, mark, f"not a valid requirement '{text.strip()}': {detail}")
            return None
        name = canonicalize_name(req.name)
        if not self.wanted(name):
            return req
        edit, no_edit = None, ""
        if req.url:
            no_edit = "it installs from a URL"
        elif base is None:
            no_edit = "this file format is not rewritten by --fix"
        else:
            edit = requirement_edit(text, base)
        self.pin(
            package=name,
            path=path,
            mark=mark,
            text=text.strip(),
            version=None if req.url else exact_version(req.specifier),
            specifier=None if req.url else str(req.specifier),
            extras=frozenset(canonicalize_name(e) for e in req.extras),
            marker=str(req.marker) if req.marker else "",
            kind=kind,
            where=where,
            edit=edit,
            no_edit=no_edit,
        )
        return req

    # -- requirements files ----------------------------------------------------------

    def read_requirements(self, path: str, kind: Kind, stack: list[str]) -> None:
        text = self.text(path)
        if text is None:
            return
        self.result.files.append(path)
        folder = PurePosixPath(path).parent
        for line, offset, logical, physical in _logical_lines(text):
            content = _COMMENT.sub("", logical).strip()
            if not content:
                continue
            column = len(physical) - len(physical.lstrip()) + 1
            mark = Mark(line, column)
            if content.startswith("-"):
                include = _INCLUDE.match(content)
                if include and "$" not in include["file"] and "://" not in include["file"]:
                    target = os.path.normpath(folder / include["file"]).replace(os.sep, "/")
                    is_constraint = include["flag"] in ("-c", "--constraint")
                    self.include(path, mark, target, is_constraint, kind, [*stack, path])
                continue
            words = content.split(" ")
            first_option = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
            req_text = " ".join(words[:first_option])
            options = " ".join(words[first_option:])
            if _is_url_or_path(req_text):
                continue
            base: int | None = offset + column - 1
            physical_req = physical.strip()
            if not physical_req.startswith(req_text.strip()):
                base = None  # the requirement itself runs over a continuation line
            req = self.requirement(req_text, path, mark, path, kind, base)
            if req is not None and "--hash" in options:
                self.block_edit(
                    path,
                    mark,
                    "it carries --hash values that a new version would not match: "
                    "regenerate the file (pip-compile --upgrade-package)",
                )

    def block_edit(self, path: str, mark: Mark, why: str) -> None:
        pins = self.result.pins
        if pins and pins[-1].path == path and pins[-1].mark == mark:
            pins[-1] = dataclasses.replace(pins[-1], edit=None, no_edit=why)

    def include(
        self, path: str, mark: Mark, target: str, constraint: bool, kind: Kind, stack: list[str]
    ) -> None:
        if target in stack:
            cycle = " -> ".join([*stack[stack.index(target) :], target])
            message = f"include cycle {cycle}: pip fails on it with a RecursionError"
            self.problem(path, mark, message)
            return
        if not self.project.exists(target):
            self.problem(path, mark, f"included file '{target}' does not exist")
            return
        if constraint:
            self.govern(stack[0], target)
        if target in self.done:
            return
        self.done.add(target)
        self.read_requirements(target, "constraint" if constraint else kind, stack)

    # -- pyproject.toml, Pipfile, locks -------------------------------------------------

    def toml(self, path: str) -> TomlDoc | None:
        text = self.text(path)
        if text is None:
            return None
        self.result.files.append(path)
        try:
            return tomldoc.load(text, path)
        except TomlProblem as exc:
            self.problem(path, exc.mark, f"invalid TOML: {exc.message}")
            return None

    def toml_requirements(
        self, doc: TomlDoc, key: tuple[str | int, ...], where: str, kind: Kind = "declaration"
    ) -> None:
        items = _get(doc.data, key)
        if not isinstance(items, list):
            if items is not None:
                self.problem(doc.path, doc.key_mark(key), f"{where} must be a list of strings")
            return
        for index, item in enumerate(items):
            if not isinstance(item, str):
                continue  # {include-group = ...} in dependency-groups: checked apart
            span = doc.strings.get((*key, index))
            if span is None:
                continue
            base = span.start if span.raw == item else None
            self.requirement(item, doc.path, span.mark, where, kind, base)

    def read_pyproject(self, path: str) -> None:
        doc = self.toml(path)
        if doc is None:
            return
        data = doc.data
        self.toml_requirements(doc, ("project", "dependencies"), "[project] dependencies")
        extras = _get(data, ("project", "optional-dependencies"))
        for extra in extras if isinstance(extras, dict) else {}:
            where = f"[project.optional-dependencies] {extra}"
            self.toml_requirements(doc, ("project", "optional-dependencies", extra), where)
        groups = data.get("dependency-groups")
        for group in groups if isinstance(groups, dict) else {}:
            self.toml_requirements(doc, ("dependency-groups", group), f"dependency group {group}")
        if isinstance(groups, dict):
            self.check_include_groups(doc, groups)
        uv = ("tool", "uv")
        self.toml_requirements(doc, (*uv, "dev-dependencies"), "[tool.uv] dev-dependencies")
        for key in ("constraint-dependencies", "override-dependencies"):
            self.toml_requirements(doc, (*uv, key), f"[tool.uv] {key}", "constraint")
        poetry = ("tool", "poetry")
        for table in ("dependencies", "dev-dependencies"):
            self.read_poetry_table(doc, (*poetry, table))
        poetry_groups = _get(data, (*poetry, "group"))
        for group in poetry_groups if isinstance(poetry_groups, dict) else {}:
            self.read_poetry_table(doc, (*poetry, "group", group, "dependencies"))
        pdm = _get(data, ("tool", "pdm", "dev-dependencies"))
        for group in pdm if isinstance(pdm, dict) else {}:
            pdm_key = ("tool", "pdm", "dev-dependencies", group)
            self.toml_requirements(doc, pdm_key, f"[tool.pdm.dev-dependencies] {group}")
        hatch = _get(data, ("tool", "hatch", "envs"))
        for env in hatch if isinstance(hatch, dict) else {}:
            for field_name in ("dependencies", "extra-dependencies"):
                hatch_key = ("tool", "hatch", "envs", env, field_name)
                self.toml_requirements(doc, hatch_key, f"[tool.hatch.envs.{env}] {field_name}")
        if isinstance(_get(data, ("tool", "pixi")), dict):
            self.read_pixi_tables(doc, ("tool", "pixi"))
        folder = PurePosixPath(path).parent
        for lock in ("uv.lock", "poetry.lock", "pdm.lock", "pixi.lock"):
            lock_path = (folder / lock).as_posix().removeprefix("./")
            if self.project.exists(lock_path):
                self.govern(path, lock_path)

    def check_include_groups(self, doc: TomlDoc, groups: dict[str, Any]) -> None:
        """PEP 735: every include-group names a group, and includes never loop."""
        names = {canonicalize_name(g): g for g in groups}
        reported: set[frozenset[str]] = set()

        def visit(group: str, stack: list[str]) -> None:
            items = groups.get(group)
            for index, item in enumerate(items if isinstance(items, list) else []):
                if not isinstance(item, dict) or "include-group" not in item:
                    continue
                target = names.get(canonicalize_name(str(item["include-group"])))
                key = ("dependency-groups", group, index, "include-group")
                mark = doc.value_mark(key)
                if target is None:
                    self.problem(
                        doc.path, mark, f"include-group '{item['include-group']}' names no group"
                    )
                elif target in stack:
                    members = stack[stack.index(target) :]
                    if frozenset(members) not in reported:  # each cycle once
                        reported.add(frozenset(members))
                        cycle = " -> ".join([*members, target])
                        self.problem(doc.path, mark, f"dependency groups include a cycle {cycle}")
                else:
                    visit(target, [*stack, target])

        for group in groups:
            visit(group, [group])

    def read_poetry_table(self, doc: TomlDoc, key: tuple[str | int, ...]) -> None:
        table = _get(doc.data, key)
        if not isinstance(table, dict):
            return
        where = "[" + ".".join(str(k) for k in key) + "]"
        for raw_name, value in table.items():
            name = canonicalize_name(raw_name)
            if name == "python" or not self.wanted(name):
                continue
            entries = value if isinstance(value, list) else [value]
            for index, entry in enumerate(entries):
                path = (
                    (*key, raw_name)
                    if len(entries) == 1 and not isinstance(value, list)
                    else (
                        *key,
                        raw_name,
                        index,
                    )
                )
                self.poetry_entry(doc, name, path, entry, where)

    def poetry_entry(
        self, doc: TomlDoc, name: str, path: tuple[str | int, ...], entry: Any, where: str
    ) -> None:
        extras: list[str] = []
        marker = ""
        if isinstance(entry, dict):
            extras = [str(e) for e in entry.get("extras", [])]
            marker = str(entry.get("markers", ""))
            version_path = (*path, "version")
            constraint = entry.get("version")
        else:
            version_path = path
            constraint = entry
        if not isinstance(constraint, str):
            constraint = ""  # a git, path or URL source: no version at all
        exact = _POETRY_EXACT.match(constraint)
        try:
            specifier: str | None = str(SpecifierSet(constraint.replace("*", "")))
        except InvalidSpecifier:
            specifier = None  # Poetry's own ^ and ~ syntax
        if exact:
            specifier = f"=={exact['version']}"
        span = doc.strings.get(version_path)
        edit = Edit(span.start, span.end, "{version}") if span and span.raw == constraint else None
        self.pin(
            package=name,
            path=doc.path,
            mark=span.mark if span else doc.key_mark(path),
            text=f'{name} = "{constraint}"' if constraint else name,
            version=exact["version"] if exact else None,
            specifier=specifier,
            extras=frozenset(canonicalize_name(e) for e in extras),
            marker=marker,
            kind="declaration",
            where=where,
            edit=edit if constraint else None,
            no_edit="" if constraint else "it installs from a source, not an index",
        )

    def read_pixi(self, path: str) -> None:
        doc = self.toml(path)
        if doc is None:
            return
        self.read_pixi_tables(doc, ())
        lock = (PurePosixPath(path).parent / "pixi.lock").as_posix().removeprefix("./")
        if self.project.exists(lock):
            self.govern(path, lock)

    def read_pixi_tables(self, doc: TomlDoc, top: tuple[str | int, ...]) -> None:
        """pixi's dependency tables: conda and PyPI, at the top, per feature and target."""
        owners: list[tuple[str | int, ...]] = [top]
        for group in ("feature", "target"):
            tables = _get(doc.data, (*top, group))
            owners += [(*top, group, n) for n in (tables if isinstance(tables, dict) else {})]
        features = _get(doc.data, (*top, "feature"))
        for feature in features if isinstance(features, dict) else {}:
            targets = _get(doc.data, (*top, "feature", feature, "target"))
            owners += [
                (*top, "feature", feature, "target", t)
                for t in (targets if isinstance(targets, dict) else {})
            ]
        for owner in owners:
            for table in ("dependencies", "pypi-dependencies"):
                self.read_pixi_table(doc, (*owner, table))

    def read_pixi_table(self, doc: TomlDoc, key: tuple[str | int, ...]) -> None:
        table = _get(doc.data, key)
        if not isinstance(table, dict):
            return
        where = "[" + ".".join(str(k) for k in key) + "]"
        for raw_name, value in table.items():
            name = canonicalize_name(raw_name)
            if not self.wanted(name):
                continue
            path = (*key, raw_name)
            extras: list[str] = []
            if isinstance(value, dict):
                extras = [str(e) for e in value.get("extras", [])]
                path = (*path, "version")
                value = value.get("version", "")
            spec = value.strip() if isinstance(value, str) else ""
            spec = "" if spec == "*" else spec
            # conda's bare `3.67` and `3.67.1` are fuzzy (3.67.*): only `==` names one release.
            exact = re.fullmatch(r"==\s*([0-9][0-9A-Za-z.+!_-]*)", spec)
            try:
                specifier: str | None = str(SpecifierSet(spec)) if spec else ""
            except InvalidSpecifier:
                specifier = None
            span = doc.strings.get(path)
            self.pin(
                package=name,
                path=doc.path,
                mark=span.mark if span else doc.key_mark(path),
                text=f'{raw_name} = "{spec}"' if spec else raw_name,
                version=exact[1] if exact and "*" not in spec else None,
                specifier=specifier,
                extras=frozenset(canonicalize_name(e) for e in extras),
                marker="",
                kind="declaration",
                where=where,
                edit=Edit(span.start, span.end, "=={version}") if span else None,
            )

    def read_pixi_lock(self, path: str) -> None:
        """pixi.lock: the name and version in each package's URL, by a line scan (the
        lock is machine-written YAML, megabytes for a data-science environment)."""
        text = self.text(path)
        if text is None:
            return
        self.result.files.append(path)
        start = re.search(r"^packages:\s*$", text, re.MULTILINE)
        seen: set[tuple[str, str]] = set()
        for found in _PIXI_PACKAGE.finditer(text, start.end() if start else 0):
            name = canonicalize_name(found["name"])
            if (name, found["version"]) in seen or not self.wanted(name):
                continue
            seen.add((name, found["version"]))
            offset = found.start("version")
            line = text.count("\n", 0, offset) + 1
            self.pin(
                package=name,
                path=path,
                mark=Mark(line, offset - _line_start(text, offset) + 1),
                text=found[0][2:],
                version=found["version"],
                specifier=f"=={found['version']}",
                extras=frozenset(),
                marker="",
                kind="lock",
                where=path.rsplit("/", 1)[-1],
            )

    def read_pipfile(self, path: str) -> None:
        doc = self.toml(path)
        if doc is None:
            return
        for category, table in doc.data.items():
            if category in ("source", "requires", "scripts", "pipenv") or not isinstance(
                table, dict
            ):
                continue
            for raw_name, value in table.items():
                name = canonicalize_name(raw_name)
                if not self.wanted(name):
                    continue
                key: tuple[str | int, ...] = (category, raw_name)
                spec = value.get("version", "") if isinstance(value, dict) else value
                if isinstance(value, dict):
                    key = (*key, "version")
                spec = "" if not isinstance(spec, str) or spec.strip() == "*" else spec
                try:
                    specifier: str | None = str(SpecifierSet(spec))
                except InvalidSpecifier:
                    self.problem(path, doc.value_mark(key), f"not a valid version '{spec}'")
                    continue
                span = doc.strings.get(key)
                raw = span.raw if span else ""
                self.pin(
                    package=name,
                    path=path,
                    mark=span.mark if span else doc.key_mark(key),
                    text=f'{raw_name} = "{raw}"',
                    version=exact_version(SpecifierSet(spec)),
                    specifier=specifier,
                    extras=frozenset(
                        canonicalize_name(e)
                        for e in (value.get("extras", []) if isinstance(value, dict) else [])
                    ),
                    marker=str(value.get("markers", "")) if isinstance(value, dict) else "",
                    kind="declaration",
                    where=f"Pipfile [{category}]",
                    edit=Edit(span.start, span.end, "=={version}") if span else None,
                )
        lock = path + ".lock"
        if self.project.exists(lock):
            self.govern(path, lock)

    def read_toml_lock(self, path: str) -> None:
        """uv.lock, poetry.lock, pdm.lock: each `[[package]]` block's name and version.

        Locks are machine-written and large (half a megabyte for dvc[s3]); a line scan
        reads them in a few milliseconds where tomllib takes a few hundred.
        """
        text = self.text(path)
        if text is None:
            return
        self.result.files.append(path)
        conflict = _CONFLICT_MARKER.search(text)
        if conflict:
            line = text.count("\n", 0, conflict.start()) + 1
            self.problem(path, Mark(line, 1), "merge conflict markers: regenerate the lock")
            return
        headers = list(_PACKAGE_HEADER.finditer(text))
        for index, header in enumerate(headers):
            block_end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
            table = _SUB_TABLE.search(text, header.end(), block_end)
            own_end = table.start() if table else block_end  # before [package.xyz] tables
            name = _LOCK_FIELD["name"].search(text, header.end(), own_end)
            version = _LOCK_FIELD["version"].search(text, header.end(), own_end)
            if not name or not version or not self.wanted(canonicalize_name(name[2])):
                continue
            offset = version.start(2)
            line = text.count("\n", 0, offset) + 1
            self.pin(
                package=canonicalize_name(name[2]),
                path=path,
                mark=Mark(line, offset - _line_start(text, offset) + 1),
                text=f'version = "{version[2]}"',
                version=version[2],
                specifier=f"=={version[2]}",
                extras=frozenset(),
                marker="",
                kind="lock",
                where=path.rsplit("/", 1)[-1],
            )

    def read_pipfile_lock(self, path: str) -> None:
        text = self.text(path)
        if text is None:
            return
        self.result.files.append(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.problem(path, Mark(exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")
            return
        if not isinstance(data, dict):
            self.problem(path, Mark(1, 1), "invalid Pipfile.lock: not a JSON object")
            return
        for category, table in data.items():
            if category == "_meta" or not isinstance(table, dict):
                continue
            for raw_name, entry in table.items():
                name = canonicalize_name(raw_name)
                version = entry.get("version", "") if isinstance(entry, dict) else ""
                if not self.wanted(name) or not str(version).startswith("=="):
                    continue
                version = str(version)[2:]
                self.pin(
                    package=name,
                    path=path,
                    mark=_json_mark(text, category, raw_name),
                    text=f'"{raw_name}": "=={version}"',
                    version=version,
                    specifier=f"=={version}",
                    extras=frozenset(),
                    marker="",
                    kind="lock",
                    where="Pipfile.lock",
                )

    # -- setup.cfg, conda ----------------------------------------------------------------

    def read_setup_cfg(self, path: str) -> None:
        text = self.text(path)
        if text is None:
            return
        self.result.files.append(path)
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source=path)
        except configparser.Error as exc:
            line = getattr(exc, "lineno", 1) or 1
            message = str(exc).splitlines()[0].replace(f"While reading from '{path}' ", "")
            self.problem(path, Mark(int(line), 1), f"invalid setup.cfg: {message}")
            return
        for section, key, line, offset, value in ini_values(text):
            if (section == "options" and key == "install_requires") or (
                section == "options.extras_require"
            ):
                where = f"[{section}] {key}"
                requirement = _COMMENT.sub("", value).strip()
                if requirement:
                    column = value.index(requirement[0]) + 1 + (offset - _line_start(text, offset))
                    base = offset + value.index(requirement[0])
                    self.requirement(
                        requirement, path, Mark(line, column), where, "declaration", base
                    )

    def read_setup_py(self, path: str) -> None:
        """`setup(install_requires=[...], extras_require={...})` string literals, statically."""
        text = self.text(path)
        if text is None:
            return
        self.result.files.append(path)
        try:
            tree = ast.parse(text, path)
        except SyntaxError as exc:
            mark = Mark(exc.lineno or 1, exc.offset or 1)
            self.problem(path, mark, f"invalid Python: {exc.msg}")
            return
        except (RecursionError, MemoryError, ValueError):
            self.problem(path, Mark(1, 1), "not Python this check can read (nested too deeply)")
            return
        lines = text.splitlines()
        bound = _module_bindings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node.func) != "setup":
                continue
            for keyword in node.keywords:
                value = _follow(keyword.value, bound)
                if keyword.arg == "install_requires":
                    lists = [(value, "setup() install_requires")]
                elif keyword.arg == "extras_require" and isinstance(value, ast.Dict):
                    lists = [
                        (_follow(item, bound), f"setup() extras_require {key.value}")
                        for key, item in zip(value.keys, value.values, strict=True)
                        if isinstance(key, ast.Constant) and isinstance(key.value, str)
                    ]
                else:
                    continue
                for container, where in lists:
                    for item in getattr(container, "elts", []):
                        if isinstance(item, ast.Constant) and isinstance(item.value, str):
                            # col_offset counts UTF-8 bytes; the quote precedes the text.
                            line = lines[item.lineno - 1].encode()
                            column = len(line[: item.col_offset].decode(errors="replace")) + 2
                            mark = Mark(item.lineno, column)
                            self.requirement(item.value, path, mark, where, "declaration", None)

    def read_conda(self, path: str) -> None:
        try:
            doc = self.project.yaml(path)
        except YamlProblem as exc:
            message = (
                exc.message if exc.message.startswith("invalid") else f"invalid YAML: {exc.message}"
            )
            self.problem(path, exc.mark, message)
            return
        except FileProblem as exc:
            self.problem(path, exc.mark, exc.message)
            return
        self.result.files.append(path)
        deps = doc.data.get("dependencies") if isinstance(doc.data, dict) else None
        folder = PurePosixPath(path).parent
        for index, item in enumerate(deps if isinstance(deps, list) else []):
            if isinstance(item, str):
                self.conda_spec(path, item, doc.value_mark(("dependencies", index)))
            elif isinstance(item, dict) and isinstance(item.get("pip"), list):
                for number, pip_item in enumerate(item["pip"]):
                    mark = doc.value_mark(("dependencies", index, "pip", number))
                    if not isinstance(pip_item, str):
                        continue
                    include = _INCLUDE.match(pip_item.strip())
                    if include:
                        target = os.path.normpath(folder / include["file"]).replace(os.sep, "/")
                        constraint = include["flag"] in ("-c", "--constraint")
                        self.include(path, mark, target, constraint, "declaration", [path])
                    elif not pip_item.startswith("-") and not _is_url_or_path(pip_item):
                        where = f"{path} pip:"
                        self.requirement(pip_item, path, mark, where, "declaration", None)

    def conda_spec(self, path: str, item: str, mark: Mark) -> None:
        found = _CONDA_SPEC.match(item.strip())
        if not found:
            self.problem(path, mark, f"not a conda package spec '{item}'")
            return
        name = canonicalize_name(found["name"])
        if not self.wanted(name):
            return
        spec = found["spec"].strip()
        exact = _CONDA_EXACT.match(spec) if spec else None
        version = exact["version"] if exact and "*" not in spec else None
        if version and spec.startswith("=") and not spec.startswith("=="):
            # conda's `=3.67` is fuzzy (every 3.67.x); a full x.y.z names one release.
            version = version if len(version.split(".")) >= 3 else None
        self.pin(
            package=name,
            path=path,
            mark=mark,
            text=item.strip(),
            version=version,
            specifier=f"=={version}" if version else None,
            extras=frozenset(),
            marker="",
            kind="declaration",
            where=f"{path} (conda)",
            no_edit="this file format is not rewritten by --fix",
        )


def _module_bindings(tree: ast.Module) -> dict[str, ast.expr]:
    """Names bound once at the module's top level (`extras_require = {...}`), the simple
    case setup.py files use to keep `setup()` short; names bound twice are left out."""
    bound: dict[str, ast.expr] = {}
    twice: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if isinstance(target, ast.Name):
                if target.id in bound:
                    twice.add(target.id)
                bound[target.id] = value
    return {name: value for name, value in bound.items() if name not in twice}


def _follow(node: ast.expr, bound: dict[str, ast.expr]) -> ast.expr:
    """The literal a name stands for (one step: no chains, no computation)."""
    if isinstance(node, ast.Name) and node.id in bound:
        return bound[node.id]
    return node


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def requirement_edit(text: str, base: int) -> Edit | None:
    """The span of a PEP 508 string's version specifier (empty: where one would go)."""
    head = _NAME_AND_EXTRAS.match(text)
    if head is None:
        return None
    rest_end = text.find(";", head.end())
    rest_end = len(text) if rest_end < 0 else rest_end
    region = text[head.end() : rest_end]
    spec = region.strip()
    if "@" in spec:
        return None
    start = head.end() + (len(region) - len(region.lstrip()))
    if not spec:
        start = head.end()
    return Edit(base + start, base + start + len(spec), "=={version}")


def _is_url_or_path(text: str) -> bool:
    text = text.strip()
    head = re.split(r"[\s;]", text, maxsplit=1)[0]
    return (
        "://" in head
        or head.startswith((".", "/", "~", "git+", "hg+", "svn+", "bzr+"))
        or (("/" in head or "\\" in head) and "@" not in text)
        or head.endswith((".whl", ".tar.gz", ".zip"))
    )


def _logical_lines(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(first line number, its offset, joined text, first physical line) per pip line."""
    offset = 0
    pending: list[str] = []
    first_line, first_offset, first_physical = 0, 0, ""
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        bare = line.rstrip("\r\n")
        if not pending:
            first_line, first_offset, first_physical = number, offset, bare
        offset += len(line)
        if bare.endswith("\\") and not _COMMENT.match(bare.lstrip()):
            pending.append(bare[:-1])
            continue
        pending.append(bare)
        yield first_line, first_offset, " ".join(p.strip() for p in pending), first_physical
        pending = []
    if pending:
        yield first_line, first_offset, " ".join(p.strip() for p in pending), first_physical


def ini_values(text: str) -> Iterator[tuple[str, str, int, int, str]]:
    """(section, key, line, offset, text) for each line of each value in an INI file."""
    section, key, key_indent = "", "", 0
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        bare = line.rstrip("\r\n")
        start = offset
        offset += len(line)
        stripped = bare.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        indent = len(bare) - len(bare.lstrip())
        if key and indent > key_indent:  # deeper than its key: a continuation line
            yield section, key, number, start, bare
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section, key = stripped[1:-1].strip(), ""
            continue
        found = re.match(r"\s*([^=:]+?)\s*[=:]\s*", bare)
        if found:
            key, key_indent = found[1].strip().lower(), indent
            yield section, key, number, start + found.end(), bare[found.end() :]


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _json_mark(text: str, category: str, name: str) -> Mark:
    """Where `"name":` stands inside the `"category"` object of a JSON text."""
    start = 0
    for found in _JSON_KEY.finditer(text):
        if found[1] == category:
            start = found.end()
            break
    for found in _JSON_KEY.finditer(text, start):
        if found[1] == name:
            line = text.count("\n", 0, found.start()) + 1
            return Mark(line, found.start() - _line_start(text, found.start()) + 1)
    return Mark(1, 1)


def _get(data: Any, key: tuple[str | int, ...]) -> Any:
    for part in key:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data
