"""check-dvc-yaml: the schema against DVC's own validator, malformed input, start-up cost."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, REPO, VENV_BIN
from dvc_oracle import ask_dvc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_gitops.core.findings import RULES
from dvc_gitops.dvcmodel import schema_check as schema_check_module
from dvc_gitops.dvcmodel.schema import SCHEMA_PATH, is_valid
from dvc_gitops.dvcmodel.schema_check import schema_findings
from dvc_gitops.formats.yamldoc import load
from dvc_gitops.hooks.check_dvc_yaml import main
from dvc_gitops.rules_docs import all_rules

# Our own limits, not DVC's verdicts: a vars file outside the repository is never read
# (DVC reads it), and an expansion past 20,000 stages is refused (DVC tries it).
OUR_LIMITS = ("DG141-", "DG142-")
OWN_CASES = sorted(
    p
    for p in GOLDEN.iterdir()
    if p.is_dir()
    and re.match(r"(DG1\d\d|clean-dvc-yaml)-", p.name)
    and not p.name.startswith(OUR_LIMITS)
)
CONTROL_FILES = {"args.txt", "expected.txt", ".golden-git"}


def test_schema_is_valid_draft7() -> None:
    from jsonschema import Draft7Validator

    Draft7Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def _case_files(case: Path) -> dict[str, str | bytes]:
    return {
        p.relative_to(case).as_posix(): p.read_bytes()
        for p in case.rglob("*")
        if p.is_file()
        and p.name not in CONTROL_FILES
        and not p.name.endswith(".expected")
        and p.relative_to(case).parts[0] != "instead"  # the rule page's corrected files
    }


def _expects_error(case: Path) -> bool:
    all_rules()  # every rule module imported: RULES knows each code
    codes = re.findall(r"^\S+:\d+:\d+: (DG\d+) ", (case / "expected.txt").read_text(), re.M)
    return any(RULES[code].severity == "error" for code in codes)


@pytest.mark.slow
def test_golden_cases_agree_with_dvc(tmp_path: Path) -> None:
    """Every golden case we call an error, DVC 3.67.1 refuses; every other one it loads."""
    verdicts = ask_dvc(tmp_path, {case.name: _case_files(case) for case in OWN_CASES})
    wrong = []
    for case in OWN_CASES:
        dvc_refuses = "error" in verdicts[case.name]
        if dvc_refuses != _expects_error(case):
            wrong.append(f"{case.name}: DVC says {verdicts[case.name]}")
    assert not wrong, "\n".join(wrong)
    assert len(OWN_CASES) >= 40


# --- The fast validator and the detailed one agree, and agree with DVC's schema -----------

NAMES = st.sampled_from(["train", "a.csv", "x", "cmd", "1"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from(["", "text", "${flag}", "python train.py"]),
)
KEYS = st.sampled_from(
    [
        *schema_check_module.STAGE_KEYS,
        *schema_check_module.OUTPUT_FLAGS,
        *schema_check_module.PLOT_PROPERTIES,
        "header",
        "checkpoint",
        "path",
        "foreach",
        "do",
        "outs_persist",
        "dep",
        "train",
        "a.csv",
    ]
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(KEYS, st.integers(0, 1)), inner, max_size=4),
    ),
    max_leaves=12,
)
STAGE = st.dictionaries(KEYS, VALUES, max_size=5) | VALUES
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "stages": st.dictionaries(NAMES, STAGE, max_size=3) | VALUES,
        "vars": VALUES,
        "params": VALUES,
        "metrics": VALUES,
        "plots": st.lists(
            st.one_of(st.text("ab.", max_size=3), st.dictionaries(NAMES, VALUES, max_size=2)),
            max_size=2,
        )
        | VALUES,
        "artifacts": st.dictionaries(NAMES, st.dictionaries(KEYS, VALUES, max_size=3)) | VALUES,
        "datasets": VALUES,
    },
)


@cache
def _dvc_accepts() -> Callable[[Any], bool]:
    """DVC's own validator of dvc.yaml (the test may import dvc; the checks never do)."""
    schema = pytest.importorskip("dvc.schema")
    import voluptuous

    def accepts(data: Any) -> bool:
        try:
            schema.COMPILED_MULTI_STAGE_SCHEMA(data)
        except voluptuous.Invalid:
            return False
        return True

    return accepts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_schema_matches_dvcs_validator(data: dict[str, Any]) -> None:
    assert is_valid(data) == _dvc_accepts()(data), data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_every_invalid_document_gets_an_error_finding(data: dict[str, Any]) -> None:
    # JSON is YAML: the document gets marks for every key and value
    doc = load(json.dumps(data, ensure_ascii=False), "dvc.yaml")
    findings = list(schema_findings(doc))
    errors = [f for f in findings if f.severity == "error"]
    if data and is_valid(doc.data):
        assert not errors, findings
    elif data:
        assert errors, data


