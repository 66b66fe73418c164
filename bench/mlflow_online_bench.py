"""check-mlflow-map --online for a 20-stage map: our stdlib REST client vs the mlflow client.

Starts a real `mlflow server` on loopback (SQLite), creates 20 experiments with a run each
tagged `dvc.stage`, writes a 20-stage pipeline and its map, then times the same check —
every mapped experiment exists and is active, and its latest `dvc.stage`-tagged run came
from a stage mapped there — two ways, each in a fresh process, as a hook runs:

- `check-mlflow-map --online` (the real hook: urllib, no mlflow import);
- a script doing the same requests with `mlflow.MlflowClient`.

Both report the whole process (start-up and imports included) and the check alone. For
scale, it also times the offline check on a generated 40-file, 2,200-stage monorepo
(`bench/generate.py`): CPU of the model and of the DG6 rules, in-process.
Usage: `.venv/bin/python bench/mlflow_online_bench.py [--repeat N] [--write]`; `--write`
replaces the `mlflow` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mlflow_server import MlflowServer  # noqa: E402

BIN = Path(sys.executable).parent
STAGES = 20
RESULTS = ROOT / "bench" / "RESULTS.md"

# The check through the mlflow client, timed inside the process after `import mlflow`.
CLIENT_CHECK = """
import json, sys, time
started = time.perf_counter()
from mlflow import MlflowClient
imported = time.perf_counter()
client = MlflowClient(sys.argv[1])
mapping = json.loads(sys.argv[2])
problems = 0
for stage, name in mapping.items():
    experiment = client.get_experiment_by_name(name)
    if experiment is None or experiment.lifecycle_stage != "active":
        problems += 1
        continue
    runs = client.search_runs(
        [experiment.experiment_id], "tags.`dvc.stage` LIKE '%'",
        max_results=1, order_by=["attributes.start_time DESC"],
    )
    if runs and mapping.get(runs[0].data.tags.get("dvc.stage")) != name:
        problems += 1
done = time.perf_counter()
print(json.dumps({"import": imported - started, "check": done - imported, "problems": problems}))
"""

# The hook's online part alone, in-process, after its imports.
HOOK_CHECK = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from dvc_gitops.mlflow import rules as rules_module
from dvc_gitops.hooks import check_mlflow_map
from dvc_gitops.hooks.check_mlflow_map import _online
from dvc_gitops.mlflow.map import load_map
from dvc_gitops.core.project import Project
rules_module.ONLINE_WORKERS = int(sys.argv[1])
imported = time.perf_counter()
emap = load_map(Project(Path(".")))
settings = {"explicit": True, "timeout": 5.0, "offline_ok": False}
findings, _verified = _online(emap, settings, [])
done = time.perf_counter()
print(json.dumps({"import": imported - started, "check": done - imported,
                  "problems": len(findings)}))
"""


# The offline check on a big generated repository: CPU of the model, then of the rules.
OFFLINE_CHECK = """
import json, time
from pathlib import Path
from dvc_gitops.hooks.check_mlflow_map import check
from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext
project = Project(Path("."))
started = time.process_time()
stages = len(pipeline_of(project).stages)
built = time.process_time()
findings = list(check(CheckContext(project, None, {})))
done = time.process_time()
print(json.dumps({"stages": stages, "model": built - started, "rules": done - built,
                  "findings": len(findings)}))
"""


def offline_scale(work: Path) -> dict[str, float]:
    big = work / "big"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "generate.py"),
            str(big),
            "--files",
            "40",
            "--stages",
            "2200",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(["git", "init", "-q"], cwd=big, check=True)
    _wall, out = timed([sys.executable, "-c", OFFLINE_CHECK], big, dict(os.environ))
    result: dict[str, float] = json.loads(out)
    return result


