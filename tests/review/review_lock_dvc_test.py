"""The dvc.lock verdict against real `dvc repro`: a change reproduced and committed with
its lock is up to date; the same change committed without it is not."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, write_tree

from dvc_gitops.review.report import review

DVC_YAML = """\
stages:
  prepare:
    cmd: sh prepare.sh
    deps: [prepare.sh, raw.txt]
    params: [prep.n]
    outs: [prepared.txt]
  train:
    cmd: sh train.sh
    deps: [train.sh, prepared.txt]
    params: [train]
    outs: [model.txt]
  evaluate:
    cmd: sh evaluate.sh
    deps: [evaluate.sh, model.txt]
    metrics:
      - scores.json:
          cache: false
"""


def _dvc(root: Path, *args: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(root.parent / "s")}
    subprocess.run(
        [str(VENV_BIN / "dvc"), *args], cwd=root, env=env, check=True, capture_output=True
    )


@pytest.mark.slow
@pytest.mark.parametrize("reproduced", [True, False])
def test_lock_verdict_follows_dvc_repro(tmp_path: Path, reproduced: bool) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            "dvc.yaml": DVC_YAML,
            "params.yaml": "prep:\n  n: 1\ntrain:\n  depth: 3\n",
            "raw.txt": "raw\n",
            "prepare.sh": "cat raw.txt > prepared.txt\n",
            "train.sh": "cat prepared.txt > model.txt\necho trained >> model.txt\n",
            "evaluate.sh": "echo '{\"acc\": 0.5}' > scores.json\n",
        },
    )
    git_init(root, commit=False)
    _dvc(root, "init", "-q")
    _dvc(root, "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    write_tree(
        root,
        {
            "params.yaml": "prep:\n  n: 1\ntrain:\n  depth: 5\n",
            "train.sh": "cat prepared.txt > model.txt\necho deeper >> model.txt\n",
            "evaluate.sh": "echo '{\"acc\": 0.75}' > scores.json\n",
        },
    )
    if reproduced:
        _dvc(root, "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "head")
    result = review(root, "HEAD~1")
    assert [r.address for r in result.rerun] == ["train", "evaluate"]
    if reproduced:
        assert result.lock.up_to_date
        assert result.lock.reproduced == ["train", "evaluate"]
        assert result.metrics.diff == {
            "scores.json": {"acc": {"old": 0.5, "new": 0.75, "diff": 0.25}}
        }
    else:
        assert result.lock.stale == {
            "train": "dep 'train.sh' changed since dvc.lock",
            "evaluate": "dep 'evaluate.sh' changed since dvc.lock",
        }
