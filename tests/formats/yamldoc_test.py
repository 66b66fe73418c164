"""yamldoc: data typed like DVC's ruamel.yaml, marks on every key and value, clear problems."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from conftest import GOLDEN
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from dvc_gitops.formats.yamldoc import Mark, YamlProblem, load, load_bytes

RUAMEL = YAML(typ="safe")  # what DVC's parse_yaml uses


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) and isinstance(theirs, float):
        return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return list(ours) == list(theirs) and all(_same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return type(ours) is type(theirs) and ours == theirs


PLAIN_SCALARS = [
    "yes", "no", "on", "off", "y", "n", "0755", "0o17", "0x1F", "1_000", "1e3", "1E5",
    "1.5", ".5", "1.", "+1", "-0", "010", ".inf", "-.inf", ".nan", "~", "null", "Null",
    "true", "True", "FALSE", "2024-01-31", "2024-1-5", "2024-01-31 10:00:00", "1:20",
    "12:30:00", "0b101", "python train.py", "${lr}", "a: b",
]  # fmt: skip


@pytest.mark.parametrize("scalar", PLAIN_SCALARS)
def test_plain_scalars_are_typed_like_ruamel(scalar: str) -> None:
    text = f"k: {scalar}\n" if ": " not in scalar else f"k: '{scalar}'\n"
    assert _same(load(text, "x").data["k"], RUAMEL.load(text)["k"])


@pytest.mark.parametrize(
    "tagged",
    ["!!str 123", "!!str true", "!!str null", "!!str 2024-01-31", "!!int 42", "!!float 1.5",
     "!!bool true", "!!null null"],
)  # fmt: skip
def test_explicit_tags_win_like_in_ruamel(tagged: str) -> None:
    text = f"k: {tagged}\n"
    assert _same(load(text, "x").data["k"], RUAMEL.load(text)["k"])


@pytest.mark.parametrize(
    ("text", "mark"),
    [("cmd: !env FOO\n", Mark(1, 6)), ("a:\n  b: !!python/name:os.system\n", Mark(2, 6))],
)
def test_tags_ruamel_cannot_construct_are_refused(text: str, mark: Mark) -> None:
    with pytest.raises(YamlProblem) as caught:
        load(text, "x")
    assert caught.value.mark == mark
    assert "no constructor for the tag" in caught.value.message
    with pytest.raises(Exception, match="constructor"):
        RUAMEL.load(text)


def test_timestamps_match_ruamel_values() -> None:
    text = "a: 2024-01-31T10:00:00Z\nb: 2001-12-14t21:59:43.10-05:00\n"
    ours, theirs = load(text, "x").data, RUAMEL.load(text)
    assert ours == theirs
    assert isinstance(ours["a"], datetime.datetime)


KEYS = st.sampled_from(["stages", "cmd", "deps", "a b", "1", "yes", "x.y"])
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
)
DATA = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(DATA, st.booleans())
def test_documents_load_like_ruamel(data: Any, flow: bool) -> None:
    """Whatever ruamel (DVC) reads from a document, we read the same."""
    import io

    out = io.StringIO()
    writer = YAML(typ="safe", pure=True)
    writer.default_flow_style = flow
    writer.dump({"root": data}, out)
    text = out.getvalue()
    assert _same(load(text, "x").data, RUAMEL.load(text)), text


DOC = """\
stages:
  train:
    cmd: python train.py
    deps:
    - train.py
    - data/raw.csv
    outs:
    - model.pkl:
        cache: false
  evaluate:
    cmd: >-
      python evaluate.py
      --fast

    deps: [model.pkl]
