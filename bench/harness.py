"""Time `dvc-gitops check` and the dvc-status hook beside DVC's own commands, at scale.

    .venv/bin/python bench/harness.py [--sizes 1x10,10x500,100x5000] [--rounds 5] [--write]

In one run, on the same repositories, every command is a fresh process (as pre-commit and
CI start them), run in turn round after round after one warm-up each:

- `dvc-gitops check .` (the offline checks of five hooks) and the `check-dvc-yaml` hook
  alone (DVC's scope: dvc.yaml, params, graph) against `dvc stage list --all --fail -R`
  (the reference: DVC loads and validates every dvc.yaml) and `dvc dag` (DVC builds the
  graph too); on the demo also `python -c 'import click, yaml'`, the floor any Python
  tool with our command-line and YAML libraries pays before its first check;
- the `dvc-status` hook against plain `dvc status --json` (the hook runs the latter, so
  the ratio is what its explanation costs).

Repositories: this repository's own demo pipeline (its working tree, read only) and
monorepos written by `bench/generate.py` (FILESxSTAGES). Reported: medians of wall and
CPU (user + system, children included) seconds, peak resident memory of the process
tree (from wait4), ratios to DVC, growth from 10x more stages, and each budget of
issue 10 with PASS/FAIL. `--write` replaces the `scale` section of bench/RESULTS.md.

Both tools run with bytecode caching on (in a scratch PYTHONPYCACHEPREFIX, as after a pip
install) and DVC_NO_ANALYTICS=1 (DVC's analytics would spawn a process per command).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from results_file import write_section

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECTION = "scale"
READING = "### Reading"
sys.path.insert(0, str(REPO / "bench"))

import generate  # noqa: E402

STAGE_LIST = "dvc stage list --all --fail -R"
CHECK = "dvc-gitops check ."
DAG = "dvc dag"
STATUS = "dvc status --json"
STATUS_HOOK = "dvc-status"
HOOK = "check-dvc-yaml"
FLOOR = "python -c 'import click, yaml'"
COMMANDS = {
    CHECK: [str(BIN / "dvc-gitops"), "check", "."],
    HOOK: [str(BIN / "check-dvc-yaml")],
    FLOOR: [str(BIN / "python"), "-c", "import click, yaml"],
    STAGE_LIST: [str(BIN / "dvc"), "stage", "list", "--all", "--fail", "-R"],
    DAG: [str(BIN / "dvc"), "dag"],
    STATUS_HOOK: [str(BIN / "dvc-status")],
    STATUS: [str(BIN / "dvc"), "status", "--json"],
}
# Budgets of issue 10: check's wall time over `dvc stage list`'s, and peak memory.
DEMO_BUDGET, BIG_BUDGET, MEMORY_BUDGET_MB = 0.25, 0.20, 80.0


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Measured:
    runs: list[Run] = field(default_factory=list)
    failed: str = ""  # why the command could not be measured (timeout, exit code)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def rss_mb(self) -> float:
        return max(r.rss_mb for r in self.runs)


@dataclass
class Repo:
    label: str
    root: Path
    stages: int
    results: dict[str, Measured] = field(default_factory=dict)


def environment(pycache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["DVC_NO_ANALYTICS"] = "1"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_once(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    """One fresh process: wall seconds, CPU seconds and peak RSS of it and its children.

    wait4() reports the process's own usage plus that of the children it waited for
    (dvc-status waits for its `dvc status`), and the largest resident set among them.
    """
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise TimeoutError(f"over {timeout:.0f} s")
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read().decode(errors="replace").strip()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"exit {proc.returncode}: {err.splitlines()[-1] if err else ''}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def measure(repo: Repo, names: list[str], rounds: int, env: dict[str, str], timeout: float) -> None:
    """Warm up each command once, then run them in turn `rounds` times (fair under load)."""
    for name in names:
        repo.results[name] = Measured()
    for attempt in range(rounds + 1):
        for name in names:
            result = repo.results[name]
            if result.failed:
                continue
            try:
                run = run_once(COMMANDS[name], repo.root, env, timeout)
            except (TimeoutError, RuntimeError) as exc:
                result.failed = str(exc)
                continue
            if attempt:
                result.runs.append(run)
        done = ", ".join(
            f"{n} {repo.results[n].runs[-1].wall:.2f}s" for n in names if repo.results[n].runs
        )
        print(f"  {repo.label}: round {attempt}/{rounds}: {done}", file=sys.stderr)


def parse_size(text: str) -> tuple[int, int]:
    files, stages = (int(n) for n in text.lower().split("x"))
    return files, stages


def versions() -> str:
    def out(*argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO)
        return done.stdout.strip()

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs shared with "
        f"other work (load average {load:.1f} at the start); Python "
        f"{platform.python_version()}, DVC {out(str(BIN / 'dvc'), '--version')}, dvc-gitops "
        f"at commit {out('git', 'rev-parse', '--short', 'HEAD')}"
    )


def ratio(a: Measured, b: Measured, attr: str) -> float | None:
    if not a.runs or not b.runs:
        return None
    value: float = getattr(a, attr) / getattr(b, attr)
    return value


def cell(m: Measured, attr: str, fmt: str = "{:.2f}") -> str:
    return fmt.format(getattr(m, attr)) if m.runs else f"- ({m.failed})"


def table(repo: Repo) -> list[str]:
    lines = [
        f"### {repo.label}",
        "",
        "| command | wall s | CPU s | peak MB | vs its DVC reference (wall / CPU) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, m in repo.results.items():
        ref = repo.results[STATUS if name in (STATUS, STATUS_HOOK) else STAGE_LIST]
        w, c = ratio(m, ref, "wall"), ratio(m, ref, "cpu")
        shown = f"{w:.2f}x / {c:.2f}x" if w is not None and c is not None else "-"
        lines.append(
            f"| `{name}` | {cell(m, 'wall')} | {cell(m, 'cpu')} | {cell(m, 'rss_mb', '{:.0f}')} "
            f"| {shown} |"
        )
    return [*lines, ""]


def budgets(repos: list[Repo]) -> list[str]:
    rows: list[tuple[str, str, str]] = []

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    def share(repo: Repo, name: str, label: str, budget: float) -> None:
        """A budget on the time of `name` over `dvc stage list`'s on `repo`."""
        if name not in repo.results:
            return
        w = ratio(repo.results[name], repo.results[STAGE_LIST], "wall")
        c = ratio(repo.results[name], repo.results[STAGE_LIST], "cpu")
        if w is not None and c is not None:
            rows.append(
                (
                    f"{label} <= {budget:.0%} of `{STAGE_LIST}`",
                    f"{w:.0%} (CPU {c:.0%})",
                    verdict(w <= budget),
                )
            )

    demo = repos[0]
    share(demo, CHECK, "demo: check (five hooks' checks)", DEMO_BUDGET)
    share(demo, HOOK, f"demo: `{HOOK}` (DVC's scope)", DEMO_BUDGET)
    biggest = max(repos[1:], key=lambda r: r.stages, default=None)
    if biggest is not None:
        share(biggest, CHECK, f"{biggest.stages:,} stages: check", BIG_BUDGET)
        m = biggest.results[CHECK]
        if m.runs:
            rows.append(
                (
                    f"{biggest.stages:,} stages: check's peak memory < {MEMORY_BUDGET_MB:.0f} MB",
                    f"{m.rss_mb:.0f} MB",
                    verdict(m.rss_mb < MEMORY_BUDGET_MB),
                )
            )
    for small in repos[1:]:
        for big in repos[1:]:
            if big.stages != 10 * small.stages:
                continue
            a, b = small.results[CHECK], big.results[CHECK]
            if not a.runs or not b.runs:
                continue
            growth_w, growth_c = b.wall / a.wall, b.cpu / a.cpu
            ref_a, ref_b = small.results[STAGE_LIST], big.results[STAGE_LIST]
            dvc = f"; DVC {ref_b.wall / ref_a.wall:.1f}x" if ref_a.runs and ref_b.runs else ""
            rows.append(
                (
                    f"{small.stages:,} -> {big.stages:,} stages (10x): check grows <= 10x",
                    f"{growth_w:.1f}x wall, {growth_c:.1f}x CPU{dvc}",
                    verdict(growth_w <= 10 and growth_c <= 10),
                )
            )
    lines = ["### Budgets", "", "| budget | measured | verdict |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {v} |" for a, b, v in rows]
    return [*lines, ""]


