"""Every rule is documented, with a real example, and the docs match the code."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import git_init
from docs_test import hook_command, option_names
from golden_test import MLFLOW_SEED, entry_point, seed_once

from dvc_gitops.cli import main as cli_main
from dvc_gitops.core.catalog import hook as catalog_hook
from dvc_gitops.core.catalog import hook_of
from dvc_gitops.core.findings import Rule
from dvc_gitops.rules_docs import (
    CONTROL_FILES,
    GITIGNORED,
    INSTEAD,
    PAGES,
    all_rules,
    example_case,
    page,
    render,
)

RULES = all_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_is_well_formed(rule) -> None:  # type: ignore[no-untyped-def]
    assert re.fullmatch(r"DG\d{3}", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.severity in ("error", "warning", "notice")
    assert rule.summary and "\n" not in rule.summary
    assert rule.why and rule.fix, f"{rule.code} needs why and fix text for its page"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_has_a_golden_example(rule) -> None:  # type: ignore[no-untyped-def]
    assert example_case(rule.code) is not None, f"add tests/golden/{rule.code}-<slug>/"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_page_is_current(rule) -> None:  # type: ignore[no-untyped-def]
    path = PAGES / f"{rule.code}.md"
    assert path.is_file(), f"{path} is missing: run `make docs`"
    assert path.read_text() == render(rule), f"{path} is stale: run `make docs`"


def test_no_page_without_a_rule() -> None:
    codes = {r.code for r in RULES}
    assert {p.stem for p in PAGES.glob("DG*.md")} <= codes


def test_rules_command_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["rules", "dg102"]) == 0
    assert capsys.readouterr().out == page("DG102")
    assert cli_main(["rules"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == len(RULES)
    assert listing[0].startswith("DG001  warning  unused-suppression")
    assert cli_main(["rules", "DG999"]) == 2
    assert "no rule DG999" in capsys.readouterr().err


# -- "Write instead": the corrected files of a rule's example no longer get its code ---------

INSTEAD_RULES = [r for r in RULES if (c := example_case(r.code)) and (c / INSTEAD).is_dir()]


def run_instead(case: Path, work: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The case's command (without --fix) on its files with `instead/` laid over them."""
    shutil.copytree(
        case,
        work,
        ignore=lambda folder, names: [
            n
            for n in names
            if n in CONTROL_FILES
            or n.endswith(".expected")
            or (n == INSTEAD and Path(folder) == case)
        ],
        symlinks=True,
    )
    shutil.copytree(case / INSTEAD, work, dirs_exist_ok=True)
    for stored in list(work.rglob(f"*{GITIGNORED}")):
        stored.rename(stored.with_name(stored.name.removesuffix(GITIGNORED)))
    if (case / ".golden-git").exists():
        git_init(work)
    args_file = case / "args.txt"
    argv = shlex.split(args_file.read_text()) if args_file.exists() else ["dvc-gitops", "check"]
    argv = [a for a in argv if a != "--fix"]
    old = Path.cwd()
    os.chdir(work)
    try:
        code = entry_point(argv[0])(argv[1:])
    finally:
        os.chdir(old)
    return code, capsys.readouterr().out


def _slow(rule: Rule) -> bool:
    """dvc-status runs the real DVC; an online MLflow case asks a real tracking server."""
    case = example_case(rule.code)
    return rule.code.startswith("DG4") or (case is not None and (case / MLFLOW_SEED).exists())


INSTEAD_PARAMS = [
    pytest.param(r, id=r.code, marks=[pytest.mark.slow] if _slow(r) else []) for r in INSTEAD_RULES
]


@pytest.mark.parametrize("rule", INSTEAD_PARAMS)
def test_write_instead_is_not_reported(
    rule: Rule,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = example_case(rule.code)
    assert case is not None
    if (case / MLFLOW_SEED).exists():  # an online case: the session's real tracking server
        server = request.getfixturevalue("mlflow_server")
        spec = yaml.safe_load((case / MLFLOW_SEED).read_text())
        seed_once(server, spec)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri + spec.get("tracking_uri_path", ""))
    code, out = run_instead(case, tmp_path / "work", capsys)
    assert code in (0, 1), out
    assert not re.search(rf": {rule.code} ", out), f"{case.name}/instead still gets it:\n{out}"


def test_write_instead_examples_only_grow() -> None:
    # Not every rule has one yet; the ones written stay (the count is raised as they come).
    assert len(INSTEAD_RULES) >= 77


@pytest.mark.parametrize("rule", [r for r in RULES if r.fixable or r.options])
def test_fixable_and_options_are_the_hooks(rule: Rule) -> None:
    hook = hook_of(rule.code)
    options = option_names(hook_command(catalog_hook(hook)))
    if rule.fixable:
        assert "--fix" in options, f"{rule.code}: {hook} has no --fix"
        assert "Fixable with `--fix`" in (page(rule.code) or "")
    unknown = [o for o in rule.options if o not in options]
    assert not unknown, f"{rule.code}: {hook} has no {unknown}"
