"""Two-commit repositories for the review's golden tests, built from text by scripts.

Commits carry fixed dates and authors, so their ids (printed by the review) are the same
on every machine and every run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import git_init, write_tree

_DATE = "2026-01-02T03:04:05+00:00"


def commit(root: Path, message: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": _DATE, "GIT_COMMITTER_DATE": _DATE}
    for args in (["add", "-A"], ["commit", "-q", "--allow-empty", "-m", message]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


DVC_YAML = """\
stages:
  prepare:
    cmd: python src/prepare.py
    deps: [src/prepare.py, data/raw.csv]
    params: [prep.split]
    outs: [data/prepared]
  featurize:
    foreach: [a, b]
    do:
      cmd: python src/featurize.py ${item}
      deps: [src/featurize.py, data/prepared]
      outs: ["features/${item}.pkl"]
  train:
    cmd: python src/train.py
    deps: [src/train.py, features/a.pkl, features/b.pkl]
    params: [train]
    outs: [model.pkl]
    metrics:
      - metrics.json:
          cache: false
  evaluate:
    cmd: python src/evaluate.py
    deps: [src/evaluate.py, model.pkl]
    metrics:
      - eval.json:
          cache: false
  report:
    cmd: python src/report.py
    deps: [src/report.py, eval.json]
    outs: [report.html]
  cleanup:
    cmd: sh src/cleanup.sh
    deps: [src/cleanup.sh]
    outs: [tmp.txt]
"""

SOURCES = {
    "src/prepare.py": "print('prepare')\n",
    "src/featurize.py": "print('featurize')\n",
    "src/train.py": "print('train')\n",
    "src/evaluate.py": "print('evaluate')\n",
    "src/report.py": "print('report')\n",
    "src/cleanup.sh": "echo cleanup\n",
}


def demo(root: Path) -> None:
    """A pipeline like the demo's, with foreach; the PR touches most of what can change."""
    params = "prep:\n  split: 0.8\ntrain:\n  lr: 0.1\n  depth: 3\nunused: 1\n"
    write_tree(
        root,
        {
            ".dvc/config": "",
            ".dvc/.gitignore": "/tmp\n/cache\n",
            "dvc.yaml": DVC_YAML,
            "params.yaml": params,
            "data/raw.csv.dvc": "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 10\n"
            "  hash: md5\n  path: raw.csv\n",
            "metrics.json": '{"loss": 0.5, "epochs": 10}\n',
            "eval.json": '{"acc": 0.8, "per_class": {"cat": 0.7, "dog": 0.9}}\n',
            "mlflow-experiments.yaml": "version: 1\nstages:\n  train:\n    experiment: demo-train\n"
            "    registered_model: demo-model\n  evaluate:\n    experiment: demo-evaluate\n",
            **SOURCES,
        },
    )
    git_init(root, commit=False)
    commit(root, "base")
    head_yaml = (
        DVC_YAML.replace("foreach: [a, b]", "foreach: [a, b, c]")
        .replace("features/b.pkl]", "features/b.pkl, features/c.pkl]")
        .replace("python src/evaluate.py\n", "python src/evaluate.py --fast\n")
        .replace("  report:\n", "  publish:\n")
    )
    head_yaml = head_yaml[: head_yaml.index("  cleanup:")]
    prepare = "print('prepare, faster')\n"
    lock = {
        "schema": "2.0",
        "stages": {
            "prepare": {
                "cmd": "python src/prepare.py",
                "deps": [
                    {
                        "path": "data/raw.csv",
                        "hash": "md5",
                        "md5": "0123456789abcdef0123456789abcdef",
                        "size": 10,
                    },
                    {
                        "path": "src/prepare.py",
                        "hash": "md5",
                        "md5": _md5(prepare),
                        "size": len(prepare),
                    },
                ],
                "params": {"params.yaml": {"prep.split": 0.8}},
                "outs": [
                    {
                        "path": "data/prepared",
                        "hash": "md5",
                        "md5": "aa.dir",
                        "size": 1,
                        "nfiles": 1,
                    }
                ],
            },
        },
    }
    write_tree(
        root,
        {
            "dvc.yaml": head_yaml,
            "params.yaml": params.replace("depth: 3", "depth: 5"),
            "src/prepare.py": prepare,
            "metrics.json": '{"loss": 0.4, "epochs": 10}\n',
            "eval.json": '{"acc": 0.85, "per_class": {"cat": 0.8, "dog": 0.9}, "f1": 0.7}\n',
            "dvc.lock": yaml.safe_dump(lock, sort_keys=False),
        },
    )
    (root / "src/cleanup.sh").unlink()
    commit(root, "head")


SUB_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr]
    metrics:
      - scores.json:
          cache: false
"""


EXTRA = "  extra:\n    cmd: python extra.py\n    deps: [scores.json]\n"


def projects(root: Path) -> None:
    """Three `dvc init --subdir` projects: two reviewable, one whose dvc.yaml HEAD breaks;
    a metrics file that turns binary."""
    files = {}
    for name in ("a", "b", "c"):
        files.update(
            {
                f"{name}/.dvc/config": "",
                f"{name}/dvc.yaml": SUB_YAML,
                f"{name}/params.yaml": "lr: 0.1\n",
                f"{name}/train.py": "print(1)\n",
                f"{name}/scores.json": '{"auc": 0.5}\n',
            }
        )
    write_tree(root, files)
    git_init(root, commit=False)
    commit(root, "base")
    write_tree(
        root,
        {
            "a/params.yaml": "lr: 0.2\n",
            "a/dvc.yaml": SUB_YAML.replace("python train.py", "python train.py --quick"),
            "c/dvc.yaml": SUB_YAML
            + "  extra:\n    cmd: python extra.py\n    deps: [scores.json]\n",
            "a/scores.json": b"\x89PNG\r\n\x1a\n\x00\x00",
            "b/dvc.yaml": SUB_YAML.replace("deps: [train.py]", "deps: [train.py"),
        },
    )
    commit(root, "head")


CASES: dict[str, Callable[[Path], None]] = {"demo": demo, "projects": projects}
