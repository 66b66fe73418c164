"""dvc-status: stale stages from the project's own `dvc status --json`, explained.

DVC's verdict is the one that counts, so this hook runs the project's own DVC (never a
copy of its own, never `import dvc`) and only explains what it prints: which deps,
params (key by key), command or outputs changed, and which stages will re-run after the
stale one (from our pipeline model; `dvc status` lists only the stage itself).

Exit codes beyond the common ones (0 clean or warnings only, 1 findings with --fail):

    2  cannot ask DVC: DVC not found, not a DVC repository, a bad option or config
    4  DVC gave no verdict: it failed (an invalid dvc.yaml, a broken .dvc file, ...)
       or did not answer within --timeout
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import posixpath
import re
import shutil
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dvc_gitops import __version__
from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.dvc_projects import DvcProject, DvcProjects, dvc_projects
from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.core.processes import run_in_group
from dvc_gitops.core.project import FileProblem, Project, find_root
from dvc_gitops.core.runner import SECONDS, Check, CheckContext, common_options, execute
from dvc_gitops.dvcmodel.model import MISSING, param_value, pipeline_of
from dvc_gitops.formats.yamldoc import Mark, YamlProblem

if TYPE_CHECKING:
    from dvc_gitops.dvcmodel.model import Pipeline, Stage

EXIT_NO_DVC = 2  # DVC cannot be run here (setup)
EXIT_DVC_FAILED = 4  # DVC ran but gave no verdict (its error, or the timeout)
DEFAULT_TIMEOUT = 120.0
# A stage's downstream list is cut after this many names ("and N more").
MAX_NAMES = 8

STALE_STAGE = Rule(
    "DG401",
    "stale-stage",
    "warning",
    "A stage is out of date: a dep, a param, its command or an output changed since "
    "dvc.lock was written.",
    why="The committed dvc.lock no longer describes the outputs the code and params in this "
    "commit produce: whoever checks it out gets results that do not match what they read. "
    "`dvc status` names only the stage itself; the stages after it re-run too when its "
    "outputs change, and the finding lists them so the cost of the change is visible "
    "before the commit.",
    fix="Run `dvc repro` (the finding names the stage) and commit the updated dvc.lock with "
    "the change; or undo the change if it was not meant.",
    options=("--fail", "--warn", "--scope"),
)
MISSING_OUTPUTS = Rule(
    "DG402",
    "missing-outputs",
    "warning",
    "A stage's outputs are absent from the workspace (deleted, or not in the local cache) "
    "while nothing it depends on changed.",
    why="This is the normal state of a fresh clone or a workspace after `git checkout`: the "
    "pipeline is not stale, the data just has not been fetched. It has its own code so teams "
    'can ignore it (`ignore = ["DG402"]`) without hiding real staleness (DG401).',
    fix="Run `dvc pull` (outputs not in the cache) or `dvc checkout` (outputs in the cache).",
    options=("--fail", "--warn", "--scope"),
)
STALE_DATA = Rule(
    "DG403",
    "stale-tracked-data",
    "warning",
    "Data tracked by a `.dvc` file changed since `dvc add` recorded it, or the source of "
    "a `dvc import` has moved on.",
    why="The `.dvc` file in git still points at the old content: a clone gets the old data, "
    "and stages that depend on it do not know it changed.",
    fix="Run `dvc add` on the path again (or `dvc commit FILE.dvc`) and commit the `.dvc` "
    "file; or `dvc checkout FILE.dvc` to restore the recorded version. For an import, "
    "`dvc update FILE.dvc` fetches the new version.",
    options=("--fail", "--warn", "--scope"),
)


# -- running DVC ----------------------------------------------------------------------------


class DvcUnavailable(Exception):
    """DVC cannot be run for this project (exit 2); the message says how to fix it."""


@dataclass
class StatusResult:
    """The parsed `dvc status --json` (address -> entries), or one line saying why not."""

    stages: dict[str, list[Any]] = field(default_factory=dict)
    error: str | None = None  # set when DVC gave no verdict
    exit_code: int = 0  # EXIT_NO_DVC or EXIT_DVC_FAILED when `error` is set
    command: list[str] = field(default_factory=list)  # the DVC invocation used
    seconds: float = 0.0  # wall time of the DVC process
    offline: bool = False  # DVC failed only because a host could not be reached

    @property
    def ok(self) -> bool:
        return self.error is None


def find_dvc(project: Project, dvc: str | None = None) -> list[str]:
    """The command that runs the project's own DVC; DvcUnavailable when there is none.

    An explicit `dvc` (option or config) wins. Then the project's interpreter: an active
    virtualenv, `.venv` or `venv` in the repository, the environment dvc-gitops itself
    runs in (installed into the project's venv, or pre-commit's env given dvc as an
    additional dependency), each as its `dvc` script or as `python -m dvc` when only the
    package is installed; then `dvc` on PATH.
    """
    if dvc:
        # A path is relative to the project root (config is written there); a bare name
        # is looked up on PATH.
        is_path = "/" in dvc or os.sep in dvc
        found = shutil.which(str(project.root / dvc)) if is_path else shutil.which(dvc)
        if found is None:
            raise DvcUnavailable(f"--dvc {dvc}: no such executable; give the path of DVC")
        return [found]
    active = os.environ.get("VIRTUAL_ENV")
    environments = [Path(active)] if active else []
    environments += [project.root / ".venv", project.root / "venv", Path(sys.prefix)]
    for env in environments:
        command = _dvc_in_environment(env) if env.is_dir() else None
        if command:
            return command
    found = shutil.which("dvc")
    if found:
        return [found]
    raise DvcUnavailable(
        "DVC not found: install the project's pinned dvc (pip install dvc==...), activate "
        "its virtualenv, or pass --dvc PATH"
    )


def _dvc_in_environment(env: Path) -> list[str] | None:
    bin_dir = env / ("Scripts" if os.name == "nt" else "bin")
    script = shutil.which("dvc", path=str(bin_dir))
    if script:
        return [script]
    python = shutil.which("python", path=str(bin_dir))
    # The package without its script (a broken entry point, a copied venv): run it as a
    # module of the same interpreter. Looked up on disk: importing it here costs 0.25 s.
    pattern = (
        "Lib/site-packages/dvc/__main__.py"
        if os.name == "nt"
        else "lib/python*/site-packages/dvc/__main__.py"
    )
    if python and glob.glob(str(env / pattern)):
        return [python, "-m", "dvc"]
    return None


def run_dvc_status(
    project: Project,
    dvc: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    targets: Sequence[str] = (),
    where: DvcProject | None = None,
) -> StatusResult:
    """`dvc status --json [targets]` run in the folder of the DVC project `where` (the
    git root's by default), parsed; never raises. Targets go in and stage addresses and
    paths come out relative to the git root, as everywhere else."""
    if where is None:
        if not project.is_dvc_repo:
            return StatusResult(
                error=f"not a DVC repository: no .dvc folder at {project.root} or below it "
                "(run `dvc init`, or `dvc init --subdir` in the pipeline's folder)",
                exit_code=EXIT_NO_DVC,
            )
        where = DvcProject(".")
    inner_targets = [where.inner_address(t) for t in targets]
    folder = project.root if where.root == "." else project.root / where.root
    # A `--subdir` project may keep its virtualenv in its own folder.
    own = None
    if not dvc and not os.environ.get("VIRTUAL_ENV") and where.root != ".":
        own = next(
            (c for env in (folder / ".venv", folder / "venv") if (c := _dvc_in_environment(env))),
            None,
        )
    try:
        command = [*(own or find_dvc(project, dvc)), "status", "--json", *inner_targets]
    except DvcUnavailable as exc:
        return StatusResult(error=str(exc), exit_code=EXIT_NO_DVC)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    ran = run_in_group(command, folder, timeout, env)
    if ran.start_error is not None:
        return StatusResult(
            error=f"cannot run {command[0]}: {ran.start_error}; give the path of DVC with --dvc",
            exit_code=EXIT_NO_DVC,
            command=command,
        )
    if ran.timed_out or ran.returncode is None:
        return StatusResult(
            error=f"`dvc status` did not finish within {timeout:g} s and was stopped; raise "
            "--timeout (or [tool.dvc-gitops.status] timeout), or use --scope staged",
            exit_code=EXIT_DVC_FAILED,
            command=command,
            seconds=ran.seconds,
        )
    seconds, stdout = ran.seconds, ran.stdout
    if ran.returncode != 0:
        return StatusResult(
            error=_dvc_error(ran.returncode, ran.stderr, targets),
            exit_code=EXIT_NO_DVC if ran.returncode == 253 else EXIT_DVC_FAILED,
            command=command,
            seconds=seconds,
            offline=needs_network(ran.stderr),
        )
    stages = _parse_json(stdout)
    if stages is not None and where.root != ".":
        stages = {where.address(a): _outer_entries(where, e) for a, e in stages.items()}
    if stages is None:
        first = stdout.strip().splitlines()[:1]
        return StatusResult(
            error="`dvc status --json` printed no JSON object"
            + (f" (it printed: {first[0][:80]})" if first else "")
            + "; is --dvc really DVC?",
            exit_code=EXIT_DVC_FAILED,
            command=command,
            seconds=seconds,
        )
    return StatusResult(stages=stages, command=command, seconds=seconds)


def _outer_entries(where: DvcProject, entries: list[Any]) -> list[Any]:
    """DVC's entries with their paths (relative to the project's folder) made relative to
    the git root; URLs and everything else unchanged."""
    moved: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict):
            entry = {
                kind: (
                    {_outer_path(where, p): state for p, state in items.items()}
                    if isinstance(items, dict)
                    else items
                )
                for kind, items in entry.items()
            }
        moved.append(entry)
    return moved


def _outer_path(where: DvcProject, path: Any) -> Any:
    if not isinstance(path, str) or "://" in path or path.startswith("/") or " (" in path:
        return path  # a URL, an absolute path, or an import's "path (source)"
    return where.outer(path)


def _parse_json(stdout: str) -> dict[str, list[Any]] | None:
    """The status object; tolerates lines DVC (or a plugin) printed before it."""
    candidates = [stdout.strip()]
    candidates += [line for line in reversed(stdout.splitlines()) if line.startswith("{")]
    for text in candidates:
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
            return value
    return None


# What DVC (git, requests, fsspec) prints when a host cannot be reached: not a problem of
# the repository, so the hook says so and lets the commit through unless --fail.
_NETWORK_ERRORS = (
    "Failed to clone repo",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Failed to resolve",
    "Could not resolve host",
    "Network is unreachable",
    "Max retries exceeded",
    "Connection refused",
    "Connection timed out",
    "NameResolutionError",
)


def needs_network(stderr: str) -> bool:
    """Whether `dvc status` failed because a host could not be reached."""
    return any(text in stderr for text in _NETWORK_ERRORS)


def _dvc_error(returncode: int, stderr: str, targets: Sequence[str]) -> str:
    """DVC's error output condensed to one line, with what to do about it."""
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip()
        # Skip DVC's source excerpts ("52 │ cmd: x"), blank lines and its own hints.
        if not line or line[0].isdigit() or line.startswith(("WARNING:", "Having any trouble")):
            continue
        lines.append(line.removeprefix("ERROR:").strip().rstrip("."))
    detail = ": ".join(lines[:2]) or f"no error message (exit {returncode})"
    if returncode == 253:
        return f"DVC says this is not a DVC repository: {detail}"
    if needs_network(stderr):
        return (
            f"`dvc status` could not reach the network ({_short(detail, 160)}): an import "
            "or URL dep needs it; run it online"
        )
    hint = "fix it (check-dvc-yaml shows where)"
    if ".dvc' is invalid" in detail and not targets:
        hint += ", or run with --scope staged to ask only about the staged stages"
    return f"`dvc status` failed: {detail}; {hint}"


