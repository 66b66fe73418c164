"""Time check-dvc-deps as pre-commit runs it: a fresh process over every dvc.yaml.

The repositories are generated: FILES dvc.yaml files of STAGES stages each; every stage
runs its own script through a shell line with an env prefix, and every script imports a
shared local module chain (so the import scan has work to do). Half the stages list
their script in deps, so the hook also formats findings. Prints a Markdown section.

    .venv/bin/python bench/check_dvc_deps_bench.py                  # 1x4 and 40x55
    .venv/bin/python bench/check_dvc_deps_bench.py --rounds 5 --write  # bench/RESULTS.md
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
from pathlib import Path

from results_file import write_section

REPO = Path(__file__).resolve().parent.parent
HOOK = Path(sys.executable).parent / "check-dvc-deps"
SECTION = "check-dvc-deps"


def make_repo(root: Path, files: int, stages: int) -> None:
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "__init__.py").write_text("")
    for n in range(10):  # a chain of local modules: lib.m0 imports lib.m1 ...
        (root / "lib" / f"m{n}.py").write_text(f"import lib.m{n + 1}\n" if n < 9 else "")
    for f in range(files):
        folder = root / f"p{f}"
        (folder / "src").mkdir(parents=True)
        lines = ["stages:"]
        for s in range(stages):
            (folder / "src" / f"s{s}.py").write_text("import os\nimport lib.m0\n")
            lines += [
                f"  s{s}:",
                f"    cmd: PYTHONPATH=.. python -u src/s{s}.py --in in{s}.csv > log{s}.txt",
                "    deps:",
                f"      - in{s}.csv",
                *([f"      - src/s{s}.py", "      - ../lib"] if s % 2 else []),
                "    outs:",
                f"      - out{s}.csv",
            ]
        (folder / "dvc.yaml").write_text("\n".join(lines) + "\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)


def one_run(root: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh `check-dvc-deps` process over every dvc.yaml."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("dvc.yaml"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(HOOK), *files], cwd=root, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"check-dvc-deps exited {done.returncode}: {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(files: int, stages: int, rounds: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_repo(root, files, stages)
        one_run(root)  # warm-up: page cache, .pyc
        runs = [one_run(root) for _ in range(rounds)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def report(rows: list[tuple[str, float, float]], rounds: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        f"## {SECTION}",
        "",
        f"`.venv/bin/python bench/check_dvc_deps_bench.py --rounds {rounds}`: medians of "
        f"{rounds} fresh processes after a warm-up, every dvc.yaml passed as pre-commit "
        f"`--all-files` does. {platform.system()} {platform.machine()}, {os.cpu_count()} "
        f"CPUs shared with other work (load {load:.1f} at the start), Python "
        f"{platform.python_version()}.",
        "",
        "| repository | wall s | CPU s |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {wall:.2f} | {cpu:.2f} |" for name, wall, cpu in rows]
    lines += [
        "",
        "CPU (user + system) is the steadier figure on a shared machine. It includes Python "
        "start-up, building the pipeline model, reading every command and following every "
        "import.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    rows = []
    for files, stages in ((1, 4), (40, 55)):
        wall, cpu = measure(files, stages, args.rounds)
        rows.append((f"{files} dvc.yaml x {stages} stages", wall, cpu))
    text = report(rows, args.rounds)
    print(text)
    if args.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
