"""Resolving one dvc.yaml as DVC does: vars, params, `${...}`, foreach, matrix, wdir.

`FileResolver` turns a file's raw data into `Stage`s of a `Pipeline`, recording what DVC
would refuse as issues instead of raising.
"""

from __future__ import annotations

import difflib
import math
import posixpath
import re
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

import yaml

from dvc_gitops.dvcmodel.interpolation import (
    TEMPLATE,
    Context,
    InterpolationError,
    has_template,
    templates,
    to_text,
    with_iteration,
)
from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlProblem, scalar_value

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project


from dvc_gitops.dvcmodel.stages import (
    DEFAULT_PARAMS,
    Issue,
    LoadProblem,
    Out,
    ParamRef,
    ParamsLoader,
    Pipeline,
    Ref,
    Stage,
    VarsEntry,
    join_path,
    stage_address,
)

# The most stages one foreach/matrix definition may expand to: far above any real
# pipeline (the largest known has 4,172 stages in all), far below what exhausts memory
# (a 3 KB matrix of 300 x 300 x 300 values asks for 27 million).
MAX_MEMBERS = 20_000

# Mapping nodes -> {key: (key node, value node)}: stage templates are looked up once per
# foreach member and per key, so each mapping is scanned (and its keys typed) once.
_KEY_INDEX: weakref.WeakKeyDictionary[yaml.Node, dict[Any, tuple[yaml.Node, yaml.Node]]] = (
    weakref.WeakKeyDictionary()
)