# -- reading DVC's answer ---------------------------------------------------------------------


@dataclass
class StageChanges:
    """One stage's entries in `dvc status --json`, sorted by kind."""

    deps: dict[str, str] = field(default_factory=dict)  # path -> modified/deleted/new
    params: dict[str, dict[str, str] | str] = field(default_factory=dict)  # file -> states
    outs: dict[str, str] = field(default_factory=dict)  # path -> modified/deleted/not in cache
    command: bool = False
    always: bool = False
    other: list[str] = field(default_factory=list)  # entries this version does not know


def parse_entries(entries: Sequence[Any], params_files: set[str]) -> StageChanges:
    """DVC's list of entries for one stage; `params_files` tells params from deps."""
    changes = StageChanges()
    for entry in entries:
        if entry == "always changed":
            changes.always = True
        elif entry == "changed command":
            changes.command = True
        elif isinstance(entry, dict):
            for kind, items in entry.items():
                if not isinstance(items, dict):
                    changes.other.append(str(kind))
                    continue
                for path, state in items.items():
                    if kind == "changed outs":
                        changes.outs[path] = str(state)
                    elif kind != "changed deps":
                        changes.other.append(f"{kind} {path}")
                    elif isinstance(state, dict) or path in params_files:
                        changes.params[path] = state
                    else:
                        changes.deps[path] = str(state)
        else:
            changes.other.append(str(entry))
    return changes


