"""`dvc-gitops export airflow --transfer s3|gs`: an Airflow DAG whose tasks need no DVC.

Each task fetches its inputs straight from the DVC remote, by the md5 the upstream task
uploaded in this run (XCom) or, failing that, the md5 the committed `dvc.lock` or `.dvc`
file records; runs the stage's commands in its wdir; and uploads its outputs to the
remote in DVC 3's layout (`files/md5/<2>/<30>`, a folder as its `.dir` listing plus its
files), so that `dvc pull` on a laptop gets exactly what production made. Storage is
reached through Airflow's own hooks (the Amazon provider's S3Hook, the Google
provider's GCSHook) and an Airflow connection: no credentials are written in the DAG.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.dvcmodel.model import Stage, pipeline_of
from dvc_gitops.export.airflow import (
    ROOT_ENV,
    ExportProblem,
    Task,
    _depth_below_root,
    _dvc_file_outs,
    _overlap,
    dag_opening,
    edge_lines,
    export_command,
    exportable_pipeline,
    literal_lines,
    py,
    source_commit,
    task_plan,
)
from dvc_gitops.formats.dvc_config import ConfigSyntaxError, parse, remote_section

SCHEMES = {"s3": "s3", "gs": "gs"}
_CONNECTIONS = {"s3": "aws_default", "gs": "google_cloud_default"}


@dataclass(frozen=True)
class Remote:
    scheme: str  # s3 | gs
    bucket: str
    prefix: str


def default_remote(project: Project, scheme: str) -> Remote:
    """The bucket and prefix of the project's default DVC remote (never its credentials)."""
    configs = []
    for rel in (".dvc/config", ".dvc/config.local"):
        if project.exists(rel):
            try:
                configs.append(parse(project.read_text(rel), rel))
            except (ConfigSyntaxError, FileProblem) as exc:
                raise ExportProblem(f"{rel} cannot be read: {exc}") from exc
    name = None
    for config in configs:  # config.local wins, as in DVC
        option = config.default_remote
        name = option.value if option else name
    if not name:
        raise ExportProblem("no default DVC remote: `dvc remote add -d NAME URL` first")
    url = None
    for config in configs:
        option = config.option(remote_section(name), "url")
        url = option.value if option else url
    match = re.fullmatch(r"([a-z0-9]+)://([^/@:]+)/?(.*)", url or "")
    if not match or SCHEMES.get(match.group(1)) != scheme:
        shown = match.group(1) + "://…" if match else "no URL"
        raise ExportProblem(
            f"the default remote {name!r} is not a {scheme}:// URL ({shown}): "
            f"--transfer {scheme} needs one"
        )
    return Remote(scheme, match.group(2), match.group(3).strip("/"))


def export_transfer(project: Project, dag_id: str, output: str | None, scheme: str) -> str:
    """The text of the DAG file whose tasks move data themselves."""
    pipeline = exportable_pipeline(project)
    remote = default_remote(project, scheme)
    order, edges = task_plan(project, pipeline)
    sources = sorted({s.dvcfile for s in pipeline.stages.values()})
    tracked = _dvc_file_outs(project)
    lines = _header(project, dag_id, sources, output, scheme)
    lines += _preamble(output, remote, [_stage_entry(project, t, tracked) for t in order], order)
    lines += _runtime(scheme)
    lines += _dag(dag_id, scheme, order, edges)
    return "\n".join(lines) + "\n"


def _stage_entry(project: Project, task: Task, tracked: dict[str, list[str]]) -> dict[str, Any]:
    """What the task needs at run time, as plain data for the DAG file."""
    stage = task.stage
    pipeline = pipeline_of(project)
    inputs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for dep in stage.deps:
        for upstream in pipeline.producers_of(dep.path):
            if upstream == stage.address:
                continue
            producer = pipeline.stages[upstream]
            for out in producer.outs:
                if out.cache and _overlap(dep.path, out.path) and out.path not in seen:
                    seen.add(out.path)
                    inputs.append(_lock_source(producer, out.path))
        for dvcfile, outs in tracked.items():
            for path in outs:
                if _overlap(dep.path, path) and path not in seen:
                    seen.add(path)
                    inputs.append({"path": path, "dvcfile": dvcfile})
    env = {"DVC_STAGE": stage.address}
    if task.experiment:
        env["MLFLOW_EXPERIMENT_NAME"] = task.experiment
    return {
        "task": task.task_id,
        "stage": stage.address,
        "wdir": stage.wdir,
        "cmds": list(stage.cmds),
        "env": env,
        "inputs": inputs,
        "outputs": [out.path for out in stage.outs if out.cache],
    }


