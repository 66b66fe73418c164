"""`dvc_gitops.mlflow.start_run()` inside a real `dvc repro`, tags read back from the server."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import VENV_BIN, git, git_init, venv_tool, write_tree
from mlflow_server import MlflowServer

from dvc_gitops.core.project import Project
from dvc_gitops.mlflow.runtime import (
    MapError,
    dep_tag_key,
    dvc_md5,
    experiment_name,
    registered_model,
    run_tags,
    start_run,
)

STAGE_SCRIPT = """\
import sys

import mlflow

from dvc_gitops.mlflow import start_run

with start_run(tags={"extra": "kept"}) as run:
    mlflow.log_metric("auc", 0.9)
    print("RUN", run.info.run_id, run.info.experiment_id)
"""

PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps:
      - train.py
      - data.csv
      - feats
  fe:
    foreach: [a]
    do:
      cmd: python train.py ${item}
      deps: [train.py]
"""


def dvc(root: Path, *args: str, env: dict[str, str]) -> str:
    done = venv_tool("dvc", root, *args, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def stage_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env.update(extra)
    return env


def make_dvc_repo(root: Path, map_text: str) -> Path:
    root.mkdir()
    write_tree(
        root,
        {
            "dvc.yaml": PIPELINE,
            "train.py": STAGE_SCRIPT,
            "data.csv": "a,b\n1,2\n",
            "feats/x.txt": "x\n",
            "feats/sub/y.txt": "y\n",
            "mlflow-experiments.yaml": map_text,
            "sub/dvc.yaml": "stages:\n  report:\n    cmd: python ../train.py\n",
        },
    )
    git_init(root, commit=False)
    dvc(root, "init", "-q", env=stage_env())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pipeline")
    return root


@pytest.mark.slow
def test_runs_are_tagged_with_the_pipeline_state(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    root = make_dvc_repo(
        tmp_path / "repo",
        f"version: 1\ntracking_uri: {mlflow_server.uri}\nstages:\n"
        "  train:\n    experiment: rt-train\n    registered_model: rt-model\n"
        "  fe@*:\n    experiment: rt-features\n"
        "  sub/dvc.yaml:report:\n    experiment: rt-sub\n",
    )
    # Every dvc.yaml; the map's tracking_uri is used: the env has none.
    dvc(root, "repro", "-R", ".", env=stage_env())
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    commit = git(root, "rev-parse", "HEAD").strip()

    train = mlflow_server.rest.experiment_by_name("rt-train")
    assert train is not None
    runs = mlflow_server.rest.search_runs([train["experiment_id"]], max_results=10)
    assert len(runs) == 1
    tags = {t["key"]: t["value"] for t in runs[0]["data"]["tags"]}
    deps = {d["path"]: d["md5"] for d in lock["stages"]["train"]["deps"]}
    assert deps["feats"].endswith(".dir")
    assert {k: v for k, v in tags.items() if k.startswith("dvc.")} == {
        "dvc.stage": "train",
        "dvc.git.commit": commit,
        "dvc.git.dirty": "false",
        "dvc.dep.train.py": deps["train.py"],
        "dvc.dep.data.csv": deps["data.csv"],
        "dvc.dep.feats": deps["feats"],  # the folder hash equals DVC's own
    }
    assert tags["extra"] == "kept"

    features = mlflow_server.rest.experiment_by_name("rt-features")
    assert features is not None
    member = mlflow_server.rest.search_runs([features["experiment_id"]])
    member_tags = {t["key"]: t["value"] for t in member[0]["data"]["tags"]}
    assert member_tags["dvc.stage"] == "fe@a"
    assert member_tags["dvc.dep.train.py"] == deps["train.py"]

    # DVC names a nested stage from the root, as the map does.
    nested = mlflow_server.rest.experiment_by_name("rt-sub")
    assert nested is not None
    nested_runs = mlflow_server.rest.search_runs([nested["experiment_id"]])
    nested_tags = {t["key"]: t["value"] for t in nested_runs[0]["data"]["tags"]}
    assert nested_tags["dvc.stage"] == "sub/dvc.yaml:report"


@pytest.mark.slow
def test_default_tracking_uri_is_sqlite_at_the_repo_root(tmp_path: Path) -> None:
    root = make_dvc_repo(tmp_path / "repo", "version: 1\nstages:\n  train:\n    experiment: e\n")
    (root / "dvc.yaml").write_text(
        "stages:\n  train:\n    wdir: sub\n    cmd: python ../train.py\n"
    )
    (root / "sub" / "dvc.yaml").unlink()
    dvc(root, "repro", env=stage_env())
    assert (root / "mlflow.db").is_file()
    assert not (root / "sub" / "mlflow.db").exists()


def test_dvc_md5_of_file_folder_and_nothing(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert dvc_md5(tmp_path / "f") == "900150983cd24fb0d6963f7d28e17f72"
    assert dvc_md5(tmp_path / "missing") is None
    (tmp_path / "d").mkdir()
    digest = dvc_md5(tmp_path / "d")
    assert digest == "d751713988987e9331980363e24189ce.dir"  # md5 of "[]"


@pytest.fixture
def mapped_repo(make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(
        {
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
            "mlflow-experiments.yaml": "version: 1\nstages:\n"
            "  train:\n    experiment: churn\n    registered_model: churn-model\n",
        }
    )
    monkeypatch.setenv("DVC_ROOT", str(root))
    monkeypatch.delenv("DVC_STAGE", raising=False)
    return root


def test_lookups_by_dvc_stage(mapped_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVC_STAGE", "train")
    assert experiment_name() == "churn"
    assert registered_model() == "churn-model"
    assert experiment_name("train") == "churn"


@pytest.mark.parametrize(
    ("stage", "map_text", "message"),
    [
        (None, None, "DVC_STAGE is not set"),
        ("evaluate", None, "does not map stage 'evaluate'"),
        ("train", "version: [\n", "mlflow-experiments.yaml:1:10: invalid YAML"),
        ("train", "", "the map is empty"),
    ],
)
def test_clear_errors_before_mlflow_is_imported(
    mapped_repo: Path,
    stage: str | None,
    map_text: str | None,
    message: str,
) -> None:
    if map_text is not None:
        (mapped_repo / "mlflow-experiments.yaml").write_text(map_text)
    with pytest.raises(MapError, match=message):
        start_run(stage)


def test_missing_map_says_how_to_write_one(mapped_repo: Path) -> None:
    (mapped_repo / "mlflow-experiments.yaml").unlink()
    with pytest.raises(MapError, match="dvc-gitops map init"):
        start_run("train")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("data/raw.csv", "dvc.dep.data/raw.csv"),
        ("data/raw@v2+final (1).csv", "dvc.dep.data/raw_v2_final _1_.csv"),
        ("a:b.csv", "dvc.dep.a_b.csv"),  # no colon: Windows refuses it
        ("../outside.csv", None),
        ("s3://bucket/key.csv", None),
        ("x" * 300, None),
    ],
)
def test_dep_tag_keys_are_keys_mlflow_accepts(path: str, key: str | None) -> None:
    assert dep_tag_key(path) == key


def test_run_tags_without_mlflow(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            "dvc.yaml": "stages:\n  t:\n    cmd: python t.py\n"
            "    deps: [t.py, 'in (1).csv', missing.csv]\n",
            "t.py": "abc",
            "in (1).csv": "",
        },
        git=True,
    )
    tags = run_tags(Project(root), "t")
    assert tags["dvc.stage"] == "t"
    assert tags["dvc.git.dirty"] == "false"
    assert len(tags["dvc.git.commit"]) == 40
    assert tags["dvc.dep.t.py"] == "900150983cd24fb0d6963f7d28e17f72"
    assert tags["dvc.dep.in _1_.csv"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert "dvc.dep.missing.csv" not in tags  # nothing to hash yet
    (root / "t.py").write_text("changed")
    assert run_tags(Project(root), "t")["dvc.git.dirty"] == "true"
