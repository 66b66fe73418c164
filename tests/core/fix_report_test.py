"""`--fix` reports what is left at its lines in the fixed file, not the lines before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dvc_gitops.cli import main as cli_main

# DG201 is fixed by a new line under `deps:`; the DG110 below it moves down by one.
BEFORE = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps:\n"
    "      - data.csv\n"
    "    owner: data-team\n"
    "    outs:\n"
    "      - model.pkl\n"
)


def test_fix_reports_lines_after_the_fix(
    make_repo: Callable[..., Path], in_dir: Callable[[Path], Path], capsys
) -> None:
    root = in_dir(
        make_repo(
            {
                ".dvc/config": "",
                ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
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
    assert fixed.splitlines()[6] == "    owner: data-team"  # line 7 now
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dvc.yaml: fixed"
    assert out[1].startswith("dvc.yaml:7:5: DG110 unknown key `owner` in stage 'train'")
    assert out[2:] == ["Found 1 finding (1 error) in 1 file."]