# -- the check --------------------------------------------------------------------------------


def check(context: CheckContext) -> Iterator[Finding]:
    project = context.project
    settings = project.config.section(
        "status",
        {"fail": bool, "timeout": (int, float), "scope": str, "dvc": str},
    )
    fail = context.options.get("fail")
    if fail is None:
        fail = settings.get("fail", False)
    if not fail:
        context.warn_only.append("DG40")  # not DG41x: check-dvc-lock's
    timeout = context.options.get("timeout") or settings.get("timeout", DEFAULT_TIMEOUT)
    if timeout <= 0:
        _stop(EXIT_NO_DVC, f"timeout must be a positive number of seconds, not {timeout:g}")
    scope = context.options.get("scope") or settings.get("scope", "all")
    if scope not in ("all", "staged"):
        _stop(EXIT_NO_DVC, f"scope must be 'all' or 'staged', not '{scope}'")
    dvc = context.options.get("dvc") or settings.get("dvc")

    wanted: list[str] = []
    if scope == "staged":
        wanted = staged_stages(project)
        if not wanted:
            return  # nothing staged that any stage reads: nothing can be stale by it
    runs = _runs(project, dvc_targets(project, wanted) if wanted else None)
    # The model is built while DVC works (DVC is another process; our thread mostly
    # parses YAML), so the hook costs little more than `dvc status` alone. Separate DVC
    # projects are separate `dvc status` runs, two at a time.
    with ThreadPoolExecutor(max_workers=1 + min(2, len(runs))) as pool:
        building = pool.submit(_prepare, project)
        asked = [
            (where, pool.submit(run_dvc_status, project, dvc, float(timeout), targets, where))
            for where, targets in runs
        ]
        results = [(where, future.result()) for where, future in asked]
        building.result()
    result = StatusResult()
    for where, one in results:
        if not one.ok:
            error = str(one.error)
            if where.root != ".":
                error = f"{where.label()}: {error}"
            if one.offline and not fail:
                # No network is a fact of the moment, not of the repository: say so, pass.
                click.echo(f"dvc-status: notice: {error} (--fail blocks on it)", err=True)
                continue
            _stop(one.exit_code, error)
        result.stages.update(one.stages)
        result.command, result.seconds = one.command, result.seconds + one.seconds
    if wanted:
        # A file target answers for all its stages: keep the wanted ones (and whatever
        # the model does not know, which only a file or `.dvc` target can have brought).
        keep, known = set(wanted), pipeline_of(project).stages
        result.stages = {a: e for a, e in result.stages.items() if a in keep or a not in known}
    projects = dvc_projects(project)
    for finding in group_missing(explain(project, result)):
        yield _from_project_folder(finding, projects)