"""


def test_marks_point_at_keys_and_values() -> None:
    doc = load(DOC, "dvc.yaml")
    assert doc.key_mark(("stages", "train", "cmd")) == Mark(3, 5)
    assert doc.value_mark(("stages", "train", "cmd")) == Mark(3, 10)
    assert doc.value_mark(("stages", "train", "deps", 1)) == Mark(6, 7)
    assert doc.key_mark(("stages", "train", "outs", 0, "model.pkl", "cache")) == Mark(9, 9)
    assert doc.value_mark(("stages", "evaluate", "deps", 0)) == Mark(15, 12)
    # a path that leads nowhere: the nearest existing ancestor
    assert doc.key_mark(("stages", "train", "nope", 3)) == Mark(2, 3)
    assert doc.end_line(("stages", "evaluate", "cmd")) == 13
    assert doc.end_line(("stages", "train")) == 9


def test_merge_keys_and_aliases() -> None:
    doc = load("base: &b {cmd: x, wdir: w}\nstage:\n  <<: *b\n  cmd: y\n", "x")
    assert doc.data["stage"] == {"cmd": "y", "wdir": "w"}
    assert doc.value_mark(("stage", "cmd")) == Mark(4, 8)
    assert doc.value_mark(("stage", "wdir")) == Mark(1, 25)  # found through the merge


def test_duplicate_keys_are_problems_with_positions() -> None:
    doc = load("a: 1\nb: 2\na: 3\n", "x")
    assert doc.data == {"a": 3, "b": 2}
    [problem] = doc.problems
    assert (problem.kind, problem.mark) == ("duplicate-key", Mark(3, 1))
    assert "first defined at line 1" in problem.message


@pytest.mark.parametrize(
    ("text", "mark", "words"),
    [
        ("stages:\n  a:\n    deps: [x.py\n", Mark(3, 11), "did not find expected"),
        ("a: {b: 1\n\n\n", Mark(1, 4), "flow mapping"),
        ("stages: [\n", Mark(1, 9), "expected node content"),
        ("a: 1\n-b\n", Mark(2, 1), "could not find expected ':'"),
        ("a: b\t\n", Mark(1, 5), "tab"),
        ("a:\n  - x\n - y\n", Mark(3, 2), "expected key"),
        ("a: 1\n---\nb: 2\n", Mark(2, 1), "more than one YAML document"),
        ("a: *nope\n", Mark(1, 4), "undefined alias"),
        ("a: 'x\n", Mark(1, 4), "quoted scalar"),
    ],
    ids=[
        "unclosed-seq",
        "unclosed-map",
        "eof",
        "no-colon",
        "tab",
        "indent",
        "two-docs",
        "alias",
        "quote",
    ],
)
def test_syntax_errors_point_where_the_problem_is(text: str, mark: Mark, words: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load(text, "x")
    assert caught.value.mark == mark
    assert words in caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    "text",
    ["a: 'b\tc'\n", "a: b # a\tcomment\n", "a: |\n  x\ty\n", '"a\tb": 1\n'],
    ids=["quoted", "comment", "block", "key"],
)
def test_tabs_ruamel_accepts_are_accepted(text: str) -> None:
    assert load(text, "x").data == RUAMEL.load(text)


def test_merge_conflict_markers() -> None:
    with pytest.raises(YamlProblem) as caught:
        load("a: 1\n<<<<<<< HEAD\nb: 2\n=======\nb: 3\n>>>>>>> x\n", "x")
    assert (caught.value.kind, caught.value.mark) == ("merge-conflict", Mark(2, 1))


def test_encodings() -> None:
    assert load_bytes(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n", "x").data == {"a": 1, "b": 2}
    with pytest.raises(YamlProblem) as caught:
        load_bytes(b"a: 1\nb: caf\xe9\n", "x")
    assert (caught.value.kind, caught.value.mark) == ("encoding", Mark(2, 7))
    with pytest.raises(YamlProblem) as caught:
        load_bytes("a: 1\n".encode("utf-16"), "x")
    assert (caught.value.kind, caught.value.mark) == ("encoding", Mark(1, 1))
    assert "UTF-16" in caught.value.message
    with pytest.raises(YamlProblem) as caught:
        load_bytes(b"a: 1\nb: \x00\n", "x")
    assert (caught.value.kind, caught.value.mark) == ("encoding", Mark(2, 1))


def test_alias_bomb_is_refused_and_aliases_are_shared() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(YamlProblem) as caught:
        load("\n".join(lines), "x")
    assert caught.value.kind == "too-large"
    small = load("\n".join(lines[:3]), "x").data
    assert small["l2"][0] is small["l1"]  # shared, not copied


@pytest.mark.parametrize(
    "text",
    ["a: " + "[" * 5000 + "]" * 5000, "".join(f"{'  ' * i}k{i}:\n" for i in range(2000))],
    ids=["flow", "block"],
)
def test_deep_nesting_is_a_problem_not_a_crash(text: str) -> None:
    with pytest.raises(YamlProblem):
        load(text, "x")


def test_empty_documents() -> None:
    assert load("", "x").data is None
    assert load("# only a comment\n", "x").root is None
    assert load("[]", "x").data == []


def _all_marks(node: Any, out: list[tuple[int, int, int, int, str]]) -> None:
    """Every node's start and end, depth first (aliases visited once per use)."""
    import yaml

    out.append(
        (
            node.start_mark.line,
            node.start_mark.column,
            node.start_mark.index,
            node.end_mark.index,
            node.tag,
        )
    )
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _all_marks(key, out)
            _all_marks(value, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _all_marks(item, out)


def _golden_yaml_files() -> list[Any]:

    root = GOLDEN
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


@pytest.mark.parametrize("source", _golden_yaml_files(), ids=lambda p: p.parent.name + "/" + p.name)
def test_a_tree_composed_again_has_the_marks_of_the_first(source: Any) -> None:
    """The doc keeps only data; a tree composed again when a position is asked for
    gives every node the marks of the tree the data was built from."""
    from dvc_gitops.formats import yamldoc

    try:
        doc = load_bytes(source.read_bytes(), "x")
    except YamlProblem:
        return
    first = doc.root
    if first is None:
        return
    eager: list[tuple[int, int, int, int, str]] = []
    _all_marks(first, eager)
    marks = [doc.value_mark(()), doc.key_mark(("stages",)), doc.value_mark(("stages", "x", 0))]
    del first
    yamldoc._RECENT_TREES.clear()
    assert doc._tree is not None and doc._tree() is None  # not kept with the data
    again = doc.root
    assert again is not None
    lazy: list[tuple[int, int, int, int, str]] = []
    _all_marks(again, lazy)
    assert lazy == eager
    assert [
        doc.value_mark(()),
        doc.key_mark(("stages",)),
        doc.value_mark(("stages", "x", 0)),
    ] == marks


def test_the_node_tree_is_not_kept_with_the_data() -> None:
    import gc

    from dvc_gitops.formats import yamldoc

    doc = load("stages:\n  train:\n    cmd: python train.py\n", "x")
    yamldoc._RECENT_TREES.clear()
    gc.collect()
    assert doc._tree is not None and doc._tree() is None
    assert doc.key_mark(("stages", "train", "cmd")) == Mark(3, 5)
    assert load("", "x").root is None
    null = load("\n\n~\n", "x")
    assert null.data is None and null.value_mark(()) == Mark(3, 1)


def test_gc_paused_restores_the_collector_as_it_found_it() -> None:
    import gc

    from dvc_gitops.formats.yamldoc import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # someone else's pause is theirs to end
    finally:
        gc.enable()
