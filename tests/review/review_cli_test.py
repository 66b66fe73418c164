"""The review command on bad input, on large pipelines, and its output file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import copy_checkout, git_init, write_tree
from review_fixtures import commit, demo
from review_golden_test import assert_commonmark_tables

from dvc_gitops.cli import main
from dvc_gitops.review.render import render_markdown
from dvc_gitops.review.report import review


@pytest.fixture
def demo_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    demo(root)
    monkeypatch.chdir(root)
    return root


def test_a_revision_that_does_not_exist(
    demo_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "no-such-branch"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "dvc-gitops review: error: BASE 'no-such-branch' is not a commit of this repository "
        "(a branch, tag or commit id; `git fetch` it first if it lives on a remote)\n"
    )
    assert main(["review", "HEAD~1", "--oops"]) == 2
    assert main(["review", "--", "HEAD~1", "-bad"]) == 2
    assert "HEAD '-bad' is not a revision" in capsys.readouterr().err


def test_a_shallow_clone_missing_base(
    demo_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", demo_repo.as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    monkeypatch.chdir(clone)
    base = subprocess.run(
        ["git", "rev-parse", "HEAD~1"], cwd=demo_repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert main(["review", base]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"BASE '{base}' is not in this shallow clone" in err
    assert "fetch-depth: 0" in err


def test_not_a_git_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["review", "HEAD~1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dvc-gitops review: error: not a git repository")
    assert err.count("\n") == 1


def test_output_file(demo_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "HEAD~1", "--format", "json", "--output-file", "review.json"]) == 0
    assert capsys.readouterr().out == ""
    data = json.loads((demo_repo / "review.json").read_text())
    assert [r["stage"] for r in data["rerun"]][:2] == ["prepare", "featurize@a"]
    assert data["lock_up_to_date"] is False
    assert main(["review", "HEAD~1", "--output-file", "no/such/folder/x.md"]) == 2
    assert "cannot write" in capsys.readouterr().err


def _large(root: Path, members: int) -> None:
    items = ", ".join(f"m{i}" for i in range(members))
    dvc_yaml = f"""\
stages:
  prep:
    cmd: python prep.py
    deps: [prep.py]
    outs: [prepared]
  fe:
    foreach: [{items}]
    do:
      cmd: python fe.py ${{item}}
      deps: [fe.py, prepared]
      outs: ["fe/${{item}}"]
  other:
    foreach: [{items}]
    do:
      cmd: python other.py ${{item}}
      deps: [other.py]
      outs: ["other/${{item}}"]
  train:
    cmd: python train.py
    deps: [train.py, fe]
    outs: [model]
"""
    write_tree(
        root,
        {
            ".dvc/config": "",
            "dvc.yaml": dvc_yaml,
            **{f"{n}.py": "1\n" for n in ("prep", "fe", "other", "train")},
        },
    )
    git_init(root, commit=False)
    commit(root, "base")
    write_tree(root, {"fe.py": "2\n"})
    commit(root, "head")


def test_a_large_pipeline_collapses_foreach_and_draws_the_affected_part(tmp_path: Path) -> None:
    _large(tmp_path, 60)
    result = review(tmp_path, "HEAD~1")
    assert len(result.rerun) == 61  # every fe member, then train
    mermaid = result.picture.mermaid
    assert '["fe@* (60 stages)"]' in mermaid
    assert "other@" not in mermaid  # untouched: left out, and counted
    assert '["60 untouched stages not drawn"]' in mermaid
    assert result.picture.drawn == 3  # prep (context), fe@*, train


def test_markdown_is_cut_to_the_comment_limit_with_a_note(tmp_path: Path) -> None:
    _large(tmp_path, 60)
    result = review(tmp_path, "HEAD~1")
    full = render_markdown(result)
    assert "Cut to fit" not in full
    cut = render_markdown(result, limit=3000)
    assert len(cut) <= 3000
    assert "Cut to fit GitHub's 65,536-character comment limit" in cut
    assert_commonmark_tables(cut)


def test_a_change_to_this_repositorys_demo_pipeline(tmp_path: Path) -> None:
    """The docs' example: deeper trees and a shuffle, committed without `dvc repro`."""
    root = copy_checkout(tmp_path / "demo")
    params = (root / "params.yaml").read_text().replace("max_depth: 3", "max_depth: 5")
    write_tree(root, {"params.yaml": params})
    script = root / "pipeline" / "preprocess.py"
    script.write_text(script.read_text() + "# shuffle before the split\n")
    commit(root, "deeper trees")
    result = review(root, "HEAD~1")
    assert [(r.address, r.reasons) for r in result.rerun] == [
        ("preprocess", ("pipeline/preprocess.py changed",)),
        ("train", ("train.max_depth 3 -> 5", "upstream 'preprocess'")),
        ("evaluate", ("upstream 'preprocess', 'train'",)),
    ]
    assert not result.lock.up_to_date
    assert [e.experiment for e in result.experiments] == [
        "dvc-gitops-demo-train",
        "dvc-gitops-demo-evaluate",
    ]
    assert_commonmark_tables(render_markdown(result))


def test_a_fan_in_names_five_upstream_stages_and_counts_the_rest(tmp_path: Path) -> None:
    _large(tmp_path, 60)
    train = review(tmp_path, "HEAD~1").rerun[-1]
    assert train.address == "train"
    assert train.reasons == ("upstream 'fe@m0', 'fe@m1', 'fe@m2', 'fe@m3', 'fe@m4' and 55 more",)
