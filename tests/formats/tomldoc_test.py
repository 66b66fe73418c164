"""tomldoc: positions of keys and strings agree with tomllib's data, on any valid TOML."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from dvc_gitops.formats import tomldoc
from dvc_gitops.formats.tomldoc import TomlPath, TomlProblem
from dvc_gitops.formats.yamldoc import Mark

LOCKS = ("uv.lock", "poetry.lock")

TRICKY = """\
# a comment with "quotes" and 'apostrophes' and [brackets]
title = "x # not a comment"
"quoted key" = 'C:\\path'
a.b.c = "dotted"
when = 1979-05-27 07:32:00Z
nums = [1, 2.5, -3, +4, 0x1F, inf, nan, true, false]
multi = \"\"\"
two "quoted" lines\"\"\"
literal = '''it's "raw" ''\'
deps = [
  "dvc==3.67.1",  # first
  # a comment line inside the array
  { name = "dvc-s3", extras = ["a", 'b'] },
  [ "nested", ["deeper"] ],
]

[tool."dvc-gitops"]
x = "y"

[[package]]
name = "one"
[package.source]
registry = "r1"

[[package]]
name = "two"
wheels = [
    { url = "https://example.invalid/two.whl", hash = "sha256:00" },
]
[[package.dependencies]]
name = "dep-of-two"
"""


def strings_of(data: Any, path: TomlPath = ()) -> Iterator[tuple[TomlPath, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from strings_of(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from strings_of(value, (*path, index))
    elif isinstance(data, str):
        yield path, data


def assert_positions_agree(text: str) -> int:
    """Every string tomllib reads has a span whose raw text is its value (escapes aside)."""
    doc = tomldoc.load(text, "x.toml")
    count = 0
    for path, value in strings_of(doc.data):
        span = doc.strings.get(path)
        assert span is not None, path
        assert text[span.start : span.end] == span.raw
        if "\\" not in span.raw:
            assert span.raw == value, path
        line_start = text.rfind("\n", 0, span.start) + 1
        assert span.mark == Mark(text.count("\n", 0, span.start) + 1, span.start - line_start + 1)
        count += 1
    return count


def test_tricky_document() -> None:
    assert assert_positions_agree(TRICKY) == 18
    doc = tomldoc.load(TRICKY, "x.toml")
    assert doc.strings[("deps", 0)].mark == Mark(11, 4)
    assert doc.strings[("deps", 1, "extras", 1)].raw == "b"
    assert doc.strings[("package", 1, "wheels", 0, "hash")].mark == Mark(28, 56)
    assert doc.strings[("package", 1, "dependencies", 0, "name")].mark == Mark(31, 9)
    assert doc.strings[("package", 0, "source", "registry")].raw == "r1"
    assert doc.key_mark(("tool", "dvc-gitops", "x")) == Mark(18, 1)
    assert doc.key_mark(("quoted key",)) == Mark(3, 1)
    assert doc.value_mark(("a", "b", "c")) == Mark(4, 10)
    assert doc.value_mark(("nums",)) == Mark(6, 1)  # not a string: its key


def on_hand_toml_files() -> list[Path]:
    """TOML at hand: this repo's, the golden cases', and CPython's tomllib test data."""
    files = [REPO / "pyproject.toml", *sorted((REPO / "tests" / "golden").rglob("*.toml"))]
    files += [p for p in sorted((REPO / "tests" / "golden").rglob("*.lock")) if p.name in LOCKS]
    valid = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_tomllib" / "data" / "valid"
    files += sorted(valid.rglob("*.toml")) if valid.is_dir() else []
    return files


@pytest.mark.parametrize("path", on_hand_toml_files(), ids=lambda p: p.name)
def test_real_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert_positions_agree(text)  # asserts every string it finds


def test_invalid_toml_says_where() -> None:
    with pytest.raises(TomlProblem) as caught:
        tomldoc.load('a = 1\nb = "unclosed\n', "x.toml")
    assert caught.value.mark == Mark(2, 14)
    assert "(at line" not in caught.value.message
