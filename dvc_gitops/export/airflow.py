"""`dvc-gitops export airflow`: the pipeline as one Apache Airflow DAG file, written as text.

One task per stage (foreach/matrix members included), the edges `dvc dag` draws, the
stages' params as DAG params, and in each task: pull the stage's inputs from the DVC
remote, `dvc repro --single-item STAGE` (DVC checks the deps, runs the command in the
stage's wdir and records dvc.lock), push its outputs. The dvc.lock entry of each stage
travels to the tasks downstream through XCom, so they can pull the exact outputs on
another worker. The generated file imports Airflow; this module never does. The same
pipeline always gives the same bytes (no timestamps), so the file can be committed and
checked for staleness.
"""

from __future__ import annotations

import builtins
import json
import keyword
import math
import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.core.redact import printable
from dvc_gitops.dvcmodel.model import (
    MISSING,
    LoadProblem,
    ParamsLoader,
    Pipeline,
    Stage,
    param_value,
    pipeline_of,
)
from dvc_gitops.formats.yamldoc import YamlProblem
from dvc_gitops.mlflow.map import load_map

DEFAULT_DAG_ID = "dvc_pipeline"
ROOT_ENV = "DVC_REPO_ROOT"
_TASK_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_]+")
# Names the DAG file's module already uses (the tasks are module-level variables too).
RESERVED = frozenset(
    {
        *dir(builtins),
        *("annotations", "os", "yaml", "Path", "DAG", "Param", "BashOperator", "dag"),
        *("REPO_ROOT", "STAGES", "lock_file", "read_lock", "take_upstream_locks", "share_lock"),
    }
)


class ExportProblem(Exception):
    """The pipeline cannot be exported; the message says why and what to do."""


@dataclass
class Task:
    """One stage as an Airflow task."""

    stage: Stage
    task_id: str
    variable: str
    pull: list[str]  # DVC targets the stage reads that other stages or .dvc files track
    local_only: list[str]  # upstream outputs with `cache: false`: never in the remote
    experiment: str | None


def export_airflow(project: Project, dag_id: str, output: str | None) -> str:
    """The text of the DAG file; `output`: where it will live (see `dag_path`), or None."""
    pipeline = exportable_pipeline(project)
    order, edges = task_plan(project, pipeline)
    sources = sorted({s.dvcfile for s in pipeline.stages.values()})
    lines = _header(project, dag_id, sources, output)
    lines += _preamble(output, project, order)
    lines += _dag(project, dag_id, order, edges)
    return "\n".join(lines) + "\n"


def exportable_pipeline(project: Project) -> Pipeline:
    """The pipeline, or ExportProblem when DVC refuses it or it holds no stage."""
    pipeline = pipeline_of(project)
    if pipeline.problems:
        dvcfile, why = sorted(pipeline.problems.items())[0]
        raise ExportProblem(
            f"{dvcfile}: {why}; fix it (`dvc-gitops check` shows where) and export again"
        )
    if not pipeline.stages:
        raise ExportProblem("no DVC stages found: write a dvc.yaml with `stages:` first")
    return pipeline


def task_plan(project: Project, pipeline: Pipeline) -> tuple[list[Task], list[tuple[Task, Task]]]:
    """The tasks in run order, and the edges of `dvc dag` between them (in that order)."""
    tasks = _tasks(project, pipeline)
    by_address = {t.stage.address: t for t in tasks}
    order = [by_address[a] for a in pipeline.topological_order()]
    edges = [(by_address[up], by_address[down]) for up, down in pipeline.edges()]
    position = {task.task_id: number for number, task in enumerate(order)}
    edges.sort(key=lambda e: (position[e[0].task_id], position[e[1].task_id]))
    return order, edges


def _tasks(project: Project, pipeline: Pipeline) -> list[Task]:
    emap = load_map(project)
    tracked = _dvc_file_outs(project)
    stages = pipeline.stages
    outs_of = {a: s.outs for a, s in stages.items()}
    tasks: list[Task] = []
    task_ids: set[str] = set()
    variables = set(RESERVED)
    for address, stage in stages.items():
        pull: list[str] = []
        local_only: list[str] = []
        for dep in stage.deps:
            for upstream in pipeline.producers_of(dep.path):
                if upstream == address:
                    continue
                for out in outs_of[upstream]:
                    if _overlap(dep.path, out.path):
                        (pull if out.cache else local_only).append(out.path)
            for dvcfile, outs in tracked.items():
                if any(_overlap(dep.path, out) for out in outs):
                    pull.append(dvcfile)
        entry = emap.entry_for(address)
        tasks.append(
            Task(
                stage,
                _unique(_task_id(stage), task_ids),
                _unique(_identifier(_task_id(stage)), variables),
                list(dict.fromkeys(pull)),
                list(dict.fromkeys(local_only)),
                entry.experiment if entry else None,
            )
        )
    return tasks


