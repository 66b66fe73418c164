"""Golden reviews of two-commit fixture repositories: the exact markdown and json.

The repositories are built by `review_fixtures.py` (text only, fixed commit dates). To accept a
deliberate change of the output, regenerate the expected files and read the diff:

    REVIEW_GOLDEN_UPDATE=1 .venv/bin/pytest tests/review/review_golden_test.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from review_fixtures import CASES

from dvc_gitops.cli import main

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("REVIEW_GOLDEN_UPDATE") == "1"


def _review(root: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["review", "HEAD~1", "HEAD", "--format", fmt]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fmt", ["markdown", "json", "text"])
def test_golden(
    case: str,
    fmt: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    CASES[case](root)
    monkeypatch.chdir(root)
    out = _review(root, fmt, capsys)
    expected = GOLDEN / f"{case}.{ {'markdown': 'md', 'json': 'json', 'text': 'txt'}[fmt] }"
    if UPDATE:
        expected.parent.mkdir(exist_ok=True)
        expected.write_text(out, encoding="utf-8")
    assert out == expected.read_text(encoding="utf-8")
    if fmt == "json":
        data = json.loads(out)
        for key in ("changed_stages", "params", "rerun", "lock_up_to_date", "metrics"):
            assert key in data
    if fmt == "markdown":
        assert_commonmark_tables(out)


def assert_commonmark_tables(text: str) -> None:
    """The text parses as CommonMark (with GFM tables) and every table has its header row,
    as wide as each of its body rows; no table row is left as a paragraph."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = 0
    for i, token in enumerate(tokens):
        if token.type == "table_open":
            tables += 1
            assert tokens[i + 1].type == "thead_open"
        if token.type == "inline":
            assert not token.content.startswith("| "), (
                f"a table row outside a table: {token.content}"
            )
    assert tables == text.count("\n| --- |") + text.count("\n|---|"), "a table did not parse"
    widths: list[int] = []
    row: list[int] = [0]
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            row[0] += 1
        elif token.type == "tr_close":
            widths.append(row[0])
            row[0] = 0
        elif token.type == "table_close":
            assert len(set(widths)) == 1, widths
            widths.clear()
