"""The index and a commit read through git, without touching the work tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import git, git_init, write_tree

from dvc_gitops.core.git_tree import DiskTree, GitProblem, GitTree, open_tree
from dvc_gitops.core.project import Project


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_tree(tmp_path, {"a.txt": "one\n", "src/b.py": "print(1)\n", "src/deep/c": b"\x00\x01"})
    os.symlink("src", tmp_path / "link")
    return git_init(tmp_path)


def test_staged_differs_from_work_tree_and_commit(repo: Path) -> None:
    (repo / "a.txt").write_text("staged\n")
    git(repo, "add", "a.txt")
    (repo / "a.txt").write_text("work tree\n")
    with GitTree.staged(repo) as staged, GitTree.at_rev(repo, "HEAD") as head:
        assert staged.read_bytes("a.txt") == b"staged\n"
        assert head.read_bytes("a.txt") == b"one\n"
        assert head.label.startswith("commit ")
    assert DiskTree(repo).read_bytes("a.txt") == b"work tree\n"


def test_shape_and_symlinks(repo: Path) -> None:
    with GitTree.at_rev(repo, "HEAD") as tree:
        assert tree.is_dir("src") and tree.is_dir("src/deep") and tree.is_dir("")
        assert tree.is_file("src/b.py") and not tree.is_dir("src/b.py")
        assert not tree.is_file("missing") and not tree.is_dir("missing")
        assert tree.files_under("src") == ["src/b.py", "src/deep/c"]
        assert tree.read_bytes("src/deep/c") == b"\x00\x01"
        # a symlinked folder is followed, as the disk follows it
        assert tree.is_dir("link") and tree.read_bytes("link/b.py") == b"print(1)\n"
        with pytest.raises(IsADirectoryError):
            tree.read_bytes("src")
        with pytest.raises(FileNotFoundError):
            tree.read_bytes("nope")


def test_symlink_loop_is_elooop_not_a_hang(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    git_init(tmp_path)
    with GitTree.staged(tmp_path) as tree:
        assert not tree.is_file("a") and not tree.is_dir("a")
        with pytest.raises(OSError, match="symlink loop"):
            tree.read_bytes("a")


def test_many_blobs_through_one_process(tmp_path: Path) -> None:
    write_tree(tmp_path, {f"f{i}.txt": f"{i}\n" * i for i in range(300)})
    git_init(tmp_path)
    with GitTree.at_rev(tmp_path, "HEAD") as tree:
        assert all(tree.read_bytes(f"f{i}.txt") == f"{i}\n".encode() * i for i in range(300))


def test_bad_rev_and_no_repository_say_gits_reason(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(GitProblem, match="rev-parse failed"):
        GitTree.at_rev(repo, "no-such-branch")
    with pytest.raises(GitProblem, match="not a revision"):
        GitTree.at_rev(repo, "--all")
    bare = tmp_path_factory.mktemp("plain")
    with pytest.raises(GitProblem, match="not a git repository"):
        open_tree(bare, "staged")


def test_a_git_refusal_is_a_problem_not_an_empty_tree(repo: Path) -> None:
    # Any refusal (dubious ownership, a broken HEAD) must stop the check with git's words.
    (repo / ".git" / "HEAD").write_text("garbage\n")
    with pytest.raises(GitProblem, match="git ls-files failed: fatal"):
        GitTree.staged(repo)


def test_unresolved_conflict_is_a_problem(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "a.txt").write_text("other\n")
    git(repo, "commit", "-qam", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "a.txt").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True, check=False)
    with pytest.raises(GitProblem, match="unresolved merge conflicts"):
        GitTree.staged(repo)


def test_project_reads_dvc_yaml_and_params_from_a_commit(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".dvc/config": "",
            "params.yaml": "lr: 1\n",
            "dvc.yaml": "stages:\n  train:\n    cmd: python t.py ${lr}\n    params: [lr]\n",
        },
    )
    git_init(tmp_path)
    (tmp_path / "params.yaml").write_text("lr: 2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dvc.yaml").write_text("stages:\n  x:\n    cmd: echo\n")
    from dvc_gitops.dvcmodel.model import build_pipeline

    with GitTree.at_rev(tmp_path, "HEAD") as tree:
        project = Project(tmp_path, tree=tree)
        assert project.dvc_yaml_files == ["dvc.yaml"]
        assert project.is_dvc_repo
        pipeline = build_pipeline(project)
        assert pipeline.stages["train"].cmds == ["python t.py 1"]
    disk = build_pipeline(Project(tmp_path))
    assert disk.stages["train"].cmds == ["python t.py 2"]
    assert "sub/dvc.yaml:x" in disk.stages
