"""Time check-dvc-yaml against `dvc stage list --all --fail` on the same repository.

Both validate dvc.yaml; DVC's command is the reference a user would otherwise run. The
script builds a scratch git + DVC repository holding this project's demo pipeline
(dvc.yaml, params.yaml, pipeline/), optionally plus a generated monorepo, runs every
command N times in turn, and prints medians and ratios as a Markdown section.

    .venv/bin/python bench/schema_check.py                 # demo pipeline, 10 rounds
    .venv/bin/python bench/schema_check.py --monorepo 40x55 --rounds 5
    .venv/bin/python bench/schema_check.py --write         # update bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import write_section

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECTION = "check-dvc-yaml"
READING = (
    "Reading: the schema pass itself is a few milliseconds per file (a generated "
    "fastjsonschema validator; `jsonschema` is imported only for a file that fails); on the "
    "demo most of the hook's time is Python's start-up and imports. Building the pipeline "
    "model for the graph and params rules is the rest. DVC pays its own start-up plus a "
    "full repository load."
)


def make_repo(root: Path, monorepo: tuple[int, int] | None) -> None:
    """The demo pipeline (and `files` x `stages` generated dvc.yaml files) in a git repo."""
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    shutil.copytree(REPO / "pipeline", root / "pipeline")
    if monorepo:
        files, stages = monorepo
        for f in range(files):
            folder = root / "projects" / f"p{f}"
            folder.mkdir(parents=True)
            lines = ["stages:"]
            for s in range(stages):
                lines += [
                    f"  s{s}:",
                    f"    cmd: python step.py {s}",
                    "    deps:",
                    "    - step.py",
                    *([f"    - out{s - 1}.csv"] if s else []),
                    "    params:",
                    "    - lr",
                    "    outs:",
                    f"    - out{s}.csv",
                ]
            (folder / "dvc.yaml").write_text("\n".join(lines) + "\n")
            (folder / "params.yaml").write_text("lr: 0.1\n")
            (folder / "step.py").write_text("")
    run(["git", "init", "-q"], root)
    run([str(BIN / "dvc"), "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-qm", "bench"], root)


def run(argv: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run; fails on an unexpected exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def commands(root: Path, monorepo: bool) -> dict[str, list[str]]:
    """Label -> command line; the hook gets every dvc.yaml, as pre-commit passes them."""
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("dvc.yaml"))
    shown = "dvc.yaml" if len(files) == 1 else f"<{len(files)} dvc.yaml files>"
    hook = str(BIN / "check-dvc-yaml")
    dvc = [str(BIN / "dvc"), "stage", "list", "--all", "--fail", *(["-R"] if monorepo else [])]
    return {
        f"check-dvc-yaml {shown}": [hook, *files],
        f"check-dvc-yaml --select DG1 {shown}": [hook, "--select", "DG1", *files],
        " ".join(["dvc", *dvc[1:]]): dvc,
    }


def measure(root: Path, rounds: int, monorepo: bool) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each command, run in turn `rounds` times."""
    cmds = commands(root, monorepo)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for argv in cmds.values():  # one warm-up run each (page cache, .pyc)
        run(argv, root, ok=(0, 1))
    for _ in range(rounds):
        for name, argv in cmds.items():
            times[name].append(run(argv, root, ok=(0, 1)))
    return {
        name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in times.items()
    }


def versions() -> str:
    dvc = subprocess.run(
        [str(BIN / "dvc"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (shared; load "
        f"average {load:.1f} at the start), Python {platform.python_version()}, DVC {dvc}"
    )


def report(results: dict[str, dict[str, tuple[float, float]]], rounds: int, argv: list[str]) -> str:
    lines = [
        f"## {SECTION}",
        "",
        f"Machine: {versions()}. Medians of {rounds} runs after one warm-up; each command is",
        "a fresh process, as pre-commit runs it, so the hook's figures include Python's",
        "start-up and imports. CPU (user + system) is the steadier figure on a shared",
        "machine. `check-dvc-yaml` runs the schema and the pipeline model's graph and params",
        "rules; `--select DG1` runs the YAML and schema rules alone. Reproduce:",
        "",
        "```sh",
        " ".join([".venv/bin/python", "bench/schema_check.py", *argv]),
        "```",
        "",
    ]
    for label, medians in results.items():
        wall_ref, cpu_ref = next(v for k, v in medians.items() if k.startswith("dvc stage"))
        lines += [
            f"### {label}",
            "",
            "| command | wall s | CPU s | vs dvc (wall / CPU) |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, (wall, cpu) in medians.items():
            ratio = f"{wall / wall_ref:.0%} / {cpu / cpu_ref:.0%}"
            lines.append(f"| `{name}` | {wall:.2f} | {cpu:.2f} | {ratio} |")
        lines.append("")
    lines += [READING, ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--monorepo", help="also time FILESxSTAGES generated files, e.g. 40x55")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    shown = [a for a in sys.argv[1:] if a != "--write"]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        demo = Path(scratch) / "demo"
        demo.mkdir()
        make_repo(demo, None)
        results["The demo pipeline (4 stages, one dvc.yaml)"] = measure(demo, args.rounds, False)
        if args.monorepo:
            files, stages = (int(n) for n in args.monorepo.lower().split("x"))
            big = Path(scratch) / "monorepo"
            big.mkdir()
            make_repo(big, (files, stages))
            label = f"A generated monorepo ({files} dvc.yaml files x {stages} stages)"
            results[label] = measure(big, args.rounds, True)
    text = report(results, args.rounds, shown)
    print(text)
    if args.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