def _task_id(stage: Stage) -> str:
    """`train`, `prepare_us` for `prepare@us`, `features_train` for features/dvc.yaml:train."""
    folder = posixpath.dirname(stage.dvcfile)
    name = f"{folder}/{stage.name}" if folder else stage.name
    return _TASK_ID_BAD.sub("_", name.replace("/", "_")).strip("_") or "stage"


def _identifier(task_id: str) -> str:
    name = _NAME_BAD.sub("_", task_id).strip("_").lower() or "stage"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"stage_{name}"
    return name


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    taken.add(candidate)
    return candidate


def _overlap(a: str, b: str) -> bool:
    return a == b or "." in (a, b) or a.startswith(b + "/") or b.startswith(a + "/")


def _dvc_file_outs(project: Project) -> dict[str, list[str]]:
    """`.dvc` files of `dvc add`/`dvc import` -> the repo-relative paths they track."""
    found: dict[str, list[str]] = {}
    for dvcfile in project.walk_files(suffixes=(".dvc",)):
        try:
            data = project.yaml(dvcfile).data
        except (YamlProblem, FileProblem):
            continue
        outs = data.get("outs") if isinstance(data, dict) else None
        if not isinstance(outs, list):
            continue
        base = posixpath.join(posixpath.dirname(dvcfile), str(data.get("wdir", ".")))
        found[dvcfile] = [
            posixpath.normpath(posixpath.join(base, str(out["path"])))
            for out in outs
            if isinstance(out, dict) and "path" in out
        ]
    return found


def source_commit(project: Project, sources: list[str]) -> str:
    """The last commit that changed `sources`, noting uncommitted changes; stable otherwise."""
    commit = project.git("log", "-1", "--format=%H", "--", *sources)
    if commit is None:
        return "none (not a git repository)"
    commit = commit.strip() or "none (not committed yet)"
    dirty = project.git("status", "--porcelain", "--", *sources)
    return f"{commit} + uncommitted changes" if dirty and dirty.strip() else commit


def export_command(dag_id: str, output: str | None, transfer: str = "dvc") -> str:
    """The command line that writes this DAG file again, from the repository root."""
    words = ["dvc-gitops", "export", "airflow"]
    if transfer != "dvc":
        words += ["--transfer", transfer]
    if dag_id != DEFAULT_DAG_ID:
        words += ["--dag-id", dag_id]
    if output:
        return shlex.join([*words, "--output", output])
    return shlex.join(words) + " > FILE"


def _header(project: Project, dag_id: str, sources: list[str], output: str | None) -> list[str]:
    again = export_command(dag_id, output)
    return [
        f'"""Airflow DAG `{dag_id}`: the DVC pipeline, written by `dvc-gitops export airflow`.',
        "",
        "Do not edit: export it again after changing the pipeline:",
        "",
        f"    {again}",
        "",
        "Pipeline: " + ", ".join(sources),
        f"Git commit: {source_commit(project, sources)}",
        "",
        "Each task runs one DVC stage in a checkout of the repository (the `repo_root` param):",
        "it pulls the stage's inputs from the DVC remote, runs `dvc repro --single-item`",
        "(DVC checks the deps, runs the command in the stage's wdir, writes dvc.lock) and",
        "pushes the outputs. Each stage's dvc.lock entry goes to the tasks downstream through",
        "XCom, so they pull exactly those outputs, on any worker with the repository checked",
        "out, `dvc` installed and access to the DVC remote.",
        '"""',
        "",
    ]


# The part of every DAG file that does not depend on the pipeline: hands each stage's
# dvc.lock entry from task to task, so a task on another worker pulls the exact outputs.
_LOCK_HANDOFF = '''

def lock_file(context, dvcfile):
    """The dvc.lock beside a dvc.yaml, in this run's checkout."""
    return Path(context["params"]["repo_root"], dvcfile).with_name("dvc.lock")


def read_lock(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return data if isinstance(data, dict) else {"schema": "2.0", "stages": {}}


def take_upstream_locks(context):
    """Before a stage runs: its upstream stages' dvc.lock entries, to pull their outputs."""
    ti = context["ti"]
    for upstream in sorted(ti.task.upstream_task_ids):
        shared = ti.xcom_pull(task_ids=upstream, key="dvc_lock")
        if not shared or shared["entry"] is None:
            continue
        path = lock_file(context, shared["dvcfile"])
        lock = read_lock(path)
        stages = lock.setdefault("stages", {})
        if stages.get(shared["name"]) != shared["entry"]:
            stages[shared["name"]] = shared["entry"]
            path.write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")


def share_lock(context, result=None):
    """After a stage ran: its dvc.lock entry, for the tasks downstream (XCom)."""
    dvcfile, name = STAGES[context["ti"].task_id]
    entry = read_lock(lock_file(context, dvcfile)).get("stages", {}).get(name)
    shared = {"dvcfile": dvcfile, "name": name, "entry": entry}
    context["ti"].xcom_push(key="dvc_lock", value=shared)
'''


