"""dvc-gitops: keep DVC pipelines and MLflow tracking honest."""

__version__ = "0.1.0"
