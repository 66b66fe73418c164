"""check-dvc-lock beside `dvc status`, and the recommended pre-commit setup beside DVC's own
hook: paired runs (each round runs both, in alternating order), medians, ratios.

Repositories (built once below --work, reused by later runs):

- demo: this repository's files, committed, with the demo pipeline reproduced by real
  `dvc repro` (its data on disk, as on a developer's machine).
- mono: bench/generate.py's monorepo (--stages, default 2,600 in 40 dvc.yaml files), its
  outputs written and its dvc.lock made by real `dvc commit -f`.
- big: a 5,000-stage monorepo for peak memory; its dvc.lock is written here from the same
  facts `dvc commit` records (a test of this script holds that equal on `mono`).

Figures: wall and CPU seconds (the process and its children: on a shared machine CPU time
is the steadier one), peak RSS. `--write` replaces the check-dvc-lock section of
bench/RESULTS.md.

    .venv/bin/python bench/lock_bench.py [--rounds 3] [--big-rounds 1] [--work DIR] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from generate import make_git_dvc_repo, write_repo
from results_file import write_section

BIN = Path(sys.prefix) / "bin"
REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
ENV.pop("PRE_COMMIT", None)


def sh(cwd: Path, *argv: str) -> str:
    return subprocess.run(argv, cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout


def commit(root: Path, message: str) -> None:
    sh(root, "git", "add", "-A")
    sh(
        root,
        "git",
        "-c",
        "user.name=bench",
        "-c",
        "user.email=b@invalid",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )


def timed(
    cwd: Path, argv: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the children, peak RSS in KiB (of the largest child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv],
        cwd=cwd,
        env=env or ENV,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-500:]}")
    rss = int(done.stderr.strip().splitlines()[-1])
    return wall, cpu, rss


def paired(
    cwd: Path, a: list[str], b: list[str], rounds: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Both commands each round (one warm-up round first), alternating which goes first."""
    runs: dict[str, list[tuple[float, float, int]]] = {"a": [], "b": []}
    for index in range(rounds + 1):
        order = [("a", a), ("b", b)] if index % 2 else [("b", b), ("a", a)]
        for key, argv in order:
            measured = timed(cwd, argv, env)
            if index:
                runs[key].append(measured)
    result: dict[str, Any] = {}
    for key in "ab":
        result[key] = tuple(statistics.median(m[i] for m in runs[key]) for i in range(3))
    result["wall_ratio"] = result["a"][0] / result["b"][0]
    result["cpu_ratio"] = result["a"][1] / result["b"][1]
    return result


# -- the repositories ----------------------------------------------------------------------