def _preamble(output: str | None, project: Project, tasks: list[Task]) -> list[str]:
    depth = _depth_below_root(output)
    if depth is None:
        why = f"# The repository checkout the tasks run in: set {ROOT_ENV} where the DAG is parsed."
        root = f'REPO_ROOT = os.environ.get("{ROOT_ENV}", "")'
    else:
        why = f"# The repository checkout the tasks run in: this file's, unless {ROOT_ENV} is set."
        here = f"Path(__file__).resolve().parents[{depth}]"
        root = f'REPO_ROOT = os.environ.get("{ROOT_ENV}") or str({here})'
    lines = [
        "from __future__ import annotations",
        "",
        "import os",
        "from pathlib import Path",
        "",
        "import yaml",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.sdk import DAG, Param",
        "",
        why,
        root,
        "",
        "# Task id -> (its dvc.yaml, the stage's name there): where its dvc.lock entry lives.",
        "STAGES = {",
    ]
    for task in tasks:
        lines += literal_lines(
            "    ", f"{py(task.task_id)}: ", (task.stage.dvcfile, task.stage.name)
        )
    lines.append("}")
    lines += _LOCK_HANDOFF.split("\n")
    return lines


def _depth_below_root(output: str | None) -> int | None:
    """How many folders below the repository root the DAG file sits; None: outside it."""
    if output is None or posixpath.isabs(output) or output.startswith("../"):
        return None
    return output.count("/")


def dag_path(project: Project, output: str) -> str:
    """`output` (relative to the working directory) as the DAG file's repo-relative path,
    or absolute when it lies outside the repository."""
    absolute = Path(output).resolve()
    try:
        return absolute.relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _dag(
    project: Project, dag_id: str, order: list[Task], edges: list[tuple[Task, Task]]
) -> list[str]:
    params = _params(project, [t.stage for t in order])
    lines = ["", *dag_opening(dag_id)]
    if params:
        lines.append(
            "        # The stages' params as exported: change them in the params file,"
            " export again."
        )
        for key, value in params.items():
            lines += literal_lines("        ", f"{py(key)}: ", value)
    lines += ["    },", ") as dag:"]
    for number, task in enumerate(order):
        lines += _task(task)[number == 0 :]
    return lines + edge_lines(edges)


def dag_opening(dag_id: str) -> list[str]:
    """`with DAG(...)` up to the `repo_root` param, which every exported DAG has."""
    return [
        "with DAG(",
        f"    dag_id={py(dag_id)},",
        "    schedule=None,",
        "    catchup=False,",
        "    doc_md=__doc__,",
        '    tags=["dvc"],',
        "    params={",
        '        "repo_root": Param(',
        "            REPO_ROOT,",
        '            type="string",',
        "            minLength=1,",
        '            description="The repository checkout the tasks run in.",',
        "        ),",
    ]


def edge_lines(edges: list[tuple[Task, Task]]) -> list[str]:
    """The edges of `dvc dag` as `up >> down` lines inside the DAG's block."""
    if not edges:
        return []
    comment = "    # The edges of `dvc dag`: a stage runs after the stages whose outputs it reads."
    return ["", comment, *(f"    {up.variable} >> {down.variable}" for up, down in edges)]


def _command_lines(steps: list[str]) -> list[str]:
    """`bash_command=...`: one string when it fits, else one step a line (as ruff keeps it)."""
    joined = py(" && ".join(steps))
    if len(f"        bash_command={joined},") <= LINE_LENGTH:
        return [f"        bash_command={joined},"]
    if len(f"            {joined}") <= LINE_LENGTH:
        return ["        bash_command=(", f"            {joined}", "        ),"]
    parts = [py(step if i == 0 else " && " + step) for i, step in enumerate(steps)]
    return ["        bash_command=(", *(f"            {part}" for part in parts), "        ),"]


