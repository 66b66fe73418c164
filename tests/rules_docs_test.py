"""Every rule is documented, with a real example, and the docs match the code."""

from __future__ import annotations

import re

import pytest

from dvc_gitops.cli import main as cli_main
from dvc_gitops.rules_docs import PAGES, all_rules, example_case, page, render

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