# --- Malformed input: one line with a position, exit 1, never a traceback -----------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            r"dvc\.yaml:1:1: DG105 .*NUL|dvc\.yaml:1:1: DG105",
        ),
        (b"stages:\n  a:\n    cmd: caf\xe9\n", r"dvc\.yaml:3:13: DG105 not valid UTF-8"),
        (b"", r"dvc\.yaml:1:1: DG107 "),
        (b"- train\n- test\n", r"dvc\.yaml:1:1: DG104 "),
        (b"42\n", r"dvc\.yaml:1:1: DG104 "),
        (b"stages: [\n", r"dvc\.yaml:1:9: DG101 "),
        (b"a: &a [x, x]\nb: *zzz\n", r"dvc\.yaml:2:4: DG101 .*undefined alias"),
        (b"stages:\n  a:\n    cmd: x\n    cmd: y\n", r"dvc\.yaml:4:5: DG102 "),
        (b"{" * 2000 + b"}" * 2000, r"dvc\.yaml:1:\d+: DG106 .*nests too deeply"),
        (b"stages:\n" + b"  " * 1500 + b"x: 1\n", r"dvc\.yaml:\d+:\d+: DG1\d\d "),
    ],
    ids=[
        "binary",
        "latin1",
        "empty",
        "list",
        "scalar",
        "unclosed",
        "bad-alias",
        "duplicate",
        "deep-flow",
        "deep-indent",
    ],
)
def test_malformed_input_gives_one_line(
    content: bytes,
    expected: str,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(make_repo({"dvc.yaml": content}))
    code = main(["dvc.yaml"])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert len(lines) == 2, out  # the finding and the summary
    assert re.match(expected, lines[0]), lines[0]
    assert code == 1


def test_yaml_bomb_is_refused_quickly(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    in_dir(make_repo({"dvc.yaml": "\n".join(lines) + "\n"}))
    assert main(["dvc.yaml"]) == 1
    assert re.match(r"dvc\.yaml:\d+:\d+: DG106 .*YAML bomb", capsys.readouterr().out)


def test_huge_file_is_refused_without_reading_it(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo({}))
    with (root / "dvc.yaml").open("wb") as f:  # sparse: 40 MiB on paper, nothing on disk
        f.truncate(40 * 2**20)
    assert main(["dvc.yaml"]) == 1
    out = capsys.readouterr().out
    assert re.match(r"dvc\.yaml:1:1: DG002 larger than 32 MiB", out), out


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfstages:\n  train:\n    cmd: python train.py\n",
        b"stages:\r\n  train:\r\n    cmd: python train.py\r\n",
        b"\xef\xbb\xbfstages:\r\n  train:\r\n    cmd: python train.py\r\n"
        b"    desc: \xc3\xa9t\xc3\xa9\r\n",
    ],
    ids=["bom", "crlf", "bom-crlf-utf8"],
)
def test_bom_and_crlf_are_fine(
    content: bytes,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(make_repo({"dvc.yaml": content}))
    assert main(["--select", "DG1", "dvc.yaml"]) == 0
    assert capsys.readouterr().out == "No findings.\n"


def test_crlf_positions_are_lines_not_bytes(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(make_repo({"dvc.yaml": b"stages:\r\n  train:\r\n    cmd: x\r\n    dep: [a]\r\n"}))
    assert main(["dvc.yaml"]) == 1
    assert capsys.readouterr().out.startswith("dvc.yaml:4:5: DG110 unknown key `dep`")


# --- Start-up cost: no dvc, no jsonschema unless a file fails -----------------------------

_PROBE = """
import sys, os
os.chdir(sys.argv[1])
from dvc_gitops.hooks import check_dvc_yaml
print("import:", sorted(m for m in ("dvc", "jsonschema", "fastjsonschema") if m in sys.modules))
check_dvc_yaml.main(["--select", "DG1", "dvc.yaml"])
print("checked:", sorted(m for m in ("dvc", "jsonschema") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("text", "after"),
    [("stages:\n  a:\n    cmd: x\n", "[]"), ("stages:\n  a:\n    cmd: 1\n", "['jsonschema']")],
    ids=["valid", "invalid"],
)
def test_imports_stay_light(text: str, after: str, make_repo: Callable[..., Path]) -> None:
    root = make_repo({"dvc.yaml": text})
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _PROBE, str(root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert "import: []" in done.stdout
    assert f"checked: {after}" in done.stdout


def test_findings_are_sorted_and_stable() -> None:
    doc = load("stages:\n  b:\n    cmd: 1\n  a:\n    dep: [x]\n", "dvc.yaml")
    findings = [(f.line, f.column, f.code) for f in schema_findings(doc)]
    assert sorted(findings) == sorted({*findings})
    assert (5, 5, "DG110") in findings and (4, 3, "DG114") in findings
    assert (3, 10, "DG112") in findings


def test_generated_validator_is_current() -> None:
    """The committed fast validator was generated from the schema as it is now."""
    import os

    from dvc_gitops.dvcmodel import validator
    from dvc_gitops.dvcmodel.schema import GENERATED_VALIDATOR, generate_validator

    if os.environ.get("GOLDEN_UPDATE"):
        GENERATED_VALIDATOR.write_text(generate_validator())
        subprocess.run([str(VENV_BIN / "ruff"), "format", str(GENERATED_VALIDATOR)], check=True)
        pytest.skip("regenerated: run again")
    digest = re.search(r'SCHEMA_SHA256 = "(\w+)"', generate_validator())
    assert digest and digest.group(1) == validator.SCHEMA_SHA256, (
        "the schema changed: regenerate with GOLDEN_UPDATE=1"
    )


def test_inline_suppression_and_json_output(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(
        make_repo(
            {
                "dvc.yaml": "stages:\n  train:\n    cmd: x\n"
                "    dep: [a]  # dvc-gitops: ignore[DG110]\n"
                "    frozen: yes  # dvc-gitops: ignore[DG113]\n"
            }
        )
    )
    assert main(["--select", "DG0,DG1", "--format", "json", "dvc.yaml"]) == 1
    report = json.loads(capsys.readouterr().out)
    found = [(f["code"], f["line"], f["column"], f["severity"]) for f in report["findings"]]
    # DG110 is suppressed; the DG113 comment suppresses nothing (the finding is DG112)
    assert found == [("DG112", 5, 13, "error"), ("DG001", 5, 18, "warning")]


YAMLISH = st.lists(
    st.sampled_from([*"stages:cmd deps-outs[]{},'\"#&*!|>\t\n0yes~@`%", "\n  ", ": ", "- "]),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(YAMLISH.map(str.encode), st.binary(max_size=60)))
def test_any_input_gives_findings_never_an_exception(raw: bytes) -> None:
    from dvc_gitops.formats.yamldoc import YamlProblem, load_bytes

    try:
        doc = load_bytes(raw, "dvc.yaml")
    except YamlProblem as problem:
        assert problem.mark.line >= 1 and problem.mark.column >= 1
        assert "\n" not in problem.message
        return
    for finding in schema_findings(doc):
        assert finding.line >= 1 and finding.column >= 1
        assert "\n" not in finding.message
