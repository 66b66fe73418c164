"""Wall time of the dvc-status hook beside plain `dvc status --json`, in one run.

Two scratch repositories (temporary folders, removed afterwards):

- small: a reproduced 4-stage pipeline with one changed param. The figure is the ratio
  hook / plain DVC: what the explanation (model, lock, params, the hook's own start-up)
  adds to the DVC process every run pays anyway.
- many: 200 stages (20 chains of 10) with one input file changed and staged. The figure
  is `--scope staged` (1 chain's stages as targets) against a full run.
- clone (`--clone-stages N`): N stages in chains of 20, one dvc.yaml per chain, committed
  and then every output deleted, as on a fresh clone before `dvc pull`: DVC lists every
  stage, and the hook explains each (issue 22: at most 1.1x plain DVC).

Usage: `.venv/bin/python bench/status_bench.py [--repeat N] [--stages N] [--write]`;
`--write` replaces the dvc-status section of bench/RESULTS.md with the table printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from results_file import write_section

BIN = Path(sys.prefix) / "bin"
DVC = str(BIN / "dvc")
HOOK = str(BIN / "dvc-status")


def sh(root: Path, *args: str) -> str:
    done = subprocess.run(args, cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


def timed(root: Path, command: Sequence[str], repeat: int) -> tuple[float, float, str]:
    """Median wall and CPU seconds (the process and its children) over `repeat` runs
    after one warm-up, and the last stdout. CPU time barely moves on a loaded machine."""
    out = ""
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
        out = done.stdout
        if attempt:  # the first run fills DVC's hash cache
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus), out


# The hook's own work without DVC, in a fresh interpreter: its imports, then the model
# and the explanation of an answer DVC gave before (fed on stdin).
OWN_WORK = """
import json, sys, time
started = time.process_time()
from pathlib import Path
from dvc_gitops.status import dvc_status as dvc_status_module
from dvc_gitops.hooks import dvc_status
from dvc_gitops.core.project import Project
imported = time.process_time()
project = Project(Path.cwd())
result = dvc_status_module.StatusResult(stages=json.loads(sys.stdin.read()))
findings = list(dvc_status_module.explain(project, result))
print(imported - started, time.process_time() - imported, len(findings))
"""


def own_work(root: Path, answer: str, repeat: int) -> tuple[float, float]:
    """Median CPU seconds of the hook's imports, and of its model + explanation."""
    imports, explaining = [], []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", OWN_WORK],
            cwd=root,
            input=answer,
            capture_output=True,
            text=True,
            check=True,
        )
        first, second, _ = done.stdout.split()
        imports.append(float(first))
        explaining.append(float(second))
    return statistics.median(imports), statistics.median(explaining)


def git_repo(root: Path) -> None:
    root.mkdir(parents=True)
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.email", "bench@dvc-gitops.invalid")
    sh(root, "git", "config", "user.name", "bench")
    sh(root, DVC, "init", "-q")


