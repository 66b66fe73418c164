import mlflow

mlflow.set_experiment("churn")
