"""`dvc-gitops export airflow --transfer s3`: tasks that need no DVC at run time.

The slow test runs the exported DAG with a real Airflow 3.3.2 (`airflow dags test`) and
its Amazon provider against a real S3 server on loopback, from a clone with no data and
no `dvc` on the workers' PATH; then `dvc pull` in a fresh clone restores, from what the
tasks uploaded, exactly the outputs of a plain `dvc repro`. The Airflow venv is made by
conftest's `airflow_venv` (DVC_GITOPS_AIRFLOW_VENV names one that has both).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, venv_tool, write_tree
from s3_server import S3Server, running_s3_server
from small_pipeline import PIPELINE

from dvc_gitops.cli import main

OUTPUTS = [
    "data/prepared/a.txt",
    "data/prepared/b.txt",
    "data/prepared/seed.txt",
    "feat/x.txt",
    "feat/y.txt",
    "train/model.txt",
]
# The small pipeline, reading a file `dvc add` tracks (its input comes from the remote).
WITH_INPUT = {
    **PIPELINE,
    "raw/seed.txt": "seed data\n",
    "prep.py": PIPELINE["prep.py"] + "(out / 'seed.txt').write_text(open('raw/seed.txt').read())\n",
    "dvc.yaml": PIPELINE["dvc.yaml"].replace("deps: [prep.py]", "deps: [prep.py, raw/seed.txt]"),
}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def export(root: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(root)
    try:
        return main(["export", "airflow", *args])
    finally:
        os.chdir(old)


def dvc(root: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = venv_tool("dvc", root, *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def with_remote(root: Path, url: str, server: S3Server | None = None) -> None:
    dvc(root, "remote", "add", "-f", "-d", "store", url)
    if server is not None:
        dvc(root, "remote", "modify", "store", "endpointurl", server.endpoint)
        dvc(root, "remote", "modify", "--local", "store", "access_key_id", server.access_key)
        dvc(root, "remote", "modify", "--local", "store", "secret_access_key", server.secret_key)


def test_the_dag_names_the_bucket_never_the_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path / "repo", WITH_INPUT)
    git_init(root, commit=False)
    dvc(root, "init", "-q")
    dvc(root, "add", "-q", "raw/seed.txt")
    with_remote(root, "s3://team-bucket/dvc/store")
    dvc(root, "remote", "modify", "--local", "store", "secret_access_key", "SECRET-9f8e")
    assert export(root, "--transfer", "s3") == 0
    text = capsys.readouterr().out
    compile(text, "dag.py", "exec")
    assert 'BUCKET = "team-bucket"' in text and 'PREFIX = "dvc/store"' in text
    code = text.split('"""', 2)[2]  # after the docstring
    assert "SECRET-9f8e" not in text
    assert not re.search(r"\bdvc (pull|push|repro|fetch|checkout)\b", code)
    assert '"dvcfile": "raw/seed.txt.dvc"' in text
    assert text.count("PythonOperator(") == 4


def test_a_remote_of_another_kind_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path / "repo", PIPELINE)
    git_init(root, commit=False)
    dvc(root, "init", "-q")
    assert export(root, "--transfer", "s3") == 2
    assert "no default DVC remote" in capsys.readouterr().err
    with_remote(root, "https://user:pw@example.invalid/store")
    assert export(root, "--transfer", "s3") == 2
    err = capsys.readouterr().err
    assert "is not a s3:// URL (https://…)" in err and "pw" not in err


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    yield from running_s3_server(tmp_path_factory)


@pytest.mark.slow
def test_tasks_move_the_data_themselves_and_dvc_pull_gets_what_they_made(
    tmp_path: Path, s3: S3Server, airflow_venv: Path
) -> None:
    # The reference: a plain `dvc repro`, committed; only the tracked input is pushed, to
    # an empty folder of the bucket, so every output there is one the tasks uploaded.
    url = f"s3://{s3.bucket}/run-{tmp_path.name}"
    reference = write_tree(tmp_path / "reference", WITH_INPUT)
    git_init(reference, commit=False)
    dvc(reference, "init", "-q")
    dvc(reference, "add", "-q", "raw/seed.txt")
    with_remote(reference, url, s3)
    dvc(reference, "repro", "-q")
    dvc(reference, "push", "-q", "raw/seed.txt.dvc")
    git(reference, "add", "-A")
    git(reference, "commit", "-qm", "pipeline, reproduced")
    expected = {out: md5(reference / out) for out in OUTPUTS}

    # Production: a clone without data; the workers have Python, not dvc.
    worker = tmp_path / "worker"
    git(tmp_path, "clone", "-q", str(reference), str(worker))
    assert export(worker, "--transfer", "s3", "--dag-id", "prod", "--output", "dags/prod.py") == 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(VENV_BIN / "python")
    connection = {
        "conn_type": "aws",
        "login": s3.access_key,
        "password": s3.secret_key,
        "extra": {"endpoint_url": s3.endpoint, "region_name": "us-east-1"},
    }
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(worker / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
    }
    airflow = str(airflow_venv / "bin" / "airflow")
    done = subprocess.run(
        [airflow, "db", "migrate"], cwd=worker, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    done = subprocess.run(
        [airflow, "dags", "test", "prod"],
        cwd=worker,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0 and "state=success" in log, log[-5000:]
    assert {out: md5(worker / out) for out in OUTPUTS} == expected

    # A laptop: a fresh clone pulls what production uploaded, and DVC agrees it is current.
    laptop = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(reference), str(laptop))
    with_remote(laptop, url, s3)
    dvc(laptop, "pull", "-q")
    assert {out: md5(laptop / out) for out in OUTPUTS} == expected
    assert json.loads(dvc(laptop, "status", "--json")) == {}
