"""Fixtures shared by every test module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from mlflow_server import mlflow_auth_server, mlflow_server  # noqa: F401  (real MLflow servers)

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
GOLDEN = TESTS / "golden"  # small repositories that are wrong (or clean) on purpose
CORPUS = REPO.parent / "shared" / "corpus"  # real dvc.yaml files, beside the checkout
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `files` (relative path -> content) below `root`; returns `root`."""
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


def git_init(root: Path, commit: bool = True) -> Path:
    """Make `root` a git repository; commit what is there when `commit`."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@dvc-gitops.invalid")
    git(root, "config", "user.name", "dvc-gitops tests")
    git(root, "config", "commit.gpgsign", "false")
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", "fixture")
    return root


def venv_tool(
    name: str,
    root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a console script of the test environment (`dvc`, `dvc-gitops`...) at `root`."""
    return subprocess.run(
        [str(VENV_BIN / name), *args],
        cwd=root,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def copy_checkout(dest: Path) -> Path:
    """This repository's files as a clone would have them (tracked and untracked but not
    ignored, as they are in the work tree), committed in a fresh git repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (REPO / rel).is_file():  # a tracked file deleted in the work tree is not copied
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return git_init(dest)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """`make_repo({"dvc.yaml": ...}, git=True)`: a scratch repository with these files."""

    def make(files: Mapping[str, str | bytes], git: bool = False) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        write_tree(root, files)
        if git:
            git_init(root)
        return root

    return make


@pytest.fixture
def in_dir(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Path]:
    """Change the working directory for one test (hooks run at the repo root)."""

    def enter(path: Path) -> Path:
        monkeypatch.chdir(path)
        return path

    return enter


# Where an exported DAG runs (never installed in the project's venv).
AIRFLOW = ["apache-airflow==3.3.2", "apache-airflow-providers-amazon==9.39.0"]


@pytest.fixture(scope="session")
def airflow_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with Apache Airflow and its Amazon provider (pip, ~2 min), shared by the export
    tests; skips only when pip cannot reach an index.

    DVC_GITOPS_AIRFLOW_VENV names a venv that already has it (to iterate on this test).
    """
    ready = os.environ.get("DVC_GITOPS_AIRFLOW_VENV")
    if ready:
        return Path(ready)
    where = tmp_path_factory.mktemp("airflow-venv")
    venv.create(where, with_pip=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "install", "-q", *AIRFLOW],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        network = re.search(
            r"Failed to establish a new connection|Temporary failure in name resolution|"
            r"No matching distribution found|Could not find a version",
            done.stderr,
        )
        if network:
            pytest.skip(f"cannot install {AIRFLOW} here (no package index): {network.group(0)}")
        pytest.fail(f"pip install {AIRFLOW} failed:\n{done.stderr[-3000:]}")
    return where
