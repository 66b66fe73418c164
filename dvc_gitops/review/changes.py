"""What changed between two resolved pipelines: stages field by field, params key by key."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dvc_gitops.dvcmodel.model import MISSING, LoadProblem, ParamsLoader, Stage

if TYPE_CHECKING:
    from dvc_gitops.review.revisions import Side

# The fields of a resolved stage a review compares, in the order it reports them.
SCALAR_FIELDS = ("cmd", "wdir", "frozen", "always_changed")
LIST_FIELDS = ("deps", "outs", "params")


@dataclass(frozen=True)
class FieldChange:
    """One field of a stage: scalars old -> new, lists as what was added and removed."""

    name: str
    old: Any = None
    new: Any = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        if self.name in LIST_FIELDS:
            return {"field": self.name, "added": list(self.added), "removed": list(self.removed)}
        return {"field": self.name, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class StageChange:
    """A stage added, removed, renamed or changed, in its DVC project."""

    address: str  # HEAD's address (BASE's for a removed stage)
    kind: str  # "added" | "removed" | "renamed" | "changed"
    project: str  # the DVC project's folder ("." at the git root)
    definition: str  # the YAML key that defines it ("fe" for the member "fe@a")
    fields: tuple[FieldChange, ...] = ()
    renamed_from: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "address": self.address,
            "change": self.kind,
            "project": self.project,
        }
        if self.definition != self.address.rsplit(":", 1)[-1]:
            found["definition"] = self.definition
        if self.renamed_from is not None:
            found["renamed_from"] = self.renamed_from
        found["fields"] = [f.as_dict() for f in self.fields]
        return found


def stage_fields(stage: Stage) -> dict[str, Any]:
    """The compared fields of a stage: scalars, and lists of one-line items."""
    return {
        "cmd": " && ".join(stage.cmds),
        "wdir": stage.wdir,
        "frozen": stage.frozen,
        "always_changed": stage.always_changed,
        "deps": [dep.path for dep in stage.deps],
        "outs": [_out_text(out.path, out.kind, out.cache, out.persist) for out in stage.outs],
        "params": [_param_text(p.file, p.key, stage.wdir) for p in stage.params],
    }


def _out_text(path: str, kind: str, cache: bool, persist: bool) -> str:
    flags = [kind[:-1]] if kind != "outs" else []
    flags += [] if cache else ["cache: false"]
    flags += ["persist: true"] if persist else []
    return f"{path} ({', '.join(flags)})" if flags else path


def _param_text(file: str, key: str | None, wdir: str) -> str:
    default = posixpath.normpath(posixpath.join(wdir, "params.yaml"))
    if key is None:
        return f"{file} (whole file)"
    return key if file == default else f"{file}:{key}"


def field_changes(old: Stage, new: Stage) -> tuple[FieldChange, ...]:
    """Each compared field that differs between two versions of a stage."""
    before, after = stage_fields(old), stage_fields(new)
    found: list[FieldChange] = []
    for name in SCALAR_FIELDS:
        if before[name] != after[name]:
            found.append(FieldChange(name, old=before[name], new=after[name]))
    for name in LIST_FIELDS:
        added = tuple(x for x in dict.fromkeys(after[name]) if x not in before[name])
        removed = tuple(x for x in dict.fromkeys(before[name]) if x not in after[name])
        if added or removed:
            found.append(FieldChange(name, added=added, removed=removed))
    return tuple(found)


def dvc_project_of(side: Side, dvcfile: str) -> str:
    """The folder of the DVC project holding `dvcfile`: the nearest one with `.dvc/`."""
    folder = posixpath.dirname(dvcfile)
    while folder:
        if side.project.is_dir(f"{folder}/.dvc"):
            return folder
        folder = posixpath.dirname(folder)
    return "."


def pipeline_changes(base: Side, head: Side) -> list[StageChange]:
    """Stages added, removed, renamed (same cmd and outs) and changed, BASE to HEAD.

    Stages whose dvc.yaml one side could not resolve are left out (the report says which
    files): comparing them would call every stage of a broken file removed.
    """
    old_stages = _comparable(base, head)
    new_stages = _comparable(head, base)
    removed = [a for a in old_stages if a not in new_stages]
    added = [a for a in new_stages if a not in old_stages]
    renamed = _renames(base, head, removed, added)
    found: list[StageChange] = []
    for address, stage in new_stages.items():
        project = dvc_project_of(head, stage.dvcfile)
        if address in renamed:
            was = old_stages[renamed[address]]
            fields = tuple(f for f in field_changes(was, stage) if f.name != "cmd")
            found.append(
                StageChange(address, "renamed", project, stage.definition, fields, was.address)
            )
        elif address not in old_stages:
            found.append(StageChange(address, "added", project, stage.definition))
        else:
            fields = field_changes(old_stages[address], stage)
            if fields:
                found.append(StageChange(address, "changed", project, stage.definition, fields))
    gone = set(renamed.values())
    for address in removed:
        if address not in gone:
            stage = old_stages[address]
            project = dvc_project_of(base, stage.dvcfile)
            found.append(StageChange(address, "removed", project, stage.definition))
    return found


def _comparable(side: Side, other: Side) -> dict[str, Stage]:
    broken = set(side.pipeline.problems) | set(other.pipeline.problems)
    return {a: s for a, s in side.pipeline.stages.items() if s.dvcfile not in broken}


def _renames(base: Side, head: Side, removed: list[str], added: list[str]) -> dict[str, str]:
    """HEAD address -> BASE address for stages that kept their cmd and outs."""

    def signature(side: Side, address: str) -> tuple[Any, ...]:
        stage = side.pipeline.stages[address]
        outs = tuple(sorted(out.path for out in stage.outs))
        return (dvc_project_of(side, stage.dvcfile), tuple(stage.cmds), outs)

    waiting: dict[tuple[Any, ...], list[str]] = {}
    for address in removed:
        waiting.setdefault(signature(base, address), []).append(address)
    found: dict[str, str] = {}
    for address in added:
        candidates = waiting.get(signature(head, address))
        if candidates:
            found[address] = candidates.pop(0)
    return found


# -- params ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamChange:
    """One params key whose value differs, and the stages that read it."""

    file: str
    key: str
    old: Any  # MISSING when the key is new
    new: Any  # MISSING when the key is gone
    readers: tuple[str, ...]  # stage addresses (HEAD's; BASE's for a removed reader)
    in_templates: bool = False  # a `${...}` of some dvc.yaml reads it

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"file": self.file, "key": self.key}
        if self.old is not MISSING:
            found["old"] = self.old
        if self.new is not MISSING:
            found["new"] = self.new
        found["stages"] = list(self.readers)
        if self.in_templates:
            found["in_templates"] = True
        return found


@dataclass
class ParamsSide:
    """The flattened values of each params file of one side; problems by file."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def params_files(side: Side) -> set[str]:
    """Every params file a stage or template of this side reads."""
    pipeline = side.pipeline
    found = {p.file for s in pipeline.stages.values() for p in s.params}
    found |= set(pipeline.default_params.values())
    return found


