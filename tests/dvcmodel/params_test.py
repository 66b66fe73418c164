"""Params and vars rules: each finding at the exact key or value, with its code."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import VENV_BIN, write_tree

from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel import params as params_checks


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def findings(root: Path) -> list[Finding]:
    return sorted(params_checks.check(CheckContext(Project(root), None)))


def where(found: list[Finding]) -> list[tuple[str, str, int, int]]:
    return [(f.code, f.path, f.line, f.column) for f in found]


CASES = {
    "missing-key": (
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${nope}\n"},
        [("DG303", "dvc.yaml", 3, 15)],  # at the template itself
    ),
    "shell-default": (
        {"dvc.yaml": "stages:\n  a:\n    cmd: deploy --env ${ENV:-dev}\n"},
        [("DG304", "dvc.yaml", 3, 23)],
    ),
    "dict-outside-cmd": (
        {
            "params.yaml": "paths: {a: x}\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: echo\n    deps:\n      - ${paths}\n",
        },
        [("DG305", "dvc.yaml", 5, 9)],
    ),
    "template-in-vars": (
        {"dvc.yaml": "vars:\n  - a: x\n  - b: ${a}\nstages:\n  s: {cmd: echo}\n"},
        [("DG306", "dvc.yaml", 3, 8)],
    ),
    "redefined-inline": (
        {
            "params.yaml": "train: {lr: 1}\n",
            "dvc.yaml": "vars:\n  - train:\n      lr: 2\nstages:\n  s: {cmd: echo}\n",
        },
        [("DG307", "dvc.yaml", 3, 7)],
    ),
    "matrix-string": (
        {
            "params.yaml": "models: [a, b]\n",
            "dvc.yaml": "stages:\n  m:\n    matrix:\n      model: models\n"
            "    cmd: echo ${item.model}\n",
        },
        # The list the user meant is then unused: a second hint at the same mistake.
        [("DG308", "dvc.yaml", 4, 14), ("DG310", "params.yaml", 1, 1)],
    ),
    "vars-file-missing": (
        {"dvc.yaml": "vars:\n  - ../config.yaml\nstages:\n  s: {cmd: echo}\n"},
        [("DG309", "dvc.yaml", 2, 5)],
    ),
    "empty-template": (
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${}\n"},
        [("DG311", "dvc.yaml", 3, 15)],
    ),
    "foreach-scalar": (
        {
            "params.yaml": "n: 3\n",
            "dvc.yaml": "stages:\n  a:\n    foreach: ${n}\n    do: {cmd: echo}\n",
        },
        [("DG312", "dvc.yaml", 3, 14)],
    ),
    "params-not-list": (
        {
            "p.yaml": "lr: 1\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: echo\n    params:\n      - p.yaml: lr\n",
        },
        [("DG313", "dvc.yaml", 5, 17)],
    ),
    "vars-key-missing": (
        {"c.yaml": "a: 1\n", "dvc.yaml": "vars:\n  - c.yaml:a,b\nstages:\n  s: {cmd: echo}\n"},
        [("DG314", "dvc.yaml", 2, 5)],
    ),
    "params-file-missing": (
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo\n    params:\n      - lr\n"},
        [("DG301", "dvc.yaml", 5, 9)],
    ),
    "params-key-missing": (
        {
            "params.yaml": "train: {lr: 1}\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: echo\n    params:\n      - train.lr\n"
            "      - train.epochs\n",
        },
        [("DG302", "dvc.yaml", 6, 9)],
    ),
    "unused-param": (
        {
            "params.yaml": "train:\n  lr: 1\n  seed: 2\nevaluate: {k: 1}\nname: x\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: echo ${name}\n    params:\n      - train.lr\n",
        },
        [("DG310", "params.yaml", 3, 3), ("DG310", "params.yaml", 4, 1)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_at_its_entry(name: str, tmp_path: Path) -> None:
    files, expected = CASES[name]
    assert where(findings(write_tree(tmp_path, files))) == expected


def test_clean_pipeline_has_no_findings(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "params.yaml": "train: {lr: 1, epochs: 2}\nmodels: [a, b]\nrun: {cmd: go}\n",
            "dvc.yaml": d(
                """
                stages:
                  fit:
                    foreach: ${models}
                    do:
                      cmd: ${run.cmd} ${item} --lr ${train.lr} $HOME \\${LITERAL}
                      params: [train.epochs]
                """
            ),
        },
    )
    assert findings(root) == []


def test_whole_file_params_and_top_level_params_count_as_used(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "params.yaml": "a: 1\n",
            "other.yaml": "b: 1\n",
            "exp.yaml": "c: 1\n",
            "dvc.yaml": "params: [exp.yaml]\nstages:\n  s:\n    cmd: x\n    params:\n"
            "      - params.yaml:\n      - other.yaml: []\n",
        },
    )
    assert findings(root) == []


def test_the_message_says_what_and_how(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${HOME}\n"})
    (finding,) = findings(root)
    assert finding.code == "DG304"
    assert "'${HOME}' is shell syntax" in finding.message
    assert "escape it as '\\${HOME}' or write '$HOME'" in finding.message


def test_a_params_file_written_by_a_stage_is_not_missing(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "dvc.yaml": d(
                """
                stages:
                  tune: {cmd: x, outs: [best.yaml]}
                  fit: {cmd: x, params: [{best.yaml: [lr]}]}
                """
            )
        },
    )
    assert findings(root) == []


@pytest.mark.slow
def test_dvc_repro_really_fails_on_a_missing_params_key(tmp_path: Path) -> None:
    files, _ = CASES["params-key-missing"]
    root = write_tree(tmp_path, files)
    subprocess.run([str(VENV_BIN / "dvc"), "init", "-q", "--no-scm"], cwd=root, check=True)
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), "repro"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "Parameters 'train.epochs' are missing from 'params.yaml'" in done.stderr
    assert [f.severity for f in findings(root)] == ["error"]


def test_a_template_in_a_block_scalar_is_found_on_its_own_line(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "params.yaml": "train: {lr: 1}\n",
            "dvc.yaml": d(
                """
                stages:
                  a:
                    cmd: >-
                      python train.py
                      --lr ${train.lr}
                      --epochs ${train.epochs}
                """
            ),
        },
    )
    (finding,) = findings(root)
    assert (finding.code, finding.line, finding.column) == ("DG303", 6, 16)
    assert finding.message == (
        "could not find 'train.epochs': 'train' has only lr; fix the name or add the key"
    )
