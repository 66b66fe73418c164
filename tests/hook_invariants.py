"""Run every static hook in-process on a repository and hold it to the contract on bad input.

The contract (DESIGN.md): exit 0, 1 or 2 (3 is an internal error: a crash), never a
traceback, every message one line: each stdout line is a finding (`path:line:col: CODE
message`), a `path: fixed` line or the summary; each stderr line is a whole message
(`hook: ...` or `path: ...`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dvc_gitops import cli
from dvc_gitops.hooks import (
    check_dvc_config,
    check_dvc_deps,
    check_dvc_lock,
    check_dvc_pinned,
    check_dvc_yaml,
    check_mlflow_map,
    dvc_dag_docs,
)

HookMain = Callable[[Sequence[str]], int]

# (name, main, argv) of every hook that needs no DVC, no server and no network.
STATIC_HOOKS: list[tuple[str, HookMain, list[str]]] = [
    ("check-dvc-yaml", check_dvc_yaml.main, []),
    ("check-dvc-deps", check_dvc_deps.main, []),
    ("check-dvc-pinned", check_dvc_pinned.main, ["--no-installed"]),
    ("check-mlflow-map", check_mlflow_map.main, []),
    ("check-dvc-config", check_dvc_config.main, []),
    ("dvc-dag-docs", dvc_dag_docs.main, ["--check"]),
    ("check-dvc-lock", check_dvc_lock.main, []),
    ("dvc-gitops check", lambda argv: cli.main(["check", *argv]), []),
]
# The fixers, run with --fix (dvc-dag-docs writes unless --check).
FIXERS: list[tuple[str, HookMain, list[str]]] = [
    ("check-dvc-deps --fix", check_dvc_deps.main, ["--fix"]),
    ("check-dvc-pinned --fix", check_dvc_pinned.main, ["--fix", "--no-installed"]),
    ("check-dvc-config --fix", check_dvc_config.main, ["--fix"]),
    ("dvc-dag-docs", dvc_dag_docs.main, []),
]

_FINDING = re.compile(r"^[^\n]+:\d+:\d+: DG\d{3} \S")
_SUMMARY = re.compile(r"^(No findings\.|Found \d+ findings? \(.*\) in \d+ files?\.)$")
_MESSAGE = re.compile(r"^\S.*: \S")  # `hook: error: ...` or `path: what is wrong`
_FIXED = re.compile(r"^\S.*: fixed$")


@dataclass
class Outcome:
    name: str
    code: int
    out: str
    err: str

    def describe(self) -> str:
        return f"{self.name} exited {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_hook(name: str, main: HookMain, argv: Sequence[str], root: Path) -> Outcome:
    """Run one hook's `main` at `root` (as pre-commit does), capturing what it prints."""
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        os.chdir(here)
    return Outcome(name, code, out.getvalue(), err.getvalue())


def assert_contract(outcome: Outcome) -> None:
    """Exit 0/1/2, no traceback, one-line messages."""
    text = outcome.describe()
    assert outcome.code in (0, 1, 2), text
    assert "Traceback" not in outcome.out + outcome.err, text
    assert "internal error" not in outcome.err, text
    for line in outcome.err.splitlines():  # each message one line, none indented
        assert _MESSAGE.match(line), (line, text)
    if outcome.name == "dvc-dag-docs":
        assert len(outcome.out.splitlines()) <= 1, text  # one status line
        return
    for line in outcome.out.splitlines():
        assert _FINDING.match(line) or _SUMMARY.match(line) or _FIXED.match(line), (line, text)


def run_all(
    root: Path, hooks: Sequence[tuple[str, HookMain, list[str]]] = STATIC_HOOKS
) -> list[Outcome]:
    """Every hook on `root`, each held to the contract; returns what they printed."""
    outcomes = []
    for name, main, argv in hooks:
        outcome = run_hook(name, main, argv, root)
        assert_contract(outcome)
        outcomes.append(outcome)
    return outcomes