def load_params(side: Side, files: Iterable[str]) -> ParamsSide:
    loader = ParamsLoader(side.project)
    result = ParamsSide()
    for rel in sorted(files):
        if not side.project.is_file(rel):
            result.values[rel] = {}
            continue
        try:
            result.values[rel] = dict(flatten(loader.load(rel)))
        except LoadProblem as exc:
            result.problems[rel] = str(exc)
    return result


def flatten(values: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of nested mappings as dotted keys (lists are values, as DVC diffs them)."""
    if isinstance(values, dict) and (values or not prefix):
        for key, value in values.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, values


def params_changes(base: Side, head: Side) -> tuple[list[ParamChange], dict[str, str]]:
    """Each changed params key with its readers, and params files one side cannot read."""
    files = params_files(base) | params_files(head)
    old, new = load_params(base, files), load_params(head, files)
    problems = {f: f"{why} (at {base.name})" for f, why in old.problems.items()}
    problems.update({f: f"{why} (at {head.name})" for f, why in new.problems.items()})
    used = head.pipeline.used_keys | base.pipeline.used_keys
    found: list[ParamChange] = []
    for rel in sorted(files):
        if rel in problems:
            continue
        before, after = old.values.get(rel, {}), new.values.get(rel, {})
        for key in [*before, *(k for k in after if k not in before)]:
            was, now = before.get(key, MISSING), after.get(key, MISSING)
            if was is not MISSING and now is not MISSING and was == now:
                continue  # DVC's comparison: 1 and 1.0 are one value
            readers = readers_of(head, rel, key) or readers_of(base, rel, key)
            templated = any(f == rel and ".".join(k) == key for f, k in used)
            found.append(ParamChange(rel, key, was, now, tuple(readers), templated))
    return found, problems


def readers_of(side: Side, rel: str, key: str) -> list[str]:
    """Stages of `side` that read key `key` of params file `rel` (or the whole file)."""
    found: list[str] = []
    for stage in side.pipeline.stages.values():
        if any(reads(p.file, p.key, rel, key) for p in stage.params) or any(
            dep.path == rel for dep in stage.deps
        ):
            found.append(stage.address)
    return found


def reads(file: str, declared: str | None, rel: str, key: str) -> bool:
    """Whether a stage's params entry (`file`, `declared`) covers leaf `key` of `rel`."""
    if file != rel:
        return False
    if declared is None:
        return True
    if key == declared or key.startswith(declared + "."):
        return True
    if any(c in declared for c in "*?["):  # DVC 3 matches globs against the keys
        parts = key.split(".")
        return any(
            fnmatch.fnmatchcase(".".join(parts[:n]), declared) for n in range(1, len(parts) + 1)
        )
    return False
