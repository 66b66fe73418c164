"""Wall time of `dvc-gitops review BASE HEAD` beside `dvc status`, on a monorepo and here.

- monorepo: bench/generate.py's repository (40 dvc.yaml files, 2,600 stages by default),
  committed, then one commit that edits a script and a params value of one project. The
  review reads both commits from git objects; `dvc status --json` is timed in the same
  repository (it loads the same pipeline and hashes what it finds).
- this repository: a review of its own last commits (HEAD~5 -> HEAD).

Usage: `.venv/bin/python bench/review_bench.py [--stages N] [--files N] [--repeat N] [--write]`;
`--write` replaces the review section of bench/RESULTS.md with the table printed.
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

from generate import make_git_dvc_repo, write_repo
from results_file import write_section

BIN = Path(sys.prefix) / "bin"
HERE = Path(__file__).resolve().parent.parent


def timed(
    root: Path, command: Sequence[str], repeat: int, env: dict[str, str]
) -> tuple[float, float]:
    """Median wall and CPU seconds (the process and its children) over `repeat` runs after
    one warm-up. CPU time barely moves on a loaded machine; wall time does."""
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-400:]}")
        if attempt:
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def monorepo(root: Path, files: int, stages: int) -> None:
    write_repo(root, files, stages)
    make_git_dvc_repo(root)
    project = root / "projects" / "p005"
    script = project / "src" / "step.py"
    script.write_text(script.read_text() + "# faster\n")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("lr: 0.01", "lr: 0.02"))
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qm", "pr"],
        cwd=root,
        check=True,
    )


def _measure(
    args: argparse.Namespace, env: dict[str, str], scratch: Path
) -> list[tuple[str, tuple[float, float], tuple[float, float] | None]]:
    review = [str(BIN / "dvc-gitops"), "review", "HEAD~1", "HEAD", "--format", "json"]
    root = scratch / "mono"
    root.mkdir()
    monorepo(root, args.files, args.stages)
    ours = timed(root, review, args.repeat, env)
    dvc = timed(root, [str(BIN / "dvc"), "status", "--json"], 1, env)
    own = timed(HERE, [*review[:2], "HEAD~5", "HEAD", "--format", "json"], args.repeat, env)
    return [
        (f"monorepo, {args.stages:,} stages in {args.files} files", ours, dvc),
        ("this repository, HEAD~5 -> HEAD", own, None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2600)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        # As users run it: bytecode cached (the harness's environment does the same).
        env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONPYCACHEPREFIX": f"{scratch}/pyc"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["DVC_SITE_CACHE_DIR"] = str(Path(scratch) / "site")
        rows = _measure(args, env, Path(scratch))
    lines = [
        "## review",
        "",
        f"`dvc-gitops review BASE HEAD --format json` beside `dvc status --json` (median of "
        f"{args.repeat} runs after a warm-up, one for dvc status; Python "
        f"{platform.python_version()}, {os.cpu_count()} cores shared, load average "
        f"{os.getloadavg()[0]:.1f} at the end: wall time waits for the CPU, CPU time does not). "
        "`bench/review_bench.py`.",
        "",
        "| repository | review wall / CPU (s) | dvc status wall / CPU (s) | ratio (CPU) |",
        "| --- | --- | --- | --- |",
    ]
    for name, ours, dvc in rows:
        theirs = f"{dvc[0]:.2f} / {dvc[1]:.2f}" if dvc else "—"
        ratio = f"{ours[1] / dvc[1]:.3f}" if dvc else "—"
        lines.append(f"| {name} | {ours[0]:.2f} / {ours[1]:.2f} | {theirs} | {ratio} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section("review", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
