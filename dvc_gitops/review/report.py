"""One review of BASE -> HEAD: every section computed once, for every output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dvc_gitops.core.project import Project
from dvc_gitops.review.changes import ParamChange, StageChange, params_changes, pipeline_changes
from dvc_gitops.review.lock_state import LockState, lock_state
from dvc_gitops.review.metrics import MetricsDiff, metrics_diff
from dvc_gitops.review.picture import Picture, draw
from dvc_gitops.review.rerun import Rerun, rerun_stages
from dvc_gitops.review.revisions import Side, open_side


@dataclass(frozen=True)
class Experiment:
    stage: str
    experiment: str
    registered_model: str | None


@dataclass
class Review:
    base: tuple[str, str]  # (as given, commit id)
    head: tuple[str, str]
    changes: list[StageChange]
    params: list[ParamChange]
    rerun: list[Rerun]
    lock: LockState
    metrics: MetricsDiff
    experiments: list[Experiment]
    picture: Picture
    problems: list[str] = field(default_factory=list)  # what could not be reviewed

    def as_dict(self) -> dict[str, Any]:
        """The json format: stable keys for bots."""
        return {
            "version": 1,
            "base": {"rev": self.base[0], "commit": self.base[1]},
            "head": {"rev": self.head[0], "commit": self.head[1]},
            "changed_stages": [c.as_dict() for c in self.changes],
            "params": [p.as_dict() for p in self.params],
            "rerun": [r.as_dict() for r in self.rerun],
            "lock_up_to_date": self.lock.up_to_date,
            "lock": {
                "reproduced": self.lock.reproduced,
                "not_updated": self.lock.stale,
                "always_run": self.lock.always,
            },
            "metrics": self.metrics.diff,
            "metrics_not_in_git": self.metrics.not_in_git,
            "experiments": [
                {"stage": e.stage, "experiment": e.experiment, "model": e.registered_model}
                for e in self.experiments
            ],
            "problems": self.problems,
        }


def review(root: Path, base_rev: str, head_rev: str = "HEAD") -> Review:
    """Compare two revisions of the repository at `root`; RevisionProblem for a bad one."""
    project = Project(root)
    base = open_side(project.root, base_rev, "BASE", project)
    head = open_side(project.root, head_rev, "HEAD", project)
    try:
        return compare(base, head)
    finally:
        base.tree.close()
        head.tree.close()


def compare(base: Side, head: Side) -> Review:
    problems = _unresolved(base) + _unresolved(head)
    skipped = set(base.pipeline.problems) | set(head.pipeline.problems)
    changes = pipeline_changes(base, head)
    params, unreadable = params_changes(base, head)
    problems += [f"{rel}: {why}: its params are not compared" for rel, why in unreadable.items()]
    rerun = rerun_stages(base, head, changes, params, skipped)
    metrics = metrics_diff(base, head)
    problems += metrics.problems
    changed = [c.address for c in changes if c.kind != "removed"]
    removed = [c.address for c in changes if c.kind == "removed"]
    picture = draw(head.pipeline, changed, [r.address for r in rerun], removed)
    return Review(
        base=(base.name, base.commit),
        head=(head.name, head.commit),
        changes=changes,
        params=params,
        rerun=rerun,
        lock=lock_state(head, rerun),
        metrics=metrics,
        experiments=_experiments(head, rerun),
        picture=picture,
        problems=problems,
    )


def _unresolved(side: Side) -> list[str]:
    return [
        f"{dvcfile} at {side.name}: {why}: its stages are not reviewed"
        for dvcfile, why in sorted(side.pipeline.problems.items())
    ]


def _experiments(head: Side, rerun: list[Rerun]) -> list[Experiment]:
    """The MLflow experiment each re-running stage logs to, from HEAD's map."""
    from dvc_gitops.mlflow.map import load_map

    try:
        mapping = load_map(head.project)
    except Exception:
        return []  # no usable map: check-mlflow-map says why
    if not mapping.exists:
        return []
    found = []
    for item in rerun:
        entry = mapping.entry_for(item.address)
        if entry is not None:
            found.append(Experiment(item.address, entry.experiment, entry.registered_model))
    return found
