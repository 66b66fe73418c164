import os

os.environ["MLFLOW_EXPERIMENT_NAME"] = "churn-evaluation"
