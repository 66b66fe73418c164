"""Graph rules against the real DVC: every pipeline `dvc dag` refuses gets its error.

Pipelines DVC accepts must get no error finding (warnings like stage order are fine).
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, GOLDEN, VENV_BIN, git, git_init, write_tree
from dvc_oracle import ask_dvc

from dvc_gitops.core.findings import RULES, Finding
from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel import graph as graph_checks
from dvc_gitops.dvcmodel import params as params_checks
from dvc_gitops.dvcmodel.model import pipeline_of


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


REFUSED = {
    "two-stages-one-out": (
        "stages:\n  a: {cmd: x, outs: [data.csv]}\n  b: {cmd: x, outs: [data.csv]}\n",
        "DG210",
    ),
    "outs-and-metrics": (
        "stages:\n  a: {cmd: x, outs: [m.json], metrics: [m.json]}\n",
        "DG210",
    ),
    "out-inside-out": (
        "stages:\n  a: {cmd: x, outs: [data]}\n  b: {cmd: x, outs: [data/x.csv]}\n",
        "DG211",
    ),
    "overlap-in-one-stage": (
        "stages:\n  a: {cmd: x, outs: [out, out/stats/e.csv]}\n",
        "DG211",
    ),
    "cycle": (
        d(
            """
            stages:
              a: {cmd: x, deps: [y], outs: [x]}
              b: {cmd: x, deps: [z], outs: [y]}
              c: {cmd: x, deps: [x], outs: [z]}
            """
        ),
        "DG212",
    ),
    "dep-is-own-out": ("stages:\n  a: {cmd: x, deps: [d.csv], outs: [d.csv]}\n", "DG213"),
    "dep-inside-own-out": ("stages:\n  a: {cmd: x, deps: [d/x], outs: [d]}\n", "DG213"),
    "out-is-dvc-file": ("stages:\n  a: {cmd: x, outs: [data.dvc]}\n", "DG214"),
    "out-is-dvc-yaml": ("stages:\n  a: {cmd: x, outs: [sub/dvc.yaml]}\n", "DG214"),
}

ACCEPTED = {
    "same-out-twice-in-one-list": "stages:\n  a: {cmd: x, outs: [o.txt, o.txt]}\n",
    "chain": "stages:\n  a: {cmd: x, outs: [a]}\n  b: {cmd: x, deps: [a], outs: [b]}\n",
    "dep-dir-over-outs": d(
        """
        stages:
          a: {cmd: x, outs: [data/a.csv]}
          b: {cmd: x, outs: [data/b.csv]}
          c: {cmd: x, deps: [data], outs: [report]}
        """
    ),
    "declared-out-of-order": (
        "stages:\n  b: {cmd: x, deps: [a], outs: [b]}\n  a: {cmd: x, outs: [a]}\n"
    ),
    "sibling-prefix-names": (
        "stages:\n  a: {cmd: x, outs: [data]}\n  b: {cmd: x, outs: [data2/x]}\n"
    ),
}


@pytest.fixture(scope="module")
def dvc_says(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, str]] = {
        **{k: {"dvc.yaml": v} for k, (v, _) in REFUSED.items()},
        **{k: {"dvc.yaml": v} for k, v in ACCEPTED.items()},
        "dvc-yaml-inside-out": {
            "dvc.yaml": "stages:\n  a: {cmd: x, outs: [sub]}\n",
            "sub/dvc.yaml": "stages:\n  b: {cmd: x}\n",
        },
    }
    return ask_dvc(tmp_path_factory.mktemp("graph"), cases)


def findings(root: Path) -> list[Finding]:
    return sorted(graph_checks.check(CheckContext(Project(root), None)))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_dvc_refuses_is_an_error_at_the_entry(
    name: str, dvc_says: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    text, code = REFUSED[name]
    assert "error" in dvc_says[name], dvc_says[name]
    found = findings(write_tree(tmp_path, {"dvc.yaml": text}))
    assert code in {f.code for f in found if f.severity == "error"}, found


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_what_dvc_accepts_gets_no_error(
    name: str, dvc_says: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    assert "error" not in dvc_says[name], dvc_says[name]
    found = findings(write_tree(tmp_path, {"dvc.yaml": ACCEPTED[name]}))
    assert [f for f in found if f.severity == "error"] == []


@pytest.mark.slow
def test_a_dvc_yaml_inside_an_output(dvc_says: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # DVC does not descend into the output folder: sub/dvc.yaml's stage vanishes.
    assert list(dvc_says["dvc-yaml-inside-out"]["stages"]) == ["a"]
    root = write_tree(
        tmp_path,
        {
            "dvc.yaml": "stages:\n  a: {cmd: x, outs: [sub]}\n",
            "sub/dvc.yaml": "stages:\n  b: {cmd: x}\n",
        },
    )
    found = findings(root)
    assert [(f.code, f.path, f.line, f.column) for f in found] == [("DG215", "dvc.yaml", 2, 22)]
    assert "contains 'sub/dvc.yaml': DVC never loads its stages" in found[0].message
    assert list(pipeline_of(Project(root)).stages) == ["a"]


def test_duplicate_output_names_both_stages_at_the_second(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"dvc.yaml": REFUSED["two-stages-one-out"][0]})
    (finding,) = findings(root)
    assert (finding.line, finding.column) == (3, 22)
    assert "also declared by stage 'a' (dvc.yaml:2)" in finding.message


def test_cycle_is_named_in_order(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"dvc.yaml": REFUSED["cycle"][0]})
    (finding,) = findings(root)
    assert finding.code == "DG212"
    assert "a -> c -> b -> a" in finding.message
    assert (finding.line, finding.column) == (2, 22)  # a's dep `y`, written by b


def test_stage_order_warning_gives_the_order_to_use(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "dvc.yaml": d(
                """
                stages:
                  train: {cmd: x, deps: [features], outs: [model]}
                  featurize: {cmd: x, deps: [prepared], outs: [features]}
                  prepare: {cmd: x, outs: [prepared]}
                """
            ),
            "prepared": "",
        },
    )
    found = [f for f in findings(root) if f.code == "DG218"]
    assert [(f.line, f.severity) for f in found] == [(2, "warning"), (3, "warning")]
    assert found[0].message.endswith("declare the stages in run order: prepare, featurize, train")


def test_missing_dep_is_an_error_unless_something_provides_it(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "dvc.yaml": d(
                """
                stages:
                  b: {cmd: x, outs: [gen]}
                  a:
                    cmd: x
                    wdir: src
                    deps: [run.py, ../data/raw.csv, ../gen/out.csv, ../tracked/x.csv, typo.py]
                """
            ),
            "src/run.py": "",
            "data/raw.csv.dvc": "outs:\n- path: raw.csv\n  md5: 0\n",
            "tracked.dvc": "outs:\n- path: tracked\n",
        },
    )
    found = findings(root)
    # Not git-ignored: nothing will supply it, and `dvc repro` fails on it.
    assert [(f.code, f.severity, f.column) for f in found] == [("DG216", "error", 71)]
    assert "'src/typo.py'" in found[0].message


@pytest.mark.slow
def test_a_cached_output_committed_to_git(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "dvc.yaml": d(
                """
                stages:
                  a:
                    cmd: x
                    outs: [model.pkl, data, {notes.txt: {cache: false}}]
                """
            ),
            "model.pkl": "m",
            "data/part.csv": "p",
            "notes.txt": "n",
            ".dvc/config": "",
        },
    )
    git_init(root)
    found = findings(root)
    assert [(f.code, f.column) for f in found] == [("DG217", 12), ("DG217", 23)]
    assert "git rm -r --cached model.pkl" in found[0].message
    git(root, "rm", "-q", "-r", "--cached", "model.pkl", "data")
    assert findings(root) == []


@pytest.mark.skipif(not (CORPUS / "VERDICTS.tsv").exists(), reason="corpus not present")
def test_corpus_agreement_on_interpolation_and_graph() -> None:
    """Every case DVC rejects for interpolation or graph reasons gets an error from the
    model's rules; no case DVC accepts gets one. Params rules DVC checks only when
    `repro` runs (RUN_TIME_CODES) are outside a load-time verdict."""
    rows = [line.split("\t") for line in (CORPUS / "VERDICTS.tsv").read_text().splitlines()[1:]]
    wrong: list[str] = []
    judged = 0
    for case, verdict, category, *_ in rows:
        context = CheckContext(Project(CORPUS / case), None)
        errors = [
            f
            for f in [*graph_checks.check(context), *params_checks.check(context)]
            if f.severity == "error"
            and f.code not in params_checks.RUN_TIME_CODES | graph_checks.RUN_TIME_CODES
        ]
        if category in ("interpolation", "graph"):
            judged += 1
            if not errors:
                wrong.append(f"{case}: DVC refuses it ({category}), no error found")
        elif verdict == "ok" or category == "plugin":
            judged += 1
            if errors:
                wrong.append(f"{case}: DVC accepts it, yet {errors[0]}")
    print(f"corpus agreement (interpolation, graph, accepted): {judged - len(wrong)}/{judged}")
    assert wrong == []


# Errors DVC raises only later than loading the pipeline: at `repro` (params, git-tracked
# outputs), or never, silently dropping stages (a dvc.yaml inside an output folder).
LATER_THAN_LOAD = {"DG215", "DG216", "DG217", "DG221", "DG301", "DG302"}


def _golden_cases() -> list[Path]:
    # The oracle resolves each case without git and with its own .dvc/config: cases whose
    # verdict rests on git (.gitignore) or on the project's DVC config are tested apart.
    return sorted(
        p
        for p in GOLDEN.glob("DG*")
        if p.is_dir()
        and p.name.startswith(("DG21", "DG22", "DG3"))
        and not (p / ".golden-git").exists()
        and not (p / ".dvc" / "config").exists()
    )


@pytest.mark.slow
def test_golden_cases_agree_with_dvc(tmp_path: Path) -> None:
    """Each golden case of these rules: DVC refuses to load it exactly when it shows an
    error DVC raises at load or graph time."""
    cases: dict[str, dict[str, str]] = {}
    expect_error: dict[str, bool] = {}
    for case in _golden_cases():
        files = {
            p.relative_to(case).as_posix(): p.read_text()
            for p in case.rglob("*")
            if p.is_file()
            and p.name not in ("args.txt", "expected.txt", ".golden-git")
            and p.relative_to(case).parts[0] != "instead"  # the rule page's corrected files
            # The oracle makes each case a DVC project of its own already.
            and p.relative_to(case).parts[0] != ".dvc"
        }
        cases[case.name] = files
        codes = {
            line.split(" ")[1]
            for line in (case / "expected.txt").read_text().splitlines()
            if ": DG" in line
        }
        severe = {c for c in codes if RULES[c].severity == "error"} - LATER_THAN_LOAD
        expect_error[case.name] = bool(severe)
    said = ask_dvc(tmp_path, cases)
    disagree = [
        f"{name}: we {'expect' if expect_error[name] else 'do not expect'} a DVC error; "
        f"DVC says {said[name].get('error', 'ok')}"
        for name in cases
        if ("error" in said[name]) != expect_error[name]
    ]
    assert disagree == []


@pytest.mark.slow
def test_dvc_repro_really_refuses_an_output_committed_to_git(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo new > model.pkl\n    outs: [model.pkl]\n"},
    )
    (root / "model.pkl").write_text("old\n")
    git_init(root)
    subprocess.run([str(VENV_BIN / "dvc"), "init", "-q"], cwd=root, check=True)
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), "repro"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "already tracked by SCM" in done.stderr
    assert [f.code for f in findings(root)] == ["DG217"]
