"""A hostile checkout (issue 15, items 7-10 and 14): files of the checked repository are
data, never code, never options, never a way out of the repository; git failures fail.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN, copy_checkout, git_init, write_tree
from hostile import run_tool, snapshot

PIPELINE = "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"


# -- item 7: a committed interpreter is never executed ----------------------------------------


def _planted_python(root: Path, marker: Path, venv_layout: bool) -> None:
    python = root / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\ntouch {marker}\necho \'{{"dvc": "3.67.1"}}\'\n')
    python.chmod(0o755)
    if venv_layout:
        (root / ".venv/pyvenv.cfg").write_text("home = /usr/bin\n")
        info = root / ".venv/lib/python3.11/site-packages/dvc-3.0.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dvc\nVersion: 3.0.0\n\n")


@pytest.mark.parametrize("venv_layout", [False, True], ids=["bare", "venv"])
@pytest.mark.parametrize("command", [["check-dvc-pinned"], ["dvc-gitops", "check"]])
def test_committed_interpreter_never_runs(
    tmp_path: Path, venv_layout: bool, command: list[str]
) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            "dvc.yaml": PIPELINE,
            "train.py": "",
            "requirements.txt": "dvc==3.67.1\n",
            ".dvc/config": "",
        },
    )
    marker = tmp_path / "RAN"
    _planted_python(root, marker, venv_layout)
    git_init(root)
    done = run_tool(command[0], root, *command[1:], env={"VIRTUAL_ENV": ""})
    assert not marker.exists(), "a file of the checked repository was executed"
    assert done.returncode in (0, 1), done.stdout + done.stderr
    if venv_layout:  # its metadata was read as data: 3.0.0 installed, 3.67.1 pinned
        assert "3.0.0" in done.stdout, done.stdout


# -- item 8: a stage name never becomes code in the exported DAG ------------------------------


@pytest.mark.parametrize("char", ["\\r", "\\n", "\\u2028", "\\x0c", "\\x85"])
def test_stage_name_cannot_inject_code_into_the_airflow_dag(tmp_path: Path, char: str) -> None:
    marker = tmp_path / "INJECTED"
    name = f"train{char}import os; os.system('touch {marker}')  #"
    root = tmp_path / "repo"
    write_tree(root, {"dvc.yaml": f'stages:\n  "{name}":\n    cmd: echo hi\n', ".dvc/config": ""})
    git_init(root)
    done = run_tool("dvc-gitops", root, "export", "airflow", "-o", "dag.py")
    assert done.returncode == 0, done.stderr
    source = (root / "dag.py").read_text()
    tree = ast.parse(source)  # still Python; now prove the name ran nowhere
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert not any(isinstance(c.func, ast.Attribute) and c.func.attr == "system" for c in calls), (
        "the stage name became code"
    )
    for line in source.splitlines():
        if "os.system" in line:
            assert line.lstrip().startswith("#") or "'" in line or '"' in line
    assert "\r" not in source


# -- item 9: a file name is never an option ----------------------------------------------------


def test_file_named_like_an_option_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    broken = "stages:\n  train:\n    cmd: python train.py\n    outz: [x]\n"
    write_tree(root, {"--select=ZZ/dvc.yaml": broken, ".dvc/config": ""})
    git_init(root)
    done = run_tool("check-dvc-yaml", root, "--select=ZZ/dvc.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--select=ZZ/dvc.yaml:4:5: DG110" in done.stdout
    whole = run_tool("dvc-gitops", root, "check", "--select=ZZ/dvc.yaml")
    assert whole.returncode == 1 and "DG110" in whole.stdout, whole.stdout + whole.stderr


@pytest.mark.slow
def test_pre_commit_passes_an_option_like_folder_as_a_file(tmp_path: Path) -> None:
    snapshot_repo = copy_checkout(tmp_path / "snapshot")
    scratch = tmp_path / "scratch"
    broken = "stages:\n  train:\n    cmd: python train.py\n    outz: [x]\n"
    write_tree(scratch, {"--select=ZZ/dvc.yaml": broken})
    git_init(scratch)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_COLOR": "never",
    }
    env.pop("GITHUB_ACTIONS", None)
    done = subprocess.run(
        [
            str(VENV_BIN / "pre-commit"),
            "try-repo",
            str(snapshot_repo),
            "check-dvc-yaml",
            "--all-files",
        ],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--select=ZZ/dvc.yaml:4:5: DG110" in done.stdout, done.stdout


# -- item 10: nothing outside the repository is read -------------------------------------------


def test_vars_outside_the_repository_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"secret.yaml": "db_password: hunter2-outside\n"})
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            "dvc.yaml": (
                "vars:\n  - ../outside/secret.yaml\nstages:\n  train:\n"
                "    cmd: echo ${db_password}\n"
            ),
            ".dvc/config": "",
        },
    )
    git_init(root)
    before = snapshot(outside)
    done = run_tool("dvc-gitops", root, "check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "outside the repository" in done.stdout
    assert "db_password" not in done.stdout and "hunter2" not in done.stdout
    export = run_tool("dvc-gitops", root, "export", "airflow")
    assert "hunter2" not in export.stdout + export.stderr
    assert snapshot(outside) == before


def test_symlinked_params_outside_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"params.yaml": "lr: 0.1\nsecret_key: hunter2-outside\n"})
    root = tmp_path / "repo"
    write_tree(
        root,
        {"dvc.yaml": "stages:\n  train:\n    cmd: echo ${secret_key}\n", ".dvc/config": ""},
    )
    (root / "params.yaml").symlink_to(outside / "params.yaml")
    git_init(root)
    done = run_tool("dvc-gitops", root, "check")
    assert "hunter2" not in done.stdout + done.stderr
    assert "outside the repository" in done.stdout, done.stdout


# -- item 14: git failures are exit 2 with git's reason ----------------------------------------


def _config_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".dvc/config": "[core]\n    remote = s\n['remote \"s\"']\n    url = s3://b/p\n",
            ".dvc/.gitignore": "/config.local\n",
            ".dvc/config.local": "['remote \"s\"']\n    secret_access_key = x\n",
        },
    )
    return git_init(root)


@pytest.mark.parametrize("fix", [[], ["--fix"]])
def test_dubious_ownership_is_exit_2(tmp_path: Path, fix: list[str]) -> None:
    root = _config_repo(tmp_path)
    env = {"GIT_TEST_ASSUME_DIFFERENT_OWNER": "1"}  # git's own switch for the ownership check
    done = run_tool("check-dvc-config", root, *fix, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "dubious ownership" in done.stderr
    assert "No findings" not in done.stdout


def test_broken_git_folder_is_exit_2(tmp_path: Path) -> None:
    root = _config_repo(tmp_path)
    shutil.rmtree(root / ".git")
    (root / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    done = run_tool("check-dvc-config", root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "git" in done.stderr
    assert "No findings" not in done.stdout


def test_not_a_git_repository_at_all_is_fine(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    write_tree(root, {".dvc/config": "[core]\n    no_scm = true\n"})
    done = run_tool("check-dvc-config", root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_repo_constant_is_this_checkout() -> None:
    assert (REPO / "pyproject.toml").is_file()


def test_whole_params_file_values_reach_the_dag_only_when_interpolated(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            "params.yaml": "lr: 0.1\ndb_password: hunter2-params\n",
            "dvc.yaml": (
                "stages:\n  train:\n    cmd: python train.py --lr ${lr}\n"
                "    params:\n      - params.yaml:\n"
            ),
            ".dvc/config": "",
        },
    )
    git_init(root)
    done = run_tool("dvc-gitops", root, "export", "airflow")
    assert done.returncode == 0, done.stderr
    assert '"lr": 0.1' in done.stdout
    assert "hunter2" not in done.stdout and "db_password" not in done.stdout
