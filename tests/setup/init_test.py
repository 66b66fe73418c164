"""`dvc-gitops init`: a fresh repository, one with a pre-commit config, idempotence."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import VENV_BIN

from dvc_gitops.cli import main as cli_main
from dvc_gitops.setup.init import recommended_text

PIPELINE = {
    ".dvc/config": "",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n",
    "train.py": "",
}
# A user's own config: comments, another repository, an indentation of its own.
THEIRS = """\
# team hooks
repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0   # pinned on purpose
    hooks:
    -   id: trailing-whitespace
    -   id: end-of-file-fixer
        exclude: '^data/'
-   repo: local
    hooks:
    -   id: tests
        name: tests
        entry: pytest
        language: system
        pass_filenames: false
"""


@pytest.fixture
def repo(make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]) -> Path:
    return in_dir(make_repo(PIPELINE, git=True))


def validate(root: Path) -> None:
    done = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_fresh_repository_gets_the_recommended_setup(repo: Path, capsys) -> None:
    assert cli_main(["init"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (".pre-commit-config.yaml: created with the hooks dvc-gitops, dvc-status")
    assert out[1] == ".dvc-gitops.toml: created"
    assert out[2].startswith("Next: `pre-commit autoupdate` (pins rev:), `pre-commit install`")
    assert (repo / ".pre-commit-config.yaml").read_text() == recommended_text()
    assert (repo / ".dvc-gitops.toml").read_text().startswith("# dvc-gitops settings")
    validate(repo)
    assert cli_main(["init"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "Nothing to change: this repository is set up."
    )


@pytest.mark.slow
def test_existing_config_keeps_its_hooks_comments_and_order(repo: Path, capsys) -> None:
    (repo / ".pre-commit-config.yaml").write_text(THEIRS)
    assert cli_main(["init", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert (repo / ".pre-commit-config.yaml").read_text() == THEIRS
    assert not (repo / ".dvc-gitops.toml").exists()
    assert out.startswith("--- a/.pre-commit-config.yaml\n+++ b/.pre-commit-config.yaml\n")
    assert out.endswith("2 file(s) would change (--dry-run: nothing written).\n")
    removed = [line for line in out.splitlines() if line.startswith("-") and line[:3] != "---"]
    assert removed == []  # a merge only adds
    assert cli_main(["init"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        ".pre-commit-config.yaml: added default_install_hook_types; "
        "the dvc-gitops hooks dvc-gitops, dvc-status"
    )
    text = (repo / ".pre-commit-config.yaml").read_text()
    assert text == (
        "# team hooks\n"
        "default_install_hook_types: [pre-commit, pre-push]\n"
        + THEIRS.removeprefix("# team hooks\n")
        + "-   repo: https://github.com/dvc-gitops/dvc-gitops\n"
        "    rev: main  # `pre-commit autoupdate` pins it (the newest tag, else the commit)\n"
        "    hooks:\n"
        "    -   id: dvc-gitops\n"
        "    -   id: dvc-status\n"
        "        stages: [pre-push]\n"
        '        additional_dependencies: ["dvc==3.67.1"]\n'
    )
    validate(repo)
    assert cli_main(["init"]) == 0
    assert (repo / ".pre-commit-config.yaml").read_text() == text


def test_a_present_entry_gets_only_the_missing_hooks(repo: Path, capsys) -> None:
    (repo / ".pre-commit-config.yaml").write_text(
        "default_install_hook_types: [pre-commit]\n"
        "repos:\n"
        "  - repo: https://github.com/dvc-gitops/dvc-gitops.git\n"
        "    rev: abc123\n"
        "    hooks:\n"
        "      - id: dvc-status\n"
    )
    assert cli_main(["init"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        ".pre-commit-config.yaml: added default_install_hook_types pre-push; the hooks dvc-gitops"
    )
    assert (repo / ".pre-commit-config.yaml").read_text() == (
        "default_install_hook_types: [pre-commit, pre-push]\n"
        "repos:\n"
        "  - repo: https://github.com/dvc-gitops/dvc-gitops.git\n"
        "    rev: abc123\n"
        "    hooks:\n"
        "      - id: dvc-status\n"
        "      - id: dvc-gitops\n"
    )


def test_config_goes_where_the_project_keeps_it(repo: Path, capsys) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n')
    assert cli_main(["init", "--baseline"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "pyproject.toml: added [tool.dvc-gitops]"
    # DG501: the pyproject declares no dvc.
    assert out[2] == ".dvc-gitops-baseline.json: 1 finding(s) recorded"
    text = (repo / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n\n')
    assert '[tool.dvc-gitops]\nbaseline = ".dvc-gitops-baseline.json"\n# select' in text
    assert cli_main(["check"]) == 0
    # A table already there gets the one key it lacks, nothing else.
    (repo / "pyproject.toml").write_text('[tool.dvc-gitops]\nignore = ["DG218"]\n\n[x]\ny = 1\n')
    assert cli_main(["init", "--baseline"]) == 0
    assert (repo / "pyproject.toml").read_text() == (
        '[tool.dvc-gitops]\nbaseline = ".dvc-gitops-baseline.json"\nignore = ["DG218"]\n\n'
        "[x]\ny = 1\n"
    )


def test_dag_docs_adds_markers_the_picture_and_the_hook(repo: Path, capsys) -> None:
    (repo / "README.md").write_text("# My project\n\nSome words.\n")
    assert cli_main(["init", "--dag-docs"]) == 0
    readme = (repo / "README.md").read_text()
    assert readme.startswith("# My project\n\nSome words.\n\n## Pipeline\n\n")
    assert '<!-- dvc-gitops:dag:start -->\n```mermaid\nflowchart TD\n\tnode1["train"]\n' in readme
    assert "      - id: dvc-dag-docs\n" in (repo / ".pre-commit-config.yaml").read_text()
    capsys.readouterr()
    assert cli_main(["dag", "--check"]) == 0


def test_mlflow_map_outside_a_dvc_project_and_outside_git(
    make_repo: Callable[..., Path], in_dir: Callable[[Path], Path], tmp_path: Path, capsys
) -> None:
    root = in_dir(make_repo({"notes.txt": ""}, git=True))
    assert cli_main(["init", "--mlflow-map"]) == 2
    assert capsys.readouterr().err == (
        f"dvc-gitops: error: {root} is not a DVC project: run `dvc init` first, then "
        "`dvc-gitops init --mlflow-map`\n"
    )
    assert not (root / ".pre-commit-config.yaml").exists()
    bare = tmp_path / "bare"
    bare.mkdir()
    in_dir(bare)
    assert cli_main(["init"]) == 2
    assert "is not in a git repository: pre-commit needs one (`git init`)" in (
        capsys.readouterr().err
    )


def test_broken_pre_commit_config_is_one_line_exit_2(repo: Path, capsys) -> None:
    (repo / ".pre-commit-config.yaml").write_text("repos:\n  - repo: [\n")
    assert cli_main(["init"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dvc-gitops: error: .pre-commit-config.yaml:")
    assert err.count("\n") == 1
