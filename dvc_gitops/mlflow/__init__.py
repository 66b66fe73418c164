"""MLflow: the stage -> experiment map, the scan of what scripts log, the REST client, the
DG6xx rules, and the runtime helper stage scripts call (`from dvc_gitops.mlflow import
start_run`)."""

from dvc_gitops.mlflow.runtime import MapError, experiment_name, registered_model, start_run

__all__ = ["MapError", "experiment_name", "registered_model", "start_run"]