def _prepare(project: Project) -> None:
    """What the explanation reads, read while DVC works: the model and every dvc.lock
    (a 4,000-stage lock is a second of YAML)."""
    pipeline = pipeline_of(project)
    for dvcfile in dict.fromkeys(s.dvcfile for s in pipeline.stages.values()):
        if project.exists(_lock_file(dvcfile)):
            try:
                project.yaml(_lock_file(dvcfile))
            except (YamlProblem, FileProblem):
                continue


def _runs(project: Project, targets: list[str] | None) -> list[tuple[DvcProject, list[str]]]:
    """Which DVC projects to ask, each with its targets (git-root-relative; none: all).

    From the git root (as pre-commit runs it): every project, nested ones included. From
    a folder below it: the project holding that folder and the projects inside it.
    """
    projects = dvc_projects(project)
    here = project.rel(Path.cwd())
    if here.startswith("../"):
        here = "."
    holder = projects.of(here)
    chosen = [
        p
        for p in projects
        if here == "." or p == holder or (p.root + "/").startswith(here.rstrip("/") + "/")
    ]
    if not chosen:
        _stop(
            EXIT_NO_DVC,
            f"not a DVC repository: no .dvc folder at {project.root} or below it (run `dvc "
            "init`, or `dvc init --subdir` in the pipeline's folder)",
        )
    if targets is None:
        return [(p, []) for p in chosen]
    by_project: dict[DvcProject, list[str]] = {}
    for target in targets:
        file = target.rpartition(":")[0] or target
        owner = projects.of(posixpath.dirname(file) if "/" in file else ".")
        if owner is not None and owner in chosen:
            by_project.setdefault(owner, []).append(target)
    return list(by_project.items())


_DVC_COMMAND = re.compile(r"`dvc ([^`]*)`")


def _from_project_folder(finding: Finding, projects: DvcProjects) -> Finding:
    """The DVC commands a finding advises, as they run: in the folder of the finding's
    DVC project (from the git root DVC refuses a `--subdir` project's stages)."""
    owner = projects.of(posixpath.dirname(finding.path) or ".")
    if owner is None or owner.root == ".":
        return finding

    def in_folder(match: re.Match[str]) -> str:
        words = [
            owner.inner_address(w) if owner.contains(w) and w != owner.root else w
            for w in match.group(1).split(" ")
        ]
        return f"`cd {owner.root} && dvc {' '.join(words)}`"

    return dataclasses.replace(finding, message=_DVC_COMMAND.sub(in_folder, finding.message))


def _stop(code: int, message: str) -> None:
    click.echo(f"dvc-status: error: {message}", err=True)
    raise click.exceptions.Exit(code)


