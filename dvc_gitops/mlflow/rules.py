"""check-mlflow-map: the stage -> MLflow experiment map is valid and true.

Offline: the map loads and fits its schema, every entry names a stage that exists, every
stage whose code uses MLflow is mapped, and the experiment the code names (when it can be
resolved statically) is the mapped one. `--online`: the mapped experiments exist and are
active on the tracking server, and their latest runs came from the stages mapped to them.
Never imports mlflow: the server is asked through its REST API.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from collections.abc import Iterator
from typing import Any

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.dvc_projects import DvcProject, dvc_projects
from dvc_gitops.core.findings import UNREADABLE_FILE, Finding, Rule
from dvc_gitops.core.project import Project
from dvc_gitops.core.redact import redact
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel.model import Pipeline, pipeline_of
from dvc_gitops.formats.yamldoc import Mark
from dvc_gitops.mlflow.map import (
    ExperimentMap,
    MappedStage,
    load_map,
    map_path,
    mlflow_config,
)
from dvc_gitops.mlflow.rest import DEFAULT_TIMEOUT, MlflowError, MlflowRest, is_server_uri
from dvc_gitops.mlflow.scan import Claim, StageScanner, is_file_store

MAP_INVALID = Rule(
    "DG601",
    "map-invalid",
    "error",
    "The MLflow map document is not valid YAML or does not fit its schema.",
    why="`dvc_gitops.mlflow.start_run()` reads the map when a stage runs: an invalid map "
    "stops the stage, and a map nobody can read documents nothing.",
    fix="Fix the key or value at the position given; the format is `version: 1`, an "
    "optional `tracking_uri`, and `stages: {ADDRESS: {experiment: NAME}}`.",
)
UNKNOWN_STAGE = Rule(
    "DG602",
    "unknown-stage",
    "warning",
    "The map names a stage (or a glob) that matches no stage of the pipeline.",
    why="A renamed or deleted stage leaves its entry behind; the map then documents a "
    "pipeline that no longer exists, and the real stage goes unmapped.",
    fix="Rename the entry to the stage's address as `dvc stage list` prints it "
    "(`train`, `fe@a`, `sub/dvc.yaml:train`), or delete it.",
)
STAGE_NOT_MAPPED = Rule(
    "DG603",
    "stage-not-mapped",
    "warning",
    "A stage whose scripts use MLflow has no entry in the map.",
    why="Nobody can tell which experiment holds the stage's runs, and "
    "`dvc_gitops.mlflow.start_run()` refuses to guess.",
    fix="Add `STAGE: {experiment: NAME}` under `stages:` in the map (`dvc-gitops map init` "
    "writes a first map). In a project with no map it speaks only when asked: "
    '`extend-select = ["DG603"]`.',
)
EXPERIMENT_MISMATCH = Rule(
    "DG604",
    "experiment-mismatch",
    "warning",
    "A script names an experiment other than the one the map gives its stage.",
    why="The runs land in one experiment while the map sends readers to another: the "
    "document has drifted from the code.",
    fix="Make the two agree, or let the script take the name from the map with "
    "`dvc_gitops.mlflow.start_run()`.",
    options=("--online",),
)
EXPERIMENT_UNRESOLVED = Rule(
    "DG605",
    "experiment-unresolved",
    "notice",
    "A script chooses its experiment in a way that cannot be checked statically.",
    why="A name from the command line, the environment or a computation, or an "
    "experiment id, cannot be compared with the map without running the code; this "
    "says so rather than guess.",
    fix="Use a literal, a module constant or a params.yaml value, or call "
    "`dvc_gitops.mlflow.start_run()`, which takes the name from the map. An experiment id "
    "is compared with the map by `check-mlflow-map --online`.",
)
FILE_STORE = Rule(
    "DG606",
    "file-store-uri",
    "error",
    "A tracking URI names MLflow's file store (`./mlruns`, `file:`).",
    why="MLflow 3 refuses to log to the file store unless MLFLOW_ALLOW_FILE_STORE=true: "
    "the stage fails when it starts its run.",
    fix="Use a database store such as `sqlite:///mlflow.db` (move old runs with "
    "`mlflow migrate-filestore`), or a tracking server URL.",
)
SERVER_UNREACHABLE = Rule(
    "DG607",
    "server-unreachable",
    "error",
    "--online: the tracking server did not answer.",
    why="Nothing about the mapped experiments could be verified.",
    fix="Check MLFLOW_TRACKING_URI and the network, raise --timeout, or pass --offline-ok "
    "to make this a notice where the server is out of reach (a laptop offline).",
    options=("--online", "--offline-ok", "--timeout"),
)
EXPERIMENT_MISSING = Rule(
    "DG608",
    "experiment-missing",
    "warning",
    "--online: a mapped experiment does not exist on the tracking server.",
    why="A misspelt name goes unnoticed: the first run silently creates a new, empty "
    "experiment beside the real one.",
    fix="Fix the name in the map, or create the experiment (`mlflow experiments create -n NAME`).",
    options=("--online", "--timeout"),
)
EXPERIMENT_DELETED = Rule(
    "DG609",
    "experiment-deleted",
    "error",
    "--online: a mapped experiment is deleted on the tracking server.",
    why="MLflow refuses to set a deleted experiment as active: the stage fails at its "
    "first `start_run`.",
    fix="Restore it (`mlflow experiments restore --experiment-id ID`) or map another name.",
    options=("--online", "--timeout"),
)
RUN_FROM_OTHER_STAGE = Rule(
    "DG610",
    "run-from-other-stage",
    "warning",
    "--online: an experiment's latest run tagged `dvc.stage` came from a stage the map "
    "sends elsewhere.",
    why="Either the map is stale or a stage logs to the wrong experiment; runs are then "
    "filed where nobody looks for them.",
    fix="Update the map to where the stage really logs, or fix the stage's experiment.",
    options=("--online", "--timeout"),
)
SERVER_REFUSED = Rule(
    "DG611",
    "server-refused",
    "error",
    "--online: the tracking server refused the request (credentials, or a server error).",
    why="The check could not read the experiments; with bad credentials the stages "
    "could not log either.",
    fix="Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or "
    "MLFLOW_TRACKING_TOKEN) to working credentials.",
    options=("--online", "--timeout"),
)

ONLINE_WORKERS = 8
HELPER_HINT = "or let `dvc_gitops.mlflow.start_run()` take it from the map"


def check(context: CheckContext) -> Iterator[Finding]:
    """Every DG6xx finding for the project (the file names pre-commit passes are context).

    Each DVC project has its own map (the configured path, in the project's folder),
    naming its stages as DVC does there: `start_run()` reads it from DVC_ROOT and
    DVC_STAGE. With no map anywhere and no file that could use MLflow, there is nothing
    to check: the pipeline is not even built.
    """
    project = context.project
    settings = _settings(context)
    # The map is our convention, not MLflow's: a project that keeps none hears of
    # unmapped stages only when it asks (`select`/`extend-select` naming DG603).
    settings["ask_unmapped"] = project.config.names(STAGE_NOT_MAPPED.code)
    found: dict[tuple[str, int, int, str], Finding] = {}
    rel = map_path(project)
    where = [p for p in dvc_projects(project) if p.root != "."]
    maps = [(DvcProject("."), load_map(project))]
    maps += [(p, load_map(project, p.prefix + rel)) for p in where]
    if not any(emap.exists for _, emap in maps) and not _mentions_mlflow(project):
        return iter(())
    pipeline = pipeline_of(project)
    scanner = StageScanner(project)
    for dvc_project, emap in maps:
        _check_map(settings, emap, _view(pipeline, dvc_project), scanner, found)
    return iter(found.values())


# Text a file must hold to use MLflow: an import, a `mlflow.` call, an MLFLOW_ variable.
_MLFLOW = re.compile(rb"mlflow", re.IGNORECASE)


def _mentions_mlflow(project: Project) -> bool:
    """Whether any Python file, notebook or dvc.yaml (whose cmd may set MLFLOW_...) of
    the repository names MLflow at all: bytes searched, nothing parsed."""
    for rel in project.walk_files("dvc.yaml", suffixes=(".py", ".ipynb"), dvcignore=False):
        try:
            if _MLFLOW.search(project.path(rel).read_bytes()):
                return True
        except OSError:
            continue
    return False


def _view(pipeline: Pipeline, dvc_project: DvcProject) -> Pipeline:
    """The stages of one DVC project addressed as DVC does in its folder (as its map
    names them); the whole pipeline unchanged for the project at the git root."""
    part = pipeline.part(dvc_project.root)
    if dvc_project.root == ".":
        return part
    return Pipeline(
        stages={
            dvc_project.inner_address(a): dataclasses.replace(
                s, address=dvc_project.inner_address(a)
            )
            for a, s in part.stages.items()
        },
        problems={dvc_project.inner(f): m for f, m in part.problems.items()},
    )


def _check_map(
    settings: dict[str, Any],
    emap: ExperimentMap,
    pipeline: Pipeline,
    scanner: StageScanner,
    found: dict[tuple[str, int, int, str], Finding],
) -> None:
    """The findings of one map against the stages of its DVC project, into `found`."""

    def add(finding: Finding) -> None:
        found.setdefault((finding.path, finding.line, finding.column, finding.code), finding)

    for problem in emap.problems:
        rule = UNREADABLE_FILE if problem.unreadable else MAP_INVALID
        add(rule.at(emap.path, problem.mark, problem.message))
    if emap.tracking_uri and is_file_store(emap.tracking_uri):
        add(_file_store(emap.path, emap.mark_of(("tracking_uri",)), emap.tracking_uri, "map"))

    for entry in emap.stages:
        matched = any(entry.matches(address) for address in pipeline.stages)
        if not matched and _dvcfile_of(entry.pattern) not in pipeline.problems:
            add(_unknown_stage(emap, entry, list(pipeline.stages)))

    by_id: list[tuple[Claim, MappedStage, str]] = []  # checkable on the server only
    for stage in pipeline.stages.values():
        scan = scanner.scan(stage)
        for uri in scan.tracking_uris:
            if uri.value and is_file_store(uri.value):
                add(_file_store(uri.path, uri.mark, uri.value, uri.how))
        if not scan.uses_mlflow:
            continue
        mapped = emap.entry_for(stage.address)
        if mapped is None:
            if not emap.exists and not settings["ask_unmapped"]:
                continue
            if not _entry_written(emap, stage.address):
                evidence = (scan.uses or scan.experiments)[0]
                add(_not_mapped(emap, stage, evidence.path, evidence.mark, _what(evidence)))
            continue
        for claim in scan.experiments:
            finding = _compare(emap, mapped, stage.address, claim)
            if finding:
                add(finding)
            if claim.by_id and claim.value is not None:
                by_id.append((claim, mapped, stage.address))

    if settings["online"]:
        findings, verified = _online(emap, settings, by_id)
        for finding in findings:
            add(finding)
        for claim, mismatch in verified.items():
            # The server answered what the offline notice could not: drop the notice.
            found.pop((claim.path, claim.mark.line, claim.mark.column, "DG605"), None)
            if mismatch:
                add(mismatch)


def _settings(context: CheckContext) -> dict[str, Any]:
    """CLI options over `[tool.dvc-gitops.mlflow]` over defaults."""
    config = mlflow_config(context.project)
    options = context.options
    explicit = bool(options.get("online"))
    online = explicit or bool(config.get("online", False))
    timeout = options.get("timeout")
    timeout = float(config.get("timeout", DEFAULT_TIMEOUT) if timeout is None else timeout)
    if not (timeout > 0 and math.isfinite(timeout)):  # nan compares false to everything
        raise ConfigError(f"the timeout must be more than 0 seconds, not {timeout:g}")
    return {
        "online": online,
        "explicit": explicit,
        "timeout": timeout,
        "offline_ok": bool(options.get("offline_ok")) or bool(config.get("offline-ok", False)),
    }


def _dvcfile_of(pattern: str) -> str:
    return pattern.rsplit(":", 1)[0] if ":" in pattern else "dvc.yaml"


def _entry_written(emap: ExperimentMap, address: str) -> bool:
    """Whether the map has an entry for `address` that its problems already cover.

    A map that did not load at all covers every stage: DG601 says why.
    """
    if emap.exists and emap.doc is None:
        return True
    data = emap.doc.data if emap.doc else None
    stages = data.get("stages") if isinstance(data, dict) else None
    return isinstance(stages, dict) and address in {str(key) for key in stages}


def _what(evidence: Any) -> str:
    return str(getattr(evidence, "what", None) or evidence.how)


def _file_store(path: str, mark: Mark, uri: str, how: str) -> Finding:
    return FILE_STORE.at(
        path,
        mark,
        f"tracking URI '{uri}' ({how}) is MLflow's file store, which MLflow 3 refuses "
        "unless MLFLOW_ALLOW_FILE_STORE=true: use 'sqlite:///mlflow.db' or a server URL",
    )


def _unknown_stage(emap: ExperimentMap, entry: MappedStage, addresses: list[str]) -> Finding:
    what = "glob" if entry.is_glob else "stage"
    candidates = addresses
    if entry.is_glob:  # suggest a glob over a foreach/matrix stage's members
        candidates = list(dict.fromkeys(a.rsplit("@", 1)[0] + "@*" for a in addresses))
    close = difflib.get_close_matches(entry.pattern, candidates, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean '{close[0]}'?"
    elif addresses:
        shown = ", ".join(addresses[:5]) + (", ..." if len(addresses) > 5 else "")
        hint = f"stages are: {shown}"
    else:
        hint = "the repository has no dvc.yaml stages"
    return UNKNOWN_STAGE.at(
        emap.path,
        entry.mark,
        f"{what} '{entry.pattern}' in the map matches no stage ({hint}): rename or delete it",
    )


def _not_mapped(emap: ExperimentMap, stage: Any, path: str, mark: Mark, what: str) -> Finding:
    key = stage.address if stage.member is None else stage.address.rsplit("@", 1)[0] + "@*"
    where = f"{path}:{mark.line}: {what}"
    if not emap.exists:
        fix = f"write {emap.path} with `dvc-gitops map init`"
    else:
        fix = f'add `"{key}": {{experiment: NAME}}` under `stages:` in {emap.path}'
    return STAGE_NOT_MAPPED.at(
        stage.dvcfile,
        stage.mark,
        f"stage '{stage.address}' uses MLflow ({where}) but the map does not say which "
        f"experiment it logs to: {fix}",
    )


def _compare(emap: ExperimentMap, entry: MappedStage, address: str, claim: Claim) -> Finding | None:
    mapped = f"'{entry.experiment}' ({emap.path}:{entry.mark.line}, stage '{address}')"
    if claim.by_id:
        ident = f"'{claim.value}'" if claim.value is not None else f"`{claim.hidden_by}`"
        return EXPERIMENT_UNRESOLVED.at(
            claim.path,
            claim.mark,
            f"{claim.how} picks the experiment by id ({ident}), which cannot be "
            f"compared with the mapped {mapped} offline: name it instead, {HELPER_HINT}",
        )
    if claim.value is None:
        return EXPERIMENT_UNRESOLVED.at(
            claim.path,
            claim.mark,
            f"the experiment of {claim.how} comes from `{claim.hidden_by}`, which cannot be "
            f"resolved statically: make sure it is the mapped {mapped}, {HELPER_HINT}",
        )
    if claim.value != entry.experiment:
        return EXPERIMENT_MISMATCH.at(
            claim.path,
            claim.mark,
            f"{claim.how} logs to experiment '{claim.value}' but the map says {mapped}: "
            f"make them agree, {HELPER_HINT}",
        )
    return None


def _online(
    emap: ExperimentMap,
    settings: dict[str, Any],
    by_id: list[tuple[Claim, MappedStage, str]],
) -> tuple[list[Finding], dict[Claim, Finding | None]]:
    """Findings from asking the tracking server about each mapped experiment, and for each
    claim by experiment id, whether the id names the mapped experiment (None) or not."""
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    uri = env_uri or emap.tracking_uri
    if not uri or not is_server_uri(uri):
        if settings["explicit"]:
            shown = f"'{redact(uri)}' is not one" if uri else "none is set"
            raise ConfigError(
                f"--online needs an http(s) tracking server in MLFLOW_TRACKING_URI or the "
                f"map's tracking_uri ({shown})"
            )
        return [], {}  # config asks for online checks where a server is configured: none
    if not emap.stages:
        return [], {}
    where = emap.mark_of(("tracking_uri",)) if not env_uri and emap.tracking_uri else Mark(1, 1)
    client = MlflowRest(uri, timeout=settings["timeout"])
    first: dict[str, MappedStage] = {}  # each experiment once, at its first entry
    for entry in emap.stages:
        first.setdefault(entry.experiment, entry)

    def ask(entry: MappedStage) -> list[Finding] | MlflowError:
        try:
            return list(_experiment_findings(emap, entry, client))
        except MlflowError as exc:
            return exc

    def ask_id(claimed: tuple[Claim, MappedStage, str]) -> Finding | MlflowError | None:
        try:
            return _id_finding(emap, *claimed, client)
        except MlflowError as exc:
            return exc

    # A few requests in flight at once: a 20-stage map costs a few round trips, not 40,
    # and an unreachable server costs one timeout, not one per experiment.
    from concurrent.futures import ThreadPoolExecutor  # only --online asks in parallel

    with ThreadPoolExecutor(max_workers=min(ONLINE_WORKERS, len(first))) as pool:
        answers = list(pool.map(ask, first.values()))
        id_answers = list(pool.map(ask_id, by_id))
    findings: list[Finding] = []
    verified: dict[Claim, Finding | None] = {}
    for answer in answers:
        if isinstance(answer, MlflowError):
            return [_server_problem(emap.path, where, answer, settings["offline_ok"])], {}
        findings.extend(answer)
    for (claim, _entry, _address), id_answer in zip(by_id, id_answers, strict=True):
        if isinstance(id_answer, MlflowError):
            return [_server_problem(emap.path, where, id_answer, settings["offline_ok"])], {}
        verified[claim] = id_answer
    return findings, verified


def _id_finding(
    emap: ExperimentMap, claim: Claim, entry: MappedStage, address: str, client: MlflowRest
) -> Finding | None:
    """A DG604 when the experiment id a script picks is not the mapped experiment's."""
    experiment = client.experiment_by_id(str(claim.value))
    name = experiment.get("name") if experiment else None
    if name == entry.experiment:
        return None
    actual = f"experiment '{name}'" if name else "no experiment"
    mapped = f"'{entry.experiment}' ({emap.path}:{entry.mark.line}, stage '{address}')"
    return EXPERIMENT_MISMATCH.at(
        claim.path,
        claim.mark,
        f"{claim.how} picks experiment id '{claim.value}', which is {actual} on "
        f"{client.shown}, but the map says {mapped}: make them agree, {HELPER_HINT}",
    )


def _experiment_findings(
    emap: ExperimentMap, entry: MappedStage, client: MlflowRest
) -> Iterator[Finding]:
    at = emap.mark_of((*entry.json_path, "experiment"))
    name = entry.experiment
    experiment = client.experiment_by_name(name)
    if experiment is None:
        yield EXPERIMENT_MISSING.at(
            emap.path,
            at,
            f"experiment '{name}' (stage '{entry.pattern}') does not exist on {client.shown}: "
            "fix the name, or create it (`mlflow experiments create -n NAME`); the first "
            "run would silently create a new one",
        )
        return
    if experiment.get("lifecycle_stage") != "active":
        yield EXPERIMENT_DELETED.at(
            emap.path,
            at,
            f"experiment '{name}' (stage '{entry.pattern}') is deleted on {client.shown}, and "
            "MLflow refuses to log to it: restore it (`mlflow experiments restore -x ID`; "
            f"`mlflow experiments get -n {name}` shows the ID) or map another name",
        )
        return
    experiment_id = str(experiment.get("experiment_id", ""))
    runs = client.search_runs([experiment_id], filter="tags.`dvc.stage` LIKE '%'")
    if not runs:
        return
    run = runs[0]
    tags = {t.get("key"): t.get("value") for t in run.get("data", {}).get("tags", [])}
    stage = tags.get("dvc.stage")
    owner = emap.entry_for(stage) if isinstance(stage, str) else None
    if isinstance(stage, str) and (owner is None or owner.experiment != name):
        elsewhere = f"sends that stage to '{owner.experiment}'" if owner else "lacks that stage"
        yield RUN_FROM_OTHER_STAGE.at(
            emap.path,
            at,
            f"the latest run in experiment '{name}' was logged by stage '{stage}' (search "
            f"tags.`dvc.stage` = '{stage}'), but the map {elsewhere}: update the map, or "
            "fix where that stage logs",
        )


def _server_problem(path: str, mark: Mark, exc: MlflowError, offline_ok: bool) -> Finding:
    if exc.kind == "unreachable":
        return SERVER_UNREACHABLE.at(
            path,
            mark,
            f"tracking server unreachable: {exc.message}; the mapped experiments were not "
            "checked" + ("" if offline_ok else " (--offline-ok makes this a notice)"),
            severity="notice" if offline_ok else None,
        )
    return SERVER_REFUSED.at(path, mark, f"{exc.message}; the mapped experiments were not checked")
