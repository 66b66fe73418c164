"""Where a cold `dvc-gitops check .` spends its time on the demo repository.

    .venv/bin/python bench/startup.py [--rounds 15] [--write]

Each line is a fresh process started like the ones before it plus one more step, so the
differences between lines are what each step costs:

1. the interpreter alone (`python -c pass`, site and the venv's .pth files included);
2. plus click and PyYAML, the command line and YAML libraries every hook needs;
3. plus `dvc_gitops.cli` (runner, project, config, reporters);
4. plus every module the check goes on to import (found by running it once), without
   running anything: the rest of the start-up;
5. the whole `dvc-gitops check .` (4 plus the checks' work);

then each offline hook alone (as pre-commit starts them), and `dvc stage list --all --fail
-R` on the same repository, the reference of the budget. Rounds run the commands in
turn (fair under load); the table gives the minimum and the median CPU (user + system)
milliseconds, and each as a share of DVC's. `--write` replaces the `startup` section
of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import environment
from results_file import write_section

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = str(BIN / "python")
SECTION = "startup"
# The offline hooks, each alone on the whole repository (pre-commit passes changed files;
# with none, a hook checks everything, the most it can cost). check-dvc-yaml has DVC's
# scope: dvc.yaml, params and the graph.
HOOKS = ("check-dvc-yaml", "check-dvc-deps", "check-dvc-pinned", "check-mlflow-map")
HOOKS += ("check-dvc-config", "dvc-dag-docs")
READING = "### Reading"

# Run the check once and list, in import order, what it imported beyond the interpreter.
LIST_IMPORTS = """
import contextlib, io, sys
before = set(sys.modules)
from dvc_gitops.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["check", "."])
print(" ".join(m for m in sys.modules if m not in before and not m.startswith("__")))
"""
# Imports them in the same order; aliases such as typing.io are not importable by name.
IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
"""


def cpu_ms(argv: list[str], env: dict[str, str]) -> float:
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, _status, usage = os.wait4(proc.pid, 0)
    return (usage.ru_utime + usage.ru_stime) * 1000


def steps(env: dict[str, str]) -> dict[str, list[str]]:
    listed = subprocess.run(
        [PYTHON, "-c", LIST_IMPORTS], cwd=REPO, env=env, capture_output=True, text=True
    )
    modules = listed.stdout.split()
    if not modules:
        raise SystemExit(f"could not list the check's imports: {listed.stderr.strip()}")
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        "+ click, yaml": [PYTHON, "-c", "import click, yaml"],
        "+ dvc_gitops.cli": [PYTHON, "-c", "import click, yaml, dvc_gitops.cli"],
        f"+ the rest of its imports ({len(modules)} modules in all)": [
            PYTHON,
            "-c",
            IMPORT_ALL,
            *modules,
        ],
        "dvc-gitops check . (all five checks)": [str(BIN / "dvc-gitops"), "check", "."],
        **{f"{hook} (one hook, as pre-commit starts it)": [str(BIN / hook)] for hook in HOOKS},
        "dvc stage list --all --fail -R": [
            str(BIN / "dvc"),
            "stage",
            "list",
            "--all",
            "--fail",
            "-R",
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dvc-gitops-startup-") as scratch:
        env = environment(Path(scratch))
        commands = steps(env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.rounds + 1):
            for name, argv in commands.items():
                spent = cpu_ms(argv, env)
                if round_:  # the first round warms the bytecode cache
                    times[name].append(spent)
            print(f"round {round_}/{args.rounds}", file=sys.stderr)
    reference = list(commands)[-1]
    dvc_min, dvc_median = min(times[reference]), statistics.median(times[reference])
    lines = [
        "## Start-up: where a cold `dvc-gitops check .` spends its time (demo repository)",
        "",
        f"CPU milliseconds (user + system) over {args.rounds} rounds, each command a fresh "
        "process; every line adds one step to the line above, up to the whole check. "
        "Reproduce:",
        "",
        "```sh",
        ".venv/bin/python bench/startup.py"
        + "".join(f" {a}" for a in sys.argv[1:] if a != "--write"),
        "```",
        "",
        "| step | min ms | median ms | min, share of DVC's | median, share of DVC's |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, spent in times.items():
        low, mid = min(spent), statistics.median(spent)
        lines.append(
            f"| `{name}` | {low:.0f} | {mid:.0f} | {low / dvc_min:.0%} | {mid / dvc_median:.0%} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(SECTION, text, keep_from=READING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
