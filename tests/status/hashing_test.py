"""Each hashing fact of status/hashing.py held against the installed DVC 3.

One scratch repository holds every kind of dep (text, CRLF text, binary, empty, a 2.5 MiB
file mixing text and binary chunks, a folder with a nested file, a non-ASCII name, a
.dvcignored file, a symlinked file and a symlinked folder); real `dvc repro` writes the
lock, and our hashes must equal it. Then the lock is rewritten as DVC 2 wrote it (no
`hash: md5`, our dos2unix md5s) and real `dvc status` must call it clean.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import git, git_init, venv_tool, write_tree

from dvc_gitops.core.git_tree import DiskTree, GitTree
from dvc_gitops.core.project import Project
from dvc_gitops.status import hashing
from dvc_gitops.status.lock import LockCheck

pytestmark = pytest.mark.slow

BIG = (b"line one\r\nline two\r\n" * 30_000)[: hashing.CHUNK] + b"\x00\x01binary\r\n" * 70_000
DEPS = {
    "text.txt": b"a\nb\n",
    "crlf.txt": b"a\r\nb\r\n",
    "binary.bin": b"\x00\r\n\xff\xfe",
    "empty.txt": b"",
    "big.dat": BIG,
    "folder/x.txt": b"x\r\n",
    "folder/deep/y.bin": b"\x00y",
    "folder/\u00e9t\u00e9.txt": b"summer\n",
    "folder/skipped.tmp": b"hidden by .dvcignore\n",
    "elsewhere/real.txt": b"real\r\n",
    "elsewhere/sub/z.txt": b"z\n",
}
NAMES = ["text.txt", "crlf.txt", "binary.bin", "empty.txt", "big.dat", "folder"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hashing")
    write_tree(root, {**DEPS, ".dvcignore": "*.tmp\n"})
    os.symlink("../elsewhere/real.txt", root / "folder" / "link.txt")  # a file: read through
    os.symlink("../elsewhere/sub", root / "folder" / "linked")  # a folder: DVC skips it
    stage = {"cmd": "echo hashed", "deps": NAMES, "outs": ["out.txt"]}
    stage["cmd"] = "echo hashed > out.txt"
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"h": stage}}))
    git_init(root, commit=False)
    assert venv_tool("dvc", root, "init", "-q").returncode == 0
    done = venv_tool("dvc", root, "repro", "-q")
    assert done.returncode == 0, done.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "reproduced")
    return root


def _locked(root: Path) -> dict[str, dict[str, object]]:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return {d["path"]: d for d in lock["stages"]["h"]["deps"]}


def _ours(root: Path, name: str, algorithm: str, tree: object = None) -> object:
    project = Project(root)
    check = LockCheck(project, tree or DiskTree(root))  # type: ignore[arg-type]
    return check.content_md5(name, algorithm)


def test_dvc3_md5_of_files_and_folders(repo: Path) -> None:
    locked = _locked(repo)
    for name in NAMES:
        assert locked[name]["hash"] == "md5"
        assert _ours(repo, name, hashing.MD5) == locked[name]["md5"], name
    assert str(locked["folder"]["md5"]).endswith(".dir")
    assert locked["folder"]["nfiles"] == 4  # skipped.tmp and the linked folder left out


def test_the_same_md5_from_the_index_and_a_commit(repo: Path) -> None:
    locked = _locked(repo)
    for tree in (GitTree.staged(repo), GitTree.at_rev(repo, "HEAD")):
        with tree:
            for name in NAMES:
                assert _ours(repo, name, hashing.MD5, tree) == locked[name]["md5"], (name, tree)


def test_folder_listing_is_dvcs_json(tmp_path: Path) -> None:
    # The listing DVC stores in its cache as <md5>.dir is exactly what we hash.
    write_tree(tmp_path, {"d/b.txt": "b\n", "d/a/\u00e9.txt": "e\n", "d/A.txt": "A\n"})
    assert venv_tool("dvc", tmp_path, "init", "-q", "--no-scm").returncode == 0
    assert venv_tool("dvc", tmp_path, "add", "-q", "d").returncode == 0
    md5 = yaml.safe_load((tmp_path / "d.dvc").read_text())["outs"][0]["md5"]
    listing = tmp_path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    entries = json.loads(listing.read_text())
    assert [e["relpath"] for e in entries] == ["A.txt", "a/\u00e9.txt", "b.txt"]
    assert hashing.folder_md5((e["relpath"], e["md5"]) for e in entries) == md5
    assert _ours(tmp_path, "d", hashing.MD5) == md5


def test_dvc2_locks_are_read_with_dos2unix(repo: Path, tmp_path: Path) -> None:
    """A lock without `hash: md5` holds DVC 2's md5s: DVC 3 says clean when they are ours."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    legacy = {n: _ours(repo, n, hashing.LEGACY) for n in NAMES}
    assert legacy["crlf.txt"] == hashing.bytes_md5(b"a\nb\n")  # CRLF -> LF for text
    assert legacy["binary.bin"] == hashing.bytes_md5(DEPS["binary.bin"])  # binary as is
    # per 1 MiB chunk: the text chunk converted, the binary one not
    first, rest = BIG[: hashing.CHUNK], BIG[hashing.CHUNK :]
    assert legacy["big.dat"] == hashing.bytes_md5(first.replace(b"\r\n", b"\n") + rest)
    for dep in lock["stages"]["h"]["deps"]:
        dep.pop("hash")
        dep["md5"] = legacy[dep["path"]]
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    try:
        done = venv_tool("dvc", repo, "status", "--json", "h")
        assert json.loads(done.stdout) == {}, done.stdout
        # the plain md5 of a CRLF file is not what DVC 3 expects of a DVC 2 entry
        for dep in lock["stages"]["h"]["deps"]:
            if dep["path"] == "crlf.txt":
                dep["md5"] = hashing.bytes_md5(DEPS["crlf.txt"])
        (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
        done = venv_tool("dvc", repo, "status", "--json", "h")
        assert json.loads(done.stdout) == {"h": [{"changed deps": {"crlf.txt": "modified"}}]}
        findings = list(LockCheck(Project(repo), DiskTree(repo)).run())
        assert [(f.code, "crlf.txt" in f.message) for f in findings] == [("DG412", True)]
    finally:
        git(repo, "checkout", "--", "dvc.lock")


def test_a_symlink_loop_in_a_folder_dep_is_one_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"d/a.txt": "a\n"})
    os.symlink("b", tmp_path / "d" / "a-loop")
    os.symlink("a-loop", tmp_path / "d" / "b")
    check = LockCheck(Project(tmp_path), DiskTree(tmp_path))
    found = check.content_md5("d", hashing.MD5)
    assert isinstance(found, OSError)
