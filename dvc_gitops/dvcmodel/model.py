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
from typing import TYPE_CHECKING, Any

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
    pipeline = Pipeline()
    config = _parsing_config(project)
    loader = ParamsLoader(project)
    # DVC walks the tree top-down and does not descend into folders that are outputs of
    # stages it has already loaded, nor into git-ignored ones: their dvc.yaml files hold
    # no stages as far as DVC is concerned.
    files = sorted(project.dvc_yaml_files, key=lambda f: f.split("/")[:-1])
    ignored_by_git = _git_ignored(project, files)
    outside = _outside_this_repo(project, files)
    outs: dict[str, str] = {}
    for dvcfile in files:
        if dvcfile in ignored_by_git:
            pipeline.ignored[dvcfile] = "ignored by git"
            continue
        if dvcfile in outside:
            pipeline.ignored[dvcfile] = outside[dvcfile]
            continue
        owner = _output_above(dvcfile, outs)
        if owner is not None:
            pipeline.ignored[dvcfile] = owner
            continue
        before = len(pipeline.stages)
        try:
            FileResolver(project, pipeline, dvcfile, config, loader).resolve()
        except Exception as exc:  # the model never raises: one line for the file instead
            pipeline.problems.setdefault(dvcfile, f"could not resolve: {type(exc).__name__}: {exc}")
        for stage in list(pipeline.stages.values())[before:]:
            for out in stage.outs:
                outs.setdefault(out.path, stage.address)
    return pipeline


def _output_above(dvcfile: str, outs: dict[str, str]) -> str | None:
    """The address of a stage with an output folder holding `dvcfile`, if any."""
    folder = posixpath.dirname(dvcfile)
    while folder:
        if folder in outs:
            return outs[folder]
        folder = posixpath.dirname(folder)
    return None


def _outside_this_repo(project: Project, files: list[str]) -> dict[str, str]:
    """dvc.yaml files in DVC subrepos (a folder with its own `.dvc`) or `.dvcignore`d."""
    from dvc_gitops.core.project import FileProblem

    found: dict[str, str] = {}
    folders: dict[str, tuple[bool, Any]] = {}  # folder -> (is a subrepo, its .dvcignore)
    root_is_dvc = project.is_dvc_repo

    def folder_facts(folder: str) -> tuple[bool, Any]:
        if folder not in folders:
            spec = None
            ignore_file = f"{folder}/.dvcignore" if folder else ".dvcignore"
            if project.is_file(ignore_file):
                import pathspec

                try:
                    lines = project.read_text(ignore_file).splitlines()
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
                except (FileProblem, ValueError):
                    spec = None
            # A nested `.dvc` makes a subrepo only below a DVC root; a git repository whose
            # DVC project lives in a subfolder (`dvc init --subdir`) keeps its stages.
            subrepo = bool(folder) and root_is_dvc and project.is_dir(f"{folder}/.dvc")
            folders[folder] = (subrepo, spec)
        return folders[folder]

    for dvcfile in files:
        parts = dvcfile.split("/")
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            subrepo, spec = folder_facts(folder)
            if subrepo:
                found[dvcfile] = f"inside the DVC subrepo '{folder}'"
                break
            if spec is not None and spec.match_file("/".join(parts[depth:])):
                where = f"{folder}/.dvcignore" if folder else ".dvcignore"
                found[dvcfile] = f"ignored by {where}"
                break
    return found


def _git_ignored(project: Project, files: list[str]) -> set[str]:
    if not files or project.git_files is None:
        return set()
    out = project.git("check-ignore", "--no-index", *files) if len(files) < 20_000 else None
    return set(out.split()) if out else set()


def _parsing_config(project: Project) -> dict[str, str]:
    """DVC's `[parsing]` settings (how a dict renders into cmd) from `.dvc/config`."""
    settings: dict[str, str] = {}
    for name in ("config", "config.local"):
        parser = configparser.ConfigParser()
        try:
            if project.tree is not None:  # config.local is never in git: the tree's own
                parser.read_string(project.tree.read_bytes(f".dvc/{name}").decode("utf-8"))
            else:
                parser.read(project.root / ".dvc" / name, encoding="utf-8")
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
