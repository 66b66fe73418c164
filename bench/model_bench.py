"""Time the pipeline model and its rules on a generated monorepo.

    .venv/bin/python bench/model_bench.py [--files 40] [--stages 125] [--dvc]

Writes FILES dvc.yaml files of STAGES stages each (chains with `${...}` templates,
params, and a foreach per file) into a temporary folder, then reports the CPU time of
`build_pipeline`, the graph rules and the params rules; with `--dvc`, also the wall
and CPU time of `dvc stage list --all --fail` on the same tree for comparison.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dvc_gitops.dvcmodel.model import pipeline_of

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dvc_gitops.core.project import Project  # noqa: E402
from dvc_gitops.core.runner import CheckContext  # noqa: E402
from dvc_gitops.dvcmodel import graph as graph_checks  # noqa: E402
from dvc_gitops.dvcmodel import params as params_checks  # noqa: E402


def write_monorepo(root: Path, files: int, stages: int) -> None:
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config").write_text("[core]\n    no_scm = True\n")
    for f in range(files):
        folder = root / f"project{f:03d}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "raw.csv").write_text("x\n")
        (folder / "run.py").write_text("print('run')\n")
        keys = "".join(f"k{i}: {i}\n" for i in range(50))
        (folder / "params.yaml").write_text(
            f"train:\n  lr: 0.1\n  epochs: 3\nmodels: [a, b, c]\nseed: 1\n{keys}"
        )
        lines = ["stages:"]
        for s in range(stages - 3):
            dep = f"out/s{s - 1}.csv" if s else "data/raw.csv"
            lines += [
                f"  s{s}:",
                f"    cmd: python run.py --lr ${{train.lr}} --k ${{k{s % 50}}} {dep}",
                "    deps:",
                f"      - {dep}",
                "      - run.py",
                "    params:",
                "      - seed",
                "    outs:",
                f"      - out/s{s}.csv",
            ]
        lines += [
            "  features:",
            "    foreach: ${models}",
            "    do:",
            "      cmd: python run.py ${item}",
            f"      deps: [out/s{stages - 4}.csv]",
            '      outs: ["features/${item}"]',
        ]
        (folder / "dvc.yaml").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--stages", type=int, default=125)
    parser.add_argument("--dvc", action="store_true", help="also time dvc stage list")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "monorepo"
        write_monorepo(root, args.files, args.stages)
        start = time.process_time()
        project = Project(root)
        pipeline = pipeline_of(project)
        built = time.process_time()
        context = CheckContext(project, None)
        graph = list(graph_checks.check(context))
        graphed = time.process_time()
        params = list(params_checks.check(context))
        done = time.process_time()
        print(f"{len(pipeline.stages)} stages in {args.files} dvc.yaml files")
        print(f"build_pipeline   {built - start:6.2f} s CPU")
        print(f"graph rules      {graphed - built:6.2f} s CPU ({len(graph)} findings)")
        print(f"params rules     {done - graphed:6.2f} s CPU ({len(params)} findings)")
        if args.dvc:
            dvc = ROOT / ".venv" / "bin" / "dvc"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.perf_counter()
            subprocess.run(
                [str(dvc), "stage", "list", "--all", "--fail"],
                cwd=root,
                check=True,
                capture_output=True,
            )
            wall = time.perf_counter() - wall
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            print(f"dvc stage list   {cpu:6.2f} s CPU ({wall:.2f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
