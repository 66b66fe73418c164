"""`${...}` templating as DVC 3 does it: selection, typing, escapes, dicts into cmd.

The same behaviours are compared with the real DVC in model_test.py; these tests pin the
edge cases one by one, fast.
"""

from __future__ import annotations

from typing import Any

import pytest

from dvc_gitops.dvcmodel.interpolation import (
    Context,
    InterpolationError,
    dict_to_flags,
    has_template,
    looks_like_shell,
    parse_expression,
    with_iteration,
)


def context(**data: Any) -> Context:
    ctx = Context()
    ctx.merge(data, "params.yaml", is_file=True)
    return ctx


@pytest.mark.parametrize(
    ("inner", "parts"),
    [
        ("a", ["a"]),
        ("a.b.c", ["a", "b", "c"]),
        ("a[0]", ["a", "0"]),
        ("a[0].b", ["a", "0", "b"]),
        (" a ", ["a"]),
        ("models[1][2]", ["models", "1", "2"]),
    ],
)
def test_expressions(inner: str, parts: list[str]) -> None:
    assert parse_expression(inner) == parts


@pytest.mark.parametrize("inner", ["", "a..b", ".a", "a.", "a[", "a[]", "a]"])
def test_bad_expressions(inner: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        parse_expression(inner)
    assert caught.value.kind == "syntax"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("${n}", 3),  # a whole-string template keeps its type
        ("${flag}", True),
        ("${none}", None),
        ("${xs}", [1, 2]),
        ("n=${n}", "n=3"),
        ("${flag} ${off}", "true false"),
        ("${f}", 1e-05),
        ("f=${f}", "f=1e-05"),
        ("${none}-x", "None-x"),
        ("${xs[1]}", 2),
        ("${xs.0}", 1),
        ("${d.k}", "v"),
        ("\\${n}", "${n}"),  # escaped
        ("a \\${n} ${n}", "a ${n} 3"),
        ("$n ${n}", "$n 3"),
        ("no templates", "no templates"),
    ],
)
def test_typing_rules(text: str, value: Any) -> None:
    ctx = context(n=3, flag=True, off=False, none=None, xs=[1, 2], f=1e-05, d={"k": "v"})
    assert ctx.resolve_text(text, key=None) == value


def test_dicts_go_only_into_cmd_and_lists_nowhere_in_text() -> None:
    ctx = context(d={"lr": 0.1}, xs=[1])
    assert ctx.resolve_text("run ${d}", key="cmd") == "run --lr 0.1"
    for key, text in [("outs", "${d}"), ("deps", "x/${d}"), ("cmd", "echo ${xs}")]:
        with pytest.raises(InterpolationError) as caught:
            ctx.resolve_text(text, key=key)
        assert caught.value.kind == "type"
    assert ctx.resolve_text("${xs}", key="foreach") == [1]


@pytest.mark.parametrize(
    ("config", "flags"),
    [
        ({}, "--on --n 3 --name 'a b' --xs 1 two --deep.k 1 --none None"),
        (
            {"bool": "boolean_optional", "list": "append"},
            "--on --no-off --n 3 --name 'a b' --xs 1 --xs two --deep.k 1 --none None",
        ),
    ],
)
def test_dict_into_cmd(config: dict[str, str], flags: str) -> None:
    value = {
        "on": True,
        "off": False,
        "n": 3,
        "name": "a b",
        "xs": [1, "two"],
        "deep": {"k": 1},
        "none": None,
    }
    assert dict_to_flags(value, config) == flags


def test_nested_lists_cannot_become_flags() -> None:
    with pytest.raises(InterpolationError):
        dict_to_flags({"xs": [[1]]}, {})


def test_missing_keys_and_shell_syntax() -> None:
    ctx = context(a={"b": 1})
    with pytest.raises(InterpolationError) as missing:
        ctx.resolve_text("${a.c}", key="cmd")
    assert (missing.value.kind, missing.value.message) == ("missing", "could not find 'a.c'")
    for text in ["${ENV:-dev}", "${HOME}", "${#list}", "${VAR/x/y}"]:
        with pytest.raises(InterpolationError) as shell:
            ctx.resolve_text(text, key="cmd")
        assert shell.value.kind == "shell", text
    assert looks_like_shell("X:-1") and not looks_like_shell("train.lr")


def test_redefinition_is_refused_and_nested_mappings_merge() -> None:
    ctx = context(train={"lr": 1})
    ctx.merge({"train": {"epochs": 2}}, "other.yaml", is_file=True)
    assert ctx.data == {"train": {"lr": 1, "epochs": 2}}
    with pytest.raises(InterpolationError) as caught:
        ctx.merge({"train": {"lr": 5}}, "vars[0]", is_file=False)
    assert caught.value.kind == "redefined"
    assert "'train.lr' from 'vars[0]' is already defined in 'params.yaml'" in str(caught.value)


def test_item_and_key_are_reserved_inside_iterations() -> None:
    ctx = with_iteration(context(a=1), {"item": "x", "key": "k"})
    assert ctx.resolve_text("${item}-${key}-${a}", key="cmd") == "x-k-1"
    with pytest.raises(InterpolationError) as caught:
        ctx.copy().merge({"item": 2}, "vars[0]", is_file=False)
    assert caught.value.kind == "reserved"


def test_used_keys_are_recorded_per_file() -> None:
    ctx = context(train={"lr": 1, "seed": 2}, models=["a"])
    ctx.merge({"local": 1}, "vars[0]", is_file=False)
    ctx.resolve_text("${train.lr} ${models[0]} ${local}", key="cmd")
    assert ctx.used == {("params.yaml", ("train", "lr")), ("params.yaml", ("models",))}


def test_templates_are_found_in_keys_and_nested_values() -> None:
    assert has_template({"${a}": 1})
    assert has_template([{"x": ["${b}"]}])
    assert not has_template({"a": ["\\${b}", 1]})
