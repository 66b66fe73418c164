"""Kubeflow pipeline `dvc-pipeline`: the DVC pipeline, written by `dvc-gitops export kubeflow`.

Do not edit: export it again after changing the pipeline:

    dvc-gitops export kubeflow --output kfp/pipeline.py

Pipeline: dvc.yaml
Git commit: 2068416b20780a6eb9f4cf41b5da2230c7ba2d96

Each component runs one DVC stage's cmd in a checkout of the repository (the
`repo_root` parameter). Outputs travel to the stages that read them as KFP
artifacts: copied into the artifact after the stage ran, and back into place
before a stage downstream runs.
"""

from kfp import dsl
from kfp.dsl import Artifact, Input, Output

BASE_IMAGE = "python:3.11"
REPO_ROOT = "/repo"


@dsl.component(base_image=BASE_IMAGE)
def prepare(repo_root: str, out_1: Output[Artifact]):
    "Stage prepare of dvc.yaml."
    import os
    import shutil
    import subprocess

    def put(source, target):
        if os.path.isdir(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.remove(target)
        os.makedirs(os.path.dirname(target) or '.', exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)

    env = dict(os.environ, DVC_ROOT=repo_root, **{"DVC_STAGE": "prepare"})
    cwd = os.path.join(repo_root, ".")
    for command in ["python prepare.py"]:
        subprocess.run(command, shell=True, cwd=cwd, env=env, check=True)
    put(os.path.join(repo_root, "data.csv"), out_1.path)


@dsl.component(base_image=BASE_IMAGE)
def train(repo_root: str, in_1: Input[Artifact], out_1: Output[Artifact]):
    "Stage train of dvc.yaml."
    import os
    import shutil
    import subprocess

    def put(source, target):
        if os.path.isdir(target):
            shutil.rmtree(target)
        elif os.path.exists(target):
            os.remove(target)
        os.makedirs(os.path.dirname(target) or '.', exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)

    put(in_1.path, os.path.join(repo_root, "data.csv"))
    env = dict(os.environ, DVC_ROOT=repo_root, **{"DVC_STAGE": "train"})
    cwd = os.path.join(repo_root, ".")
    for command in ["python train.py --epochs 5"]:
        subprocess.run(command, shell=True, cwd=cwd, env=env, check=True)
    put(os.path.join(repo_root, "model.bin"), out_1.path)


@dsl.pipeline(name="dvc-pipeline")
def pipeline(repo_root: str = REPO_ROOT):
    prepare_task = prepare(repo_root=repo_root)
    train_task = train(repo_root=repo_root, in_1=prepare_task.outputs["out_1"])
