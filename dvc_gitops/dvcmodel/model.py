"""The pipeline model: every stage of every dvc.yaml, resolved as DVC resolves it.

`build_pipeline(project)` reads each dvc.yaml once (from `YamlDoc.data`, with marks from
its nodes), fills in `vars`, the `params.yaml` beside it and `${...}` templates, expands
`foreach` and `matrix`, applies `wdir`, and records every path repo-relative with the
position of the YAML that produced it. It never raises: what DVC would refuse while
resolving is recorded in `Pipeline.issues` (and `problems` for whole files), and the
stages are kept as far as they could be built.
"""

from __future__ import annotations

import configparser
import posixpath
from typing import TYPE_CHECKING

from dvc_gitops.formats.yamldoc import gc_paused

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project


from dvc_gitops.dvcmodel.resolver import FileResolver
from dvc_gitops.dvcmodel.stages import (
    MISSING,
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
    param_value,
    stage_address,
)


def pipeline_of(project: Project) -> Pipeline:
    """The resolved pipeline of `project`, built once per run and shared by every check."""
    store = project.cache("pipeline")
    if "pipeline" not in store:
        store["pipeline"] = build_pipeline(project)
    pipeline: Pipeline = store["pipeline"]
    return pipeline


def build_pipeline(project: Project) -> Pipeline:
    """The resolved pipeline of every dvc.yaml in the project; never raises."""
    # Tens of thousands of stages, refs and marks, all kept: nothing for the GC to find.
    with gc_paused():
        return _build_pipeline(project)


def _build_pipeline(project: Project) -> Pipeline:
    from dvc_gitops.core.dvc_projects import dvc_projects

    pipeline = Pipeline()
    projects = dvc_projects(project)
    configs: dict[str, dict[str, str]] = {}
    loader = ParamsLoader(project)
    # DVC walks each project top-down and does not descend into folders that are outputs
    # of stages it has already loaded, nor into git-ignored ones: their dvc.yaml files
    # hold no stages as far as DVC is concerned. A folder holding another `.dvc/` is
    # another project, and `.dvcignore` files count in their own project only (both
    # are settled by `dvc_yaml_files`).
    files = sorted(project.dvc_yaml_files, key=lambda f: f.split("/")[:-1])
    ignored_by_git = _git_ignored(project, files)
    outs: dict[tuple[str, str], str] = {}
    for dvcfile in files:
        owner = projects.of(posixpath.dirname(dvcfile) or ".")
        key = owner.root if owner else "."
        pipeline.project_of[dvcfile] = key
        if dvcfile in ignored_by_git:
            pipeline.ignored[dvcfile] = "ignored by git"
            continue
        above = _output_above(dvcfile, key, outs)
        if above is not None:
            pipeline.ignored[dvcfile] = above
            continue
        if key not in configs:
            configs[key] = _parsing_config(project, owner.prefix if owner else "")
        before = len(pipeline.stages)
        try:
            FileResolver(project, pipeline, dvcfile, configs[key], loader).resolve()
        except Exception as exc:  # the model never raises: one line for the file instead
            pipeline.problems.setdefault(dvcfile, f"could not resolve: {type(exc).__name__}: {exc}")
        for stage in list(pipeline.stages.values())[before:]:
            stage.project = key
            for out in stage.outs:
                outs.setdefault((key, out.path), stage.address)
    return pipeline


def _output_above(dvcfile: str, project: str, outs: dict[tuple[str, str], str]) -> str | None:
    """The address of a stage of `project` with an output folder holding `dvcfile`."""
    folder = posixpath.dirname(dvcfile)
    while folder:
        if (project, folder) in outs:
            return outs[(project, folder)]
        folder = posixpath.dirname(folder)
    return None


def _git_ignored(project: Project, files: list[str]) -> set[str]:
    if not files or project.git_files is None:
        return set()
    out = project.git("check-ignore", "--no-index", *files) if len(files) < 20_000 else None
    return set(out.split()) if out else set()


def _parsing_config(project: Project, prefix: str = "") -> dict[str, str]:
    """DVC's `[parsing]` settings (how a dict renders into cmd) from the `.dvc/config`
    of the project at `prefix` ("" at the root, else "sub/")."""
    settings: dict[str, str] = {}
    for name in ("config", "config.local"):
        parser = configparser.ConfigParser()
        try:
            if project.tree is not None:  # config.local is never in git: the tree's own
                data = project.tree.read_bytes(f"{prefix}.dvc/{name}")
                parser.read_string(data.decode("utf-8"))
            else:
                parser.read(project.root / f"{prefix}.dvc" / name, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        if parser.has_section("parsing"):
            settings.update({k: v.lower() for k, v in parser.items("parsing")})
    return settings


__all__ = [
    "MISSING",
    "Issue",
    "LoadProblem",
    "Out",
    "ParamRef",
    "ParamsLoader",
    "Pipeline",
    "Ref",
    "Stage",
    "VarsEntry",
    "build_pipeline",
    "join_path",
    "param_value",
    "pipeline_of",
    "stage_address",
]
