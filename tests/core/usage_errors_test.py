"""A file that does not exist and a code no rule has are usage errors, never a silent pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dvc_gitops.cli import main as cli_main
from dvc_gitops.hooks.check_dvc_deps import main as check_dvc_deps

CLEAN = "stages:\n  train:\n    cmd: echo hi\n"


@pytest.fixture
def repo(make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]) -> Path:
    files = {
        ".dvc/config": "",
        ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
        "dvc.yaml": CLEAN,
        "requirements.txt": "dvc==3.67.1\n",
    }
    return in_dir(make_repo(files, git=True))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["check", "dvc.yml"], "dvc.yml: no such file (did you mean dvc.yaml?)"),
        (["check", "nothing/here.yaml"], "nothing/here.yaml: no such file"),
        (
            ["check", "--select", "DG9"],
            "no rule code starts with 'DG9' (the families are DG0-",
        ),
        (
            ["check", "--select", "DG2O1"],
            "no rule DG2O1 (did you mean DG201?): `dvc-gitops rules` lists them",
        ),
        (
            ["check", "--ignore", "DG201,XY1"],
            "no rule code starts with 'XY1' (the families are DG0-",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_hint(repo: Path, capsys, args: list[str], error: str) -> None:
    assert cli_main(args) == 2
    captured = capsys.readouterr()
    # The family range grows with the rules: the start of the line is what matters.
    assert captured.err.startswith(f"dvc-gitops: error: {error}")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


def test_hooks_refuse_them_too(repo: Path, capsys) -> None:
    assert check_dvc_deps(["--select", "DG999"]) == 2
    assert "no rule DG999" in capsys.readouterr().err


@pytest.mark.parametrize("codes", ["DG201", "DG2", "DG20", "dg1,DG3", "ALL", "DG003", "DG"])
def test_real_codes_and_prefixes_are_accepted(repo: Path, capsys, codes: str) -> None:
    assert cli_main(["check", "--select", codes]) == 0
    assert capsys.readouterr().out == "No findings.\n"
