"""Bounded resources (issue 15, items 16 and 17): expansion bombs, quadratic fixes,
parser recursion, and bad option values end as findings or usage errors, quickly.
Time and memory are measured on the real console scripts in a child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import VENV_BIN, git_init, write_tree
from hostile import run_tool


def _peak(args: list[str], cwd: Path) -> tuple[float, float, str, int]:
    """(seconds, peak MB, output, exit code) of `args` run in a child of a fresh probe."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)\n"
        "took = time.monotonic() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps([took, peak, done.stdout + done.stderr, done.returncode]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    took, peak, text, code = json.loads(out)
    return took, peak, text, code


def test_matrix_bomb_is_a_finding_in_bounded_time_and_memory(tmp_path: Path) -> None:
    values = "[" + ", ".join(str(i) for i in range(300)) + "]"
    text = (
        "stages:\n  bomb:\n    matrix:\n"
        f"      a: {values}\n      b: {values}\n      c: {values}\n"
        "    cmd: echo ${item.a} ${item.b} ${item.c}\n"
    )
    assert len(text) < 5000
    root = write_tree(tmp_path / "repo", {"dvc.yaml": text, ".dvc/config": ""})
    git_init(root)
    took, peak, out, code = _peak([str(VENV_BIN / "check-dvc-yaml")], root)
    assert code == 1, out
    assert "DG142 matrix stage 'bomb' expands to 27,000,000 stages" in out
    assert took < 30, f"{took:.1f} s"
    assert peak < 300, f"{peak:.0f} MB"


def test_foreach_bomb_through_vars_is_a_finding(tmp_path: Path) -> None:
    items = ", ".join(str(i) for i in range(30_000))
    root = write_tree(
        tmp_path / "repo",
        {
            "params.yaml": f"many: [{items}]\n",
            "dvc.yaml": "stages:\n  fan:\n    foreach: ${many}\n    do:\n      cmd: echo ${item}\n",
            ".dvc/config": "",
        },
    )
    git_init(root)
    done = run_tool("check-dvc-yaml", root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "foreach stage 'fan' expands to 30,000 stages" in done.stdout


def _pipeline(root: Path, stages: int) -> None:
    files = {".dvc/config": ""}
    body = ["stages:"]
    for n in range(stages):
        files[f"src/s{n}.py"] = "print(1)\n"
        body.append(f"  s{n}:\n    cmd: python src/s{n}.py\n    outs:\n    - out/{n}.txt")
    files["dvc.yaml"] = "\n".join(body) + "\n"
    write_tree(root, files)
    git_init(root)


@pytest.mark.slow
def test_deps_fix_is_linear(tmp_path: Path) -> None:
    seconds = {}
    for stages in (500, 2000):
        root = tmp_path / f"r{stages}"
        _pipeline(root, stages)
        started = time.monotonic()
        done = run_tool("check-dvc-deps", root, "--fix", timeout=600)
        seconds[stages] = time.monotonic() - started
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr
        assert (root / "dvc.yaml").read_text().count("deps:") == stages
    # 4x the stages: well under 16x the time (it was 7 s at 400 and minutes at 3,000).
    assert seconds[2000] < 8 * seconds[500] + 2, seconds


def test_deeply_nested_python_is_not_an_internal_error(tmp_path: Path) -> None:
    nested = "x = " + "-" * 5000 + "1\n"
    root = write_tree(
        tmp_path / "repo",
        {
            "train.py": "import mlflow\n" + nested,
            "helper.py": nested,
            "setup.py": nested,
            "params.py": nested,
            "dvc.yaml": (
                "stages:\n  t:\n    cmd: python train.py\n    deps: [train.py]\n"
                "    params:\n      - params.py:\n"
            ),
            ".dvc/config": "",
        },
    )
    git_init(root)
    done = run_tool("dvc-gitops", root, "check")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "internal error" not in done.stderr
    deps = run_tool("check-dvc-deps", root)
    assert deps.returncode in (0, 1) and "internal error" not in deps.stderr


@pytest.mark.parametrize("command", [["dvc-gitops", "check"], ["check-dvc-yaml"]])
def test_output_file_in_a_missing_folder_is_a_usage_error(
    tmp_path: Path, command: list[str]
) -> None:
    root = write_tree(tmp_path / "repo", {"dvc.yaml": "stages: {}\n", ".dvc/config": ""})
    git_init(root)
    done = run_tool(command[0], root, *command[1:], "--output-file", "/missing/dir/x")
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "internal error" not in done.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3", "abc"])
def test_timeouts_must_be_real_numbers_of_seconds(tmp_path: Path, value: str) -> None:
    root = write_tree(tmp_path / "repo", {"dvc.yaml": "stages: {}\n", ".dvc/config": ""})
    git_init(root)
    for command in (["dvc-status"], ["check-mlflow-map", "--online"], ["dvc-gitops", "doctor"]):
        done = run_tool(command[0], root, *command[1:], "--timeout", value)
        assert done.returncode == 2, (command, done.stdout + done.stderr)
