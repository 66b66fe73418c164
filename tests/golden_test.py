"""Golden tests: each folder under tests/golden/ is a small repository and its exact output.

A case folder holds the input files, `args.txt` (one command line, default
`dvc-gitops check .`), and `expected.txt`: the exact standard output followed by a last
line `[exit N]`. For fixers, `NAME.expected` beside a file NAME is its exact content after
the run. A `.golden-git` file makes the case a committed git repository first.
The case name starts with the rule code it demonstrates (`DG101-...`) or with `clean-`;
the rule docs take their example from the first case of each code, and that case's
`instead/` folder (corrected files, laid over the case's) from which the page shows
what to write instead: rules_docs_test runs the check on it, this test never reads it.

Regenerate after an intended change: `GOLDEN_UPDATE=1 pytest tests/golden_test.py`, then
read the diff.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git_init

from dvc_gitops.rules_docs import CONTROL_FILES, GITIGNORED, INSTEAD

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir()) if GOLDEN.is_dir() else []


def entry_point(name: str):  # type: ignore[no-untyped-def]
    """The in-process `main` of a console script named in args.txt."""
    if name == "dvc-gitops":
        return importlib.import_module("dvc_gitops.cli").main
    return importlib.import_module(f"dvc_gitops.hooks.{name.replace('-', '_')}").main


def run_case(case: Path, work: Path, capsys: pytest.CaptureFixture[str]) -> str:
    shutil.copytree(
        case,
        work,
        ignore=lambda folder, names: [
            n
            for n in names
            if n in CONTROL_FILES
            or n.endswith(".expected")
            # The corrected files of the rule page's "Write instead" are not the case's input.
            or (n == INSTEAD and Path(folder) == case)
        ],
        symlinks=True,
    )
    # A file the case's .gitignore hides is stored as NAME.gitignored (so this repository can
    # commit it) and takes its real name in the scratch copy, where git then ignores it.
    for stored in list(work.rglob(f"*{GITIGNORED}")):
        stored.rename(stored.with_name(stored.name.removesuffix(GITIGNORED)))
    if (case / ".golden-git").exists():
        git_init(work)
    args_file = case / "args.txt"
    argv = (
        shlex.split(args_file.read_text()) if args_file.exists() else ["dvc-gitops", "check", "."]
    )
    old = Path.cwd()
    os.chdir(work)
    try:
        code = entry_point(argv[0])(argv[1:])
    finally:
        os.chdir(old)
    return capsys.readouterr().out + f"[exit {code}]\n"


# An online MLflow case holds this file: the server state it needs, set up on the session's
# real tracking server, whose URI the hook gets in MLFLOW_TRACKING_URI (`tracking_uri_path`
# is appended to it) and the expected output shows as $MLFLOW_TRACKING_URI.
MLFLOW_SEED = "mlflow-server.yaml"


def seed_once(server: Any, spec: dict[str, Any]) -> None:
    """The case's server state, but not twice: the rule page's "Write instead" check of the
    same case may have set it up already in this session."""
    experiments = spec.get("experiments", [])
    missing = [e for e in experiments if not server.rest.experiment_by_name(e["name"])]
    server.seed({**spec, "experiments": missing})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(
    case: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    server_uri = None
    if (case / MLFLOW_SEED).exists():
        server = request.getfixturevalue("mlflow_server")
        spec = yaml.safe_load((case / MLFLOW_SEED).read_text())
        seed_once(server, spec)
        server_uri = server.uri + spec.get("tracking_uri_path", "")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server_uri)
    out = run_case(case, work, capsys)
    if server_uri:
        out = out.replace(server_uri, "$MLFLOW_TRACKING_URI")
    expected_file = case / "expected.txt"
    if os.environ.get("GOLDEN_UPDATE"):
        expected_file.write_text(out)
        for fixed in case.rglob("*.expected"):
            result = work / fixed.relative_to(case).with_suffix("")
            fixed.write_bytes(result.read_bytes())
    assert out == expected_file.read_text()
    for fixed in case.rglob("*.expected"):
        result = work / fixed.relative_to(case).with_suffix("")
        assert result.read_bytes() == fixed.read_bytes(), f"{result.name} differs after the fix"


def test_there_are_cases() -> None:
    assert len(CASES) >= 1
