from dvc_gitops.mlflow import start_run

with start_run():  # the map's tracking_uri and experiment
    pass
