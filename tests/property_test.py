"""Property tests: generated documents, valid and mutated, never make a hook fall over.

Every static hook's `main` runs in-process on repositories built from generated
dvc.yaml, params.yaml, requirements, MLflow map and .dvc/config documents; it must exit
0, 1 or 2, print no traceback, and write one-line messages. Fixers must change only what
they mean to change.

The examples are derandomized (the same every run) and bounded so the file runs in well
under two minutes on two cores. A longer run explores more:

    PROPERTY_EXAMPLES=2000 .venv/bin/pytest tests/property_test.py

(the variable multiplies nothing: it is the example count of each test).
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

import yaml
from conftest import write_tree
from hook_invariants import assert_contract, run_all, run_hook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_gitops.dvcmodel import commands as cmd_scripts
from dvc_gitops.export import mermaid
from dvc_gitops.hooks import check_dvc_deps, dvc_dag_docs
from dvc_gitops.mlflow import map as mlflow_map

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)

# Scalars YAML gives: the ones that trip type checks (bool is an int in Python).
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.text(max_size=6),
)
KEYS = st.one_of(st.text(max_size=6), st.integers(0, 2), st.none())
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, max_size=3),
    ),
    max_leaves=12,
)


def map_documents() -> st.SearchStrategy[Any]:
    """Map-shaped data, from valid to every field of the wrong kind."""
    entry = st.fixed_dictionaries(
        {"experiment": st.one_of(st.text(max_size=8), JSON_LIKE)},
        optional={
            "registered_model": st.one_of(st.text(max_size=8), JSON_LIKE),
            "description": st.one_of(st.text(max_size=8), JSON_LIKE),
            "other": JSON_LIKE,
        },
    )
    stages = st.dictionaries(st.one_of(st.text(max_size=8), SCALARS), st.one_of(entry, JSON_LIKE))
    document = st.fixed_dictionaries(
        {},
        optional={
            "version": st.one_of(st.just(1), st.just(1.0), SCALARS),
            "tracking_uri": st.one_of(st.text(max_size=8), SCALARS),
            "stages": st.one_of(stages, JSON_LIKE),
            "extra": JSON_LIKE,
        },
    )
    return st.one_of(document, JSON_LIKE)


@SETTINGS
@given(map_documents())
def test_map_fast_validator_agrees_with_jsonschema(data: Any) -> None:
    # The hook answers "valid" from fastjsonschema alone; jsonschema is the reference.
    errors = list(mlflow_map._validator().iter_errors(data))
    assert mlflow_map._surely_valid(data) == (not errors), errors


def _shlex_words(text: str) -> list[str]:
    """What cmd_scripts' lexer gives, without its fast path."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=cmd_scripts._OPERATOR_CHARS)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    return list(lexer)


@SETTINGS
@given(st.text(alphabet=" \t\r\n\x0b\x0c\xa0abc.=/-_é${}~*?:@%+'\"\\#();<>|&", max_size=30))
def test_cmd_fast_split_matches_shlex(cmd: str) -> None:
    text = re.sub(r"\\\r?\n", " ", cmd)
    try:
        expected: list[str] | str = _shlex_words(text)
    except ValueError as exc:
        expected = f"ValueError: {exc}"
    try:
        got: list[str] | str = cmd_scripts._split(cmd)
    except ValueError as exc:
        got = f"ValueError: {exc}"
    assert got == expected


# Every static hook on generated repositories ------------------------------------------
NAMES = st.sampled_from(["train", "prep", "eval", "fe", "a-b", "x_1", "data", "s"])
PATHS = st.sampled_from(["train.py", "data/raw.csv", "out", "model.pkl", "../up", "a b.txt"])


def _stage() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"cmd": st.one_of(st.just("python train.py"), st.text(max_size=20), SCALARS)},
        optional={
            "deps": st.lists(st.one_of(PATHS, SCALARS), max_size=3),
            "outs": st.lists(st.one_of(PATHS, st.dictionaries(PATHS, JSON_LIKE)), max_size=3),
            "params": st.lists(st.one_of(st.sampled_from(["lr", "train.lr"]), JSON_LIKE)),
            "wdir": st.one_of(st.sampled_from([".", "sub", "../x"]), SCALARS),
            "foreach": st.one_of(st.lists(st.integers(0, 3), max_size=3), st.just("${models}")),
            "do": st.fixed_dictionaries({"cmd": st.just("python train.py ${item}")}),
            "matrix": st.dictionaries(NAMES, st.lists(st.integers(0, 2), max_size=2)),
            "frozen": SCALARS,
            "always_changed": SCALARS,
        },
    )


def _dvc_yaml() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {"stages": st.dictionaries(NAMES, st.one_of(_stage(), JSON_LIKE), max_size=4)},
            optional={"vars": JSON_LIKE, "params": JSON_LIKE, "metrics": JSON_LIKE},
        ),
        JSON_LIKE,
    )


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


JUNK = ["", ":", "- ", "\t", "\0", "&a ", "*a", "${", "[", "'", "\n  ", "\ufeff", "é"]


