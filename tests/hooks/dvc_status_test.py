"""dvc-status against the real `dvc`: a reproduced pipeline, then one change per test.

The pipeline is built and reproduced once per module (DVC costs seconds) and copied for
each test, so every test starts from a clean, committed, up-to-date repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, write_tree

from dvc_gitops.core.project import Project
from dvc_gitops.dvcmodel.model import MISSING, param_value
from dvc_gitops.hooks.dvc_status import main
from dvc_gitops.status import dvc_status as dvc_status_module
from dvc_gitops.status.dvc_status import run_dvc_status

pytestmark = pytest.mark.slow

DVC = str(VENV_BIN / "dvc")

PIPELINE = {
    "params.yaml": "prepare:\n  split: 0.2\n  seed: 1\ntrain:\n  lr: 0.1\n  epochs: 3\n"
    "report:\n  title: Scores\n",
    "sub/w/.keep": "",
    "data/raw.csv": "x,y\n1,2\n",
    "src/prepare.sh": "cp data/raw.csv data/prepared.csv\n",
    "src/train.sh": "cat data/prepared.csv > model.txt\n",
    "src/evaluate.sh": 'echo "{\\"bytes\\": $(wc -c < model.txt)}" > metrics.json\n',
    "dvc.yaml": """\
stages:
  prepare:
    cmd: sh src/prepare.sh
    deps:
      - src/prepare.sh
      - data/raw.csv
    params:
      - prepare.split
      - prepare.seed
    outs:
      - data/prepared.csv
  train:
    cmd: sh src/train.sh
    deps:
      - src/train.sh
      - data/prepared.csv
    params:
      - train
    outs:
      - model.txt
  evaluate:
    cmd: sh src/evaluate.sh
    deps:
      - src/evaluate.sh
      - model.txt
    metrics:
      - metrics.json:
          cache: false
  report:
    cmd: cp metrics.json report.txt
    deps:
      - metrics.json
    outs:
      - report.txt
  stamp:
    cmd: date > stamp.txt
    always_changed: true
    deps:
      - model.txt
    outs:
      - stamp.txt:
          cache: false
  hello:
    cmd: echo hello
""",
    "sub/dvc.yaml": """\
stages:
  inner:
    cmd: cp ../data/prepared.csv inner.txt
    deps:
      - ../data/prepared.csv
    outs:
      - inner.txt
  fe:
    foreach: [a, b]
    do:
      wdir: w
      cmd: echo ${item} > fe_${item}.txt
      params:
        - ../../params.yaml:
            - report.title
      outs:
        - fe_${item}.txt:
            cache: false
