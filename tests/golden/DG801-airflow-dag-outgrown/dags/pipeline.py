"""Airflow DAG `dvc_pipeline`: the DVC pipeline, written by `dvc-gitops export airflow`.

Do not edit: export it again after changing the pipeline:

    dvc-gitops export airflow --output dags/pipeline.py

Pipeline: dvc.yaml
Git commit: 3d8ad49c775c2eb653a7b8c6b528add775aafce6

Each task runs one DVC stage in a checkout of the repository (the `repo_root` param):
it pulls the stage's inputs from the DVC remote, runs `dvc repro --single-item`
(DVC checks the deps, runs the command in the stage's wdir, writes dvc.lock) and
pushes the outputs. Each stage's dvc.lock entry goes to the tasks downstream through
XCom, so they pull exactly those outputs, on any worker with the repository checked
out, `dvc` installed and access to the DVC remote.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param

# The repository checkout the tasks run in: this file's, unless DVC_REPO_ROOT is set.
REPO_ROOT = os.environ.get("DVC_REPO_ROOT") or str(Path(__file__).resolve().parents[1])

# Task id -> (its dvc.yaml, the stage's name there): where its dvc.lock entry lives.
STAGES = {
    "prepare": ("dvc.yaml", "prepare"),
    "train": ("dvc.yaml", "train"),
}


def lock_file(context, dvcfile):
    """The dvc.lock beside a dvc.yaml, in this run's checkout."""
    return Path(context["params"]["repo_root"], dvcfile).with_name("dvc.lock")


def read_lock(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return data if isinstance(data, dict) else {"schema": "2.0", "stages": {}}


def take_upstream_locks(context):
    """Before a stage runs: its upstream stages' dvc.lock entries, to pull their outputs."""
    ti = context["ti"]
    for upstream in sorted(ti.task.upstream_task_ids):
        shared = ti.xcom_pull(task_ids=upstream, key="dvc_lock")
        if not shared or shared["entry"] is None:
            continue
        path = lock_file(context, shared["dvcfile"])
        lock = read_lock(path)
        stages = lock.setdefault("stages", {})
        if stages.get(shared["name"]) != shared["entry"]:
            stages[shared["name"]] = shared["entry"]
            path.write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")


def share_lock(context, result=None):
    """After a stage ran: its dvc.lock entry, for the tasks downstream (XCom)."""
    dvcfile, name = STAGES[context["ti"].task_id]
    entry = read_lock(lock_file(context, dvcfile)).get("stages", {}).get(name)
    shared = {"dvcfile": dvcfile, "name": name, "entry": entry}
    context["ti"].xcom_push(key="dvc_lock", value=shared)


with DAG(
    dag_id="dvc_pipeline",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["dvc"],
    params={
        "repo_root": Param(
            REPO_ROOT,
            type="string",
            minLength=1,
            description="The repository checkout the tasks run in.",
        ),
    },
) as dag:
    # prepare (dvc.yaml):
    #   python prepare.py
    prepare = BashOperator(
        task_id="prepare",
        bash_command=(
            "dvc --wait-for-lock repro --single-item prepare"
            " && dvc --wait-for-lock push prepare"
        ),
        cwd="{{ params.repo_root }}",
        env={
            "DVC_STAGE": "prepare",
        },
        append_env=True,
        pre_execute=take_upstream_locks,
        post_execute=share_lock,
    )

    # train (dvc.yaml):
    #   python train.py --epochs 5
    train = BashOperator(
        task_id="train",
        bash_command=(
            "dvc --wait-for-lock pull data.csv"
            " && dvc --wait-for-lock repro --single-item train"
            " && dvc --wait-for-lock push train"
        ),
        cwd="{{ params.repo_root }}",
        env={
            "DVC_STAGE": "train",
        },
        append_env=True,
        pre_execute=take_upstream_locks,
        post_execute=share_lock,
    )

    # The edges of `dvc dag`: a stage runs after the stages whose outputs it reads.
    prepare >> train