def demo_repo(work: Path) -> Path:
    root = work / "demo"
    if (root / "dvc.lock").exists() and (root / "data").is_dir():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    listed = sh(REPO, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, listed.split("\0")):
        if (REPO / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
    sh(root, "git", "init", "-q", "-b", "main")
    commit(root, "demo")
    sh(root, str(BIN / "dvc"), "repro", "-q")
    commit(root, "reproduced")
    return root


def outputs_written(root: Path) -> None:
    """Every output of every stage written (a line of text), as if the pipeline had run."""
    sys.path.insert(0, str(REPO))
    from dvc_gitops.core.project import Project
    from dvc_gitops.dvcmodel.model import pipeline_of

    for stage in pipeline_of(Project(root)).stages.values():
        for out in stage.outs:
            target = root / out.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(out.path + "\n")


def mono_repo(work: Path, stages: int, files: int) -> Path:
    root = work / f"mono{stages}"
    if (root / ".bench-ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    write_repo(root, files, stages)
    make_git_dvc_repo(root)
    outputs_written(root)
    sh(root, str(BIN / "dvc"), "commit", "-f", "-q")  # DVC writes every dvc.lock
    commit(root, "locked")
    (root / ".bench-ready").write_text("")
    return root


def written_locks(root: Path) -> dict[str, dict[str, Any]]:
    """dvc.lock of every dvc.yaml as `dvc commit -f` writes it, from the files on disk."""
    sys.path.insert(0, str(REPO))
    from dvc_gitops.core.project import Project
    from dvc_gitops.dvcmodel.model import pipeline_of
    from dvc_gitops.dvcmodel.stages import ParamsLoader, param_value

    project = Project(root)
    params = ParamsLoader(project)
    locks: dict[str, dict[str, Any]] = {}

    def item(path: str, raw: str) -> dict[str, Any]:
        data = (root / path).read_bytes()
        return {"path": raw, "hash": "md5", "md5": hashlib.md5(data).hexdigest(), "size": len(data)}

    for stage in pipeline_of(project).stages.values():
        entry: dict[str, Any] = {"cmd": stage.cmds[0]}
        entry["deps"] = sorted((item(d.path, d.raw) for d in stage.deps), key=lambda i: i["path"])
        by_file: dict[str, dict[str, Any]] = {}
        for p in stage.params:
            name = os.path.relpath(p.file, stage.wdir) if stage.wdir != "." else p.file
            values = params.load(p.file)
            by_file.setdefault(name, {})[str(p.key)] = param_value(values, str(p.key))
        if by_file:
            entry["params"] = {k: dict(sorted(v.items())) for k, v in by_file.items()}
        entry["outs"] = sorted((item(o.path, o.raw) for o in stage.outs), key=lambda i: i["path"])
        lock = os.path.join(os.path.dirname(stage.dvcfile), "dvc.lock")
        locks.setdefault(lock, {"schema": "2.0", "stages": {}})["stages"][stage.name] = entry
    return locks


def big_repo(work: Path, stages: int, files: int) -> Path:
    root = work / f"big{stages}"
    if (root / ".bench-ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    write_repo(root, files, stages)
    make_git_dvc_repo(root)
    outputs_written(root)
    for lock, data in written_locks(root).items():
        (root / lock).write_text(yaml.safe_dump(data, sort_keys=False, width=80))
    commit(root, "locked")
    (root / ".bench-ready").write_text("")
    return root


# -- pre-commit -----------------------------------------------------------------------------

RECOMMENDED = """repos:
  - repo: local
    hooks:
      - id: dvc-gitops
        name: dvc-gitops (every offline check)
        entry: {bin}/dvc-gitops check
        language: system
        always_run: true
        require_serial: true
"""
DVC_HOOK = """repos:
  - repo: local
    hooks:
      - id: dvc-pre-commit
        name: DVC pre-commit
        entry: {bin}/dvc git-hook pre-commit
        language: system
        always_run: true
        pass_filenames: false
        require_serial: true
"""


def precommit_pair(root: Path, rounds: int) -> dict[str, Any]:
    """`pre-commit run` on a staged change: the recommended hook against DVC's own."""
    (root / "bench-recommended.yaml").write_text(RECOMMENDED.format(bin=BIN))
    (root / "bench-dvc.yaml").write_text(DVC_HOOK.format(bin=BIN))
    with open(root / "README.md", "a") as readme:
        readme.write("\nA staged change.\n")
    sh(root, "git", "add", "README.md")
    run = [str(BIN / "pre-commit"), "run", "-c"]
    env = {**ENV, "PRE_COMMIT_HOME": str(root.parent / "pre-commit-home"), "SKIP": ""}
    try:
        return paired(root, [*run, "bench-recommended.yaml"], [*run, "bench-dvc.yaml"], rounds, env)
    finally:
        sh(root, "git", "reset", "-q", "--hard", "HEAD")
        for name in ("bench-recommended.yaml", "bench-dvc.yaml"):
            (root / name).unlink(missing_ok=True)


# -- the report ---------------------------------------------------------------------------


def row(label: str, r: dict[str, Any], budget: float, a: str, b: str) -> str:
    (aw, ac, ar), (bw, bc, _br) = r["a"], r["b"]
    ok = "yes" if r["cpu_ratio"] <= budget and r["wall_ratio"] <= budget else "NO"
    return (
        f"| {label} | {a} {aw:.2f} s / {ac:.2f} s CPU ({ar / 1024:.0f} MB) | {b} {bw:.2f} s / "
        f"{bc:.2f} s CPU | {r['wall_ratio']:.3f} / {r['cpu_ratio']:.3f} | {budget} | {ok} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-rounds", type=int, default=1)
    parser.add_argument("--stages", type=int, default=2600)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--memory-stages", type=int, default=5000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/dvc-gitops-lock-bench"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    lock, dvc = [str(BIN / "check-dvc-lock")], [str(BIN / "dvc"), "status", "--json"]

    demo = demo_repo(args.work)
    demo_lock = paired(demo, lock, dvc, args.rounds)
    demo_hooks = precommit_pair(demo, args.rounds)
    mono = mono_repo(args.work, args.stages, args.files)
    mono_lock = paired(mono, lock, dvc, args.big_rounds)
    big = big_repo(args.work, args.memory_stages, args.files * 2)
    _wall, _cpu, peak = timed(big, lock)
    load = os.getloadavg()[0]
    lines = [
        "<!-- section: check-dvc-lock -->",
        "## check-dvc-lock and the recommended pre-commit setup",
        "",
        f"`bench/lock_bench.py`: paired runs (both commands each round, alternating first), "
        f"medians of {args.rounds} rounds ({args.big_rounds} on the monorepo) after a warm-up "
        f"round; wall / CPU seconds (CPU of the process and its children). "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average {load:.1f} "
        "when it finished (the machine is shared: CPU ratios are the steadier figure).",
        "",
        "| what | ours | DVC | ratio wall / CPU | budget | met |",
        "| --- | --- | --- | --- | --- | --- |",
        row(
            "demo (4 stages, data on disk): check-dvc-lock vs `dvc status`",
            demo_lock,
            0.25,
            "check-dvc-lock",
            "dvc status",
        ),
        row(
            "demo, `pre-commit run` on a staged change: the recommended hook vs DVC's "
            "`dvc git-hook pre-commit`",
            demo_hooks,
            0.5,
            "dvc-gitops check",
            "DVC's hook",
        ),
        row(
            f"monorepo ({args.stages} stages, {args.files} dvc.yaml): check-dvc-lock vs "
            "`dvc status`",
            mono_lock,
            0.05,
            "check-dvc-lock",
            "dvc status",
        ),
        "",
        f"Peak memory of check-dvc-lock at {args.memory_stages} stages "
        f"({args.files * 2} dvc.yaml, every dvc.lock entry checked): {peak / 1024:.0f} MB "
        f"(budget 100 MB: {'met' if peak < 100 * 1024 else 'NOT met'}).",
        "<!-- end section: check-dvc-lock -->",
    ]
    text = "\n".join(lines[1:-1])
    print(text)
    if args.write:
        write_section("check-dvc-lock", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
