"""`make demo` end to end in a copy of this repository: real DVC, MLflow on SQLite, our hooks.

The copy holds what a fresh clone holds (the files git tracks, plus new ones not yet
ignored), so the test also proves that the demo needs nothing that is not committed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import VENV_BIN, copy_checkout, git

pytestmark = pytest.mark.slow

STAGES = ("fetch_data", "preprocess", "train", "evaluate")
EXPERIMENTS = {"train": "dvc-gitops-demo-train", "evaluate": "dvc-gitops-demo-evaluate"}


def environment(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "MLFLOW_"))}
    env["DVC_SITE_CACHE_DIR"] = str(base / "dvc-site-cache")  # not the user's
    # Tests make no calls home.
    env.update(DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def make_demo(root: Path, env: dict[str, str], stamp: Path) -> str:
    # This venv, and a stamp newer than pyproject.toml: the install step is skipped.
    done = run(
        root,
        env,
        "make",
        "--no-print-directory",
        "demo",
        f"VENV={VENV_BIN.parent}",
        f"STAMP={stamp}",
        f"DEMO_STAMP={stamp}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str, str]:
    """A copy of the repository after `make demo` twice: (root, env, first, second output)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    base = tmp_path_factory.mktemp("demo")
    root = copy_checkout(base / "repo")
    env = environment(base)
    stamp = base / "installed"
    stamp.touch()
    first = make_demo(root, env, stamp)
    second = make_demo(root, env, stamp)
    return root, env, first, second


def test_first_run_reproduces_all_four_stages(demo: tuple[Path, dict[str, str], str, str]) -> None:
    _root, _env, first, _second = demo
    assert re.findall(r"^Running stage '(\w+)':$", first, re.M) == list(STAGES)
    assert "==> re-ran 4 stage(s)" in first


