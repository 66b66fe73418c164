"""The quick start (docs/quickstart.md, which the README's "Use it in your repository"
links), followed literally in a fresh repository with real pre-commit.

Its commands run as written, with our GitHub URL pointing at a clone of this
checkout (the same files, one commit on `main`): the install into a clean venv, `init`,
`pre-commit install`, the first run; then a bad commit is blocked with the finding, the
fix, and a good commit passes. The snippet the page shows is what `init` wrote, so its
`rev:` resolves in this repository.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, copy_checkout, git, git_init, write_tree

pytestmark = pytest.mark.slow

HOME_URL = "https://github.com/dvc-gitops/dvc-gitops"
# A new user's first pipeline: the stage runs train.py, which its deps forget (DG201).
PROJECT = {
    ".dvc/config": "",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
    ".dvcignore": "",
    "requirements.txt": "dvc==3.67.1\n",
    "train.py": "open('model.pkl', 'w').write('model')\n",
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    outs:\n      - model.pkl\n",
}
FIXED = PROJECT["dvc.yaml"].replace("    outs:", "    deps:\n      - train.py\n    outs:")


QUICK_START = REPO / "docs" / "quickstart.md"


def blocks(language: str) -> list[str]:
    text = QUICK_START.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def quick_start() -> tuple[list[str], str]:
    """The page's commands (the first sh block installing dvc-gitops) and its snippet
    (the first yaml block naming our repository)."""
    commands = next((b for b in blocks("sh") if "pip install" in b and HOME_URL in b), None)
    snippet = next((b for b in blocks("yaml") if f"repo: {HOME_URL}" in b), None)
    assert commands and snippet, "docs/quickstart.md has no pip install and yaml snippet"
    lines = [line.split("  #")[0].strip() for line in commands.splitlines()]
    return [line for line in lines if line], snippet


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_readme_links_the_quick_start() -> None:
    assert "(docs/quickstart.md)" in (REPO / "README.md").read_text(encoding="utf-8")


def test_quick_start_literally(tmp_path: Path) -> None:
    commands, snippet = quick_start()
    clone = copy_checkout(tmp_path / "clone")
    local_url = f"file://{clone}"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "GITHUB_ACTIONS") and not k.startswith("DVC_")
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        PRE_COMMIT_COLOR="never",
    )
    user = write_tree(tmp_path / "project", PROJECT)
    git_init(user, commit=False)
    first_run = None
    for command in commands:
        argv = [word.replace(HOME_URL, local_url) for word in shlex.split(command)]
        if argv[0] == "dvc-gitops" and argv[1] == "init":
            argv += ["--repo", str(clone)]  # pre-commit fetches the clone, not GitHub
        done = run(argv, user, env)
        output = done.stdout + done.stderr
        if argv[:2] == ["dvc-gitops", "check"]:
            first_run = done
            continue
        assert done.returncode == 0, f"{command}: {output}"
        if argv[:2] == ["dvc-gitops", "init"]:
            # The snippet is what init wrote (its comments above it aside).
            written = (user / ".pre-commit-config.yaml").read_text().splitlines(keepends=True)
            while written[0].startswith("#") or not written[0].strip():
                written.pop(0)
            body = "".join(written)
            assert body == snippet.replace(HOME_URL, str(clone))
    # `pre-commit autoupdate` pinned the commit of the clone's main (it has no tag).
    head = git(clone, "rev-parse", "HEAD").strip()
    assert f"rev: {head}" in (user / ".pre-commit-config.yaml").read_text()
    # The first run reports the missing dep, with the fix.
    assert first_run is not None and first_run.returncode == 1
    assert (
        "dvc.yaml:3:10: DG201 stage 'train' runs train.py but its deps do not cover it"
        in first_run.stdout
    ), first_run.stdout
    assert (user / ".git/hooks/pre-commit").is_file() and (user / ".git/hooks/pre-push").is_file()
    # A bad commit is blocked with the finding; the fix goes through.
    git(user, "add", "-A")
    blocked = run(["git", "commit", "-m", "first pipeline"], user, env)
    said = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, said
    assert re.search(r"dvc-gitops \(every offline check\)\.+Failed", said), said
    assert 'add "- train.py" to its deps' in said
    (user / "dvc.yaml").write_text(FIXED)
    git(user, "add", "-A")
    done = run(["git", "commit", "-m", "first pipeline"], user, env)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert re.search(r"dvc-gitops \(every offline check\)\.+Passed", said), said
    assert "mutable reference" not in said