def staged_stages(project: Project) -> list[str]:
    """The stages the staged files touch and every stage downstream of them (addresses),
    then the staged `.dvc` files."""
    out = project.git("diff", "--cached", "--name-only", "--no-renames", "-z")
    if out is None:
        _stop(EXIT_NO_DVC, "--scope staged needs a git repository (git diff --cached failed)")
    staged = {p for p in (out or "").split("\0") if p}
    pipeline = pipeline_of(project)
    touched: list[str] = []
    for address, stage in pipeline.stages.items():
        if _touches(stage, staged):
            touched.append(address)
    wanted = set(touched)
    for address in touched:
        wanted.update(pipeline.downstream(address))
    ordered = [a for a in pipeline.topological_order() if a in wanted]
    # A staged dvc.yaml our model could not read: DVC is asked about the whole file (and
    # says what is wrong with it). `.dvc` files are their own targets.
    ordered += sorted(f for f in pipeline.problems if f in staged)
    ordered += sorted(p for p in staged if p.endswith(".dvc") and project.exists(p))
    return ordered


def dvc_targets(project: Project, wanted: Sequence[str]) -> list[str]:
    """The fewest `dvc status` targets that cover `wanted`: a stage alone in its dvc.yaml
    by address, several stages of one dvc.yaml by the file.

    DVC parses the dvc.yaml and dvc.lock again for every target (0.5 s of CPU each for
    200 stages), so one file target is cheaper than its stages one by one; the extra
    stages it reports are filtered out afterwards.
    """
    if not wanted:
        return []
    stages = pipeline_of(project).stages
    by_file: dict[str, list[str]] = {}
    for address in wanted:
        stage = stages.get(address)
        by_file.setdefault(stage.dvcfile if stage else address, []).append(address)
    return [members[0] if len(members) == 1 else file for file, members in by_file.items()]


def _touches(stage: Stage, staged: set[str]) -> bool:
    own_files = {stage.dvcfile, _lock_file(stage.dvcfile)}
    paths = [ref.path for ref in (*stage.deps, *stage.outs)]
    return bool(
        staged & own_files
        or any(p.file in staged for p in stage.params)
        or any(s == p or s.startswith(p.rstrip("/") + "/") for s in staged for p in paths)
    )


def _lock_file(dvcfile: str) -> str:
    return posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")


# Above this many DG402 findings in one dvc.yaml with one remedy, they are one finding:
# a fresh clone of a 4,000-stage pipeline has one cause (nothing pulled yet), not 4,000.
_GROUP_MISSING = 5
_RUN_VERB = re.compile(r"run `dvc (pull|checkout|repro)\b")


def group_missing(findings: Iterable[Finding]) -> Iterator[Finding]:
    """DG402 findings of one dvc.yaml with the same remedy, merged into one when many."""
    missing: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        found = _RUN_VERB.search(finding.message)
        if finding.code != MISSING_OUTPUTS.code or found is None:
            yield finding
            continue
        missing.setdefault((finding.path, found.group(1)), []).append(finding)
    for (path, verb), group in missing.items():
        if len(group) <= _GROUP_MISSING:
            yield from group
            continue
        names = [re.search(r"stage '([^']+)'", f.message) for f in group]
        shown = ", ".join(m.group(1) for m in names[:3] if m)
        why = {
            "pull": "not pulled yet",
            "checkout": "deleted, in the cache",
            "repro": "never made here, and no remote to pull from",
        }[verb]
        yield MISSING_OUTPUTS.at(
            path,
            (group[0].line, group[0].column),
            f"{len(group):,} stages' outputs are missing from the workspace ({why}: {shown}, "
            f"...) though nothing they depend on changed: run `dvc {verb}`",
        )


