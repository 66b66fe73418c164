from dvc_gitops.mlflow import start_run

with start_run():
    pass