def make_repo(folder: Path, mapping: dict[str, str]) -> None:
    stages = "".join(f"  {s}:\n    cmd: python train.py {s}\n" for s in mapping)
    (folder / "dvc.yaml").write_text("stages:\n" + stages)
    (folder / "train.py").write_text("from dvc_gitops.mlflow import start_run\n")
    entries = "".join(f"  {s}:\n    experiment: {e}\n" for s, e in mapping.items())
    (folder / "mlflow-experiments.yaml").write_text("version: 1\nstages:\n" + entries)
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return wall, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        work = Path(tmp)
        print("starting mlflow server ...", file=sys.stderr)
        started = time.perf_counter()
        server = MlflowServer(work / "server")
        startup = time.perf_counter() - started
        try:
            mapping = {f"stage_{i:02d}": f"bench-experiment-{i:02d}" for i in range(STAGES)}
            for stage, name in mapping.items():
                server.create_run(server.create_experiment(name), {"dvc.stage": stage})
            repo = work / "repo"
            repo.mkdir()
            make_repo(repo, mapping)
            env = {**os.environ, "MLFLOW_TRACKING_URI": server.uri}
            rows: dict[str, list[float]] = {
                k: []
                for k in (
                    "hook",
                    "hook_check",
                    "hook_serial",
                    "client",
                    "client_check",
                    "client_import",
                )
            }
            for _ in range(args.repeat):
                wall, _out = timed([str(BIN / "check-mlflow-map"), "--online"], repo, env)
                rows["hook"].append(wall)
                for workers, row in (("8", "hook_check"), ("1", "hook_serial")):
                    _wall, out = timed([sys.executable, "-c", HOOK_CHECK, workers], repo, env)
                    inner = json.loads(out)
                    assert inner["problems"] == 0, inner
                    rows[row].append(inner["check"])
                wall, out = timed(
                    [sys.executable, "-c", CLIENT_CHECK, server.uri, json.dumps(mapping)],
                    repo,
                    env,
                )
                inner = json.loads(out)
                assert inner["problems"] == 0, inner
                rows["client"].append(wall)
                rows["client_check"].append(inner["check"])
                rows["client_import"].append(inner["import"])
        finally:
            server.stop()
        scale = offline_scale(work)

    median = {k: statistics.median(v) for k, v in rows.items()}
    table = "\n".join(
        [
            "| way | whole process (s) | the check alone (s) |",
            "| --- | ---: | ---: |",
            f"| `check-mlflow-map --online` (stdlib REST) | {median['hook']:.2f} | "
            f"{median['hook_check']:.3f} |",
            f"| the same, one request at a time | | {median['hook_serial']:.3f} |",
            f"| `mlflow.MlflowClient` (same requests) | {median['client']:.2f} | "
            f"{median['client_check']:.3f} (+ {median['client_import']:.2f} to import mlflow) |",
        ]
    )
    section = (
        "<!-- section: mlflow -->\n"
        "## mlflow\n\n"
        f"`bench/mlflow_online_bench.py --repeat {args.repeat}`: the online check of a "
        f"{STAGES}-stage map (each experiment looked up by name, then its latest "
        "`dvc.stage`-tagged run) against a loopback `mlflow server` (SQLite, 1 worker), "
        "medians, each way in a fresh process. "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores shared with other work; the server took "
        f"{startup:.0f} s to become healthy.\n\n"
        f"{table}\n\n"
        "The hook keeps up to 8 requests in flight; the `MlflowClient` script asks one "
        "after another, as such a script usually would. Most of the client's process time "
        "is `import mlflow`.\n\n"
        f"Offline, on a generated {int(scale['stages']):,}-stage, 40-file monorepo: the "
        f"pipeline model {scale['model']:.2f} s CPU, then every DG6 rule (each stage's "
        f"scripts scanned) {scale['rules']:.2f} s CPU.\n"
        "<!-- end section: mlflow -->\n"
    )
    print(section)
    if args.write:
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        start = text.find("<!-- section: mlflow -->")
        end_marker = "<!-- end section: mlflow -->\n"
        if start >= 0:
            end = text.index(end_marker, start) + len(end_marker)
            text = text[:start] + section + text[end:]
        else:
            text = text.rstrip("\n") + "\n\n" + section
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