def explain(project: Project, result: StatusResult) -> Iterator[Finding]:
    """A finding for each stage DVC lists that is not merely always-changed."""
    pipeline = pipeline_of(project)
    # Inputs missing because earlier outputs are: pulled if any output is not cached here.
    fetch = "checkout"
    has_remote = _has_remote(project)
    for entries in result.stages.values():
        if "not in cache" in parse_entries(entries, set()).outs.values():
            fetch = "pull" if has_remote else "repro"
    for address, entries in result.stages.items():
        stage = pipeline.stages.get(address)
        if stage is None:
            yield from _explain_unmodelled(project, address, entries)
            continue
        changes = parse_entries(entries, {p.file for p in stage.params})
        # DVC lists these on every run (always_changed, or a command with no deps, params
        # or outs): nothing to act on. A params-only stage is not one of them.
        if changes.always or stage.always_changed:
            continue
        path, mark = stage.dvcfile, stage.mark
        lock = _lock_entry(project, stage)
        if lock is not None and _only_absent(project, changes, pipeline.part(stage.project)):
            uncached = {o.path for o in stage.outs if not o.cache}
            message = _missing_message(address, changes, fetch, uncached, has_remote)
            yield MISSING_OUTPUTS.at(path, mark, message)
            continue
        if lock is None:
            parts = [f"never run: it is not in {_lock_file(stage.dvcfile)}"]
        else:
            parts = _what_changed(project, stage, lock, changes)
        downstream = pipeline.downstream(address)
        # `dvc repro` re-runs a downstream stage only when an output it reads changed.
        after = (
            f"downstream, re-run if its outputs change: {_names(downstream)}"
            if downstream
            else "nothing downstream"
        )
        frozen = " (frozen: `dvc repro` skips it until `dvc unfreeze`)" if stage.frozen else ""
        # `dvc repro STAGE` alone leaves the stages after it stale, and the next commit is
        # blocked again: the advice makes the whole pipeline current.
        repro = (
            f"`dvc repro` (or `dvc repro --downstream {address}`)"
            if downstream
            else f"`dvc repro {address}`"
        )
        yield STALE_STAGE.at(
            path,
            mark,
            f"stage '{address}' is stale{frozen}: {'; '.join(parts)}; {after}; run "
            f"{repro} and commit {_lock_file(stage.dvcfile)}",
        )


def _only_absent(project: Project, changes: StageChanges, pipeline: Pipeline) -> bool:
    """Whether everything DVC lists is an output that is simply not there (fresh clone)."""
    if changes.command or changes.params or changes.other or not (changes.outs or changes.deps):
        return False
    if any(state not in ("deleted", "not in cache") for state in changes.outs.values()):
        return False
    # A dep that is absent because the stage before it has not been pulled either; a
    # folder holding earlier stages' outputs reads "modified" when some are not there yet
    # (DVC leaves a .gitignore in it), which is the same absence.
    return all(
        (state == "deleted" and _is_pipeline_data(project, path, pipeline))
        or (state == "modified" and _holds_absent_outputs(project, path, pipeline))
        for path, state in changes.deps.items()
    )


def _holds_absent_outputs(project: Project, path: str, pipeline: Pipeline) -> bool:
    """Whether `path` is a folder holding stage outputs, one of them not in the workspace."""
    folder = path.rstrip("/") + "/"
    return any(
        out.path.startswith(folder) and not project.exists(out.path)
        for address in pipeline.producers_of(path)
        for out in pipeline.stages[address].outs
    )


def _is_pipeline_data(project: Project, path: str, pipeline: Pipeline) -> bool:
    """`path` is an output of a stage of its project (or inside one, or a folder holding
    some), or data tracked by a `.dvc` file. The model's sorted outputs answer in a few
    lookups: a scan of every output for every dep was quadratic (4,000 stages: 4 s)."""
    if pipeline.producers_of(path):
        return True
    parts = path.split("/")
    return any(project.exists("/".join(parts[:n]) + ".dvc") for n in range(len(parts), 0, -1))


def _missing_message(
    address: str,
    changes: StageChanges,
    fetch: str,
    uncached: Collection[str] = (),
    has_remote: bool = True,
) -> str:
    """What is absent and the command that brings it back: pull (from a remote), checkout
    (from the cache), or repro (`cache: false` outputs are in neither; nor is anything
    in a project with no remote)."""
    not_cached = [p for p, s in changes.outs.items() if s == "not in cache"]
    deleted = [p for p, s in changes.outs.items() if s == "deleted"]
    if not_cached:
        what = f"not in the local cache: {_names(not_cached)}"
        if deleted:
            what += f"; deleted: {_names(deleted)}"
        how = (
            f"`dvc pull {address}`"
            if has_remote
            else f"`dvc repro {address}` (the project has no remote to pull from)"
        )
        return (
            f"stage '{address}' outputs are missing from the workspace ({what}) though nothing "
            f"it depends on changed: run {how}"
        )
    if deleted:
        how = (
            f"`dvc repro {address}` (`cache: false` outputs are never in the cache)"
            if any(p in uncached for p in deleted)
            else f"`dvc checkout {address}`"
        )
        return (
            f"stage '{address}' outputs are missing from the workspace (deleted: "
            f"{_names(deleted)}) though nothing it depends on changed: run {how}"
        )
    return (
        f"stage '{address}' inputs are missing from the workspace ({_names(list(changes.deps))}, "
        f"made by an earlier stage) though nothing it depends on changed: run `dvc {fetch}`"
    )