@st.composite
def _mutated(draw: st.DrawFn, text: st.SearchStrategy[str]) -> str:
    """A document's text, sometimes cut, spliced or sprinkled with hostile characters."""
    value = draw(text)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(value)))
        cut = draw(st.integers(0, 5))
        junk = draw(
            st.sampled_from(["", ":", "- ", "\t", "\0", "&a ", "*a", "${", "[", "'", "\n  "])
        )
        value = value[:at] + junk + value[at + cut :]
    return value


REQUIREMENT_LINES = st.sampled_from(
    [
        "dvc==3.67.1",
        "dvc>=3",
        "dvc",
        "dvc[s3]==3.67.1",
        "dvc-s3==3.2.0",
        "-r other.txt",
        "-c c.txt",
        "# comment",
        "",
        "numpy",
        "dvc @ git+https://x/dvc",
        "--hash=sha256:ab",
    ]
)
CONFIG_LINES = st.sampled_from(
    [
        "[core]",
        "    remote = s",
        "['remote \"s\"']",
        "    url = s3://b/p",
        "    url = /tmp/x",
        "    secret_access_key = abc",
        "[cache]",
        "    type = symlink",
        "# c",
        "",
        "x",
    ]
)


def _files() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {
            "dvc.yaml": _mutated(_dvc_yaml().map(_dump)),
            "train.py": st.just("import mlflow\nmlflow.set_experiment('e')\n"),
        },
        optional={
            "params.yaml": _mutated(JSON_LIKE.map(_dump)),
            "sub/dvc.yaml": _mutated(_dvc_yaml().map(_dump)),
            "requirements.txt": _mutated(st.lists(REQUIREMENT_LINES).map("\n".join)),
            "mlflow-experiments.yaml": _mutated(map_documents().map(_dump)),
            ".dvc/config": _mutated(st.lists(CONFIG_LINES).map("\n".join)),
        },
    )


@SETTINGS
@given(_files())
def test_every_hook_keeps_the_contract_on_generated_repositories(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = write_tree(Path(scratch), {".dvc/.gitignore": "", **files})
        run_all(root)  # each hook: exit 0/1/2, no traceback, one-line messages


# Fixers keep every byte they do not mean to change -------------------------------------
COMMENTS = st.sampled_from(["", "  # note", "  # dvc-gitops: keep", " #x"])


@st.composite
def _dvc_yaml_missing_scripts(draw: st.DrawFn) -> str:
    """Block-style stages whose script is missing from deps, with comments and blanks."""
    lines = [f"# {draw(st.text(alphabet='abc :-', max_size=10))}", "stages:"]
    for i in range(draw(st.integers(1, 4))):
        lines.append(f"  s{i}:{draw(COMMENTS)}")
        quote = draw(st.sampled_from(["", "'", '"']))
        lines.append(f"    cmd: {quote}python step{i}.py --n {i}{quote}{draw(COMMENTS)}")
        if draw(st.booleans()):
            lines += ["    deps:", f"      - data{i}.csv{draw(COMMENTS)}"]
        if draw(st.booleans()):
            lines.append("")
        lines += ["    outs:", f"      - out{i}"]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(_dvc_yaml_missing_scripts())
def test_deps_fix_only_inserts_the_missing_scripts(text: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        files = {"dvc.yaml": text, **{f"step{i}.py": "" for i in range(4)}}
        write_tree(root, {**files, **{f"data{i}.csv": "" for i in range(4)}})
        outcome = run_hook("check-dvc-deps --fix", check_dvc_deps.main, ["--fix"], root)
        assert_contract(outcome)
        after = (root / "dvc.yaml").read_text(encoding="utf-8")
    before_lines, after_lines = text.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=before_lines, b=after_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, before_lines[i1:i2], after_lines[j1:j2])
        if tag == "insert":
            for line in after_lines[j1:j2]:
                assert re.fullmatch(r" +(deps:|- step\d\.py)", line), line


@SETTINGS
@given(st.text(max_size=80), st.text(max_size=80), st.sampled_from(["\n", "\r\n"]))
def test_dag_docs_changes_only_the_lines_between_the_markers(
    before: str, after: str, newline: str
) -> None:
    start, end = mermaid.START, mermaid.END
    if start in before + after or end in before + after:
        return
    document = f"{before}{newline}{start}{newline}old{newline}{end}{newline}{after}"
    with tempfile.TemporaryDirectory() as scratch:
        root = write_tree(
            Path(scratch),
            {"dvc.yaml": "stages:\n  a:\n    cmd: echo\n    outs: [x]\n", "README.md": ""},
        )
        (root / "README.md").write_bytes(document.encode("utf-8"))
        outcome = run_hook("dvc-dag-docs", dvc_dag_docs.main, [], root)
        assert_contract(outcome)
        written = (root / "README.md").read_bytes().decode("utf-8")
    if outcome.code == 2:
        return  # refused (e.g. markers it cannot place): nothing may change
    head = f"{before}{newline}{start}"
    assert written.startswith(head)
    assert written.endswith(f"{end}{newline}{after}")