def small_repo(root: Path) -> None:
    git_repo(root)
    files = {
        "params.yaml": "prepare:\n  seed: 1\ntrain:\n  lr: 0.1\n",
        "data/raw.csv": "".join(f"{i},{i * i}\n" for i in range(2000)),
        "src/prepare.sh": "sort data/raw.csv > prepared.csv\n",
        "src/train.sh": "wc -l prepared.csv > model.txt\n",
        "src/evaluate.sh": "cat model.txt > metrics.txt\n",
        "src/report.sh": "cat metrics.txt > report.txt\n",
        "dvc.yaml": "stages:\n"
        + "".join(
            f"  {name}:\n    cmd: sh src/{name}.sh\n    deps: [src/{name}.sh, {dep}]\n"
            f"    params: [{param}]\n    outs: [{out}]\n"
            for name, dep, param, out in [
                ("prepare", "data/raw.csv", "prepare.seed", "prepared.csv"),
                ("train", "prepared.csv", "train", "model.txt"),
                ("evaluate", "model.txt", "train.lr", "metrics.txt"),
                ("report", "metrics.txt", "prepare", "report.txt"),
            ]
        ),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    sh(root, DVC, "repro", "-q")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-q", "-m", "reproduced")
    text = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(text.replace("lr: 0.1", "lr: 0.2"))


def many_repo(root: Path, stages: int, split: bool, chain: int = 10) -> None:
    """`stages` stages in chains of `chain`, in one dvc.yaml or one per chain (`split`).

    Outputs are made here and recorded with `dvc commit` (as `dvc repro` would, faster).
    """
    git_repo(root)
    files: dict[str, list[str]] = {}
    for i in range(stages):
        folder = f"p{i // chain}/" if split else ""
        lines = files.setdefault(f"{folder}dvc.yaml", ["stages:"])
        first = i % chain == 0
        dep = f"in/{i}.txt" if first else f"out/{i - 1}.txt"
        for name, text in ((f"in/{i}.txt", f"input {i}\n"), (f"out/{i}.txt", f"input {i}\n")):
            (root / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (root / folder / name).write_text(text)
        lines += [
            f"  s{i}:",
            f"    cmd: cp {dep} out/{i}.txt",
            f"    deps: [{dep}" + ("" if first else f", in/{i}.txt") + "]",
            f"    outs: [out/{i}.txt]",
        ]
    for name, lines in files.items():
        (root / name).write_text("\n".join(lines) + "\n")
    for i in range(stages):  # each output is its chain's first input, as `cp` made it
        folder = f"p{i // chain}/" if split else ""
        first = (root / folder / f"in/{i - i % chain}.txt").read_text()
        (root / folder / f"out/{i}.txt").write_text(first)
    sh(root, DVC, "commit", "-q", "-f")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-q", "-m", "committed")
    third = chain * 3
    changed = f"p3/in/{third}.txt" if split else f"in/{third}.txt"
    (root / changed).write_text("changed\n")
    sh(root, "git", "add", changed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stages", type=int, default=200)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument(
        "--clone-stages", type=int, default=0, help="also N stages as on a fresh clone"
    )
    parser.add_argument("--only-clone", action="store_true", help="skip small and many")
    args = parser.parse_args(argv)
    rows: list[str] = []
    own: list[str] = []

    def own_row(repo: str, root: Path, answer: str) -> None:
        imports, explaining = own_work(root, answer, args.repeat)
        own.append(f"| {repo} | {imports:.2f} | {explaining:.2f} |")

    def row(repo: str, run: str, wall: float, cpu: float, base: tuple[float, float]) -> None:
        ratio = f"{wall / base[0]:.2f}x / {cpu / base[1]:.2f}x"
        rows.append(f"| {repo} | {run} | {wall:.2f} | {cpu:.2f} | {ratio} |")

    hook = [HOOK, "--dvc", DVC]
    with tempfile.TemporaryDirectory(prefix="status-bench-") as tmp:
        os.environ["DVC_SITE_CACHE_DIR"] = str(Path(tmp) / "site-cache")
        os.environ["DVC_NO_ANALYTICS"] = "1"
        if args.clone_stages:
            clone = Path(tmp) / "clone"
            many_repo(clone, args.clone_stages, True, chain=20)
            sh(clone, "git", "reset", "-q")  # the staged change of many_repo: undone
            sh(clone, "git", "checkout", "-q", ".")
            for out in clone.glob("p*/out/*.txt"):
                out.unlink()
            wall, cpu, answer = timed(clone, [DVC, "status", "--json"], args.repeat)
            base = (wall, cpu)
            label = f"{args.clone_stages} stages in {args.clone_stages // 20} dvc.yaml files"
            row(f"{label}, fresh clone", "`dvc status --json`", wall, cpu, base)
            wall, cpu, out = timed(clone, hook, args.repeat)
            # Every stage is only missing its outputs: DG402 (one per stage, or grouped).
            assert "DG402" in out and "DG401" not in out, out[-300:]
            row("", "`dvc-status`", wall, cpu, base)
            own_row(f"{label}, fresh clone", clone, answer)
        if args.only_clone:
            return _report(args, rows, own)
        small = Path(tmp) / "small"
        small_repo(small)
        wall, cpu, answer = timed(small, [DVC, "status", "--json"], args.repeat)
        base = (wall, cpu)
        row("small: 4 stages, 1 param changed", "`dvc status --json`", wall, cpu, base)
        own_row("small: 4 stages", small, answer)
        wall, cpu, out = timed(small, hook, args.repeat)
        assert "DG401" in out, out
        row("", "`dvc-status`", wall, cpu, base)
        for split in (False, True):
            many = Path(tmp) / f"many-{split}"
            many_repo(many, args.stages, split)
            files = f"{args.stages // 10} dvc.yaml files" if split else "one dvc.yaml"
            wall, cpu, answer = timed(many, [DVC, "status", "--json"], args.repeat)
            base = (wall, cpu)
            own_row(f"{args.stages} stages in {files}", many, answer)
            row(
                f"{args.stages} stages in {files}, 1 input staged",
                "`dvc status --json`",
                wall,
                cpu,
                base,
            )
            wall, cpu, out = timed(many, hook, args.repeat)
            assert out.count("DG401") == 1, out
            row("", "`dvc-status`", wall, cpu, base)
            wall, cpu, out = timed(many, [*hook, "--scope", "staged"], args.repeat)
            assert out.count("DG401") == 1, out
            row("", "`dvc-status --scope staged`", wall, cpu, base)
    return _report(args, rows, own)


def _report(args: argparse.Namespace, rows: list[str], own: list[str]) -> int:
    table = "\n".join(
        [
            "| repository | run | wall s | CPU s | vs plain DVC (wall / CPU) |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            "The hook's own CPU seconds without DVC (a fresh interpreter, median):",
            "",
            "| repository | imports | pipeline model + explanation |",
            "| --- | --- | --- |",
            *own,
        ]
    )
    machine = f"{platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"
    dvc_version = sh(Path.cwd(), DVC, "--version").strip()
    name = "dvc-status-clone" if args.only_clone else "dvc-status"
    command = "bench/status_bench.py --write"
    if args.only_clone:
        command = f"bench/status_bench.py --clone-stages {args.clone_stages} --only-clone --write"
    section = (
        f"## {name}\n\n`.venv/bin/python {command}` "
        f"(median of {args.repeat} runs after a warm-up; DVC {dvc_version}, Python "
        f"{machine}; measured {time.strftime('%Y-%m-%d %H:%M')}, on a shared machine):\n\n"
        f"{table}\n\n"
        "The hook runs as its console script, so its figures include its own Python start-up "
        "and imports; the difference to plain DVC is what the explanation costs. CPU is "
        "user + system time of the process and its children: the steadier figure when "
        "other jobs share the machine.\n\n"
        "Reading: the hook's own share is its start-up and the explanation (the pipeline "
        "model is built while DVC runs). `--scope staged` saves most when pipelines are "
        "split over many dvc.yaml files: DVC parses a whole dvc.yaml and its lock for any "
        "target in it, so in one big dvc.yaml the saving is only the hashing of the other "
        "stages.\n"
    )
    print(section)
    if args.write:
        write_section(name, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
