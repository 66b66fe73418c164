"""Was dvc.lock reproduced at HEAD for the stages that re-run?

ADAPTER: this is the review's own small reading of HEAD's dvc.lock, kept until the native
lock check (`check-dvc-lock`, dvc_gitops/status/lock.py) offers an API to ask per stage;
then `lock_state` should call it and this module shrinks to the verdict's wording. It
checks what git alone can tell, as that check does: the entry exists, its cmd, its lists
of deps and outs, its params values, the md5 of every dep git holds, and that a dep
produced by another stage carries the md5 that stage's entry gives its output.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dvc_gitops.dvcmodel.model import MISSING, ParamsLoader, Stage, param_value
from dvc_gitops.review.rerun import Rerun, runs_every_time, value_text

if TYPE_CHECKING:
    from dvc_gitops.review.revisions import Side

SOURCE = "review lock adapter (until the check-dvc-lock API)"


@dataclass
class LockState:
    """The verdict on dvc.lock at HEAD for the re-running stages."""

    reproduced: list[str] = field(default_factory=list)  # entries match HEAD
    stale: dict[str, str] = field(default_factory=dict)  # address -> why not
    always: list[str] = field(default_factory=list)  # always_changed / no deps: no verdict

    @property
    def up_to_date(self) -> bool:
        return not self.stale


def lock_state(head: Side, rerun: list[Rerun]) -> LockState:
    """Per re-running stage: does HEAD's dvc.lock already hold its reproduction?"""
    reader = _LockReader(head)
    state = LockState()
    pipeline = head.pipeline
    parents: dict[str, list[str]] = {}
    for up, down in pipeline.edges():
        parents.setdefault(down, []).append(up)
    rank = {r.address: i for i, r in enumerate(rerun)}
    for item in rerun:  # in run order: upstream verdicts come first
        stage = pipeline.stages[item.address]
        if runs_every_time(stage):
            state.always.append(item.address)
            continue
        # An entry that matches an upstream stage's stale entry proves nothing yet.
        waiting = sorted(
            (p for p in parents.get(item.address, []) if p in state.stale), key=rank.__getitem__
        )
        why = reader.stale(stage) or (f"waits for '{waiting[-1]}'" if waiting else "")
        if why:
            state.stale[item.address] = why
        else:
            state.reproduced.append(item.address)
    return state


class _LockReader:
    def __init__(self, side: Side) -> None:
        self.side = side
        self.params = ParamsLoader(side.project)
        self._locks: dict[str, dict[str, Any]] = {}

    def entry(self, stage: Stage) -> dict[str, Any] | None:
        lock = posixpath.join(posixpath.dirname(stage.dvcfile), "dvc.lock")
        if lock not in self._locks:
            from dvc_gitops.formats.yamldoc import YamlProblem, load_bytes

            raw = self.side.read(lock)
            try:
                data = load_bytes(raw, lock).data if raw is not None else None
            except YamlProblem:
                data = None
            stages = data.get("stages") if isinstance(data, dict) else None
            self._locks[lock] = stages if isinstance(stages, dict) else {}
        found = self._locks[lock].get(stage.name)
        return found if isinstance(found, dict) else None

    def stale(self, stage: Stage) -> str:
        """Why the stage's entry does not match HEAD, or '' when it does."""
        entry = self.entry(stage)
        if entry is None:
            return "no dvc.lock entry"
        cmd = entry.get("cmd")
        locked_cmd = [str(c) for c in cmd] if isinstance(cmd, list) else [str(cmd)]
        if locked_cmd != stage.cmds:
            return "dvc.lock has another cmd"
        deps = _paths(entry.get("deps"), stage.wdir)
        if set(deps) != {d.path for d in stage.deps}:
            return "dvc.lock lists other deps"
        outs = _paths(entry.get("outs"), stage.wdir)
        if set(outs) != {o.path for o in stage.outs}:
            return "dvc.lock lists other outs"
        why = self._params(stage, entry.get("params"))
        if why:
            return why
        for path, md5 in deps.items():
            producers = self.side.pipeline.producers_of(path)
            if producers:
                upstream = self.side.pipeline.stages[producers[0]]
                up_entry = self.entry(upstream)
                up_outs = _paths(up_entry.get("outs") if up_entry else None, upstream.wdir)
                if path in up_outs and up_outs[path] != md5:
                    return f"{path}: not reproduced after '{upstream.address}'"
                continue
            raw = self.side.read(path)
            if raw is not None and hashlib.md5(raw).hexdigest() != md5:
                return f"{path} changed since dvc.lock was written"
        return ""

    def _params(self, stage: Stage, recorded: Any) -> str:
        by_file: dict[str, Any] = {}
        if isinstance(recorded, dict):
            for name, values in recorded.items():
                by_file[posixpath.normpath(posixpath.join(stage.wdir, str(name)))] = values
        for ref in stage.params:
            try:
                current = self.params.load(ref.file)
            except Exception:
                return f"{ref.file} cannot be read"
            locked = by_file.get(ref.file)
            if not isinstance(locked, dict):
                return f"dvc.lock records no params of {ref.file}"
            keys = [ref.key] if ref.key is not None else list(current)
            for key in keys:
                if any(c in key for c in "*?["):
                    continue  # globs: the lock lists the keys they matched
                now, then = param_value(current, key), param_value(locked, key)
                if now is MISSING or then is MISSING or now != then:
                    return f"{key}: dvc.lock has {value_text(then)}, HEAD {value_text(now)}"
        return ""


def _paths(entries: Any, wdir: str) -> dict[str, str | None]:
    """Repo-relative path -> md5 of a lock entry's deps or outs."""
    found: dict[str, str | None] = {}
    for item in entries if isinstance(entries, list) else []:
        if isinstance(item, dict) and "path" in item:
            path = posixpath.normpath(posixpath.join(wdir, str(item["path"])))
            md5 = item.get("md5")
            found[path] = str(md5) if md5 is not None else None
    return found