""",
}


def dvc(root: Path, *args: str) -> str:
    done = subprocess.run(
        [DVC, *args], cwd=root, check=True, capture_output=True, text=True, env=_env()
    )
    return done.stdout


def _env() -> dict[str, str]:
    return {**os.environ, "DVC_NO_ANALYTICS": "1"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reproduced, committed pipeline every test copies."""
    root = tmp_path_factory.mktemp("status") / "repo"
    write_tree(root, PIPELINE)
    git_init(root, commit=False)
    dvc(root, "init", "-q")
    dvc(root, "repro", "-q", "dvc.yaml", "sub/dvc.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "reproduced")
    return root


@pytest.fixture(autouse=True)
def dvc_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The project's DVC is the one on PATH; its hash cache stays inside the test."""
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "site-cache"))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def repo(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the reproduced pipeline, as the working directory."""
    root = tmp_path / "repo"
    shutil.copytree(built, root, symlinks=True)
    monkeypatch.chdir(root)
    return root


Run = Callable[..., tuple[int, list[str], str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """`run(*args)` -> (exit code, finding lines without the summary, stderr)."""

    def call(*args: str) -> tuple[int, list[str], str]:
        code = main(list(args))
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        return (
            code,
            [line for line in lines if not line.startswith(("Found ", "No findings"))],
            (captured.err),
        )

    return call


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


# -- findings ---------------------------------------------------------------------------------


def test_clean_repository_reports_nothing(repo: Path, run: Run) -> None:
    # DVC itself lists the always-changed stages even here: they must stay quiet.
    raw = json.loads(dvc(repo, "status", "--json"))
    assert set(raw) == {"stamp", "hello"}
    assert run() == (0, [], "")


def test_changed_script_names_the_stage_and_its_downstream(repo: Path, run: Run) -> None:
    (repo / "src/train.sh").write_text("cat data/prepared.csv data/prepared.csv > model.txt\n")
    code, lines, _ = run()
    assert code == 0  # warn by default
    assert lines == [
        "dvc.yaml:12:3: DG401 stage 'train' is stale: dep modified: src/train.sh; "
        "downstream, re-run if its outputs change: "
        "evaluate, report, stamp; "
        "run `dvc repro` (or `dvc repro --downstream train`) and commit dvc.lock"
    ]
    # The advice makes the pipeline current: nothing downstream is left stale (the
    # `dvc repro train` it advised before left `evaluate` and `report` behind).
    dvc(repo, "repro", "-q", "--downstream", "train")
    assert run() == (0, [], "")


def test_params_are_explained_key_by_key(repo: Path, run: Run) -> None:
    edit(repo, "params.yaml", "seed: 1", "seed: 7")
    edit(repo, "params.yaml", "lr: 0.1", "lr: 0.05")
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:2:3: DG401 stage 'prepare' is stale: param prepare.seed 1 -> 7; "
        "downstream, re-run if its outputs change: "
        "train, evaluate, report, stamp, sub/dvc.yaml:inner; "
        "run `dvc repro` (or `dvc repro --downstream prepare`) and commit dvc.lock",
        # `train` tracks the whole section: DVC says only "train modified".
        "dvc.yaml:12:3: DG401 stage 'train' is stale: param train.lr 0.1 -> 0.05; "
        "downstream, re-run if its outputs change: "
        "evaluate, report, stamp; "
        "run `dvc repro` (or `dvc repro --downstream train`) and commit dvc.lock",
    ]


def test_added_and_removed_params_keys(repo: Path, run: Run) -> None:
    edit(repo, "params.yaml", "  epochs: 3\n", "  batch: 32\n")
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:12:3: DG401 stage 'train' is stale: params train.epochs 3 -> (absent), "
        "train.batch (absent) -> 32; downstream, re-run if its outputs change: "
        "evaluate, report, stamp; "
        "run `dvc repro` (or `dvc repro --downstream train`) and commit dvc.lock"
    ]


def test_params_from_json_and_toml_files(tmp_path: Path, run: Run) -> None:
    root = write_tree(
        tmp_path / "formats",
        {
            "config.json": '{"model": {"depth": 3, "loss": "l2"}}\n',
            "config.toml": '[data]\nsource = "a.csv"\nrows = 10\n',
            "dvc.yaml": "stages:\n  fit:\n    cmd: echo fit > fit.txt\n    params:\n"
            "      - config.json:\n          - model\n"
            "      - config.toml:\n          - data.source\n    outs:\n      - fit.txt\n"
            # Params only: not a stage DVC always lists; its param changes count.
            "  audit:\n    cmd: echo audit\n    params:\n      - config.toml:\n"
            "          - data.rows\n",
        },
    )
    git_init(root, commit=False)
    dvc(root, "init", "-q")
    dvc(root, "repro", "-q")
    (root / "config.json").write_text('{"model": {"depth": 4, "loss": "l2", "seed": 0}}\n')
    (root / "config.toml").write_text('[data]\nsource = "b.csv"\nrows = 11\n')
    os.chdir(root)
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:2:3: DG401 stage 'fit' is stale: params config.json:model.depth 3 -> 4, "
        'config.json:model.seed (absent) -> 0; param config.toml:data.source "a.csv" -> '
        '"b.csv"; nothing downstream; run `dvc repro fit` and commit dvc.lock',
        "dvc.yaml:11:3: DG401 stage 'audit' is stale: param config.toml:data.rows 10 -> 11; "
        "nothing downstream; run `dvc repro audit` and commit dvc.lock",
    ]


def test_changed_data_file_lists_every_stage_downstream(repo: Path, run: Run) -> None:
    (repo / "data/raw.csv").write_text("x,y\n1,2\n3,4\n")
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:2:3: DG401 stage 'prepare' is stale: dep modified: data/raw.csv; "
        "downstream, re-run if its outputs change: "
        "train, evaluate, report, stamp, sub/dvc.yaml:inner; "
        "run `dvc repro` (or `dvc repro --downstream prepare`) and commit dvc.lock"
    ]


def test_downstream_list_agrees_with_what_dvc_repro_runs(repo: Path, run: Run) -> None:
    # A data change that reaches every output: `dvc repro` must run exactly the stale
    # stage, the downstream the finding named, and the stages DVC always runs.
    (repo / "data/raw.csv").write_text("x,y\n1,2\n3,4\n")
    _, lines, _ = run()
    named = lines[0].split("change: ")[1].split(";")[0].split(", ")
    ran = re.findall(r"Running stage '([^']+)'", dvc(repo, "repro", "-P"))
    assert sorted(ran) == sorted(["prepare", *named, "hello"])
    # When the stale stage's outputs come out the same, DVC stops there: hence "if".
    with (repo / "src/train.sh").open("a") as script:
        script.write("# a comment\n")
    _, lines, _ = run()
    assert "downstream, re-run if its outputs change: evaluate, report, stamp;" in lines[0]
    ran = re.findall(r"Running stage '([^']+)'", dvc(repo, "repro", "-P"))
    assert sorted(ran) == ["hello", "stamp", "train"]  # stamp and hello: always run


def test_changed_command(repo: Path, run: Run) -> None:
    edit(repo, "dvc.yaml", "cmd: sh src/evaluate.sh", "cmd: sh src/evaluate.sh --fast")
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:21:3: DG401 stage 'evaluate' is stale: command changed (dvc.lock has "
        "`sh src/evaluate.sh`); downstream, re-run if its outputs change: "
        "report; run `dvc repro` (or `dvc repro --downstream evaluate`) and "
        "commit dvc.lock"
    ]


def test_hand_edited_output(repo: Path, run: Run) -> None:
    (repo / "metrics.json").write_text('{"acc": 2}\n')
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:21:3: DG401 stage 'evaluate' is stale: output modified: metrics.json; "
        "downstream, re-run if its outputs change: "
        "report; run `dvc repro` (or `dvc repro --downstream evaluate`) and commit dvc.lock",
        "dvc.yaml:29:3: DG401 stage 'report' is stale: dep modified: metrics.json; "
        "nothing downstream; run `dvc repro report` and commit dvc.lock",
    ]


def test_deleted_output_is_missing_not_stale(repo: Path, run: Run) -> None:
    (repo / "model.txt").unlink()
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:12:3: DG402 stage 'train' outputs are missing from the workspace "
        "(deleted: model.txt) though nothing it depends on changed: run `dvc checkout train`",
        "dvc.yaml:21:3: DG402 stage 'evaluate' inputs are missing from the workspace "
        "(model.txt, made by an earlier stage) though nothing it depends on changed: "
        "run `dvc checkout`",
    ]


def test_foreach_members_with_wdir_and_a_params_file_above(repo: Path, run: Run) -> None:
    edit(repo, "params.yaml", "title: Scores", "title: Results")
    (repo / "sub/w/fe_b.txt").write_text("changed by hand\n")
    _, lines, _ = run()
    assert lines == [
        "sub/dvc.yaml:8:3: DG401 stage 'sub/dvc.yaml:fe@a' is stale: param report.title "
        '"Scores" -> "Results"; nothing downstream; run `dvc repro sub/dvc.yaml:fe@a` and '
        "commit sub/dvc.lock",
        "sub/dvc.yaml:8:3: DG401 stage 'sub/dvc.yaml:fe@b' is stale: param report.title "
        '"Scores" -> "Results"; output modified: sub/w/fe_b.txt; nothing downstream; '
        "run `dvc repro sub/dvc.yaml:fe@b` and commit sub/dvc.lock",
    ]


def test_stage_in_a_sub_folder(repo: Path, run: Run) -> None:
    edit(repo, "sub/dvc.yaml", "cp ../data/prepared.csv inner.txt", "cat ../data/prepared.csv")
    _, lines, _ = run()
    assert lines == [
        "sub/dvc.yaml:2:3: DG401 stage 'sub/dvc.yaml:inner' is stale: command changed "
        "(dvc.lock has `cp ../data/prepared.csv inner.txt`); nothing downstream; "
        "run `dvc repro sub/dvc.yaml:inner` and commit sub/dvc.lock"
    ]


def test_new_stage_was_never_run(repo: Path, run: Run) -> None:
    with (repo / "dvc.yaml").open("a") as out:
        out.write("  extra:\n    cmd: cp model.txt extra.txt\n    deps: [model.txt]\n")
        out.write("    outs: [extra.txt]\n")
    _, lines, _ = run()
    assert lines == [
        "dvc.yaml:45:3: DG401 stage 'extra' is stale: never run: it is not in dvc.lock; "
        "nothing downstream; run `dvc repro extra` and commit dvc.lock"
    ]


def test_always_changed_stage_stays_quiet_even_when_its_output_is_gone(
    repo: Path, run: Run
) -> None:
    (repo / "stamp.txt").unlink()
    raw = json.loads(dvc(repo, "status", "--json"))
    assert raw["stamp"] == [{"changed outs": {"stamp.txt": "deleted"}}, "always changed"]
    assert run() == (0, [], "")


def test_fresh_clone_outputs_have_their_own_code(built: Path, tmp_path: Path, run: Run) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(built), str(clone)], check=True)
    dvc(clone, "remote", "add", "-d", "store", str(tmp_path / "store"))  # pull from here
    os.chdir(clone)
    code, lines, _ = run("--fail")
    assert lines == [
        "dvc.yaml:2:3: DG402 stage 'prepare' outputs are missing from the workspace (not in "
        "the local cache: data/prepared.csv) though nothing it depends on changed: "
        "run `dvc pull prepare`",
        "dvc.yaml:12:3: DG402 stage 'train' outputs are missing from the workspace (not in "
        "the local cache: model.txt) though nothing it depends on changed: "
        "run `dvc pull train`",
        "dvc.yaml:21:3: DG402 stage 'evaluate' inputs are missing from the workspace "
        "(model.txt, made by an earlier stage) though nothing it depends on changed: "
        "run `dvc pull`",
        # metrics.json is in git (cache: false): report's dep is there, its output is not.
        "dvc.yaml:29:3: DG402 stage 'report' outputs are missing from the workspace (not in "
        "the local cache: report.txt) though nothing it depends on changed: "
        "run `dvc pull report`",
        "sub/dvc.yaml:2:3: DG402 stage 'sub/dvc.yaml:inner' outputs are missing from the "
        "workspace (not in the local cache: sub/inner.txt) though nothing it depends on "
        "changed: run `dvc pull sub/dvc.yaml:inner`",
    ]
    assert code == 1
    assert run("--fail", "--ignore", "DG402") == (0, [], "")


def test_a_fresh_clone_with_no_remote_is_told_to_repro(
    built: Path, tmp_path: Path, run: Run
) -> None:
    """`dvc pull` has nothing to pull from in a project with no remote."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(built), str(clone)], check=True)
    os.chdir(clone)
    _, lines, _ = run()
    assert lines[0] == (
        "dvc.yaml:2:3: DG402 stage 'prepare' outputs are missing from the workspace (not in "
        "the local cache: data/prepared.csv) though nothing it depends on changed: "
        "run `dvc repro prepare` (the project has no remote to pull from)"
    )
    assert "`dvc pull" not in "\n".join(lines)


def test_tracked_data_changed_since_dvc_add(repo: Path, run: Run) -> None:
    (repo / "extra.csv").write_text("a\n")
    dvc(repo, "add", "-q", "extra.csv")
    (repo / "extra.csv").write_text("b\n")
    _, lines, _ = run()
    assert lines == [
        "extra.csv.dvc:1:1: DG403 data tracked by extra.csv.dvc changed since `dvc add` "
        "(extra.csv: modified): run `dvc commit extra.csv.dvc` and commit it, or "
        "`dvc checkout extra.csv.dvc` to undo"
    ]


def test_import_behind_its_source(repo: Path, tmp_path: Path, run: Run) -> None:
    consumer = git_init(write_tree(tmp_path / "consumer", {"README.md": "x\n"}))
    dvc(consumer, "init", "-q")
    dvc(consumer, "import", "-q", str(repo), "data/raw.csv", "-o", "raw.csv")
    (repo / "data/raw.csv").write_text("x,y\n5,6\n")
    git(repo, "commit", "-q", "-am", "new data")
    os.chdir(consumer)
    _, lines, _ = run()
    assert lines == [
        f"raw.csv.dvc:3:1: DG403 the import in raw.csv.dvc is behind its source "
        f"(data/raw.csv ({repo}): update available): run `dvc update raw.csv.dvc` and commit it"
    ]


# -- warn, fail, config, formats -------------------------------------------------------------


def test_fail_blocks_and_config_can_ask_for_it(repo: Path, run: Run) -> None:
    (repo / "src/train.sh").write_text("cat data/prepared.csv > model.txt # v2\n")
    assert run()[0] == 0
    assert run("--fail")[0] == 1
    (repo / ".dvc-gitops.toml").write_text("[status]\nfail = true\n")
    assert run()[0] == 1
    assert run("--warn")[0] == 0


def test_json_report(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "params.yaml", "split: 0.2", "split: 0.3")
    assert main(["--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["rule"], f["severity"], f["line"]) for f in report["findings"]] == [
        ("DG401", "stale-stage", "warning", 2)
    ]


def test_cli_status_command(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dvc_gitops.cli import main as cli_main

    edit(repo, "params.yaml", "split: 0.2", "split: 0.3")
    assert cli_main(["status", "--fail"]) == 1
    assert "DG401 stage 'prepare' is stale: param prepare.split 0.2 -> 0.3;" in (
        capsys.readouterr().out
    )


# -- --scope staged ---------------------------------------------------------------------------


def test_scope_staged_asks_only_about_touched_stages(repo: Path, run: Run) -> None:
    (repo / "data/raw.csv").write_text("x,y\n9,9\n")  # prepare is stale, but not staged
    (repo / "src/evaluate.sh").write_text("echo '{\"acc\": 3}' > metrics.json\n")
    git(repo, "add", "src/evaluate.sh")
    assert dvc_status_module.staged_stages(Project(repo)) == ["evaluate", "report"]
    assert dvc_status_module.dvc_targets(Project(repo), ["evaluate", "report"]) == ["dvc.yaml"]
    _, lines, _ = run("--scope", "staged")
    assert lines == [
        "dvc.yaml:21:3: DG401 stage 'evaluate' is stale: dep modified: src/evaluate.sh; "
        "downstream, re-run if its outputs change: "
        "report; run `dvc repro` (or `dvc repro --downstream evaluate`) and commit dvc.lock"
    ]
    _, everything, _ = run()
    assert [line.split(" stage ")[1].split(" ")[0] for line in everything] == [
        "'prepare'",
        "'evaluate'",
    ]


def test_scope_staged_with_nothing_relevant_staged_skips_dvc(repo: Path, run: Run) -> None:
    (repo / "NOTES.md").write_text("notes\n")
    git(repo, "add", "NOTES.md")
    (repo / "dvc.yaml").write_text("stages: [")  # DVC would fail: it is not asked at all
    assert run("--scope", "staged") == (0, [], "")


def test_scope_staged_params_file_and_dvc_yaml(repo: Path) -> None:
    edit(repo, "params.yaml", "lr: 0.1", "lr: 0.2")
    git(repo, "add", "params.yaml")
    assert dvc_status_module.staged_stages(Project(repo)) == [
        "prepare",
        "train",
        "evaluate",
        "report",
        "stamp",
        "sub/dvc.yaml:inner",
        "sub/dvc.yaml:fe@a",  # they read report.title from the same params.yaml
        "sub/dvc.yaml:fe@b",
    ]
    git(repo, "reset", "-q")
    (repo / "sub/dvc.yaml").write_text((repo / "sub/dvc.yaml").read_text() + "\n")
    git(repo, "add", "sub/dvc.yaml")
    assert dvc_status_module.staged_stages(Project(repo)) == [
        "sub/dvc.yaml:inner",
        "sub/dvc.yaml:fe@a",
        "sub/dvc.yaml:fe@b",
    ]
    assert dvc_status_module.dvc_targets(Project(repo), ["sub/dvc.yaml:inner", "x.dvc"]) == [
        "sub/dvc.yaml:inner",
        "x.dvc",
    ]


def test_scope_staged_survives_a_broken_dvc_file_elsewhere(repo: Path, run: Run) -> None:
    (repo / "broken.dvc").write_text("outs: [\n")
    code, _, err = run()
    assert code == 4
    assert err.startswith("dvc-status: error: `dvc status` failed: './broken.dvc' is invalid")
    assert err.rstrip().endswith("or run with --scope staged to ask only about the staged stages")
    assert len(err.splitlines()) == 1
    (repo / "src/train.sh").write_text("cat data/prepared.csv > model.txt # v2\n")
    git(repo, "add", "src/train.sh")
    code, lines, _ = run("--scope", "staged")
    assert code == 0
    assert [line.split(": ")[1] for line in lines] == ["DG401 stage 'train' is stale"]


def test_scope_staged_asks_dvc_about_a_staged_dvc_yaml_it_cannot_model(
    repo: Path, run: Run
) -> None:
    (repo / "sub/dvc.yaml").write_text("stages:\n  inner: [\n")
    git(repo, "add", "sub/dvc.yaml")
    assert dvc_status_module.staged_stages(Project(repo)) == ["sub/dvc.yaml"]
    code, lines, err = run("--scope", "staged")
    assert (code, lines) == (4, [])
    assert err.startswith("dvc-status: error: `dvc status` failed: './sub/dvc.yaml' is invalid")


# -- setup problems and DVC failures ----------------------------------------------------------


def test_not_a_dvc_repository(tmp_path: Path, run: Run) -> None:
    root = git_init(write_tree(tmp_path / "plain", {"README.md": "x\n"}))
    os.chdir(root)
    code, lines, err = run()
    assert (code, lines) == (2, [])
    assert err == (
        f"dvc-status: error: not a DVC repository: no .dvc folder at {root} or below it (run "
        "`dvc init`, or `dvc init --subdir` in the pipeline's folder)\n"
    )


def test_scope_staged_outside_git(tmp_path: Path, run: Run) -> None:
    root = write_tree(tmp_path / "no-git", {"dvc.yaml": "stages:\n  a:\n    cmd: echo a\n"})
    dvc(root, "init", "-q", "--no-scm")
    os.chdir(root)
    assert run("--scope", "staged") == (
        2,
        [],
        "dvc-status: error: --scope staged needs a git repository (git diff --cached failed)\n",
    )
    assert run() == (0, [], "")  # the whole-repository scope needs no git


def test_dvc_not_installed(
    repo: Path, run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    # As if dvc-gitops ran from an environment without DVC (pipx, a bare pre-commit env).
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "no-env"))
    if shutil.which("dvc"):
        pytest.skip("a system-wide dvc is installed")
    assert run() == (
        2,
        [],
        "dvc-status: error: DVC not found: install the project's pinned dvc (pip install "
        "dvc==...), activate its virtualenv, or pass --dvc PATH\n",
    )
    assert run("--dvc", "/nowhere/dvc") == (
        2,
        [],
        "dvc-status: error: --dvc /nowhere/dvc: no such executable; give the path of DVC\n",
    )


def test_project_virtualenv_is_found_before_path(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(sys, "prefix", str(repo / "no-env"))
    (repo / ".venv").symlink_to(VENV_BIN.parent)
    assert dvc_status_module.find_dvc(Project(repo)) == [str(repo / ".venv/bin/dvc")]
    monkeypatch.setenv("VIRTUAL_ENV", str(VENV_BIN.parent))
    assert dvc_status_module.find_dvc(Project(repo)) == [str(VENV_BIN / "dvc")]
    # A configured path is relative to the project root, wherever the command runs.
    os.chdir(repo / "sub")
    assert dvc_status_module.find_dvc(Project(repo), ".venv/bin/dvc") == [
        str(repo / ".venv/bin/dvc")
    ]


def test_dvc_beside_the_running_interpreter(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # dvc-gitops installed into the project's (not activated) venv: its DVC is the sibling.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert dvc_status_module.find_dvc(Project(repo)) == [str(Path(sys.prefix) / "bin/dvc")]


def test_python_m_dvc_when_the_environment_has_no_dvc_script(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A virtualenv whose `dvc` script is missing: the interpreter runs the package.
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin/python").symlink_to(VENV_BIN / "python")
    shutil.copy(VENV_BIN.parent / "pyvenv.cfg", env / "pyvenv.cfg")
    lib = next((VENV_BIN.parent / "lib").glob("python3*"))
    (env / "lib" / lib.name).mkdir(parents=True)
    (env / "lib" / lib.name / "site-packages").symlink_to(lib / "site-packages")
    monkeypatch.setenv("VIRTUAL_ENV", str(env))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "no-env"))
    command = dvc_status_module.find_dvc(Project(repo))
    assert command == [str(env / "bin/python"), "-m", "dvc"]
    result = run_dvc_status(Project(repo))
    assert result.ok, result.error
    assert set(result.stages) == {"stamp", "hello"}


def test_invalid_dvc_yaml_is_a_dvc_failure(repo: Path, run: Run) -> None:
    edit(repo, "dvc.yaml", "  hello:\n    cmd: echo hello\n", "  hello:\n    cmd: x\n    oops: 1\n")
    code, lines, err = run()
    assert (code, lines) == (4, [])
    assert err == (
        "dvc-status: error: `dvc status` failed: './dvc.yaml' validation failed: extra keys "
        "not allowed, in stages -> hello -> oops, line 44, column 5; fix it (check-dvc-yaml "
        "shows where)\n"
    )


def test_something_else_than_dvc(repo: Path, run: Run) -> None:
    assert run("--dvc", "/bin/echo") == (
        4,
        [],
        "dvc-status: error: `dvc status --json` printed no JSON object (it printed: status "
        "--json); is --dvc really DVC?\n",
    )


def test_timeout_stops_dvc_quickly(repo: Path, run: Run) -> None:
    started = time.monotonic()
    code, lines, err = run("--timeout", "0.05")
    assert (code, lines) == (4, [])
    assert err == (
        "dvc-status: error: `dvc status` did not finish within 0.05 s and was stopped; raise "
        "--timeout (or [tool.dvc-gitops.status] timeout), or use --scope staged\n"
    )
    assert time.monotonic() - started < 5


def test_timeout_kills_the_whole_process_group(repo: Path, tmp_path: Path) -> None:
    # A DVC wrapper script (as some teams use) that starts a child which would outlive it.
    pid_file = tmp_path / "child.pid"
    wrapper = tmp_path / "slow-dvc"
    wrapper.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pid_file}\nwait\n")
    wrapper.chmod(0o755)
    started = time.monotonic()
    result = run_dvc_status(Project(repo), dvc=str(wrapper), timeout=0.5)
    assert time.monotonic() - started < 5
    assert result.exit_code == 4 and result.error and "did not finish within 0.5 s" in result.error
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not running(child)


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_bad_config_and_options(repo: Path, run: Run) -> None:
    (repo / ".dvc-gitops.toml").write_text("[status]\ntimeout = 'soon'\n")
    code, _, err = run()
    assert code == 2
    assert err == (
        "dvc-status: error: .dvc-gitops.toml: 'timeout' in [tool.dvc-gitops.status] must be "
        "int or float\n"
    )
    (repo / ".dvc-gitops.toml").unlink()
    code, _, err = run("--timeout", "0")
    assert code == 2 and "--timeout" in err and len(err.splitlines()) == 1


def test_run_dvc_status_with_targets(repo: Path) -> None:
    (repo / "data/raw.csv").write_text("changed\n")
    result = run_dvc_status(Project(repo), targets=["train"])
    assert result.ok and result.stages == {}
    result = run_dvc_status(Project(repo), targets=["prepare"])
    assert result.stages == {"prepare": [{"changed deps": {"data/raw.csv": "modified"}}]}
    assert result.command == [DVC, "status", "--json", "prepare"]
    assert result.seconds > 0


@pytest.fixture(autouse=True)
def _back_home() -> Iterator[None]:
    old = os.getcwd()
    yield
    os.chdir(old)


def test_module_never_imports_dvc() -> None:
    code = "import sys, dvc_gitops.hooks.dvc_status; print('dvc' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False"


# -- reading DVC's answer, without DVC ------------------------------------------------------


def test_parse_entries_sorts_every_kind_and_keeps_unknown_ones() -> None:
    changes = dvc_status_module.parse_entries(
        [
            {"changed deps": {"src/a.py": "modified", "params.yaml": {"x.y": "new"}}},
            {"changed deps": {"p.yaml": "deleted"}},
            {"changed outs": {"out.bin": "not in cache"}},
            "changed command",
            "changed checksum",
        ],
        params_files={"p.yaml"},
    )
    assert changes.deps == {"src/a.py": "modified"}
    assert changes.params == {"params.yaml": {"x.y": "new"}, "p.yaml": "deleted"}
    assert changes.outs == {"out.bin": "not in cache"}
    assert changes.command and not changes.always
    assert changes.other == ["changed checksum"]


def test_dotted_keys_and_section_diffs() -> None:
    values = {"a": {"b": [10, {"c": 1}]}, "x.y": 2}
    assert param_value(values, "a.b.1.c") == 1
    assert param_value(values, "x.y") == 2
    assert param_value(values, "a.z") is MISSING
    assert dvc_status_module._diff(
        "s", {"k": 1, "n": {"m": 1}}, {"k": 1, "n": {"m": 2}, "new": 3}
    ) == [
        ("s.n.m", 1, 2),
        ("s.new", MISSING, 3),
    ]
    # DVC compares with ==: a leaf it would not call modified is not listed either.
    assert dvc_status_module._diff("k", {"a": 1, "b": 2}, {"a": 1.0, "b": 3}) == [("k.b", 2, 3)]


def test_dvc_error_output_becomes_one_line() -> None:
    # What DVC 3.67 prints on stderr for a dvc.yaml with a YAML syntax error.
    stderr = (
        "ERROR: './dvc.yaml' is invalid.\n\n"
        "While parsing a flow node, in line 52, column 1\n"
        "Expected the node content, but found '<stream end>', in line 52, column 1\n"
        "  52                                                                            \n"
    )
    assert dvc_status_module._dvc_error(1, stderr, ()) == (
        "`dvc status` failed: './dvc.yaml' is invalid: While parsing a flow node, in line 52, "
        "column 1; fix it (check-dvc-yaml shows where)"
    )
    assert dvc_status_module._dvc_error(255, "", ()) == (
        "`dvc status` failed: no error message (exit 255); fix it (check-dvc-yaml shows where)"
    )


# --- the trial on real repositories (docs/trial.md): what a fresh clone and no network show


def test_a_deleted_cache_false_output_is_reproduced_not_checked_out(repo: Path, run: Run) -> None:
    """`dvc checkout` cannot restore a `cache: false` output: it was never cached."""
    (repo / "sub" / "w" / "fe_a.txt").unlink()
    _, lines, _ = run()
    assert lines == [
        "sub/dvc.yaml:8:3: DG402 stage 'sub/dvc.yaml:fe@a' outputs are missing from the "
        "workspace (deleted: sub/w/fe_a.txt) though nothing it depends on changed: run "
        "`dvc repro sub/dvc.yaml:fe@a` (`cache: false` outputs are never in the cache)"
    ]


def test_a_folder_dep_holding_earlier_outputs_is_pipeline_data(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dep on a folder that several stages write into is made by them: in a fresh clone
    its absence is missing data (DG402), not a stale stage."""
    root = write_tree(
        tmp_path / "folder",
        {
            "dvc.yaml": "stages:\n"
            "  a:\n    cmd: mkdir -p out && echo a > out/a.txt\n    outs: [out/a.txt]\n"
            "  b:\n    cmd: mkdir -p out && echo b > out/b.txt\n    outs: [out/b.txt]\n"
            "  both:\n    cmd: cat out/*.txt > all.txt\n    deps: [out]\n    outs: [all.txt]\n",
        },
    )
    git_init(root, commit=False)
    dvc(root, "init", "-q")
    dvc(root, "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "built")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    monkeypatch.chdir(clone)
    _, lines, _ = run()
    assert [line.split(" ")[1] for line in lines] == ["DG402", "DG402", "DG402"]
    assert "stage 'both' outputs are missing from the workspace" in lines[2]


def test_no_network_is_a_notice_unless_fail(repo: Path, run: Run) -> None:
    """An import whose source DVC cannot reach makes `dvc status` fail: that is the
    moment's network, not the repository; the commit goes through unless --fail."""
    (repo / "data.csv").write_text("a,b\n")
    (repo / "data.csv.dvc").write_text(
        "md5: 1234\ndeps:\n- path: data.csv\n  repo:\n"
        "    url: https://dvc-gitops-test.invalid/repo.git\n"
        "    rev_lock: '0123456789012345678901234567890123456789'\n"
        "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 3\n  hash: md5\n"
        "  path: data.csv\n"
    )
    code, lines, err = run()
    assert (code, lines) == (0, [])
    assert err.startswith("dvc-status: notice: `dvc status` could not reach the network (")
    assert "check-dvc-yaml" not in err
    code, lines, err = run("--fail")
    assert code == dvc_status_module.EXIT_DVC_FAILED and "could not reach the network" in err
