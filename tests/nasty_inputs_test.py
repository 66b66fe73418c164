"""Nasty inputs: every static hook answers with findings or one line, never a crash.

The corpus `tests/nasty/` holds small hostile files (YAML bombs and anchors, NUL bytes,
invalid UTF-8, wrong types, interpolation and matrix bombs, hostile commands,
requirement-file loops, broken DVC config); each is put in place of its kind of file in
an otherwise valid repository and every static hook runs on it. Big or filesystem-level
cases are made at test time: 10 MB files, nesting thousands deep, symlink loops, files
that cannot be read, paths with spaces and non-ASCII names, and a read-only tree under
the fixers. The contract is `hook_invariants.assert_contract`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import write_tree
from hook_invariants import FIXERS, STATIC_HOOKS, run_all, run_hook

from dvc_gitops.formats import yamldoc
from dvc_gitops.formats.yamldoc import YamlProblem
from dvc_gitops.hooks import dvc_dag_docs

NASTY = Path(__file__).parent / "nasty"
# Each hook on each input, generously: the whole file runs in about a minute.
SLOW_INPUT_SECONDS = 30.0

VALID = {
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n"
    "    params: [lr]\n    outs: [model.pkl]\n",
    "params.yaml": "lr: 0.1\n",
    "train.py": "import mlflow\n\nmlflow.set_experiment('train')\n",
    "requirements.txt": "dvc==3.67.1\n",
    "mlflow-experiments.yaml": "version: 1\nstages:\n  train:\n    experiment: train\n",
    ".dvc/config": "[core]\n    remote = store\n['remote \"store\"']\n    url = /tmp/store\n",
    "README.md": "# demo\n\n<!-- dvc-gitops:dag:start -->\n<!-- dvc-gitops:dag:end -->\n",
}

# Where each corpus folder's files go (a YAML file is hostile anywhere YAML is read).
SLOTS = {
    "yaml": ["dvc.yaml", "params.yaml", "mlflow-experiments.yaml"],
    "requirements": ["requirements.txt"],
    "config": [".dvc/config"],
    "mlflow-map": ["mlflow-experiments.yaml"],
}
CASES = [
    pytest.param(path, slot, id=f"{path.parent.name}/{path.name}->{slot}")
    for path in sorted(NASTY.glob("*/*"))
    for slot in SLOTS[path.parent.name]
]


def repo_with(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """The valid repository (its README picture drawn), then `files` written over it."""
    root = tmp_path / "repo"
    write_tree(root, VALID)
    assert run_hook("dvc-dag-docs", dvc_dag_docs.main, [], root).code == 1  # drawn
    write_tree(root, files)
    return root


def run_timed(root: Path) -> None:
    for name, main, argv in STATIC_HOOKS:
        start = time.perf_counter()
        run_all(root, [(name, main, argv)])
        took = time.perf_counter() - start
        assert took < SLOW_INPUT_SECONDS, f"{name} took {took:.1f} s"


def test_the_valid_repository_is_clean(tmp_path: Path) -> None:
    # The baseline every nasty case spoils: without the spoiling, nothing is reported.
    root = repo_with(tmp_path, {})
    outcomes = run_all(root)
    assert [o.code for o in outcomes] == [0] * len(outcomes), [o.describe() for o in outcomes]


@pytest.mark.parametrize(("path", "slot"), CASES)
def test_corpus(tmp_path: Path, path: Path, slot: str) -> None:
    run_timed(repo_with(tmp_path, {slot: path.read_bytes()}))


@pytest.mark.slow
@pytest.mark.parametrize("slot", ["dvc.yaml", "params.yaml", "requirements.txt", ".dvc/config"])
def test_ten_megabyte_file(tmp_path: Path, slot: str) -> None:
    big = {
        "dvc.yaml": VALID["dvc.yaml"] + "  huge:\n    cmd: echo " + "x" * 10_000_000 + "\n",
        "params.yaml": "lr: 0.1\nkeys:\n" + "  - abcdefghij\n" * 700_000,
        "requirements.txt": "dvc==3.67.1\n" + "# padding padding padding\n" * 400_000,
        ".dvc/config": VALID[".dvc/config"] + "# padding padding padding\n" * 400_000,
    }[slot]
    assert len(big) >= 10_000_000
    run_timed(repo_with(tmp_path, {slot: big}))


@pytest.mark.parametrize(
    "text",
    [
        "stages: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "stages: " + "{a: " * 5_000 + "b" + "}" * 5_000 + "\n",
        "stages:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(1_500)) + "\n",
        "lr: 0.1\nx: " + "- " * 3_000 + "deep\n",
    ],
    ids=["flow-lists", "flow-maps", "block-maps", "block-lists"],
)
@pytest.mark.parametrize("slot", ["dvc.yaml", "params.yaml", "mlflow-experiments.yaml"])
def test_deep_nesting(tmp_path: Path, text: str, slot: str) -> None:
    run_timed(repo_with(tmp_path, {slot: text}))


def test_symlink_loops_and_dangling_links(tmp_path: Path) -> None:
    root = repo_with(tmp_path, {"sub/dvc.yaml": VALID["dvc.yaml"]})
    (root / "sub" / "loop").symlink_to("..")  # a folder that contains itself
    (root / "self").symlink_to("self")  # a link to itself (ELOOP)
    (root / "params.yaml").unlink()
    (root / "params.yaml").symlink_to("params.yaml")
    (root / "requirements.txt").unlink()
    (root / "requirements.txt").symlink_to("missing.txt")  # dangling
    (root / "more").mkdir()
    (root / "more" / "dvc.yaml").symlink_to("../more")  # a dvc.yaml that is a folder
    run_timed(root)


def test_dvc_yaml_is_a_folder_or_a_dangling_link(tmp_path: Path) -> None:
    root = repo_with(tmp_path, {"a/dvc.yaml/x": "", "mlflow-experiments.yaml": ""})
    (root / "dvc.yaml").unlink()
    (root / "dvc.yaml").symlink_to("nowhere.yaml")
    (root / "mlflow-experiments.yaml").unlink()
    (root / "mlflow-experiments.yaml").mkdir()
    run_timed(root)


def test_unreadable_files(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip(
            "running as root: chmod 000 does not stop reads (the dangling-link "
            "and folder cases above cover files that cannot be read)"
        )
    root = repo_with(tmp_path, {})
    for name in ("dvc.yaml", "params.yaml", "requirements.txt", "train.py", ".dvc/config"):
        (root / name).chmod(0)
    try:
        run_timed(root)
    finally:
        for name in ("dvc.yaml", "params.yaml", "requirements.txt", "train.py", ".dvc/config"):
            (root / name).chmod(0o644)


def test_spaces_and_non_ascii_names(tmp_path: Path) -> None:
    stage = (
        'stages:\n  entraîner:\n    cmd: python "my script.py" && python 学习.py\n'
        '    deps: ["my script.py"]\n    outs: ["sortie modèle.pkl"]\n'
    )
    root = repo_with(
        tmp_path,
        {
            "my project/dvc.yaml": stage,
            "my project/my script.py": "import mlflow\n",
            "my project/学习.py": "print('hi')\n",
            "données/dvc.yaml": stage.replace("entraîner", "train"),
            "données/my script.py": "",
            "données/params.yaml": "lr: 1\n",
        },
    )
    outcomes = run_all(root)
    deps = next(o for o in outcomes if o.name == "check-dvc-deps")
    assert "学习.py" in deps.out  # found, and named as written


def _make_read_only(root: Path) -> list[Path]:
    """Make the tree unwritable, even for root (chattr +i); returns what to undo."""
    paths = [root, *(p for p in root.rglob("*") if not p.is_symlink())]
    if os.geteuid() != 0:
        for p in paths:
            p.chmod(p.stat().st_mode & 0o555)
        return paths
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make files read-only")
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
    if done.returncode:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
        pytest.skip(f"chattr +i refused here: {done.stderr.decode().strip()}")
    return paths


def _undo_read_only(paths: list[Path]) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        for p in paths:
            p.chmod(p.stat().st_mode | 0o200)


def test_fixers_on_a_read_only_tree_report_not_crash(tmp_path: Path) -> None:
    # Each fixer has something to fix: a script missing from deps, an unpinned dvc,
    # a credential in .dvc/config, a stale picture in README.md.
    root = repo_with(
        tmp_path,
        {
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    outs: [m.pkl]\n",
            "requirements.txt": "dvc>=3\n",
            ".dvc/config": "['remote \"s\"']\n    url = s3://b/p\n    secret_access_key = abc\n",
            ".gitignore": ".dvc/config.local\n",
            "README.md": "<!-- dvc-gitops:dag:start -->\nstale\n<!-- dvc-gitops:dag:end -->\n",
        },
    )
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    undo = _make_read_only(root)
    try:
        outcomes = run_all(root, FIXERS)
    finally:
        _undo_read_only(undo)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before
    for outcome in outcomes:
        assert outcome.code in (1, 2), outcome.describe()  # reported, not "fixed"


@pytest.mark.parametrize(("name", "main", "argv"), STATIC_HOOKS, ids=[h[0] for h in STATIC_HOOKS])
def test_outside_any_repository(tmp_path: Path, name: str, main: object, argv: list[str]) -> None:
    empty = tmp_path / "nothing here"
    empty.mkdir()
    outcome = run_hook(name, main, argv, empty)  # type: ignore[arg-type]
    assert outcome.code in (0, 1, 2), outcome.describe()
    assert "Traceback" not in outcome.out + outcome.err


@pytest.mark.parametrize("text", ["stages: &s\n  a: *s\n", "a: &a [1, *a]\n", "a: &x {b: [*x]}\n"])
def test_recursive_alias_is_a_problem_not_a_hang(text: str) -> None:
    # Found by this corpus: counting the nodes of `&s {a: *s}` looped forever.
    with pytest.raises(YamlProblem, match="alias refers to a node that contains it"):
        yamldoc.load(text, "dvc.yaml")