def _task(task: Task) -> list[str]:
    stage = task.stage
    dvc = "dvc --wait-for-lock"
    steps = []
    # A frozen stage never runs: `dvc repro` only verifies its outputs, pulled first.
    pull = [*task.pull, stage.address] if stage.frozen else task.pull
    if pull:
        steps.append(f"{dvc} pull " + " ".join(shlex.quote(t) for t in pull))
    steps.append(f"{dvc} repro --single-item {shlex.quote(stage.address)}")
    steps.append(f"{dvc} push {shlex.quote(stage.address)}")
    env = {"DVC_STAGE": stage.address}
    if task.experiment:
        env["MLFLOW_EXPERIMENT_NAME"] = task.experiment
    where = stage.dvcfile if stage.wdir == "." else f"{stage.dvcfile}, wdir {stage.wdir}"
    lines = ["", f"    # {comment(stage.address)} ({comment(where)}):"]
    lines += [f"    #   {comment(line)}".rstrip() for cmd in stage.cmds for line in cmd.split("\n")]
    if stage.frozen:
        lines.append("    # frozen: DVC does not run it; its outputs come from the DVC remote")
    if task.local_only:
        lines.append(
            "    # reads outputs with `cache: false`, which no DVC remote holds: it needs a"
        )
        lines.append(
            "    # checkout shared with the task that wrote " + comment(", ".join(task.local_only))
        )
    lines += [
        f"    {task.variable} = BashOperator(",
        f"        task_id={py(task.task_id)},",
        *_command_lines(steps),
        '        cwd="{{ params.repo_root }}",',
        "        env={",
        *(f"            {py(key)}: {py(value)}," for key, value in env.items()),
        "        },",
        "        append_env=True,",
        "        pre_execute=take_upstream_locks,",
        "        post_execute=share_lock,",
        "    )",
    ]
    return lines


def _params(project: Project, stages: list[Stage]) -> dict[str, Any]:
    """`key` (root params.yaml) or `file:key` -> current value, for every stage param."""
    loader = ParamsLoader(project)
    found: dict[str, Any] = {}
    # A whole params file (`- file.yaml:`) may hold anything, secrets included: only the
    # keys the pipeline itself interpolates are copied into the generated DAG.
    used = pipeline_of(project).used_keys
    for stage in stages:
        for ref in stage.params:
            try:
                data = loader.load(ref.file)
            except LoadProblem:
                continue
            prefix = "" if ref.file == "params.yaml" else f"{ref.file}:"
            if ref.key is None:
                wanted = {".".join(path) for source, path in used if source == ref.file}
                for key, value in _leaves(data, ""):
                    if any(key == w or key.startswith(w + ".") for w in wanted):
                        found.setdefault(prefix + key, value)
                continue
            value = param_value(data, ref.key)
            if value is not MISSING:
                for key, leaf in _leaves(value, f"{ref.key}."):
                    found.setdefault(prefix + key, leaf)
    return found


def _leaves(data: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(data, dict) and data:
        found: list[tuple[str, Any]] = []
        for key, value in data.items():
            found += _leaves(value, f"{prefix}{key}.")
        return found
    return [(prefix[:-1], data)]


def comment(text: str) -> str:
    """`text` safe inside a `#` comment of generated code: Python ends a line at `\\r` as
    well as `\\n`, so a stage name holding one would turn the rest of it into code that
    runs when Airflow imports the DAG. Control characters become visible escapes."""
    return printable(text, keep_tabs=False)


def py(value: Any) -> str:
    """A Python literal for plain data, quoted as ruff formats it."""
    if isinstance(value, str):
        if '"' in value and "'" not in value:
            return repr(value)  # single quotes: fewer escapes, as ruff prefers
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'  # YAML's .inf and .nan
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(py(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(str(k))}: {py(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


LINE_LENGTH = 88  # ruff's and black's default


def literal_lines(indent: str, head: str, value: Any) -> list[str]:
    """`head` + the literal of `value` + ",", split one item a line as ruff does when long."""
    line = f"{indent}{head}{py(value)},"
    if len(line) <= LINE_LENGTH or not isinstance(value, (list, tuple, dict)) or not value:
        return [line]
    brackets = {list: "[]", tuple: "()", dict: "{}"}[type(value)]
    opening, closing = brackets[0], brackets[1]
    inner = indent + "    "
    lines = [f"{indent}{head}{opening}"]
    if isinstance(value, dict):
        for key, item in value.items():
            lines += literal_lines(inner, f"{py(str(key))}: ", item)
    else:
        for item in value:
            lines += literal_lines(inner, "", item)
    return [*lines, f"{indent}{closing},"]
