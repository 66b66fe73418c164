"""`dvc-gitops doctor` against the real `dvc`, `pre-commit`, an S3 server and MLflow."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import VENV_BIN, venv_tool, write_tree
from mlflow_server import MlflowServer, free_port
from onboard_test import DVC, clean_env, dvc_repo
from s3_server import S3Server, running_s3_server


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 server (SeaweedFS on loopback) for this module."""
    yield from running_s3_server(tmp_path_factory)


def doctor(root: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return venv_tool("dvc-gitops", root, "doctor", *args, env=env)


def checks(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    report = json.loads(done.stdout)
    assert report["version"] == 1
    return {c["check"]: c for c in report["checks"]}


def run_dvc(root: Path, env: Mapping[str, str], *args: str) -> None:
    subprocess.run([DVC, *args], cwd=root, env=dict(env), check=True, capture_output=True)


@pytest.mark.slow
def test_a_ready_clone(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    root = dvc_repo(
        tmp_path / "clone",
        {
            ".pre-commit-config.yaml": "repos:\n- repo: local\n  hooks:\n"
            "  - {id: ok, name: ok, entry: 'true', language: system}\n",
            "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n'
            'dependencies = ["dvc==3.67.1"]\n',
        },
    )
    run_dvc(root, env, "remote", "add", "-d", "store", str(tmp_path / "store"))
    subprocess.run(
        [str(VENV_BIN / "pre-commit"), "install"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    done = doctor(root, env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "[ok]      dvc          DVC 3.67.1 = the pin 3.67.1 (pyproject.toml:4)"
    assert lines[1].startswith(
        f"[ok]      remote       'store' ({tmp_path / 'store'}) answers: pushed and pulled back"
    )
    assert lines[2:] == [
        "[ok]      credentials  'store' is a local folder: none needed",
        "[ok]      git hooks    installed: pre-commit",
        "[skipped] mlflow       not used here: no MLflow map, no MLFLOW_TRACKING_URI, no stage "
        "script imports mlflow",
        "[ok]      pipeline     up to date (dvc status is clean)",
        "Ready.",
    ]


@pytest.mark.slow
def test_a_clone_with_everything_wrong(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = clean_env(tmp_path, MLFLOW_TRACKING_URI=closed)
    root = dvc_repo(
        tmp_path / "clone",
        {
            ".pre-commit-config.yaml": "default_install_hook_types: [pre-commit, pre-push]\n"
            "repos: []\n",
            "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n'
            'dependencies = ["dvc==3.0.0"]\n',
            "dvc.yaml": "stages:\n  fetch:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n",
        },
    )
    done = doctor(root, env, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    found = checks(done)
    assert found["dvc"] == {
        "check": "dvc",
        "status": "fail",
        "detail": "dvc 3.67.1 is installed but the project pins 3.0.0 (pyproject.toml:4)",
        "fix": "pip install dvc==3.0.0",
    }
    assert found["remote"] == {
        "check": "remote",
        "status": "fail",
        "detail": "no default remote is set",
        "fix": "dvc-gitops onboard",
    }
    assert found["credentials"]["status"] == "skipped"
    assert found["git hooks"] == {
        "check": "git hooks",
        "status": "fail",
        "detail": "not installed: pre-commit, pre-push",
        "fix": "pre-commit install --hook-type pre-commit --hook-type pre-push",
    }
    assert found["mlflow"]["status"] == "fail"
    assert found["mlflow"]["detail"].startswith(f"{closed} (MLFLOW_TRACKING_URI) does not answer")
    assert found["pipeline"] == {
        "check": "pipeline",
        "status": "fail",
        "detail": "1 stage stale or missing outputs (dvc.yaml:2)",
        "fix": "dvc-gitops status (why), then dvc repro or dvc pull",
    }
    text = doctor(root, env, "--offline")
    assert text.returncode == 1
    assert (
        "[FAILED]  git hooks    not installed: pre-commit, pre-push  -> fix: pre-commit install "
        "--hook-type pre-commit --hook-type pre-push"
    ) in text.stdout.splitlines()
    assert f"[skipped] mlflow       {closed} (MLFLOW_TRACKING_URI) not probed: --offline" in (
        text.stdout.splitlines()
    )
    assert text.stdout.splitlines()[-1] == "Not ready: 4 checks failed."


@pytest.mark.slow
def test_s3_remote_with_a_wrong_secret(tmp_path: Path, s3: S3Server) -> None:
    wrong = "wrong-secret-1234"
    env = clean_env(tmp_path)
    root = dvc_repo(
        tmp_path / "clone",
        {
            "pyproject.toml": '[tool.dvc-gitops.remote]\nname = "team"\nurl = "s3://dvc/doc"\n'
            'credentials = { access_key_id = "TEAM_KEY_ID", secret_access_key = "TEAM_SECRET" }\n'
        },
    )
    run_dvc(root, env, "remote", "add", "-d", "team", f"s3://{s3.bucket}/doctor")
    run_dvc(root, env, "remote", "modify", "team", "endpointurl", s3.endpoint)
    run_dvc(root, env, "remote", "modify", "team", "region", "us-east-1")
    run_dvc(root, env, "remote", "modify", "--local", "team", "access_key_id", s3.access_key)
    found = checks(doctor(root, env, "--format", "json", "--offline"))
    assert found["credentials"] == {
        "check": "credentials",
        "status": "fail",
        "detail": "secret_access_key of 'team' not in .dvc/config.local",
        "fix": "dvc-gitops onboard",
    }
    run_dvc(root, env, "remote", "modify", "--local", "team", "secret_access_key", wrong)
    done = doctor(root, env, "--format", "json")
    assert wrong not in done.stdout + done.stderr
    found = checks(done)
    assert found["credentials"] == {
        "check": "credentials",
        "status": "ok",
        "detail": "'team': access_key_id, secret_access_key in .dvc/config.local",
        "fix": "",
    }
    assert found["remote"]["status"] == "fail"
    assert "403" in found["remote"]["detail"] or "Forbidden" in found["remote"]["detail"]
    assert found["remote"]["fix"].startswith("check the url and credentials")

    run_dvc(root, env, "remote", "modify", "--local", "team", "secret_access_key", s3.secret_key)
    found = checks(doctor(root, env, "--format", "json"))
    assert found["remote"]["status"] == "ok", found["remote"]


@pytest.mark.slow
def test_mlflow_server_answers(tmp_path: Path, mlflow_server: MlflowServer) -> None:
    root = dvc_repo(tmp_path / "clone", {})
    write_tree(root, {"mlflow-experiments.yaml": f"tracking_uri: {mlflow_server.uri}\n"})
    found = checks(doctor(root, clean_env(tmp_path), "--format", "json"))
    assert found["mlflow"] == {
        "check": "mlflow",
        "status": "ok",
        "detail": f"{mlflow_server.uri} (mlflow-experiments.yaml) answers /health",
        "fix": "",
    }


@pytest.mark.slow
def test_outside_a_dvc_project_it_says_dvc_init(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    found = checks(doctor(root, clean_env(tmp_path), "--format", "json", "--offline"))
    assert found["remote"] == {
        "check": "remote",
        "status": "fail",
        "detail": "not a DVC project (no .dvc folder)",
        "fix": "dvc init, then commit .dvc/",
    }
    assert found["mlflow"]["status"] == "skipped"
