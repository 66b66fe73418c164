"""check-dvc-lock on small repositories whose dvc.lock is written here (hashes from
status/hashing, which hashing_test holds against real DVC); differential_test runs the
real `dvc status` beside it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, git_init, write_tree

from dvc_gitops.core.findings import Finding
from dvc_gitops.core.git_tree import DiskTree, GitTree
from dvc_gitops.core.project import Project
from dvc_gitops.hooks.check_dvc_lock import main
from dvc_gitops.status.hashing import bytes_md5
from dvc_gitops.status.lock import LockCheck

PIPELINE = """\
stages:
  prepare:
    cmd: python prepare.py
    deps:
      - prepare.py
    params:
      - prepare.seed
    outs:
      - data/prepared.csv
  train:
    cmd: python train.py --lr ${train.lr}
    deps:
      - train.py
      - data/prepared.csv
    params:
      - train.lr
      - train.layers
    outs:
      - model.pkl
"""
PARAMS = "prepare:\n  seed: 1\ntrain:\n  lr: 0.5\n  layers: [8, 4]\n"
FILES = {
    ".dvc/config": "",
    "dvc.yaml": PIPELINE,
    "params.yaml": PARAMS,
    "prepare.py": "print('prepare')\n",
    "train.py": "print('train')\n",
}
PREPARED = "a1" * 16
MODEL = "b2" * 16


def item(path: str, md5: str) -> dict[str, Any]:
    return {"path": path, "hash": "md5", "md5": md5, "size": 1}


def lock_of(files: Mapping[str, str], **changes: Any) -> dict[str, Any]:
    """The dvc.lock DVC writes for FILES (`changes` replace whole stage entries)."""
    stages = {
        "prepare": {
            "cmd": "python prepare.py",
            "deps": [item("prepare.py", bytes_md5(files["prepare.py"].encode()))],
            "params": {"params.yaml": {"prepare.seed": 1}},
            "outs": [item("data/prepared.csv", PREPARED)],
        },
        "train": {
            "cmd": "python train.py --lr 0.5",
            "deps": [
                item("data/prepared.csv", PREPARED),
                item("train.py", bytes_md5(files["train.py"].encode())),
            ],
            "params": {"params.yaml": {"train.layers": [8, 4], "train.lr": 0.5}},
            "outs": [item("model.pkl", MODEL)],
        },
    }
    stages.update(changes)
    return {"schema": "2.0", "stages": {k: v for k, v in stages.items() if v is not None}}


Make = Callable[..., Path]


@pytest.fixture
def repo(tmp_path: Path) -> Make:
    def make(files: Mapping[str, str] | None = None, lock: Any = None, **extra: str) -> Path:
        content = {**FILES, **(files or {}), **extra}
        lock = lock_of(content) if lock is None else lock
        text = lock if isinstance(lock, str) else yaml.safe_dump(lock, sort_keys=False)
        write_tree(tmp_path, {**content, "dvc.lock": text})
        return git_init(tmp_path)

    return make


def findings(root: Path, tree: Any = None) -> list[Finding]:
    tree = tree or DiskTree(root)
    project = Project(root) if isinstance(tree, DiskTree) else Project(root, tree=tree)
    return sorted(LockCheck(project, tree).run())


def codes(root: Path, tree: Any = None) -> list[tuple[str, str, int]]:
    return [(f.code, f.path, f.line) for f in findings(root, tree)]


def test_a_reproduced_pipeline_is_clean(repo: Make) -> None:
    root = repo()
    assert findings(root) == []
    with GitTree.staged(root) as staged, GitTree.at_rev(root, "HEAD") as head:
        assert findings(root, staged) == findings(root, head) == []


def test_staged_work_tree_and_commit_each_have_their_verdict(repo: Make, in_dir: Any) -> None:
    root = in_dir(repo())
    (root / "train.py").write_text("print('staged change')\n")
    git(root, "add", "train.py")
    (root / "train.py").write_text(FILES["train.py"])  # the work tree is back to the lock's
    assert findings(root) == []
    with GitTree.staged(root) as staged:
        (found,) = findings(root, staged)
    assert (found.code, found.path, found.line) == ("DG412", "dvc.yaml", 13)
    assert "dep 'train.py' changed since dvc.lock" in found.message
    assert main(["--scope", "staged"]) == 1
    assert main(["--scope", "worktree"]) == 0
    git(root, "commit", "-qm", "stale")
    assert main(["--rev", "HEAD~1"]) == 0
    assert main(["--rev", "HEAD"]) == 1


def test_downstream_stages_are_named(repo: Make) -> None:
    root = repo(**{"prepare.py": "print('changed')\n"})
    (root / "prepare.py").write_text("print('changed again')\n")
    (found,) = findings(root)
    assert "downstream, re-run if its outputs change: train" in found.message


def test_params_compared_as_dvc_compares_them(repo: Make) -> None:
    root = repo(lock=None)
    (root / "params.yaml").write_text(PARAMS.replace("lr: 0.5", "lr: 0.50"))
    assert findings(root) == []  # the same float
    (root / "params.yaml").write_text(PARAMS.replace("seed: 1", "seed: 1.0"))
    assert findings(root) == []  # 1 == 1.0 for DVC (Python's ==)
    (root / "params.yaml").write_text(PARAMS.replace("seed: 1", "seed: '1'"))
    (found,) = findings(root)
    assert (found.code, found.path, found.line) == ("DG413", "params.yaml", 2)
    assert 'param prepare.seed 1 -> "1"' in found.message
    (root / "params.yaml").write_text(PARAMS.replace("  seed: 1\n", "  other: 1\n"))
    (found,) = findings(root)
    assert (found.path, found.line) == ("dvc.yaml", 7)  # absent from params: its dvc.yaml line
    assert "prepare.seed 1 -> (absent)" in found.message


def test_whole_params_file(repo: Make) -> None:
    pipeline = "stages:\n  s:\n    cmd: echo\n    params:\n      - params.yaml:\n"
    lock = {"schema": "2.0", "stages": {"s": {"cmd": "echo", "params": {"params.yaml": {"a": 1}}}}}
    root = repo({"dvc.yaml": pipeline, "params.yaml": "a: 1\n"}, lock=lock)
    assert findings(root) == []
    (root / "params.yaml").write_text("a: 1\nb: 2\n")
    assert [f.message.split(";")[0] for f in findings(root)] == [
        "stage 's': param b (absent) -> 2 since dvc.lock"
    ]


def test_command_shape_counts(repo: Make) -> None:
    root = repo(
        **{"dvc.yaml": PIPELINE.replace("cmd: python prepare.py", "cmd: [python prepare.py]")}
    )
    assert codes(root) == [("DG411", "dvc.yaml", 3)]


def test_deps_outs_and_params_lists(repo: Make) -> None:
    changed = PIPELINE.replace("      - prepare.py\n", "      - params.yaml\n").replace(
        "      - model.pkl\n", "      - model.pkl\n      - report.json\n"
    )
    root = repo(**{"dvc.yaml": changed})
    found = findings(root)
    assert [(f.code, f.path, f.line) for f in found] == [
        ("DG416", "dvc.lock", 5),  # prepare.py still in the lock: DVC ignores it
        ("DG412", "dvc.yaml", 5),  # params.yaml added as a dep
        ("DG414", "dvc.yaml", 20),  # report.json added as an output
    ]
    assert "dvc commit prepare" in found[0].message


def test_graph_consistency(repo: Make) -> None:
    files = {**FILES}
    stale_train = lock_of(files)["stages"]["train"]
    stale_train["deps"][0]["md5"] = "c3" * 16  # train ran on an older prepared.csv
    root = repo(lock=lock_of(files, train=stale_train))
    (found,) = findings(root)
    assert found.code == "DG415" and found.line == 14
    assert "'train' was not reproduced after 'prepare'" in found.message


def test_frozen_and_always_changed(repo: Make) -> None:
    frozen = PIPELINE.replace("  prepare:\n", "  prepare:\n    frozen: true\n")
    root = repo(**{"dvc.yaml": frozen, "prepare.py": "changed = True\n"})
    assert findings(root) == []  # DVC skips a frozen stage's deps
    (root / "dvc.yaml").write_text(frozen.replace("python prepare.py", "python prepare.py -v"))
    assert [f.code for f in findings(root)] == ["DG411"]  # not its command
    (root / "dvc.yaml").write_text(
        PIPELINE.replace("  prepare:\n", "  prepare:\n    always_changed: true\n")
    )
    (found,) = findings(root)
    assert (found.code, found.severity) == ("DG421", "notice")


def test_data_not_at_hand_is_a_notice_not_a_guess(repo: Make) -> None:
    pipeline = PIPELINE.replace("      - train.py\n", "      - train.py\n      - raw/images\n")
    train = lock_of(FILES)["stages"]["train"]
    train["deps"].append(item("raw/images", "d4" * 16 + ".dir"))
    root = repo(**{"dvc.yaml": pipeline}, lock=lock_of(FILES, train=train))
    with GitTree.at_rev(root, "HEAD") as head:
        (found,) = findings(root, head)
    assert (found.code, found.severity) == ("DG420", "notice")
    assert "raw/images not checked without the data" in found.message
    assert [f.code for f in findings(root)] == ["DG420"]  # the work tree: not pulled
    (root / "train.py").unlink()  # a file git tracks: deleted
    assert sorted(f.code for f in findings(root)) == ["DG412", "DG420"]


def test_dvc_tracked_data_is_checked_through_its_dvc_file(repo: Make) -> None:
    pipeline = PIPELINE.replace("      - train.py\n", "      - train.py\n      - raw.csv\n")
    train = lock_of(FILES)["stages"]["train"]
    train["deps"].append(item("raw.csv", "e5" * 16))
    dvc_file = "outs:\n- md5: {}\n  size: 3\n  hash: md5\n  path: raw.csv\n"
    root = repo(
        **{"dvc.yaml": pipeline, "raw.csv.dvc": dvc_file.format("e5" * 16)},
        lock=lock_of(FILES, train=train),
    )
    with GitTree.at_rev(root, "HEAD") as head:
        assert findings(root, head) == []
    (root / "raw.csv.dvc").write_text(dvc_file.format("f6" * 16))
    (found,) = findings(root)
    assert found.code == "DG412" and "its .dvc file records" in found.message


def test_foreach_and_wdir(repo: Make) -> None:
    pipeline = (
        "stages:\n  fit:\n    foreach: [a, b]\n    do:\n      wdir: models\n"
        "      cmd: python fit.py ${item}\n      deps: [fit.py, ../shared.txt]\n"
    )
    files = {"dvc.yaml": pipeline, "models/fit.py": "fit\n", "shared.txt": "s\n"}
    deps = [item("../shared.txt", bytes_md5(b"s\n")), item("fit.py", bytes_md5(b"fit\n"))]
    stages = {f"fit@{m}": {"cmd": f"python fit.py {m}", "deps": deps} for m in "ab"}
    root = repo(files, lock={"schema": "2.0", "stages": stages})
    assert findings(root) == []
    (root / "shared.txt").write_text("changed\n")
    assert [f.message.split(":")[0] for f in findings(root)] == ["stage 'fit@a'", "stage 'fit@b'"]


def test_stale_lock_entry(repo: Make) -> None:
    gone = {"cmd": "echo old", "deps": []}
    root = repo(lock=lock_of(FILES, evaluate=gone))
    (found,) = findings(root)
    assert (found.code, found.path) == ("DG417", "dvc.lock")
    assert "stage 'evaluate'" in found.message


def test_a_missing_lock_entry(repo: Make) -> None:
    root = repo(lock=lock_of(FILES, train=None))
    (found,) = findings(root)
    assert found.code == "DG410" and "stage 'train' was never reproduced" in found.message


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        ("stages: [\n", "dvc.lock cannot be read"),
        ("schema: '3.0'\nstages: {}\n", "schema version '3.0': DVC 3 reads only '2.0'"),
        ("prepare:\n  cmd: x\n", "no `schema: '2.0'`: a lock of DVC 1"),
        ("schema: '2.0'\nstages:\n  prepare:\n    deps: []\n", "stage 'prepare' has no `cmd`"),
    ],
)
def test_a_lock_dvc_cannot_read_is_one_line(repo: Make, lock: str, message: str) -> None:
    (found,) = findings(repo(lock=lock))
    assert (found.code, found.path) == ("DG418", "dvc.lock")
    assert message in found.message and "\n" not in found.message


def test_a_binary_params_file_is_one_line(repo: Make) -> None:
    pipeline = PIPELINE.replace("      - prepare.seed\n", "      - other.yaml: [seed]\n")
    prepare = lock_of(FILES)["stages"]["prepare"]
    prepare["params"] = {"other.yaml": {"seed": 1}}
    root = repo(
        **{"dvc.yaml": pipeline, "other.yaml": "seed: 1\n"}, lock=lock_of(FILES, prepare=prepare)
    )
    assert findings(root) == []
    (root / "other.yaml").write_bytes(b"seed: \xff\x00binary")
    (found,) = findings(root)
    assert (found.code, found.path) == ("DG419", "other.yaml")
    assert "stage 'prepare': 'other.yaml' cannot be read" in found.message
    # the params.yaml beside dvc.yaml: DVC refuses the whole file, said once
    (root / "params.yaml").write_bytes(b"\xff\xfe\x00binary")
    (found,) = findings(root)
    assert (found.code, found.severity, found.path) == ("DG420", "notice", "dvc.yaml")


def test_git_refusals_are_exit_2_with_gits_reason(
    repo: Make, in_dir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    in_dir(repo())
    assert main(["--rev", "no-such-commit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("check-dvc-lock: error: cannot read commit no-such-commit: git")
    assert len(err.splitlines()) == 1


def test_staged_is_the_default_under_pre_commit(
    repo: Make, in_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = in_dir(repo())
    (root / "train.py").write_text("print('unstaged')\n")
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert main([]) == 0
    monkeypatch.delenv("PRE_COMMIT")
    assert main([]) == 1


def test_symlinked_dep_in_a_commit(repo: Make) -> None:
    root = repo()
    os.remove(root / "train.py")
    os.symlink("prepare.py", root / "train.py")
    git(root, "add", "-A")
    with GitTree.staged(root) as staged:
        (found,) = findings(root, staged)
    assert found.code == "DG412"  # the link is read through: prepare.py's content
    assert bytes_md5(FILES["prepare.py"].encode()) in found.message


def test_glob_params_keys_are_not_guessed(repo: Make) -> None:
    pipeline = PIPELINE.replace("      - train.lr\n      - train.layers\n", "      - train.*\n")
    root = repo(**{"dvc.yaml": pipeline})  # the lock records the matched train.lr, layers
    assert findings(root) == []


def test_a_folder_dep_partly_kept_out_of_git_is_not_hashed_from_git(repo: Make) -> None:
    pipeline = PIPELINE.replace("      - train.py\n", "      - train.py\n      - images\n")
    train = lock_of(FILES)["stages"]["train"]
    files = {"images/a.txt": "a\n", "images/big.bin": "big\n", ".gitignore": "*.bin\n"}
    from dvc_gitops.status.hashing import folder_md5

    md5 = folder_md5([("a.txt", bytes_md5(b"a\n")), ("big.bin", bytes_md5(b"big\n"))])
    train["deps"].append(item("images", md5))
    root = repo({**files, "dvc.yaml": pipeline}, lock=lock_of(FILES, train=train))
    assert findings(root) == []  # the work tree holds the whole folder
    with GitTree.at_rev(root, "HEAD") as head:
        assert [f.code for f in findings(root, head)] == ["DG420"]  # git lacks big.bin


@pytest.mark.slow
def test_dvc_leaves_a_removed_stages_entry_so_the_advice_is_to_delete_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import venv_tool

    root = write_tree(
        tmp_path / "repo",
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n"
            "  b:\n    cmd: echo b > b.txt\n    outs: [b.txt]\n"
        },
    )
    git_init(root, commit=False)
    for args in (("init", "-q"), ("repro", "-q")):
        assert venv_tool("dvc", root, *args).returncode == 0
    (root / "dvc.yaml").write_text("stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n")
    for args in (("repro", "-q"), ("commit", "-f", "-q")):
        assert venv_tool("dvc", root, *args).returncode == 0
    assert "b" in yaml.safe_load((root / "dvc.lock").read_text())["stages"]  # DVC kept it
    monkeypatch.chdir(root)
    assert main(["--scope", "worktree"]) == 1
    out = capsys.readouterr().out
    assert "DG417 dvc.lock holds an entry for stage 'b'" in out and "delete it" in out
