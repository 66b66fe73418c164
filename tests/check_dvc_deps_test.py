"""check-dvc-deps: the stages it flags, the ones it must not, and the exact fixes."""

from __future__ import annotations

from textwrap import dedent

import pytest

from dvc_gitops.hooks.check_dvc_deps import add_deps
from dvc_gitops.yamldoc import load


def y(text: str) -> str:
    """A YAML text written indented in the test, as the file holds it."""
    return dedent(text).lstrip("\n")


# --- the fixer alone: exact text in, exact text out --------------------------------------

FIXES: list[tuple[str, str, tuple[str | int, ...], list[str], str]] = [
    (
        "block list: a line after the last item, same prefix",
        y("""
        stages:
          train:
            cmd: python src/train.py
            deps:
              - data.csv  # raw
            outs:
              - model.pkl
        """),
        ("stages", "train"),
        ["src/train.py"],
        y("""
        stages:
          train:
            cmd: python src/train.py
            deps:
              - data.csv  # raw
              - src/train.py
            outs:
              - model.pkl
        """),
    ),
    (
        "indentless list and double quotes are copied",
        y("""
        stages:
          train:
            cmd: python x.py
            deps:
            - "data.csv"
        """),
        ("stages", "train"),
        ["x.py", "y.py"],
        y("""
        stages:
          train:
            cmd: python x.py
            deps:
            - "data.csv"
            - "x.py"
            - "y.py"
        """),
    ),
    (
        "single quotes and odd spacing are copied",
        "stages:\n  t:\n    cmd: python x.py\n    deps: \n      -   'a b.csv'\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\n  t:\n    cmd: python x.py\n    deps: \n      -   'a b.csv'\n      -   'x.py'\n",
    ),
    (
        "flow list",
        "stages:\n  t:\n    cmd: python x.py\n    deps: [a.csv, b.csv]  # both\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\n  t:\n    cmd: python x.py\n    deps: [a.csv, b.csv, x.py]  # both\n",
    ),
    (
        "empty flow list",
        "stages:\n  t:\n    cmd: python x.py\n    deps: []\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\n  t:\n    cmd: python x.py\n    deps: [x.py]\n",
    ),
    (
        "no deps: created after cmd, indented like outs",
        y("""
        stages:
          t:
            # train it
            cmd: python x.py   # go
            outs:
            - m.pkl
        """),
        ("stages", "t"),
        ["x.py"],
        y("""
        stages:
          t:
            # train it
            cmd: python x.py   # go
            deps:
            - x.py
            outs:
            - m.pkl
        """),
    ),
    (
        "no deps after a folded block cmd with a blank line",
        y("""
        stages:
          t:
            cmd: >-
              python x.py
              --lr 1

            outs:
              - m
        """),
        ("stages", "t"),
        ["x.py"],
        y("""
        stages:
          t:
            cmd: >-
              python x.py
              --lr 1
            deps:
              - x.py

            outs:
              - m
        """),
    ),
    (
        "no deps after a list cmd, at the end of a file without a final newline",
        "stages:\n  t:\n    cmd:\n      - python a.py\n      - python b.py",
        ("stages", "t"),
        ["a.py", "b.py"],
        "stages:\n  t:\n    cmd:\n      - python a.py\n      - python b.py\n"
        "    deps:\n      - a.py\n      - b.py\n",
    ),
    (
        "foreach: into the do template",
        y("""
        stages:
          fe:
            foreach: [a, b]
            do:
              cmd: python x.py ${item}
              outs:
                - out/${item}
        """),
        ("stages", "fe", "do"),
        ["x.py"],
        y("""
        stages:
          fe:
            foreach: [a, b]
            do:
              cmd: python x.py ${item}
              deps:
                - x.py
              outs:
                - out/${item}
        """),
    ),
    (
        "CRLF line breaks are kept",
        "stages:\r\n  t:\r\n    cmd: python x.py\r\n    deps:\r\n      - a\r\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\r\n  t:\r\n    cmd: python x.py\r\n    deps:\r\n      - a\r\n      - x.py\r\n",
    ),
    (
        "a path YAML would type as a number is quoted",
        "stages:\n  t:\n    cmd: ./2024\n",
        ("stages", "t"),
        ["2024", "a b.py"],
        'stages:\n  t:\n    cmd: ./2024\n    deps:\n      - "2024"\n      - "a b.py"\n',
    ),
]


@pytest.mark.parametrize(
    ("before", "path", "deps", "after"),
    [f[1:] for f in FIXES],
    ids=[f[0] for f in FIXES],
)
def test_add_deps_changes_only_the_new_lines(
    before: str, path: tuple[str | int, ...], deps: list[str], after: str
) -> None:
    assert add_deps(load(before, "dvc.yaml"), path, deps) == after


@pytest.mark.parametrize(
    "text",
    [
        "stages:\n  t: {cmd: python x.py}\n",  # flow mapping: not ours to re-layout
        "stages:\n  t:\n    cmd: python x.py\n    deps:\n",  # null deps: a schema error
        "stages:\n  t:\n    cmd: python x.py\n    deps: {a: 1}\n",  # not a list
    ],
)
def test_add_deps_refuses_layouts_it_cannot_edit_safely(text: str) -> None:
    assert add_deps(load(text, "dvc.yaml"), ("stages", "t"), ["x.py"]) is None
