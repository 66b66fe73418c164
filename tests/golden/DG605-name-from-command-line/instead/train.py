from dvc_gitops.mlflow import start_run

with start_run():  # the experiment the map gives this stage: churn-train
    pass
