"""Was dvc.lock reproduced at HEAD for the stages that re-run?

Each re-running stage is put to the native lock check (`status.lock`, the check behind
`check-dvc-lock --rev`) on HEAD's own tree: its entry exists and matches the cmd, deps,
outs and params values HEAD holds, every git-tracked dep's md5, and the md5 its upstream
stage's entry gives each output it reads. The review only words the verdict: a stage
whose own entry matches but whose upstream stage's does not waits for that stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dvc_gitops.core.findings import Finding
from dvc_gitops.review.rerun import Rerun, runs_every_time

if TYPE_CHECKING:
    from dvc_gitops.review.revisions import Side

_MD5S = re.compile(r" \(md5 [0-9a-f.]+ -> [0-9a-f.]+\)")


@dataclass
class LockState:
    """The verdict on dvc.lock at HEAD for the re-running stages."""

    reproduced: list[str] = field(default_factory=list)  # entries match HEAD
    stale: dict[str, str] = field(default_factory=dict)  # address -> why not
    always: list[str] = field(default_factory=list)  # DVC runs them every time: no verdict

    @property
    def up_to_date(self) -> bool:
        return not self.stale


def lock_state(head: Side, rerun: list[Rerun]) -> LockState:
    """Per re-running stage: does HEAD's dvc.lock already hold its reproduction?"""
    from dvc_gitops.status.lock import LEFT_OVER, LockCheck

    check = LockCheck(head.project, head.tree)
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
        lock = check.lock_of(stage.dvcfile)
        if isinstance(lock, Finding):
            why = _reason(lock.message, item.address)
        else:
            # Notices (data not in git, not checked) give no verdict; entries the lock
            # has and dvc.yaml dropped make DVC re-run nothing.
            found = [
                f
                for f in check.check_stage(stage, lock)
                if f.severity != "notice" and f.code != LEFT_OVER.code
            ]
            why = _reason(found[0].message, item.address) if found else ""
        # An entry that matches an upstream stage's stale entry proves nothing yet.
        waiting = sorted(
            (p for p in parents.get(item.address, []) if p in state.stale), key=rank.__getitem__
        )
        if not why and waiting:
            why = f"waits for '{waiting[-1]}'"
        if why:
            state.stale[item.address] = why
        else:
            state.reproduced.append(item.address)
    return state


def _reason(message: str, address: str) -> str:
    """The lock check's message without the stage's name, the md5s (a reviewer wants the
    file, not its hash) and the advice after `;`."""
    text = _MD5S.sub("", message.split("; ", 1)[0])
    for prefix in (f"stage '{address}': ", f"stage '{address}' "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
