import mlflow

mlflow.set_tracking_uri("./mlruns")
mlflow.set_experiment("churn-train")
