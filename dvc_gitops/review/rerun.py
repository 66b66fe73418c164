"""Which stages will re-run after a change, and why, in the order `dvc repro` runs them.

A stage re-runs when its own inputs changed between the revisions (a git-tracked dep's
content, a `.dvc`-tracked dep's pointer, a params value it reads, its cmd, its lists of
deps, outs and params), when it is new (or renamed: dvc.lock has no entry under the new
name), when DVC runs it every time (`always_changed`, or no deps and no outs), or when a
stage upstream of it re-runs. Frozen stages never re-run, and nothing re-runs through them.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dvc_gitops.dvcmodel.model import MISSING, Stage
from dvc_gitops.review.changes import ParamChange, StageChange, field_changes, reads

if TYPE_CHECKING:
    from dvc_gitops.review.revisions import Side


@dataclass(frozen=True)
class Rerun:
    """A stage that will re-run, with every reason, the first one the most direct."""

    address: str
    reasons: tuple[str, ...]
    direct: bool  # its own inputs changed (else only something upstream re-runs)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.address, "reasons": list(self.reasons), "direct": self.direct}


def runs_every_time(stage: Stage) -> bool:
    """DVC's callback stage: a cmd with no deps (params count as deps) and no outs."""
    return stage.always_changed or not (stage.deps or stage.params or stage.outs)


def value_text(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def param_label(file: str, key: str) -> str:
    """`train.lr` for the root params.yaml, else `file:key` (as `dvc params diff` tells
    files apart)."""
    return key if file == "params.yaml" else f"{file}:{key}"


def param_phrase(change: ParamChange) -> str:
    label = param_label(change.file, change.key)
    if change.old is MISSING:
        return f"{label} added = {value_text(change.new)}"
    if change.new is MISSING:
        return f"{label} removed (was {value_text(change.old)})"
    return f"{label} {value_text(change.old)} -> {value_text(change.new)}"


def rerun_stages(
    base: Side,
    head: Side,
    changes: list[StageChange],
    params: list[ParamChange],
    skipped: set[str],
) -> list[Rerun]:
    """Every stage of HEAD that will re-run, in run order; `skipped` dvc.yaml files are
    not judged (one side could not resolve them)."""
    pipeline = head.pipeline
    renamed = {c.address: c.renamed_from for c in changes if c.kind == "renamed"}
    tracked = _DvcFiles(base), _DvcFiles(head)
    own: dict[str, list[str]] = {}
    for address, stage in pipeline.stages.items():
        if stage.dvcfile in skipped or stage.frozen:
            continue
        reasons = _own_reasons(base, head, stage, renamed.get(address), params, tracked)
        if reasons:
            own[address] = reasons
    parents: dict[str, list[str]] = {a: [] for a in pipeline.stages}
    for up, down in pipeline.edges():
        parents[down].append(up)
    found: list[Rerun] = []
    running: set[str] = set()
    order = pipeline.topological_order()
    rank = {a: i for i, a in enumerate(order)}
    for ups in parents.values():
        ups.sort(key=rank.__getitem__)
    for address in order:
        stage = pipeline.stages[address]
        if stage.frozen or stage.dvcfile in skipped:
            continue
        ups = [p for p in parents[address] if p in running]
        upstream = [_upstream(ups)] if ups else []
        reasons = own.get(address, [])
        if reasons or upstream:
            running.add(address)
            found.append(Rerun(address, tuple(reasons + upstream), bool(reasons)))
    return found


def _upstream(addresses: list[str], shown: int = 5) -> str:
    """`upstream 'a', 'b'`; past `shown` names (a foreach fanning in), a count."""
    names = ", ".join(f"'{a}'" for a in addresses[:shown])
    rest = len(addresses) - shown
    return f"upstream {names}" + (f" and {rest} more" if rest > 0 else "")


def _own_reasons(
    base: Side,
    head: Side,
    stage: Stage,
    renamed_from: str | None,
    params: list[ParamChange],
    tracked: tuple[_DvcFiles, _DvcFiles],
) -> list[str]:
    old = base.pipeline.stages.get(renamed_from or stage.address)
    if old is None:
        return ["new stage (no dvc.lock entry yet)"]
    reasons: list[str] = []
    if renamed_from is not None:
        reasons.append(f"renamed from '{renamed_from}' (dvc.lock has no entry under the new name)")
    if stage.always_changed:
        reasons.append("always_changed: true (DVC runs it every time)")
    elif runs_every_time(stage):
        reasons.append("no deps and no outs (DVC runs it every time)")
    for change in field_changes(old, stage):
        if change.name in ("cmd", "wdir"):
            reasons.append(f"{change.name} changed")
        elif change.name in ("deps", "outs", "params"):
            if change.added:
                reasons.append(f"{change.name} added: {', '.join(change.added)}")
            if change.removed:
                reasons.append(f"{change.name} removed: {', '.join(change.removed)}")
    for dep in stage.deps:
        if head.pipeline.producers_of(dep.path):
            continue  # another stage's output: it changes when that stage re-runs
        why = _dep_change(base, head, dep.path, tracked)
        if why:
            reasons.append(why)
    old_keys = {(p.file, p.key) for p in old.params}
    for param in params:
        if any(
            (p.file, p.key) in old_keys and reads(p.file, p.key, param.file, param.key)
            for p in stage.params
        ):
            reasons.append(param_phrase(param))
    return list(dict.fromkeys(reasons))


def _dep_change(base: Side, head: Side, path: str, tracked: tuple[_DvcFiles, _DvcFiles]) -> str:
    """Why a dep that no stage produces differs between the sides, or ''."""
    before, after = base.blobs_under(path), head.blobs_under(path)
    if before or after:
        if before == after:
            return ""
        if not before:
            return f"{path} added to git"
        if not after:
            return f"{path} deleted from git"
        return f"{path} changed"
    old_pointers, new_pointers = tracked[0].covering(path), tracked[1].covering(path)
    if old_pointers != new_pointers:
        names = sorted({name for name, _ in old_pointers | new_pointers})
        return f"{path} changed ({', '.join(names)})"
    return ""


class _DvcFiles:
    """The `.dvc` files of `dvc add` / `dvc import` in one revision: what each tracks."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self._outs: dict[str, list[str]] | None = None

    @property
    def outs(self) -> dict[str, list[str]]:
        if self._outs is None:
            self._outs = {}
            for rel in self.side.tree.paths():
                if rel.endswith(".dvc") and not rel.startswith(".dvc/"):
                    self._outs[rel] = self._tracked(rel)
        return self._outs

    def _tracked(self, rel: str) -> list[str]:
        from dvc_gitops.formats.yamldoc import YamlProblem, load_bytes

        raw = self.side.read(rel)
        try:
            data = load_bytes(raw or b"", rel).data
        except YamlProblem:
            return []
        outs = data.get("outs") if isinstance(data, dict) else None
        base = posixpath.join(posixpath.dirname(rel), str(data.get("wdir", "."))) if outs else ""
        return [
            posixpath.normpath(posixpath.join(base, str(out["path"])))
            for out in outs or []
            if isinstance(out, dict) and "path" in out
        ]

    def covering(self, path: str) -> set[tuple[str, str | None]]:
        """(`.dvc` file, its blob id) for each one tracking `path`, above or below it."""
        return {
            (rel, self.side.oid(rel))
            for rel, outs in self.outs.items()
            if any(_overlap(path, out) for out in outs)
        }


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")
