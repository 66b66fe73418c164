"""Every hook id, run by the real pre-commit exactly as users get it (`try-repo`).

This repository is snapshotted once per session (tracked and untracked-but-not-ignored
files, one commit), so pre-commit installs its environment once and every hook runs from
the same revision, committed or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN, copy_checkout, git_init, write_tree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dvc-gitops-snapshot")
    return copy_checkout(target)


@pytest.fixture(scope="session")
def precommit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


DVC_INIT = {".dvc/config": "", ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n"}


@pytest.fixture
def try_repo(
    snapshot: Path, precommit_home: Path, tmp_path: Path
) -> Iterator[Callable[[str, Mapping[str, str | bytes]], tuple[int, str]]]:
    """`try_repo(hook_id, files)`: a scratch git repo with `files`, the hook run on all files."""

    def run(hook_id: str, files: Mapping[str, str | bytes]) -> tuple[int, str]:
        scratch = tmp_path / "scratch"
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir()
        # A DVC project, as `dvc init` leaves one (a dvc.yaml outside any is DG239).
        write_tree(scratch, {**DVC_INIT, **files})
        git_init(scratch)
        env = {
            **os.environ,
            "PRE_COMMIT_HOME": str(precommit_home),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",  # the project's dvc
            "PRE_COMMIT_COLOR": "never",
        }
        env.pop("GITHUB_ACTIONS", None)
        done = subprocess.run(
            [str(VENV_BIN / "pre-commit"), "try-repo", str(snapshot), hook_id, "--all-files"],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    yield run


GOOD_PIPELINE = {
    "dvc.yaml": (
        "stages:\n"
        "  train:\n"
        "    cmd: python train.py\n"
        "    deps:\n"
        "      - train.py\n"
        "    outs:\n"
        "      - model.pkl\n"
    ),
    "train.py": "open('model.pkl', 'w').write('model')\n",
}


def test_check_dvc_yaml(try_repo: Callable[..., tuple[int, str]]) -> None:
    code, out = try_repo("check-dvc-yaml", GOOD_PIPELINE)
    assert code == 0, out
    assert "check dvc.yaml" in out and "Passed" in out
    bad = {**GOOD_PIPELINE, "dvc.yaml": GOOD_PIPELINE["dvc.yaml"].replace("deps:", "dep:")}
    code, out = try_repo("check-dvc-yaml", bad)
    assert code == 1, out
    assert "Failed" in out
    assert "dvc.yaml:4:5: DG1" in out and "deps" in out


MLFLOW_PIPELINE = {
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n",
    "train.py": "import mlflow\n\nmlflow.set_experiment('churn')\n",
    "mlflow-experiments.yaml": "version: 1\nstages:\n  train:\n    experiment: churn\n",
}


def test_check_mlflow_map(try_repo: Callable[..., tuple[int, str]]) -> None:
    code, out = try_repo("check-mlflow-map", MLFLOW_PIPELINE)
    assert code == 0, out
    assert "Passed" in out
    drifted = {**MLFLOW_PIPELINE, "train.py": "import mlflow\n\nmlflow.set_experiment('x')\n"}
    code, out = try_repo("check-mlflow-map", drifted)
    assert code == 1, out
    assert "train.py:3:1: DG604 set_experiment() logs to experiment 'x'" in out


def test_check_dvc_deps(try_repo: Callable[..., tuple[int, str]]) -> None:
    code, out = try_repo("check-dvc-deps", GOOD_PIPELINE)
    assert code == 0, out
    assert "check stage scripts are in deps" in out and "Passed" in out
    without = "stages:\n  train:\n    cmd: python train.py\n    outs:\n      - model.pkl\n"
    forgotten = {**GOOD_PIPELINE, "dvc.yaml": without}
    code, out = try_repo("check-dvc-deps", forgotten)
    assert code == 1, out
    assert "Failed" in out
    assert "dvc.yaml:3:10: DG201 stage 'train' runs train.py" in out


def test_check_dvc_config(try_repo: Callable[..., tuple[int, str]]) -> None:
    remote = "['remote \"storage\"']\n    url = s3://team-bucket/dvc\n"
    clean = {
        ".dvc/config": "[core]\n    remote = storage\n" + remote,
        ".dvc/.gitignore": "/config.local\n",
    }
    code, out = try_repo("check-dvc-config", clean)
    assert code == 0, out
    assert "check DVC config for secrets" in out and "Passed" in out
    leaked = {**clean, ".dvc/config": clean[".dvc/config"] + "    secret_access_key = E2ESECRET\n"}
    code, out = try_repo("check-dvc-config", leaked)
    assert code == 1, out
    assert ".dvc/config:5:5: DG701 s3 credential 'secret_access_key' of remote 'storage'" in out
    assert "E2ESECRET" not in out


def test_dvc_status(try_repo: Callable[..., tuple[int, str]]) -> None:
    # A reproduced pipeline (the DG401 golden case) whose params changed after the run.
    case = REPO / "tests/golden/DG401-stale-stage"
    stale = {
        p.relative_to(case).as_posix(): p.read_text()
        for p in case.rglob("*")
        if p.is_file() and p.name not in ("args.txt", "expected.txt", ".golden-git")
    }
    code, out = try_repo("dvc-status", stale)
    # Warns, never blocks by default; `verbose: true` shows the warning on a passing hook.
    assert code == 0, out
    assert "dvc status (stale outputs)" in out and "Passed" in out
    assert "dvc.yaml:2:3: DG401 stage 'train' is stale: param train.lr 0.1 -> 0.01;" in out
    fresh = {**stale, "params.yaml": stale["params.yaml"].replace("0.01", "0.1")}
    code, out = try_repo("dvc-status", fresh)
    assert code == 0, out
    assert "Passed" in out and "DG4" not in out


def test_check_airflow_export(try_repo: Callable[..., tuple[int, str]]) -> None:
    # The golden export of a two-dvc.yaml pipeline, with the DAG file it exports to.
    case = REPO / "tests/golden/export-airflow-multi-dvc-yaml"
    files = {
        p.relative_to(case).as_posix().removesuffix(".expected"): p.read_text()
        for p in case.rglob("*")
        if p.is_file() and p.name not in ("args.txt", "expected.txt")
    }
    code, out = try_repo("check-airflow-export", files)
    assert code == 0, out
    assert "check the Airflow DAG exported from the pipeline" in out and "Passed" in out
    changed = {**files, "params.yaml": "lr: 0.02\n"}
    code, out = try_repo("check-airflow-export", changed)
    assert code == 1, out
    assert (
        "dags/pipeline.py: the Airflow DAG is out of date with the pipeline: "
        "run `dvc-gitops export airflow --output dags/pipeline.py`"
    ) in out


def test_check_kubeflow_export(try_repo: Callable[..., tuple[int, str]], tmp_path: Path) -> None:
    from small_pipeline import PIPELINE, committed_pipeline

    source_repo = committed_pipeline(tmp_path / "source")
    done = subprocess.run(
        [str(VENV_BIN / "dvc-gitops"), "export", "kubeflow", "--output", "kfp/pipeline.py"],
        cwd=source_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    source = (source_repo / "kfp/pipeline.py").read_text()
    files = {**PIPELINE, "kfp/pipeline.py": source}
    code, out = try_repo("check-kubeflow-export", files)
    assert code == 0, out
    assert "check the Kubeflow pipeline exported from the DVC pipeline" in out and "Passed" in out
    changed = {
        **files,
        "prep.py": PIPELINE["prep.py"],
        "dvc.yaml": PIPELINE["dvc.yaml"].replace(
            "cmd: python prep.py", "cmd: python prep.py --fast"
        ),
    }
    code, out = try_repo("check-kubeflow-export", changed)
    assert code == 1, out
    assert (
        "kfp/pipeline.py: the Kubeflow pipeline is out of date with the DVC pipeline: "
        "run `dvc-gitops export kubeflow --output kfp/pipeline.py`"
    ) in out
