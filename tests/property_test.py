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

import os
import re
import shlex
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_gitops import cmd_scripts, mlflow_map

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
