"""check-dvc-yaml against DVC's own verdicts on 155 real dvc.yaml files.

The corpus (`../shared/corpus`, or `$DVC_GITOPS_CORPUS`) holds one folder per file and
`VERDICTS.tsv`: what DVC 3.67.1 said of it (`dvc stage list --all --fail`, then `dvc dag`).
For every case DVC refuses for a yaml, schema, interpolation or graph reason we must
report at least one error; for every case DVC accepts, no error. The corpus stays
third-party data: it is read in place, never copied into this repository.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from conftest import REPO

from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext, run_checks
from dvc_gitops.hooks.check_dvc_yaml import CHECK

CORPUS = Path(os.environ.get("DVC_GITOPS_CORPUS", REPO.parent / "shared" / "corpus"))
VERDICTS = CORPUS / "VERDICTS.tsv"

# Ours: the schema and YAML rules must agree with DVC on every case of these categories.
OWN_CATEGORIES = ("ok", "yaml", "schema")
# `plugin` cases failed only because the scratch environment that produced the verdicts
# lacked dvc-s3/dvc-gs (they have s3:// or gs:// outputs): a remote-plugin install problem,
# not a property of the file. Structurally DVC accepts them, so we hold them to "no DG1xx
# error" and leave them out of the agreement figure.
OUT_OF_SCOPE = ("plugin",)
# Rules that predict a failure of `dvc repro` (a params file or key, a dep or a wdir that
# is not there), not of the load and `dvc dag` the verdicts come from; the corpus folders
# hold only dvc.yaml and sometimes params.yaml, so these fire on files DVC loaded fine.
REPRO_TIME_CODES = frozenset({"DG216", "DG221", "DG301", "DG302"})


def _cases() -> list[dict[str, str]]:
    if not VERDICTS.is_file():
        return []
    with VERDICTS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


CASES = _cases()
pytestmark = pytest.mark.skipif(not CASES, reason=f"corpus not found at {CORPUS}")


@cache  # the per-case tests and the agreement figure share one run per case
def _errors(case: str) -> list[Finding]:
    project = Project(CORPUS / case)
    findings = run_checks(project, [CHECK], CheckContext(project, None))
    return [f for f in findings if f.severity == "error" and f.code not in REPRO_TIME_CODES]


def _agrees(row: dict[str, str], errors: list[Finding]) -> bool:
    if row["category"] in OUT_OF_SCOPE:
        return not [f for f in errors if f.code.startswith("DG1")]
    return bool(errors) == (row["dvc_verdict"] == "error")


def _describe(row: dict[str, str], errors: list[Finding]) -> str:
    said = "; ".join(f"{f.line}:{f.column} {f.code} {f.message}" for f in errors[:3])
    return (
        f"{row['case']}: DVC says {row['dvc_verdict']} ({row['category']}: "
        f"{row['dvc_first_error_line']!r}); we report {len(errors)} error(s) {said}"
    )


@pytest.mark.parametrize("row", CASES, ids=[r["case"] for r in CASES])
def test_case_agrees_with_dvc(row: dict[str, str]) -> None:
    errors = _errors(row["case"])
    assert _agrees(row, errors), _describe(row, errors)


def test_agreement_figure() -> None:
    tally: Counter[tuple[str, bool]] = Counter()
    wrong = []
    for row in CASES:
        errors = _errors(row["case"])
        agrees = _agrees(row, errors)
        tally[row["category"], agrees] += 1
        if not agrees:
            wrong.append(_describe(row, errors))
    lines = []
    for category in sorted({c for c, _ in tally}):
        good, total = tally[category, True], tally[category, True] + tally[category, False]
        lines.append(f"{category}: {good}/{total}")
    scored = [(c, a) for c, a in tally.elements() if c not in OUT_OF_SCOPE]
    agreed = sum(1 for _, a in scored if a)
    figure = f"agreement with DVC 3.67.1: {agreed}/{len(scored)} ({', '.join(lines)})"
    print(f"\n{figure}")
    own = [(c, a) for c, a in scored if c in OWN_CATEGORIES]
    assert all(a for _, a in own), f"{figure}\n" + "\n".join(wrong)
    assert agreed == len(scored), f"{figure}\n" + "\n".join(wrong)