def _has_remote(project: Project) -> bool:
    """Whether the project's config (or config.local) names any remote; unreadable
    configs count as having one (the advice then stays DVC's usual `dvc pull`)."""
    from dvc_gitops.formats.dvc_config import ConfigSyntaxError, parse

    for name in (".dvc/config", ".dvc/config.local"):
        if not project.exists(name):
            continue
        try:
            if parse(project.read_text(name), name).remotes:
                return True
        except (ConfigSyntaxError, FileProblem):
            return True
    return False


def _what_changed(
    project: Project, stage: Stage, lock: dict[str, Any], changes: StageChanges
) -> list[str]:
    """Readable phrases for each kind of change, key by key for params."""
    parts: list[str] = []
    if changes.command:
        old = lock.get("cmd")
        was = f" (dvc.lock has `{_short(_cmd_text(old))}`)" if old else ""
        parts.append(f"command changed{was}")
    for state in ("modified", "deleted", "new"):
        paths = [p for p, s in changes.deps.items() if s == state]
        urls = [p for p in paths if "://" in p] if state == "deleted" else []
        paths = [p for p in paths if p not in urls]
        if paths:
            parts.append(f"{'dep' if len(paths) == 1 else 'deps'} {state}: {_names(paths)}")
        if urls:
            parts.append(f"DVC could not reach (or the source deleted): {_names(urls)}")
    for params_file, states in changes.params.items():
        parts.append(_params_phrase(project, stage, lock, params_file, states))
    for state in ("modified", "deleted", "not in cache", "new"):
        paths = [p for p, s in changes.outs.items() if s == state]
        if paths:
            parts.append(f"{'output' if len(paths) == 1 else 'outputs'} {state}: {_names(paths)}")
    parts += changes.other
    return parts


def _params_phrase(
    project: Project,
    stage: Stage,
    lock: dict[str, Any],
    params_file: str,
    states: dict[str, str] | str,
) -> str:
    label = "" if params_file == "params.yaml" else f"{params_file}:"
    if isinstance(states, str):
        return f"params file {params_file} {states}"
    old_values = _locked_params(lock, stage.wdir, params_file)
    new_values = _read_params(project, params_file)
    changed: list[str] = []
    for key, state in states.items():
        old, new = param_value(old_values, key), param_value(new_values, key)
        if state == "modified" and old is not MISSING and new is not MISSING:
            changed += [
                f"{label}{k} {_value(o)} -> {_value(n)}" for k, o, n in _diff(key, old, new)
            ]
        elif state == "deleted":
            was = f" (was {_value(old)})" if old is not MISSING else ""
            changed.append(f"{label}{key} removed{was}")
        elif state == "new" and new is not MISSING:
            changed.append(f"{label}{key} added = {_value(new)}")
        else:
            changed.append(f"{label}{key} {state}")
    return f"{'param' if len(changed) == 1 else 'params'} {_names(changed)}"


def _lock_entry(project: Project, stage: Stage) -> dict[str, Any] | None:
    """The stage's entry in its dvc.lock, or None when it was never run."""
    try:
        data = project.yaml(_lock_file(stage.dvcfile)).data
    except (YamlProblem, FileProblem):
        return None
    stages = data.get("stages") if isinstance(data, dict) else None
    entry = stages.get(stage.name) if isinstance(stages, dict) else None
    return entry if isinstance(entry, dict) else None


def _locked_params(lock: dict[str, Any], wdir: str, params_file: str) -> Any:
    """The values dvc.lock recorded for one params file (its keys are wdir-relative)."""
    recorded = lock.get("params")
    if not isinstance(recorded, dict):
        return {}
    for name, values in recorded.items():
        if posixpath.normpath(posixpath.join(wdir, str(name))) == params_file:
            return values
    return {}


def _read_params(project: Project, params_file: str) -> Any:
    """The params file's current values; {} when unreadable (DVC already said why)."""
    try:
        if params_file.endswith(".toml"):
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
            return tomllib.loads(project.read_text(params_file))
        if params_file.endswith(".json"):
            return json.loads(project.read_text(params_file))
        if params_file.endswith((".yaml", ".yml")):
            return project.yaml(params_file).data
    except (ValueError, YamlProblem, FileProblem, ImportError):
        pass
    return {}