def _lock_source(producer: Stage, path: str) -> dict[str, Any]:
    """Where the committed lock records `path`: the producer's lock file, entry and path."""
    folder = posixpath.dirname(producer.dvcfile)
    lock = posixpath.join(folder, "dvc.lock") if folder else "dvc.lock"
    return {
        "path": path,
        "lock": lock,
        "entry": producer.name,
        "as": posixpath.relpath(path, producer.wdir),
    }


def _header(
    project: Project, dag_id: str, sources: list[str], output: str | None, scheme: str
) -> list[str]:
    again = export_command(dag_id, output, scheme)
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
        "No DVC runs here. Each task fetches its inputs from the DVC remote by md5 (the one",
        "the task upstream uploaded in this run, else the one the committed dvc.lock or",
        ".dvc file records), runs the stage's commands in its wdir of a checkout (the",
        "`repo_root` param), and uploads its outputs to the remote in DVC's layout, so",
        "`dvc pull` gets exactly what this run made. Storage is reached through the",
        "Airflow connection named by the `conn_id` param.",
        '"""',
        "",
    ]


def _preamble(
    output: str | None, remote: Remote, entries: list[dict[str, Any]], order: list[Task]
) -> list[str]:
    depth = _depth_below_root(output)
    if depth is None:
        root = f'REPO_ROOT = os.environ.get("{ROOT_ENV}", "")'
    else:
        here = f"Path(__file__).resolve().parents[{depth}]"
        root = f'REPO_ROOT = os.environ.get("{ROOT_ENV}") or str({here})'
    hook = (
        "from airflow.providers.amazon.aws.hooks.s3 import S3Hook"
        if remote.scheme == "s3"
        else "from airflow.providers.google.cloud.hooks.gcs import GCSHook"
    )
    lines = [
        "from __future__ import annotations",
        "",
        "import hashlib",
        "import json",
        "import os",
        "import shutil",
        "import subprocess",
        "import tempfile",
        "from pathlib import Path",
        "",
        "import yaml",
        hook,
        "from airflow.providers.standard.operators.python import PythonOperator",
        "from airflow.sdk import DAG, Param",
        "",
        f"# The repository checkout the tasks run in: set {ROOT_ENV} to move it.",
        root,
        "# The DVC remote's bucket and folder (credentials: the Airflow connection).",
        f"BUCKET = {py(remote.bucket)}",
        f"PREFIX = {py(remote.prefix)}",
        "",
        "# Task id -> what the stage reads (and where its md5 is recorded), runs and writes.",
        "STAGES = {",
    ]
    for entry in entries:
        lines += literal_lines("    ", f"{py(entry['task'])}: ", entry)
    lines.append("}")
    return lines


def _runtime(scheme: str) -> list[str]:
    storage = _S3_STORAGE if scheme == "s3" else _GS_STORAGE
    return (storage + _TRANSFER).split("\n")


_S3_STORAGE = '''

class Storage:
    """The DVC remote through the Amazon provider's S3Hook."""

    def __init__(self, conn_id):
        self.hook = S3Hook(aws_conn_id=conn_id)

    def exists(self, key):
        return self.hook.check_for_key(key, bucket_name=BUCKET)

    def download(self, key, target):
        self.hook.get_key(key, bucket_name=BUCKET).download_file(str(target))

    def upload(self, source, key):
        self.hook.load_file(str(source), key, bucket_name=BUCKET, replace=True)
'''

_GS_STORAGE = '''

class Storage:
    """The DVC remote through the Google provider's GCSHook."""

    def __init__(self, conn_id):
        self.hook = GCSHook(gcp_conn_id=conn_id)

    def exists(self, key):
        return self.hook.exists(BUCKET, key)

    def download(self, key, target):
        self.hook.download(bucket_name=BUCKET, object_name=key, filename=str(target))

    def upload(self, source, key):
        self.hook.upload(bucket_name=BUCKET, object_name=key, filename=str(source))
'''

