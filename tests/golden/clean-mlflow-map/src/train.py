import mlflow
import yaml

CONFIG = yaml.safe_load(open("params.yaml"))
NAME = CONFIG["train"]["experiment"]

mlflow.set_tracking_uri("http://mlflow.internal:5000")
mlflow.set_experiment(NAME)
with mlflow.start_run():
    mlflow.sklearn.log_model(None, "model", registered_model_name="churn-model")
