import os

import mlflow

os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///mlflow.db"
mlflow.set_experiment("churn-report")