def test_the_outputs(demo: tuple[Path, dict[str, str], str, str]) -> None:
    root = demo[0]
    header = (root / "data/raw/dataset.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "id" and "feature_count" in header and header[-1] == "target"
    assert (root / "data/processed/train.parquet").stat().st_size > 0
    assert (root / "data/processed/test.parquet").stat().st_size > 0
    assert (root / "models/model.pkl").stat().st_size > 0
    metrics = json.loads((root / "metrics.json").read_text())
    scores = json.loads((root / "eval.json").read_text())
    assert set(metrics) == {"train_accuracy", "train_log_loss"}
    assert set(scores) == {"accuracy", "f1", "roc_auc"}
    assert 0.9 < scores["accuracy"] <= 1 and 0.9 < scores["roc_auc"] <= 1


def test_git_sees_no_change(demo: tuple[Path, dict[str, str], str, str]) -> None:
    """Outputs are git-ignored, and the stages are deterministic: dvc.lock is unchanged."""
    status = git(demo[0], "status", "--porcelain", "--untracked-files=all")
    assert status == ""


def test_checks_and_status_are_clean(demo: tuple[Path, dict[str, str], str, str]) -> None:
    _root, _env, first, second = demo
    for output in (first, second):
        # Each step says what it does (and, on stderr, how long it took).
        after_check = output.split("==> dvc-gitops check .: every offline check (", 1)[1]
        lines = after_check.splitlines()[1:4]
        assert lines[0] == "No findings."
        assert lines[1].startswith("==> dvc-gitops status: stale stages")
        assert lines[2] == "No findings."


def test_summary_shows_metrics_and_mlflow_runs(demo: tuple[Path, dict[str, str], str, str]) -> None:
    first = demo[2]
    summary = first.split("==> metrics: ", 1)[1]
    assert re.search(r"^eval\.json\s+0\.9\d*\s+0\.9\d*\s+0\.9\d*", summary, re.M)
    assert re.search(r"^metrics\.json\s+-\s+-\s+-\s+[01]\.\d*\s+0\.\d+", summary, re.M)
    assert (
        "MLflow runs in mlflow.db: dvc-gitops-demo-evaluate 1, dvc-gitops-demo-train 1\n" in summary
    )


def test_second_run_reruns_nothing_and_says_so(demo: tuple[Path, dict[str, str], str, str]) -> None:
    second = demo[3]
    assert "Running stage" not in second
    assert "==> nothing re-ran: every stage is up to date with dvc.lock" in second
    assert "MLflow runs in mlflow.db: dvc-gitops-demo-evaluate 1, dvc-gitops-demo-train 1" in second


def test_mlflow_runs_read_back_from_the_sqlite_store(
    demo: tuple[Path, dict[str, str], str, str],
) -> None:
    root = demo[0]
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    with sqlite3.connect(root / "mlflow.db") as db:
        runs = dict(
            db.execute(
                "SELECT t.value, r.run_uuid FROM runs r JOIN tags t USING (run_uuid) "
                "JOIN experiments e USING (experiment_id) "
                "WHERE t.key = 'dvc.stage' AND r.status = 'FINISHED' AND e.name = ?",
                (name,),
            ).fetchone()
            for name in EXPERIMENTS.values()
        )
        assert set(runs) == set(EXPERIMENTS)

        def values(table: str, run: str) -> dict[str, str]:
            rows = db.execute(f"SELECT key, value FROM {table} WHERE run_uuid = ?", (run,))
            return {key: str(value) for key, value in rows}

        train, evaluate = runs["train"], runs["evaluate"]
        assert values("params", train) == {"learning_rate": "0.1", "max_depth": "3"}
        assert set(values("latest_metrics", train)) == {"train_accuracy", "train_log_loss"}
        assert set(values("latest_metrics", evaluate)) == {"accuracy", "f1", "roc_auc"}
        eval_json = json.loads((root / "eval.json").read_text())
        assert float(values("latest_metrics", evaluate)["accuracy"]) == eval_json["accuracy"]
        # The model: logged from the train run and registered under the map's name.
        assert db.execute(
            "SELECT COUNT(*) FROM logged_models WHERE source_run_id = ?", (train,)
        ).fetchone() == (1,)
        assert db.execute("SELECT name, run_id FROM model_versions").fetchall() == [
            ("dvc-gitops-demo-classifier", train)
        ]
        # Each run names the exact inputs it read, with the md5 that dvc.lock records.
        for stage, run_id in runs.items():
            tags = values("tags", run_id)
            for dep in lock[stage]["deps"]:
                assert tags[f"dvc.dep.{dep['path']}"] == dep["md5"]


def test_dvc_push_fills_the_default_local_remote(
    demo: tuple[Path, dict[str, str], str, str],
) -> None:
    root, env = demo[0], demo[1]
    done = run(root, env, str(VENV_BIN / "dvc"), "push", "-q")
    assert done.returncode == 0, done.stderr
    remote = root.parent / "dvc-gitops-remote"  # ../dvc-gitops-remote from the clone
    pushed = {p.parent.name + p.name for p in remote.rglob("*") if p.is_file()}
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    cached = {
        out["md5"]
        for stage in lock.values()
        for out in stage["outs"]
        if out["path"] not in ("metrics.json", "eval.json")  # cache: false
    }
    assert pushed == cached and len(cached) == 4


def test_status_hook_names_train_and_evaluate_after_an_edit(
    demo: tuple[Path, dict[str, str], str, str],
) -> None:
    root, env = demo[0], demo[1]
    script = root / "pipeline/train.py"
    original = script.read_text()
    script.write_text(original + "# an edit\n")
    try:
        done = run(root, env, str(VENV_BIN / "dvc-status"))
        assert done.returncode == 0, done.stderr  # warns by default
        stale = re.findall(r"^dvc\.yaml:\d+:\d+: DG4\d\d .*$", done.stdout, re.M)
        assert len(stale) == 1, done.stdout
        assert "'train'" in stale[0] and "pipeline/train.py" in stale[0]
        assert "evaluate" in stale[0]
        assert run(root, env, str(VENV_BIN / "dvc-status"), "--fail").returncode == 1
        # DVC itself agrees on what is stale.
        dvc = run(root, env, str(VENV_BIN / "dvc"), "status", "--json")
        assert list(json.loads(dvc.stdout)) == ["train"]
    finally:
        script.write_text(original)


def test_this_repositorys_pre_commit_config_passes(
    demo: tuple[Path, dict[str, str], str, str],
) -> None:
    """.pre-commit-config.yaml runs every hook of the manifest, ruff and mypy.

    Our own hooks run on every file; ruff on the demo's files (the whole tree's lint and
    types are `make lint`'s job, so other work in progress does not fail this test).
    """
    root, env = demo[0], demo[1]
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    configured = [hook["id"] for repo in config["repos"] for hook in repo["hooks"]]
    manifest = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    ours = [hook["id"] for hook in manifest]
    assert {*ours, "ruff", "ruff-format", "mypy"} == set(configured)
    venv = root / ".venv"
    venv.symlink_to(VENV_BIN.parent)  # the hooks run the tools in .venv/bin
    pre_commit = str(VENV_BIN / "pre-commit")
    env = {**env, "PRE_COMMIT_HOME": str(root.parent / "pre-commit-home")}
    try:
        hooks = run(root, {**env, "SKIP": "ruff,ruff-format,mypy"}, pre_commit, "run", "-a")
        demo_files = [str(p.relative_to(root)) for p in (root / "pipeline").glob("*.py")]
        lint = run(root, {**env, "SKIP": "mypy"}, pre_commit, "run", "--files", *demo_files)
    finally:
        venv.unlink()
    assert hooks.returncode == 0, hooks.stdout
    passed = re.findall(r"^(.*?)\.+Passed$", hooks.stdout, re.M)
    assert len(passed) == len(ours), hooks.stdout
    assert lint.returncode == 0, lint.stdout
    assert re.search(r"^ruff check\.+Passed$", lint.stdout, re.M), lint.stdout
    assert re.search(r"^ruff format\.+Passed$", lint.stdout, re.M), lint.stdout
