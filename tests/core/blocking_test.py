"""Which findings fail a run: errors and warnings by default, errors alone with
`fail-on = "error"` (or --fail-on error); notices never. Stderr stays for usage errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dvc_gitops.cli import main as cli_main
from dvc_gitops.hooks.check_dvc_deps import main as check_dvc_deps

# DG201 (a warning: DVC runs, but never re-runs the stage when train.py changes).
WARNING_ONLY = {
    ".dvc/config": "",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    outs: [model.pkl]\n",
    "train.py": "",
    "requirements.txt": "dvc==3.67.1\n",
}


@pytest.fixture
def repo(make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]) -> Path:
    return in_dir(make_repo(WARNING_ONLY, git=True))


def test_warnings_fail_by_default(repo: Path, capsys) -> None:
    assert check_dvc_deps(["dvc.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out.endswith("Found 1 finding (1 warning) in 1 file.\n")
    assert captured.err == ""


def test_fail_on_error_lets_warnings_pass(repo: Path, capsys) -> None:
    assert cli_main(["check", "--fail-on", "error"]) == 0
    captured = capsys.readouterr()
    assert "DG201" in captured.out and captured.err == ""
    (repo / "pyproject.toml").write_text('[tool.dvc-gitops]\nfail-on = "error"\n')
    assert check_dvc_deps(["dvc.yaml"]) == 0
    assert cli_main(["check", "--fail-on", "warning"]) == 1  # the command line wins


def test_errors_fail_whatever_fail_on_says(repo: Path, capsys) -> None:
    (repo / "pyproject.toml").write_text('[tool.dvc-gitops]\nfail-on = "error"\n')
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: a\n    cmd: b\n")
    assert cli_main(["check"]) == 1
    captured = capsys.readouterr()
    assert "DG102" in captured.out and captured.err == ""


def test_a_bad_fail_on_is_a_usage_error(repo: Path, capsys) -> None:
    (repo / "pyproject.toml").write_text('[tool.dvc-gitops]\nfail-on = "notice"\n')
    assert cli_main(["check"]) == 2
    assert capsys.readouterr().err == (
        "dvc-gitops: error: pyproject.toml: 'fail-on' must be \"warning\" (the default) "
        'or "error"\n'
    )