def report(repos: list[Repo], argv: list[str], rounds: int, big_rounds: int) -> str:
    command = " ".join([".venv/bin/python", "bench/harness.py", *argv])
    lines = [
        "## Scale: dvc-gitops check and dvc-status beside DVC",
        "",
        f"Machine: {versions()}.",
        "",
        f"Medians of {rounds} rounds ({big_rounds} at 2,000 stages and more) after one warm-up "
        "run each; every command is a fresh process, run in turn, so start-up and imports "
        "count. CPU is user + system seconds of the process and the children it waited "
        "for: the steadier figure on a shared machine. Peak MB is the largest resident set "
        "of any run. Reproduce:",
        "",
        "```sh",
        command,
        "```",
        "",
    ]
    lines += budgets(repos)
    for repo in repos:
        lines += table(repo)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1x10,10x500,100x5000", help="FILESxSTAGES,...")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big-rounds", type=int, default=3, help="rounds at >= 2,000 stages")
    parser.add_argument(
        "--status-max", type=int, default=500, help="time dvc status up to this many stages"
    )
    parser.add_argument(
        "--dag-max", type=int, default=500, help="time dvc dag up to this (5,000: > 13 min)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per command run")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    shown = [a for a in sys.argv[1:] if a != "--write"]
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="dvc-gitops-bench-") as scratch:
        env = environment(Path(scratch) / "pycache")
        stages = len(re.findall(r"(?m)^  \w+:$", (REPO / "dvc.yaml").read_text()))
        demo = Repo(f"The demo pipeline (this repository, {stages} stages)", REPO, stages)
        repos = [demo]
        for files, count in sizes:
            root = Path(scratch) / f"repo-{files}x{count}"
            root.mkdir()
            generate.write_repo(root, files, count)
            generate.make_git_dvc_repo(root)
            label = f"Generated: {files} dvc.yaml file{'s' * (files > 1)}, {count:,} stages"
            repos.append(Repo(label, root, count))
        for repo in repos:
            names = [CHECK, HOOK, STAGE_LIST]
            if repo is demo:  # what any Python tool with our two parsers pays to start
                names.append(FLOOR)
            if repo.stages <= args.dag_max:
                names.append(DAG)
            if repo.stages <= args.status_max:
                names += [STATUS_HOOK, STATUS]
            rounds = args.big_rounds if repo.stages >= 2000 else args.rounds
            measure(repo, names, rounds, env, args.timeout)
        text = report(repos, shown, args.rounds, args.big_rounds)
    print(text)
    if args.write:
        write_section(SECTION, text, keep_from=READING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
