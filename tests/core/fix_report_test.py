"""`--fix` reports what is left at its lines in the fixed file, not the lines before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dvc_gitops.cli import main as cli_main

# DG201 is fixed by two new lines under `deps:`; the DG110 below them moves down by one.
BEFORE = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps:\n"
    "      - data.csv\n"
    "    out:\n"
    "      - model.pkl\n"
)


def test_fix_reports_lines_after_the_fix(
    make_repo: Callable[..., Path], in_dir: Callable[[Path], Path], capsys
) -> None:
    root = in_dir(
        make_repo(
            {
                "dvc.yaml": BEFORE,
                "train.py": "",
                "data.csv": "x\n",
                "requirements.txt": "dvc==3.67.1\n",
            },
            git=True,
        )
    )
    assert cli_main(["check"]) == 1
    assert "dvc.yaml:6:5: DG110" in capsys.readouterr().out
    assert cli_main(["check", "--fix"]) == 1
    fixed = (root / "dvc.yaml").read_text()
    assert fixed.splitlines()[6] == "    out:"  # line 7 now
    assert capsys.readouterr().out.splitlines() == [
        "dvc.yaml: fixed",
        "dvc.yaml:7:5: DG110 unknown key `out` in stage 'train': did you mean `outs`?",
        "Found 1 finding (1 error) in 1 file.",
    ]
