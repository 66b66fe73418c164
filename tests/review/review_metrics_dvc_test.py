"""The review's metrics section equals real `dvc metrics diff BASE HEAD --json`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, write_tree

from dvc_gitops.review.report import review

STAGE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    metrics:
      - m.json:
          cache: false
      - scores.yaml:
          cache: false
      - t.toml:
          cache: false
metrics:
  - top.json
  - reports
"""

CASES = {
    "nested values, bools, strings, lists, keys added and removed": (
        {
            "m.json": '{"acc": 0.5, "n": {"a": 1, "l": [1, 2], "s": "x", "b": true, "z": null}, '
            '"gone": 3}',
            "scores.yaml": "f1: 0.25\nper_class: {cat: 0.5, dog: 0.75}\nempty: {}\n",
            "t.toml": "[eval]\nloss = 1.5\nsteps = 10\n",
            "top.json": "0.5",
            "reports/a.json": '{"x": 1}',
        },
        {
            "m.json": '{"acc": 0.75, "n": {"a": 2.5, "l": [1, 3], "s": "y", "b": false}, "new": 1}',
            "scores.yaml": "f1: 0.5\nper_class: {cat: 0.5, dog: 1}\n",
            "t.toml": "[eval]\nloss = 1.25\nsteps = 10\n",
            "top.json": '{"k": 1}',
            "reports/a.json": '{"x": 2}',
            "reports/b.json": '{"y": 3}',
        },
    ),
    "a file only at HEAD, one only at BASE": (
        {"m.json": '{"acc": 0.5}', "t.toml": "loss = 2\n"},
        {"scores.yaml": "f1: 0.9\n", "t.toml": "loss = 2\n"},
    ),
    "unchanged files and a scalar file": (
        {"m.json": '{"acc": 0.5}', "top.json": "1", "scores.yaml": "0.25\n"},
        {"m.json": '{"acc": 0.5}', "top.json": "2", "scores.yaml": "0.5\n"},
    ),
}


def _commit(root: Path, files: dict[str, str], message: str) -> None:
    for rel in ("m.json", "scores.yaml", "t.toml", "top.json", "reports/a.json", "reports/b.json"):
        if rel not in files and (root / rel).exists():
            (root / rel).unlink()
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_metrics_equal_dvc_metrics_diff(case: str, tmp_path: Path) -> None:
    base, head = CASES[case]
    root = tmp_path / "repo"
    write_tree(root, {"dvc.yaml": STAGE, "train.py": "print(1)\n"})
    git_init(root, commit=False)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(tmp_path / "site")}
    subprocess.run([str(VENV_BIN / "dvc"), "init", "-q"], cwd=root, env=env, check=True)
    _commit(root, base, "base")
    _commit(root, head, "head")
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), "metrics", "diff", "HEAD~1", "HEAD", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert review(root, "HEAD~1", "HEAD").metrics.diff == json.loads(done.stdout)
