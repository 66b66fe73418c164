"""For stage scripts: an MLflow run in the experiment the map gives this DVC stage.

```python
from dvc_gitops.mlflow import start_run

with start_run() as run:          # inside `dvc repro`: DVC sets DVC_STAGE and DVC_ROOT
    mlflow.log_metric("auc", auc)
```

`start_run(**kwargs)` reads the map (`mlflow-experiments.yaml`), picks the entry for
`DVC_STAGE`, points MLflow at the map's `tracking_uri` when MLFLOW_TRACKING_URI is unset
(default `sqlite:///mlflow.db` at the repository root), sets the experiment, and starts
the run tagged so it can be traced to the exact pipeline state:

- `dvc.stage`: the stage address; `dvc.git.commit` and `dvc.git.dirty`;
- `dvc.dep.<path>`: the md5 of each of the stage's deps as DVC records it in dvc.lock
  (a file's md5, or a folder's `.dir` hash), computed from the bytes the stage reads.

mlflow is imported only when `start_run` is called.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import posixpath
import re
from pathlib import Path
from typing import Any

from dvc_gitops.core.project import Project, find_root
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.mlflow.map import DEFAULT_TRACKING_URI, ExperimentMap, MappedStage, load_map

MAX_TAG_KEY = 250  # MLflow's limit on a tag key


class MapError(RuntimeError):
    """The map cannot say where this stage's runs go; the message says how to fix it."""


def start_run(stage: str | None = None, **kwargs: Any) -> Any:
    """An active MLflow run (a context manager) in the stage's mapped experiment.

    `stage` defaults to DVC_STAGE; other keyword arguments go to `mlflow.start_run`
    (tags given there are added to, and win over, the tracing tags).
    """
    project = _project()
    address, entry, emap = _entry(project, stage)
    mlflow = importlib.import_module("mlflow")
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        mlflow.set_tracking_uri(tracking_uri(emap, project.root))
    mlflow.set_experiment(entry.experiment)
    tags = {**run_tags(project, address), **(kwargs.pop("tags", None) or {})}
    return mlflow.start_run(tags=tags, **kwargs)


def registered_model(stage: str | None = None) -> str | None:
    """The registered model the map names for the stage (DVC_STAGE), if any."""
    _address, entry, _map = _entry(_project(), stage)
    return entry.registered_model


def experiment_name(stage: str | None = None) -> str:
    """The experiment the map gives the stage (DVC_STAGE)."""
    return _entry(_project(), stage)[1].experiment


def tracking_uri(emap: ExperimentMap, root: Path) -> str:
    """The map's tracking URI (or MLflow's default), relative sqlite paths at `root`."""
    uri = emap.tracking_uri or DEFAULT_TRACKING_URI
    relative = re.fullmatch(r"sqlite:///([^/].*)", uri)
    if relative:
        return f"sqlite:///{(root / relative.group(1)).as_posix()}"
    return uri


def run_tags(project: Project, address: str) -> dict[str, str]:
    """The tracing tags for a run of stage `address` (see the module docstring)."""
    tags = {"dvc.stage": address}
    commit = project.git("rev-parse", "HEAD")
    if commit:
        tags["dvc.git.commit"] = commit.strip()
        changed = project.git("status", "--porcelain", "--untracked-files=no")
        tags["dvc.git.dirty"] = "true" if changed and changed.strip() else "false"
    stage = pipeline_of(project).stages.get(address)
    for dep in stage.deps if stage else []:
        key = dep_tag_key(dep.path)
        digest = dvc_md5(project.path(dep.path)) if key else None
        if key and digest:
            tags[key] = digest
    return tags


def dep_tag_key(path: str) -> str | None:
    """`dvc.dep.<path>` as MLflow accepts a tag key, or None when no key can say it.

    MLflow takes letters, digits, `_ - . / space` (and `:` off Windows) up to 250
    characters, and refuses keys a path normalisation would change: other characters
    become `_`; a dep outside the repository or a URL gets no tag.
    """
    key = "dvc.dep." + re.sub(r"[^\w./ -]", "_", path)
    if len(key) > MAX_TAG_KEY or posixpath.normpath(key) != key or ".." in path.split("/"):
        return None
    return key


def dvc_md5(path: Path) -> str | None:
    """The md5 DVC records for a file (of its bytes) or a folder (`<md5>.dir`); None if absent.

    A folder's hash is the md5 of the JSON list of its files' `{md5, relpath}`, sorted by
    path, as dvc-data builds it.
    """
    if path.is_file():
        return _file_md5(path)
    if not path.is_dir():
        return None
    entries = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in (".git", ".dvc")]
        for name in files:
            if name == ".dvcignore":
                continue
            full = Path(folder, name)
            relpath = full.relative_to(path).as_posix()
            entries.append({"md5": _file_md5(full), "relpath": relpath})
    entries.sort(key=lambda e: e["relpath"])
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing).hexdigest() + ".dir"


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _project() -> Project:
    root = os.environ.get("DVC_ROOT")
    return Project(Path(root) if root else find_root(Path.cwd()))


def _entry(project: Project, stage: str | None) -> tuple[str, MappedStage, ExperimentMap]:
    address = stage or os.environ.get("DVC_STAGE")
    if not address:
        raise MapError(
            "DVC_STAGE is not set: run this script through `dvc repro`, or pass "
            "start_run(stage='NAME')"
        )
    emap = load_map(project)
    if not emap.exists:
        raise MapError(
            f"{emap.path} not found at {project.root}: write it with `dvc-gitops map init`"
        )
    entry = emap.entry_for(address)
    if entry is None and emap.problems:  # say why the map could not give the entry
        problem = emap.problems[0]
        raise MapError(f"{emap.path}:{problem.mark.line}:{problem.mark.column}: {problem.message}")
    if entry is None:
        raise MapError(
            f"{emap.path} does not map stage '{address}': add `{address}: {{experiment: NAME}}` "
            "under `stages:`"
        )
    return address, entry, emap
