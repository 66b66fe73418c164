"""check-dvc-lock and the recommended setup (examples/pre-commit-config.yaml), run by
the real pre-commit on a snapshot of this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, VENV_BIN, copy_checkout, git, git_init

pytestmark = pytest.mark.slow

CLEAN = REPO / "tests/golden/clean-dvc-lock"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("dvc-gitops-snapshot"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit(cwd: Path, home: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("GITHUB_ACTIONS", None)
    done = subprocess.run(
        [str(VENV_BIN / "pre-commit"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def scratch_pipeline(root: Path) -> Path:
    """The clean golden pipeline (a dvc.lock true to its files), committed."""
    shutil.copytree(CLEAN, root, ignore=shutil.ignore_patterns("args.txt", "expected.txt"))
    return git_init(root)


def test_check_dvc_lock_by_try_repo(snapshot: Path, home: Path, tmp_path: Path) -> None:
    root = scratch_pipeline(tmp_path / "scratch")
    code, out = pre_commit(root, home, "try-repo", str(snapshot), "check-dvc-lock", "--all-files")
    assert code == 0 and "check dvc.lock against the commit" in out and "Passed" in out, out
    (root / "train.py").write_text("print('changed')\n")
    git(root, "add", "train.py")
    code, out = pre_commit(root, home, "try-repo", str(snapshot), "check-dvc-lock", "--all-files")
    assert code == 1, out
    assert "dvc.yaml:11:9: DG412 stage 'train': dep 'train.py' changed since dvc.lock" in out


def test_the_recommended_setup(snapshot: Path, home: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "examples/pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert [h["id"] for h in repo["hooks"]] == ["dvc-gitops", "dvc-status"]
    repo["repo"], repo["rev"] = str(snapshot), git(snapshot, "rev-parse", "HEAD").strip()
    root = scratch_pipeline(tmp_path / "scratch")
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # What the other offline checks ask of a DVC project: DVC pinned, config.local ignored.
    (root / "requirements.txt").write_text("dvc==3.67.1\n")
    (root / ".dvc" / ".gitignore").write_text("/config.local\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "pre-commit")
    # A commit of a changed script: blocked, in one hook, with the stage and the cause.
    (root / "train.py").write_text("print('changed')\n")
    git(root, "add", "train.py")
    code, out = pre_commit(root, home, "run")
    assert code == 1, out
    assert "dvc-gitops (every offline check)" in out and "Failed" in out
    assert "DG412 stage 'train': dep 'train.py' changed since dvc.lock" in out
    assert "dvc status" not in out  # the pre-push hook is not run at commit time
    # Unstaged changes are not what the commit holds: the staged revert passes.
    git(root, "checkout", "HEAD", "--", "train.py")
    (root / "train.py").write_text("print('not staged')\n")
    code, out = pre_commit(root, home, "run")
    assert code == 0 and "Passed" in out, out