def _diff(key: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """The leaves that differ under `key` (a whole section tracked as one param)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[tuple[str, Any, Any]] = []
        for sub in [*old, *(k for k in new if k not in old)]:
            found += _diff(f"{key}.{sub}", old.get(sub, MISSING), new.get(sub, MISSING))
        return found
    if old == new:  # DVC's own comparison: 1 and 1.0 are the same value to it
        return []
    return [(key, old, new)]


def _value(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    return _short(json.dumps(value, default=str, ensure_ascii=False), 40)


def _cmd_text(cmd: Any) -> str:
    return " && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    rest = len(names) - MAX_NAMES
    return shown + (f" and {rest} more" if rest > 0 else "")


def _explain_unmodelled(
    project: Project, address: str, entries: Sequence[Any]
) -> Iterator[Finding]:
    """Entries for `.dvc` files (not stages of any dvc.yaml) and stages our model skipped."""
    changes = parse_entries(entries, set())
    if changes.always:
        return
    if address.endswith(".dvc") and ":" not in address:
        mark = _mark_in(project, address, ("outs",))
        if all(s in ("deleted", "not in cache") for s in changes.outs.values()) and not (
            changes.deps or changes.other
        ):
            fetch = "pull" if "not in cache" in changes.outs.values() else "checkout"
            yield MISSING_OUTPUTS.at(
                address,
                mark,
                f"data tracked by {address} is missing from the workspace "
                f"({_outs_phrase(changes)}): run `dvc {fetch} {address}`",
            )
            return
        if changes.deps:  # an import: its dep is the source ("data.csv (repo url)")
            # DVC says "deleted" both when the source is gone and when it cannot reach it.
            sources = ", ".join(
                f"{path}: {'deleted, or not reachable from here' if state == 'deleted' else state}"
                for path, state in changes.deps.items()
            )
            yield STALE_DATA.at(
                address,
                _mark_in(project, address, ("deps",)),
                f"the import in {address} is behind its source ({sources}): run "
                f"`dvc update {address}` and commit it",
            )
            return
        yield STALE_DATA.at(
            address,
            mark,
            f"data tracked by {address} changed since `dvc add` ({_outs_phrase(changes)}): run "
            f"`dvc commit {address}` and commit it, or `dvc checkout {address}` to undo",
        )
        return
    dvcfile, _, name = address.rpartition(":")
    dvcfile = dvcfile or "dvc.yaml"
    mark = _mark_in(project, dvcfile, ("stages", name.split("@")[0]))
    parts = [f"{k} {v}" for k, v in {**changes.deps, **changes.outs}.items()]
    parts += [f"params {k}" for k in changes.params] + changes.other
    if changes.command:
        parts.append("command changed")
    yield STALE_STAGE.at(
        dvcfile,
        mark,
        f"stage '{address}' is stale: {_names(parts)}; run `dvc repro {address}` "
        f"(its downstream is unknown: check-dvc-yaml explains why the file was not read)",
    )


def _outs_phrase(changes: StageChanges) -> str:
    return ", ".join(f"{path}: {state}" for path, state in changes.outs.items())


def _mark_in(project: Project, path: str, json_path: tuple[str, ...]) -> Mark:
    try:
        return project.yaml(path).key_mark(json_path)
    except (YamlProblem, FileProblem):
        return Mark(1, 1)


# -- command line ---------------------------------------------------------------------------

CHECK = Check("dvc-status", check, codes=prefixes("dvc-status"))

OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option(
        "--fail/--warn",
        "fail",
        default=None,
        help="Stale outputs fail the run (default: warn; config: fail = true).",
    ),
    click.option(
        "--scope",
        type=click.Choice(["all", "staged"]),
        default=None,
        help="all: every stage (default); staged: the stages the staged files touch and "
        "everything downstream of them.",
    ),
    click.option(
        "--timeout",
        type=SECONDS,
        default=None,
        help=f"Seconds to wait for `dvc status` (default {DEFAULT_TIMEOUT:g}).",
    ),
    click.option(
        "--dvc",
        metavar="PATH",
        default=None,
        help="The DVC executable (default: the project's virtualenv, then PATH).",
    ),
]
HELP = (
    "Report stale stages from the project's own `dvc status`, with the stages downstream "
    "of them. Exit 0 (warnings) unless --fail; 2 when DVC cannot be run here, "
    "4 when DVC fails or times out."
)


def _status_command(
    fmt: str | None,
    output_file: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    debug: bool,
    baseline: str | None,
    fail_on: str | None,
    **options: Any,
) -> None:
    code = execute(
        [CHECK],
        find_root(Path.cwd()),
        None,
        options,
        fmt=fmt,
        output_file=output_file,
        select=select,
        ignore=ignore,
        baseline=baseline,
        fail_on=fail_on,
    )
    raise click.exceptions.Exit(code)


def _build_status_command() -> click.Command:
    function: Callable[..., Any] = common_options(_status_command)
    for option in OPTIONS:
        function = option(function)
    # The program's name: `dvc-status` as a hook, `dvc-gitops` as `dvc-gitops status`.
    function = click.version_option(__version__)(function)
    return click.command(
        "status", help=HELP, context_settings={"help_option_names": ["-h", "--help"]}
    )(function)


status_command = _build_status_command()