# The part of every such DAG file that does not depend on the pipeline.
_TRANSFER = '''

def object_key(md5):
    """Where DVC 3 keeps an object in a remote."""
    return "/".join(p for p in (PREFIX, "files", "md5", md5[:2], md5[2:]) if p)


def file_md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_listing(folder):
    """A folder's DVC listing: its files' md5 and relpath, sorted, as DVC serialises it."""
    entries = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        relpath = path.relative_to(folder).as_posix()
        entries.append({"md5": file_md5(path), "relpath": relpath})
    entries.sort(key=lambda entry: entry["relpath"])
    return json.dumps(entries, sort_keys=True)


def fetch(storage, md5, target):
    """Put the object `md5` (a file, or a folder by its `.dir` listing) at `target`."""
    target = Path(target)
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not md5.endswith(".dir"):
        storage.download(object_key(md5), target)
        return
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch, "listing")
        storage.download(object_key(md5), listing)
        entries = json.loads(listing.read_text(encoding="utf-8"))
    target.mkdir()
    for entry in entries:
        where = target.joinpath(*entry["relpath"].split("/"))
        where.parent.mkdir(parents=True, exist_ok=True)
        storage.download(object_key(entry["md5"]), where)


def push(storage, source):
    """Upload `source` in DVC's layout; its md5 (a folder's ends in `.dir`)."""
    source = Path(source)
    if source.is_file():
        md5 = file_md5(source)
        if not storage.exists(object_key(md5)):
            storage.upload(source, object_key(md5))
        return md5
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        md5 = file_md5(path)
        if not storage.exists(object_key(md5)):
            storage.upload(path, object_key(md5))
    listing = folder_listing(source).encode("utf-8")
    md5 = hashlib.md5(listing).hexdigest() + ".dir"
    if not storage.exists(object_key(md5)):
        with tempfile.TemporaryDirectory() as scratch:
            listing_file = Path(scratch, "listing")
            listing_file.write_bytes(listing)
            storage.upload(listing_file, object_key(md5))
    return md5


def recorded_md5(root, source):
    """The md5 the committed dvc.lock or .dvc file records for an input."""
    if "dvcfile" in source:
        data = yaml.safe_load(Path(root, source["dvcfile"]).read_text(encoding="utf-8"))
        outs = data.get("outs", [])
        base = Path(source["dvcfile"]).parent / data.get("wdir", ".")
        for out in outs:
            if os.path.normpath(base / out["path"]) == os.path.normpath(source["path"]):
                return out["md5"]
    else:
        lock = yaml.safe_load(Path(root, source["lock"]).read_text(encoding="utf-8"))
        entry = lock.get("stages", {}).get(source["entry"], {})
        for out in entry.get("outs", []):
            if os.path.normpath(out["path"]) == os.path.normpath(source["as"]):
                return out["md5"]
    raise RuntimeError(f"{source['path']}: no md5 recorded for it; reproduce and commit first")


def run_stage(**context):
    """Fetch the inputs, run the stage's commands, upload the outputs; hand their md5s on."""
    stage = STAGES[context["ti"].task_id]
    root = Path(context["params"]["repo_root"])
    storage = Storage(context["params"]["conn_id"])
    ti = context["ti"]
    made_upstream = {}
    for upstream in sorted(ti.task.upstream_task_ids):
        made_upstream.update(ti.xcom_pull(task_ids=upstream, key="dvc_outputs") or {})
    for source in stage["inputs"]:
        md5 = made_upstream.get(source["path"]) or recorded_md5(root, source)
        fetch(storage, md5, root / source["path"])
    env = dict(os.environ, DVC_ROOT=str(root), **stage["env"])
    for command in stage["cmds"]:
        subprocess.run(command, shell=True, cwd=root / stage["wdir"], env=env, check=True)
    made = {path: push(storage, root / path) for path in stage["outputs"]}
    ti.xcom_push(key="dvc_outputs", value=made)
'''


def _dag(dag_id: str, scheme: str, order: list[Task], edges: list[tuple[Task, Task]]) -> list[str]:
    lines = [
        "",
        "",
        *dag_opening(dag_id),
        '        "conn_id": Param(',
        f"            {py(_CONNECTIONS[scheme])},",
        '            type="string",',
        '            description="The Airflow connection to the DVC remote\'s storage.",',
        "        ),",
        "    },",
        ") as dag:",
    ]
    for task in order:
        lines += [
            f"    {task.variable} = PythonOperator(",
            f"        task_id={py(task.task_id)},",
            "        python_callable=run_stage,",
            "    )",
        ]
    return lines + edge_lines(edges)
