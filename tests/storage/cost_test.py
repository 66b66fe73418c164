"""`dvc-gitops cost` against a real remote: commits made by real `dvc repro` and pushed
with real `dvc push` to a local remote, whose size on disk is the truth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, venv_tool, write_tree

from dvc_gitops.cli import main
from dvc_gitops.storage.cost import GIB, read_history, render_markdown, summary

# A stage writing one file and one folder: two of the folder's three files change with
# the param, one never does (the remote keeps it once).
PIPELINE = {
    "params.yaml": "n: 1\n",
    "work/.gitkeep": "",
    "make.py": (
        "import pathlib, yaml\n"
        "n = yaml.safe_load(open('params.yaml'))['n']\n"
        "out = pathlib.Path('work/out'); out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'same.txt').write_text('never changes\\n' * 50)\n"
        "(out / 'a.txt').write_text(f'a {n}\\n' * (100 * n))\n"
        "(out / 'b.txt').write_text(f'b {n}\\n' * 7)\n"
        "pathlib.Path('model.bin').write_bytes(bytes([n]) * (1000 * n))\n"
        "pathlib.Path('metrics.json').write_text(f'{{\"n\": {n}}}')\n"
    ),
    "dvc.yaml": (
        "stages:\n"
        "  make:\n"
        "    wdir: work\n"
        "    cmd: cd .. && python make.py\n"
        "    deps: [../make.py]\n"
        "    params: [../params.yaml: [n]]\n"
        "    outs: [out, ../model.bin]\n"
        "    metrics:\n"
        "      - ../metrics.json:\n"
        "          cache: false\n"
    ),
}


def dvc(root: Path, *args: str) -> str:
    # The stage's `python` is the test environment's (it has PyYAML).
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = venv_tool("dvc", root, *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def remote_bytes(remote: Path) -> tuple[int, int]:
    files = [p for p in remote.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A repository of three reproduced, committed and pushed versions, and its remote."""
    base = tmp_path_factory.mktemp("cost")
    root, remote = base / "repo", base / "remote"
    write_tree(root, PIPELINE)
    git_init(root, commit=False)
    dvc(root, "init", "-q")
    dvc(root, "remote", "add", "-d", "local", str(remote))
    for n in (1, 2, 3):
        (root / "params.yaml").write_text(f"n: {n}\n")
        dvc(root, "repro", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"n={n}")
        dvc(root, "push", "-q")
    return root, remote


@pytest.mark.slow
def test_the_distinct_objects_of_the_history_are_what_the_remote_holds(
    pushed: tuple[Path, Path],
) -> None:
    root, remote = pushed
    data = summary(read_history(root, "HEAD"), 0.023)
    count, size = remote_bytes(remote)
    assert (data["objects"], data["total_bytes"]) == (count, size)
    assert data["folders_counted_whole"] == 0
    assert {row["output"]: row["versions"] for row in data["outputs"]} == {
        "work/out": 3,
        "model.bin": 3,
    }  # metrics.json is `cache: false`: never pushed, never counted
    assert data["commits"] == 3
    assert data["monthly_cost"] == pytest.approx(size / GIB * 0.023)


@pytest.mark.slow
def test_a_range_counts_only_what_its_commits_name(pushed: tuple[Path, Path]) -> None:
    root, _remote = pushed
    last = summary(read_history(root, "HEAD~1..HEAD"), 0.023)
    whole = summary(read_history(root, "HEAD"), 0.023)
    assert last["commits"] == 1
    assert 0 < last["total_bytes"] < whole["total_bytes"]


@pytest.mark.slow
def test_without_the_local_cache_folders_count_whole_and_say_so(
    pushed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _remote = pushed
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    data = summary(read_history(clone, "HEAD"), 0.023)
    assert data["folders_counted_whole"] == 3
    assert "counted whole" in render_markdown(data)


@pytest.mark.slow
def test_the_command_prints_json_and_refuses_bad_input(
    pushed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, remote = pushed
    monkeypatch.chdir(root)
    assert main(["cost", "--format", "json", "--price", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_bytes"] == remote_bytes(remote)[1]
    assert main(["cost", "no-such-rev"]) == 2
    assert "git log failed" in capsys.readouterr().err
    assert main(["cost", "--price", "nan"]) == 2
    assert main(["cost", "--upload-pack=x"]) == 2


def test_a_repository_without_dvc_files_costs_nothing(tmp_path: Path) -> None:
    root = git_init(write_tree(tmp_path, {"README.md": "hello\n"}))
    data = summary(read_history(root, "HEAD"), 0.023)
    assert (data["objects"], data["total_bytes"], data["commits"]) == (0, 0, 0)