def _child(node: yaml.Node | None, step: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(key node, value node) one step below `node`, or (None, None)."""
    if isinstance(node, yaml.MappingNode):
        index = _KEY_INDEX.get(node)
        if index is None:
            from dvc_gitops.formats.yamldoc import _merged_pairs

            index = {}
            for key, value in _merged_pairs(node):
                if isinstance(key, yaml.ScalarNode):
                    typed = scalar_value(key)
                    if isinstance(typed, (str, int, float, bool)) or typed is None:
                        index.setdefault(typed, (key, value))
            _KEY_INDEX[node] = index
        return index.get(step, (None, None))
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        items = node.value
        return (None, items[step]) if 0 <= step < len(items) else (None, None)
    return None, None


def _mark(node: yaml.Node | None, fallback: Mark) -> Mark:
    if node is None:
        return fallback
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass(frozen=True)
class _KeyOf:
    """A step to the key node of a mapping entry, not to its value."""

    key: str


def _descend(node: yaml.Node | None, path: list[Any]) -> yaml.Node | None:
    """The node `path` leads to from `node` (see `FileResolver._walk`)."""
    for step in path:
        node = _child(node, step.key)[0] if isinstance(step, _KeyOf) else _child(node, step)[1]
    return node


class FileResolver:
    """Resolves one dvc.yaml into stages of the pipeline."""

    def __init__(
        self,
        project: Project,
        pipeline: Pipeline,
        dvcfile: str,
        config: dict[str, str],
        loader: ParamsLoader,
    ) -> None:
        self.project = project
        self.pipeline = pipeline
        self.dvcfile = dvcfile
        self.folder = posixpath.dirname(dvcfile) or "."
        self.config = config
        self.loader = loader
        self.seen_issues: set[tuple[str, Mark, str]] = set()
        self.hints: dict[tuple[str, Mark], str] = {}
        # A file-level failure (a missing vars file) leaves keys undefined: templates
        # that miss a key then are consequences, not problems of their own.
        self.incomplete = False

    def issue(self, kind: str, mark: Mark, message: str, file: str | None = None) -> None:
        key = (kind, mark, message)
        if key in self.seen_issues:
            return
        self.seen_issues.add(key)
        self.pipeline.issues.append(Issue(kind, file or self.dvcfile, mark, message))

    def fail(self, message: str) -> None:
        self.pipeline.problems.setdefault(self.dvcfile, message)

    def resolve(self) -> None:
        from dvc_gitops.core.project import FileProblem

        try:
            doc = self.project.yaml(self.dvcfile)
        except (YamlProblem, FileProblem) as exc:
            self.fail(exc.message)
            return
        self.doc = doc
        # Held while this file resolves: its marks come from it (the doc keeps only data).
        self.tree = doc.root
        if doc.problems:
            self.fail(doc.problems[0].message)
        data = doc.data
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("the file is not a mapping of `stages`, `vars`, ...")
            return
        from dvc_gitops.dvcmodel.schema import doc_is_valid

        if data and not doc_is_valid(doc):
            # DVC refuses the whole file; its stages are still built as far as they go,
            # so the graph rules can speak too, but consumers learn it will not load.
            self.fail("DVC's schema refuses the file (check-dvc-yaml says where)")
        context = Context()
        self.pipeline.contexts[self.dvcfile] = context
        context.used = self.pipeline.used_keys
        self._load_default_params(context)
        self._load_vars(context, data.get("vars"), ("vars",), self.folder, None)
        self._top_level_sections(data, context)
        stages = data.get("stages")
        if stages is None:
            self.pipeline.definitions[self.dvcfile] = []
            return
        if not isinstance(stages, dict):
            self.fail("`stages` is not a mapping")
            return
        stages_node = doc.node(("stages",))
        nodes: dict[Any, tuple[yaml.Node | None, yaml.Node | None]] = {}
        if isinstance(stages_node, yaml.MappingNode):
            from dvc_gitops.formats.yamldoc import _merged_pairs

            for k_node, v_node in _merged_pairs(stages_node):
                if isinstance(k_node, yaml.ScalarNode):
                    nodes.setdefault(scalar_value(k_node), (k_node, v_node))
        self.pipeline.definitions[self.dvcfile] = [n for n in stages if isinstance(n, str)]
        for name, definition in stages.items():
            if not isinstance(name, str) or not isinstance(definition, dict):
                continue
            key_node, value_node = nodes.get(name, (None, None))
            self._definition(name, definition, key_node, value_node, context)

    # -- vars and params ----------------------------------------------------------

    def _load_default_params(self, context: Context) -> None:
        rel = join_path(self.folder, DEFAULT_PARAMS)
        if not self.project.is_file(rel):
            return
        self.pipeline.default_params[self.dvcfile] = rel
        try:
            data = self.loader.load(rel)
            context.merge(data, rel, is_file=True)
        except LoadProblem as exc:
            self.issue(
                "params-unreadable",
                exc.mark,
                f"{exc}; DVC reads the params.yaml beside {self.dvcfile} for its templates "
                "and refuses the whole dvc.yaml until it is a mapping of keys",
                file=rel,
            )
            self.fail(str(exc))
            self.incomplete = True
        context.imports[rel] = None

    def _load_vars(
        self,
        context: Context,
        entries: Any,
        path: JsonPath,
        wdir: str,
        stage: str | None,
        base: yaml.Node | None = None,
    ) -> None:
        if not isinstance(entries, list):
            return
        node = base if base is not None else self.doc.node(path)
        if has_template(entries):
            self._report_vars_templates(entries, node)
            self.incomplete = True
            return
        for index, item in enumerate(entries):
            _, item_node = _child(node, index)
            mark = _mark(item_node, self.doc.value_mark(path))
            if isinstance(item, str):
                self._load_vars_file(context, item, mark, wdir, stage)
            elif isinstance(item, dict):
                label = f"{stage}.vars[{index}]" if stage else f"vars[{index}]"
                self.pipeline.vars_entries.append(VarsEntry(self.dvcfile, stage, None, None, mark))
                try:
                    context.merge(item, label, is_file=False)
                except InterpolationError as exc:
                    where = self._key_mark(item_node, exc.expression, mark)
                    self.issue(exc.kind, where, exc.message)
                    self.fail(exc.message)
                    self.incomplete = True

    def _key_mark(self, node: yaml.Node | None, dotted: str, fallback: Mark) -> Mark:
        """The mark of `a.b` inside an inline vars mapping node."""
        current = node
        key_node: yaml.Node | None = None
        for part in dotted.split("."):
            key_node, current = _child(current, part)
            if current is None:
                return fallback
        return _mark(key_node, fallback)

    def _report_vars_templates(self, value: Any, node: yaml.Node | None) -> None:
        for text, text_node in _strings(value, node):
            if templates(text):
                self.issue(
                    "vars-template",
                    _mark(text_node, Mark(1, 1)),
                    f"'{text}' in vars: DVC does not fill in templates inside vars; "
                    "write the value itself",
                )
        self.fail("vars may not hold ${...} templates")

    def _load_vars_file(
        self, context: Context, item: str, mark: Mark, wdir: str, stage: str | None
    ) -> None:
        name, _, keys_text = item.partition(":")
        rel = join_path(wdir, name)
        keys = [k for k in keys_text.split(",") if k] if keys_text else None
        self.pipeline.vars_entries.append(
            VarsEntry(self.dvcfile, stage, rel, tuple(keys) if keys else None, mark)
        )
        if rel in context.imports:
            loaded = context.imports[rel]
            if not keys and loaded is None:
                return  # the same whole file twice is allowed
            if (
                (not keys and isinstance(loaded, list))
                or (keys and loaded is None)
                or (keys and isinstance(loaded, list) and set(keys) & set(loaded))
            ):
                self.issue(
                    "redefined",
                    mark,
                    f"'{item}' loads keys of '{rel}' that are already loaded: "
                    "DVC refuses to load a file twice; keep one entry",
                )
                self.fail(f"'{item}' is already loaded")
                self.incomplete = True
                return
        try:
            data = self.loader.load(rel)
            if keys:
                missing = [k for k in keys if k not in data]
                if missing:
                    self.issue(
                        "vars-key-missing",
                        mark,
                        f"'{item}': key '{missing[0]}' is not in '{rel}'; "
                        "add it there or drop it from the list",
                    )
                    self.fail(f"could not find '{missing[0]}' in '{rel}'")
                    self.incomplete = True
                    return
                data = {k: data[k] for k in keys}
            context.merge(data, rel, is_file=True)
        except LoadProblem as exc:
            kind = "vars-file-missing" if "does not exist" in str(exc) else "vars-unreadable"
            where = "" if not stage else f" (stage '{stage}')"
            if exc.kind == "outside":
                self.issue(
                    "outside-repository",
                    mark,
                    f"vars file {exc}{where}: dvc-gitops reads nothing outside the "
                    "repository (a checkout must not reach your other files); keep vars "
                    "files inside it",
                )
                self.incomplete = True
                return
            self.issue(
                kind,
                mark,
                f"vars file {exc}{where}: DVC cannot load this dvc.yaml; create it "
                "or fix the path (relative to the dvc.yaml's folder or the stage's wdir)",
            )
            self.fail(f"failed to parse 'vars': {exc}")
            self.incomplete = True
            return
        except InterpolationError as exc:
            self.issue(exc.kind, mark, exc.message)
            self.fail(exc.message)
            self.incomplete = True
            return
        previous = context.imports.get(rel)
        if rel not in context.imports:
            context.imports[rel] = list(keys) if keys else None
        elif keys and isinstance(previous, list):
            previous.extend(keys)

    def _top_level_sections(self, data: dict[str, Any], context: Context) -> None:
        """Templates in top-level metrics, plots, params, datasets and artifacts.

        DVC fills these in when it loads the file, so a missing key there fails every
        command, like one in a stage.
        """
        for section in ("metrics", "plots", "params", "datasets"):
            entries = data.get(section)
            if isinstance(entries, list):
                self._resolve(entries, context, None, self.doc.node((section,)), Mark(1, 1))
        artifacts = data.get("artifacts")
        if isinstance(artifacts, dict):
            node = self.doc.node(("artifacts",))
            for name, definition in artifacts.items():
                key_node, value_node = _child(node, name)
                mark = _mark(key_node, Mark(1, 1))
                self._resolve(name, context, None, key_node, mark)
                self._resolve(definition, context, None, value_node, mark)

    # -- stages -------------------------------------------------------------------

    def _definition(
        self,
        name: str,
        definition: dict[str, Any],
        key_node: yaml.Node | None,
        value_node: yaml.Node | None,
        context: Context,
    ) -> None:
        stage_mark = _mark(key_node, Mark(1, 1))
        json_path: JsonPath = ("stages", name)
        if "matrix" in definition:
            self._matrix(name, definition, stage_mark, value_node, context)
        elif "foreach" in definition:
            template = definition.get("do")
            if not isinstance(template, dict):
                return
            _, do_node = _child(value_node, "do")
            for member, values in self._foreach_members(name, definition, value_node, context):
                self._stage(
                    name,
                    member,
                    template,
                    do_node,
                    (*json_path, "do"),
                    with_iteration(context, values),
                    stage_mark,
                )
        elif "@" in name:
            # DVC splits an address at its last @ to find a foreach member, so it never
            # finds a plain stage named this way and refuses the whole file.
            group, _, member = name.rpartition("@")
            self.issue(
                "at-in-name",
                stage_mark,
                f"stage name '{name}' holds '@': DVC reads it as member '{member}' of a "
                f"foreach stage '{group}' and fails ('Stage not found'); rename it, e.g. "
                f"'{name.replace('@', '-')}'",
            )
            self.fail(f"stage name '{name}' holds '@'")
        else:
            self._stage(name, None, definition, value_node, json_path, context, stage_mark)

    def _too_many(self, name: str, count: int, mark: Mark, how: str) -> bool:
        """Whether `name` expands past MAX_MEMBERS (then a finding, and it is not
        expanded): a few KB of `matrix` can ask for millions of stages."""
        if count <= MAX_MEMBERS:
            return False
        self.issue(
            "too-many-members",
            mark,
            f"{how} stage '{name}' expands to {count:,} stages, more than the "
            f"{MAX_MEMBERS:,} dvc-gitops checks (the largest real pipeline known has "
            "4,172): not expanded; split it, or check that its lists are the intended ones",
        )
        self.fail(f"'stages.{name}' expands to {count:,} stages")
        self.incomplete = True
        return True

    def _foreach_members(
        self,
        name: str,
        definition: dict[str, Any],
        node: yaml.Node | None,
        context: Context,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        raw = definition["foreach"]
        _, foreach_node = _child(node, "foreach")
        mark = _mark(foreach_node, Mark(1, 1))
        value = self._resolve(raw, context, None, foreach_node, mark)
        if value is _FAILED:
            return
        if not isinstance(value, (dict, list)):
            self.issue(
                "foreach-not-iterable",
                mark,
                f"foreach of '{name}' is a {type(value).__name__}, not a list or mapping: "
                "DVC refuses it; give a list, a mapping, or ${...} naming one",
            )
            self.fail(f"'stages.{name}.foreach' is not a list or mapping")
            return
        if self._too_many(name, len(value), mark, "foreach"):
            return
        if isinstance(value, dict):
            for key, item in value.items():
                yield to_text(key), {"item": item, "key": to_text(key)}
        elif any(isinstance(v, (dict, list)) for v in value):
            for index, item in enumerate(value):
                yield str(index), {"item": item}
        else:
            # Equal items collapse into one member, as in DVC.
            members: dict[str, Any] = {}
            for item, from_context in zip(value, _from_context(raw, len(value)), strict=True):
                members[_member_text(item, from_context)] = item
            for key, item in members.items():
                yield key, {"item": item}

    def _matrix(
        self,
        name: str,
        definition: dict[str, Any],
        stage_mark: Mark,
        node: yaml.Node | None,
        context: Context,
    ) -> None:
        raw = definition["matrix"]
        _, matrix_node = _child(node, "matrix")
        if not isinstance(raw, dict):
            return
        axes: dict[str, list[Any]] = {}
        naming: dict[str, list[bool]] = {}
        for axis, values in raw.items():
            _, axis_node = _child(matrix_node, axis)
            mark = _mark(axis_node, stage_mark)
            resolved = self._resolve(values, context, None, axis_node, mark)
            if resolved is _FAILED:
                return
            if isinstance(resolved, str):
                spelled = values if isinstance(values, str) else resolved
                self.issue(
                    "matrix-string",
                    mark,
                    f"matrix axis '{axis}' is the string '{spelled}': DVC iterates its "
                    f"characters ({', '.join(repr(c) for c in resolved[:4])}"
                    f"{', ...' if len(resolved) > 4 else ''}); "
                    + (
                        f"write '${{{spelled}}}' to use the list named {spelled}"
                        if not templates(spelled)
                        else "give a list"
                    ),
                )
                axes[str(axis)] = list(resolved)
                naming[str(axis)] = [False] * len(resolved)
            elif isinstance(resolved, (list, dict)):
                axes[str(axis)] = list(resolved)
                naming[str(axis)] = _from_context(values, len(resolved))
            else:
                self.issue(
                    "matrix-not-list",
                    mark,
                    f"matrix axis '{axis}' is a {type(resolved).__name__}, not a list: "
                    "DVC fails on it; give a list",
                )
                self.fail(f"'stages.{name}.matrix.{axis}' is not a list")
                return
        count = math.prod(len(v) for v in axes.values())
        if self._too_many(name, count, stage_mark, "matrix"):
            return
        template = {k: v for k, v in definition.items() if k != "matrix"}
        json_path: JsonPath = ("stages", name)
        for combination in product(*(list(enumerate(v)) for v in axes.values())):
            fragments: list[str] = []
            item: dict[str, Any] = {}
            for axis, (index, value) in zip(axes, combination, strict=True):
                item[axis] = value
                fragments.append(
                    f"{axis}{index}"
                    if isinstance(value, (dict, list))
                    else _member_text(value, naming[axis][index])
                )
            member = "-".join(fragments)
            self._stage(
                name,
                member,
                template,
                node,
                json_path,
                with_iteration(context, {"key": member, "item": item}),
                stage_mark,
            )

    def _stage(
        self,
        definition_name: str,
        member: str | None,
        template: dict[str, Any],
        node: yaml.Node | None,
        json_path: JsonPath,
        context: Context,
        stage_mark: Mark,
    ) -> None:
        name = definition_name if member is None else f"{definition_name}@{member}"
        address = stage_address(self.dvcfile, name)
        if address in self.pipeline.stages:
            return
        wdir = self.folder
        raw_wdir = template.get("wdir")
        _, wdir_node = _child(node, "wdir")
        if raw_wdir:
            resolved_wdir = self._resolve(raw_wdir, context, None, wdir_node, stage_mark)
            if isinstance(resolved_wdir, str):
                wdir = join_path(self.folder, resolved_wdir)
            elif resolved_wdir is not _FAILED:
                wdir = join_path(self.folder, to_text(resolved_wdir))
        stage_vars = template.get("vars")
        if stage_vars:
            _, vars_node = _child(node, "vars")
            context = context.copy()
            self._load_vars(context, stage_vars, (*json_path, "vars"), wdir, name, base=vars_node)
        resolved: dict[str, Any] = {}
        for key, value in template.items():
            if key == "vars":
                continue
            key_node, value_node = _child(node, key)
            resolved[key] = self._resolve(
                value, context, str(key), value_node, _mark(key_node, stage_mark)
            )
        _, cmd_node = _child(node, "cmd")
        cmd = resolved.get("cmd")
        raw_cmd = template.get("cmd")
        if isinstance(cmd, list):
            cmds = [
                c
                if isinstance(c, str)
                else str(raw_cmd[i])
                if c is _FAILED and isinstance(raw_cmd, list)
                else to_text(c)
                for i, c in enumerate(cmd)
            ]
        elif cmd is None or cmd is _FAILED:
            cmds = [] if cmd is None else [str(raw_cmd)]
        else:
            cmds = [cmd if isinstance(cmd, str) else to_text(cmd, self.config)]
        stage = Stage(
            address=address,
            name=name,
            definition=definition_name,
            dvcfile=self.dvcfile,
            wdir=wdir,
            cmds=cmds,
            cmd_mark=_mark(cmd_node, stage_mark),
            deps=self._deps(resolved.get("deps"), node, wdir, stage_mark),
            outs=[
                out
                for kind in ("outs", "metrics", "plots")
                for out in self._outs(
                    kind, resolved.get(kind), template.get(kind), node, wdir, stage_mark
                )
            ],
            params=self._params(resolved.get("params"), node, wdir, stage_mark),
            frozen=resolved.get("frozen") is True,
            always_changed=resolved.get("always_changed") is True,
            mark=stage_mark,
            json_path=("stages", definition_name),
            template_path=json_path,
            member=member,
        )
        self.pipeline.stages[address] = stage

    def _resolve(
        self,
        value: Any,
        context: Context,
        key: str | None,
        node: yaml.Node | None,
        fallback: Mark,
    ) -> Any:
        """`value` with templates filled in; _FAILED after reporting when DVC would fail."""
        if isinstance(value, str) and "${" not in value:
            return value  # most values: nothing to fill in
        return self._walk(value, context, key, node, [], fallback)

    def _walk(
        self,
        item: Any,
        context: Context,
        key: str | None,
        node: yaml.Node | None,
        path: list[Any],
        fallback: Mark,
    ) -> Any:
        """`_resolve` below `node`. `path` leads from `node` to `item`: the node of a
        failing template is looked up only then (a key of a mapping as `_KeyOf`)."""
        if isinstance(item, str):
            if "${" not in item:
                return item
            try:
                return context.resolve_text(item, key, self.config)
            except InterpolationError as exc:
                item_node = _descend(node, path)
                self._report(exc, self._template_mark(item_node, exc, fallback), context)
                return _FAILED
        if isinstance(item, list):
            items: list[Any] = []
            for index, value in enumerate(item):
                path.append(index)
                items.append(self._walk(value, context, key, node, path, fallback))
                path.pop()
            return items
        if isinstance(item, dict):
            out: dict[Any, Any] = {}
            for k, v in item.items():
                new_key = k
                if isinstance(k, str):
                    path.append(_KeyOf(k))
                    new_key = self._walk(k, context, key, node, path, fallback)
                    path.pop()
                    if new_key is _FAILED:
                        continue
                    if isinstance(new_key, (dict, list)):
                        new_key = to_text(new_key)
                path.append(k)
                out[new_key] = self._walk(v, context, key, node, path, fallback)
                path.pop()
            return out
        return item

    def _template_mark(
        self, node: yaml.Node | None, exc: InterpolationError, fallback: Mark
    ) -> Mark:
        """Where the failing `${...}` itself stands in the YAML source, when it can tell."""
        if node is None:
            return fallback
        source = self.doc.text[node.start_mark.index : node.end_mark.index]
        wanted = exc.expression.strip()
        for match in TEMPLATE.finditer(source):
            if match["inner"].strip() == wanted:
                before = source[: match.start()]
                newline = before.rfind("\n")
                line = node.start_mark.line + 1 + before.count("\n")
                if newline < 0:
                    return Mark(line, node.start_mark.column + 1 + match.start())
                return Mark(line, match.start() - newline)
        return _mark(node, fallback)

    def _elsewhere(self, expression: str) -> str | None:
        """A hint when another folder's params.yaml has the key (each dvc.yaml reads only
        the one beside it)."""
        parts = [p.strip() for p in expression.replace("[", ".").replace("]", "").split(".")]
        for entry in self.pipeline.vars_entries:
            # `file.yaml:a,b` loads only those keys: the one asked for may sit beside them.
            if entry.dvcfile != self.dvcfile or entry.stage is not None:
                continue  # (stage vars paths are relative to the stage's wdir)
            if entry.file is None or entry.keys is None:
                continue
            try:
                data = self.loader.load(entry.file)
            except LoadProblem:
                continue
            if parts[0] in data:
                keys = ",".join([*entry.keys, parts[0]])
                name = posixpath.relpath(entry.file, self.folder)
                return (
                    f"'{parts[0]}' is in {entry.file}, but vars loads only "
                    f"{', '.join(entry.keys)} from it; write '{name}:{keys}'"
                )
        for dvcfile, params in self.pipeline.default_params.items():
            if dvcfile == self.dvcfile:
                continue
            other = self.pipeline.contexts.get(dvcfile)
            node: Any = other.data if other else None
            for part in parts:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None and other and other.source_of(tuple(parts)) == params:
                relative = posixpath.relpath(params, self.folder)
                return (
                    f"'{expression.strip()}' is in {params}, but a dvc.yaml reads only the "
                    f"params.yaml beside it; add `vars: [{relative}]` to load that file"
                )
        return None

    def _report(self, exc: InterpolationError, mark: Mark, context: Context) -> None:
        if exc.kind == "missing" and self.incomplete:
            return  # the file-level failure already explains it
        if exc.kind == "missing":
            # Every member of a foreach/matrix misses the same key at the same place: one
            # hint for all (a fuzzy search over every key; 2,000 members took seconds).
            key = (exc.expression, mark)
            hint = self.hints.get(key)
            if hint is None:
                hint = self.hints[key] = self._elsewhere(exc.expression) or _missing_hint(
                    exc.expression, context, join_path(self.folder, DEFAULT_PARAMS)
                )
            message = f"{exc.message}: {hint}"
        elif exc.kind == "shell":
            name = re.split(r"[^A-Za-z0-9_]", exc.expression.lstrip("#"), maxsplit=1)[0]
            message = (
                f"{exc.message}; escape it as '\\${{{exc.expression}}}' or write "
                f"'${name}' if the shell should expand it"
            )
        else:
            message = exc.message
        self.issue(exc.kind, mark, message)
        self.fail(message)

    def _deps(
        self,
        resolved: Any,
        node: yaml.Node | None,
        wdir: str,
        fallback: Mark,
    ) -> list[Ref]:
        if not isinstance(resolved, list):
            return []
        _, list_node = _child(node, "deps")
        refs: list[Ref] = []
        for index, item in enumerate(resolved):
            if isinstance(item, (dict, list)) or item is None or item is _FAILED:
                continue
            text = item if isinstance(item, str) else to_text(item)
            _, item_node = _child(list_node, index)
            refs.append(Ref(join_path(wdir, text), text, self.dvcfile, _mark(item_node, fallback)))
        return refs

    def _outs(
        self,
        kind: str,
        resolved: Any,
        raw: Any,
        node: yaml.Node | None,
        wdir: str,
        fallback: Mark,
    ) -> list[Out]:
        if not isinstance(resolved, list):
            return []
        _, list_node = _child(node, kind)
        found: list[Out] = []
        # DVC merges entries of one list written the same (the later flags win); the
        # same path written two ways (`foo`, `./foo`) or under two keys (outs and
        # metrics) is a duplicate to it (checked with dvc 3.67).
        by_path: dict[str, int] = {}
        for index, item in enumerate(resolved):
            _, item_node = _child(list_node, index)
            mark = _mark(item_node, fallback)
            if isinstance(item, dict):
                raw_item = raw[index] if isinstance(raw, list) and index < len(raw) else {}
                raw_keys = list(raw_item) if isinstance(raw_item, dict) else []
                for position, (path, flags) in enumerate(item.items()):
                    raw_key = raw_keys[position] if position < len(raw_keys) else path
                    key_node, _ = _child(item_node, raw_key)
                    flags = flags if isinstance(flags, dict) else {}
                    text = path if isinstance(path, str) else to_text(path)
                    self._add_out(
                        found,
                        by_path,
                        Out(
                            join_path(wdir, text),
                            text,
                            self.dvcfile,
                            _mark(key_node, mark),
                            kind=kind,
                            cache=flags.get("cache", True) is not False,
                            persist=flags.get("persist", False) is True,
                        ),
                    )
            elif item is not None and item is not _FAILED and not isinstance(item, list):
                text = item if isinstance(item, str) else to_text(item)
                out = Out(join_path(wdir, text), text, self.dvcfile, mark, kind=kind)
                self._add_out(found, by_path, out)
        return found

    @staticmethod
    def _add_out(found: list[Out], by_path: dict[str, int], out: Out) -> None:
        index = by_path.get(out.raw)
        if index is None:
            by_path[out.raw] = len(found)
            found.append(out)
        elif out.cache is not True or out.persist:  # flags given later win
            first = found[index]
            found[index] = Out(
                first.path,
                first.raw,
                first.file,
                first.mark,
                kind=first.kind,
                cache=out.cache,
                persist=out.persist,
            )

    def _params(
        self, resolved: Any, node: yaml.Node | None, wdir: str, fallback: Mark
    ) -> list[ParamRef]:
        if not isinstance(resolved, list):
            return []
        _, list_node = _child(node, "params")
        default = join_path(wdir, DEFAULT_PARAMS)
        found: list[ParamRef] = []
        for index, item in enumerate(resolved):
            _, item_node = _child(list_node, index)
            mark = _mark(item_node, fallback)
            if isinstance(item, str):
                found.append(ParamRef(default, item, self.dvcfile, mark))
            elif isinstance(item, dict):
                for file, keys in item.items():
                    key_node, keys_node = _child(item_node, file)
                    rel = join_path(wdir, to_text(file))
                    file_mark = _mark(key_node, mark)
                    if keys is None or keys == []:
                        found.append(ParamRef(rel, None, self.dvcfile, file_mark))
                    elif isinstance(keys, list):
                        for position, key in enumerate(keys):
                            _, one = _child(keys_node, position)
                            found.append(
                                ParamRef(rel, to_text(key), self.dvcfile, _mark(one, file_mark))
                            )
                    else:
                        self.issue(
                            "params-not-list",
                            _mark(keys_node, file_mark),
                            f"params of '{to_text(file)}' must be a list of keys, not "
                            f"'{to_text(keys)}': DVC crashes loading the stage; write "
                            f"[{to_text(keys)}]",
                        )
                        self.fail(f"params of '{to_text(file)}' is not a list")
        return found


def _from_context(raw: Any, count: int) -> list[bool]:
    """For each item of a foreach/matrix list: was it selected from the context?

    DVC names a member after a value selected by a template with Python's `str`
    (`True`), and after a value written in the list itself as it writes text (`true`).
    """
    if isinstance(raw, str):
        return [True] * count
    if isinstance(raw, list) and len(raw) == count:
        return [_is_whole_template(item) for item in raw]
    return [False] * count


def _is_whole_template(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    found = templates(value)
    return len(found) == 1 and found[0].group(0) == value


def _member_text(value: Any, from_context: bool) -> str:
    return str(value) if from_context else to_text(value)


def _missing_hint(expression: str, context: Context, params_file: str) -> str:
    """How to fix a template naming a key the context lacks."""
    parts = [p.strip() for p in expression.replace("[", ".").replace("]", "").split(".")]
    if parts[0] in ("item", "key") and parts[0] not in context.data:
        return (
            f"`{parts[0]}` exists only in foreach and matrix stages (`key` only when foreach "
            "iterates a mapping); iterate, or name a params key"
        )
    node: Any = context.data
    depth = 0
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
        depth += 1
    if 0 < depth < len(parts) and isinstance(node, dict) and node:
        where = ".".join(parts[:depth])
        keys = ", ".join(sorted(k for k in node if isinstance(k, str))[:6])
        return f"'{where}' has only {keys}; fix the name or add the key"
    known: list[str] = []

    def collect(value: Any, prefix: str, level: int) -> None:
        if not isinstance(value, dict) or level > 4 or len(known) > 5000:
            return
        for key, item in value.items():
            known.append(prefix + key)
            collect(item, prefix + key + ".", level + 1)

    collect(context.data, "", 0)
    close = difflib.get_close_matches(".".join(parts), known, n=1, cutoff=0.75)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"define it in {params_file} (read automatically) or in vars, or fix the name"


class _Failed:
    """A value DVC could not resolve (already reported)."""

    def __repr__(self) -> str:
        return "<unresolved>"


_FAILED: Any = _Failed()


def _strings(value: Any, node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node | None]]:
    """Every string in `value` (keys included), beside its node."""
    if isinstance(value, str):
        yield value, node
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, _child(node, index)[1])
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_node, item_node = _child(node, key)
            if isinstance(key, str):
                yield key, key_node
            yield from _strings(item, item_node)
