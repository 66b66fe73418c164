"""The baseline: today's findings recorded, only new ones reported, fixed ones dropped."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dvc_gitops.cli import main as cli_main
from dvc_gitops.core import baseline as baselines
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project
from dvc_gitops.hooks.check_dvc_deps import main as check_dvc_deps
from dvc_gitops.hooks.check_dvc_yaml import main as check_dvc_yaml

# Findings of today: scripts missing from deps (DG201) and a key DVC refuses (DG110).
TODAY = (
    "stages:\n"
    "  prepare:\n"
    "    cmd: python prepare.py\n"
    "    outs:\n"
    "      - prepared.csv\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps:\n"
    "      - data.csv\n"
    "    owner: data-team\n"
    "    outs:\n"
    "      - model.pkl\n"
)
SCRIPTS = {
    ".dvc/config": "",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
    "prepare.py": "",
    "train.py": "",
    "data.csv": "x\n",
    "requirements.txt": "dvc==3.67.1\n",
}
# Lines added above both findings: they move, they are the same findings.
MOVED = TODAY.replace("stages:\n", "stages:\n  fetch:\n    cmd: echo hi\n    deps: [data.csv]\n", 1)


@pytest.fixture
def repo(make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]) -> Path:
    return in_dir(make_repo({"dvc.yaml": TODAY, **SCRIPTS}, git=True))


def check(*args: str) -> int:
    return cli_main(["check", *args])


def test_baseline_records_today_and_check_reports_nothing(repo: Path, capsys) -> None:
    assert check() == 1
    assert cli_main(["baseline"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-2] == ".dvc-gitops-baseline.json: written, 3 findings recorded."
    document = json.loads((repo / ".dvc-gitops-baseline.json").read_text())
    assert [(e["code"], e["where"]) for e in document["findings"]] == [
        ("DG110", "stages.train.owner"),
        ("DG201", "stages.prepare.cmd"),
        ("DG201", "stages.train.cmd"),
    ]
    assert check("--baseline", ".dvc-gitops-baseline.json") == 0
    assert capsys.readouterr().out == "No findings.\n"
    # A second run writes the same bytes.
    assert cli_main(["baseline"]) == 0
    assert "unchanged, 3 findings recorded" in capsys.readouterr().out


def test_lines_moved_above_a_finding_do_not_resurrect_it(repo: Path, capsys) -> None:
    cli_main(["baseline"])
    (repo / "dvc.yaml").write_text(MOVED)
    capsys.readouterr()
    assert check("--baseline", ".dvc-gitops-baseline.json") == 0, capsys.readouterr().out


def test_only_a_new_finding_is_reported(repo: Path, capsys) -> None:
    cli_main(["baseline"])
    (repo / "evaluate.py").write_text("")
    (repo / "dvc.yaml").write_text(
        TODAY + "  evaluate:\n    cmd: python evaluate.py\n    outs: [e.json]\n"
    )
    capsys.readouterr()
    assert check("--baseline", ".dvc-gitops-baseline.json") == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "DG201 stage 'evaluate' runs evaluate.py" in out[0]


def test_a_fixed_finding_leaves_a_stale_entry_reported_as_dg003(repo: Path, capsys) -> None:
    cli_main(["baseline"])
    (repo / "dvc.yaml").write_text(TODAY.replace("    owner: data-team\n", ""))
    capsys.readouterr()
    assert check("--baseline", ".dvc-gitops-baseline.json") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        ".dvc-gitops-baseline.json:5:5: DG003 baseline entry DG110 in dvc.yaml (unknown key "
    )
    assert out[0].endswith("matches no finding any more: run `dvc-gitops baseline` to drop it")
    assert out[1] == "Found 1 finding (1 warning) in 1 file."
    # Refreshing shrinks the file, and the run is clean again.
    assert cli_main(["baseline"]) == 0
    assert "written, 2 findings recorded" in capsys.readouterr().out
    assert check("--baseline", ".dvc-gitops-baseline.json") == 0


def test_config_names_the_file_for_every_hook(repo: Path, capsys) -> None:
    cli_main(["baseline", "--output", "lint/known.json"])
    assert 'baseline = "lint/known.json"' in capsys.readouterr().out
    (repo / "pyproject.toml").write_text('[tool.dvc-gitops]\nbaseline = "lint/known.json"\n')
    assert check_dvc_deps(["dvc.yaml"]) == 0
    assert check_dvc_yaml(["dvc.yaml"]) == 0
    assert check() == 0
    # A hook that checks DG2 only does not call the DG110 entry stale, nor one checking
    # other files the entries of dvc.yaml.
    (repo / "params.yaml").write_text("lr: 1\n")
    assert check_dvc_yaml(["params.yaml"]) == 0
    assert capsys.readouterr().out == "No findings.\nNo findings.\nNo findings.\nNo findings.\n"


def test_missing_or_broken_baseline_is_a_usage_error(repo: Path, capsys) -> None:
    assert check("--baseline", "nope.json") == 2
    assert capsys.readouterr().err == (
        "dvc-gitops: error: baseline file nope.json does not exist: "
        "write it with `dvc-gitops baseline`\n"
    )
    (repo / "bad.json").write_text('{"version": 1, "findings": [3]}')
    assert check_dvc_yaml(["--baseline", "bad.json"]) == 2
    assert "bad.json: entry 1 needs the strings code, path, where, message" in (
        capsys.readouterr().err
    )
    (repo / "pyproject.toml").write_text("[tool.dvc-gitops]\nbaseline = 3\n")
    assert check() == 2


def test_baseline_outside_the_repository_is_refused(repo: Path, capsys) -> None:
    assert cli_main(["baseline", "--output", "../elsewhere.json"]) == 2
    assert "must be inside the repository" in capsys.readouterr().err
    assert not (repo.parent / "elsewhere.json").exists()


@pytest.mark.parametrize(
    ("message", "subject"),
    [
        (
            "duplicate key 'cmd' (first defined at line 3): keep one",
            "duplicate key 'cmd' (first defined at line): keep one",
        ),
        ("see dvc.yaml:12:5 for the stage", "see dvc.yaml for the stage"),
        ("write dvc==3.67.1 in requirements.txt", "write dvc==3.67.1 in requirements.txt"),
    ],
)
def test_line_numbers_leave_the_message(tmp_path: Path, message: str, subject: str) -> None:
    finding = Finding("x.txt", 7, 1, "DG201", "r", "warning", message)
    entry = baselines.entry_of(Project(tmp_path), finding)
    assert entry.message == subject
    assert (
        entry.fingerprint
        == baselines.entry_of(
            Project(tmp_path), Finding("x.txt", 90, 3, "DG201", "r", "warning", message)
        ).fingerprint
    )
