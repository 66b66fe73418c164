import mlflow as mf
import yaml

PROJECT = "churn"
EXPERIMENT = f"{PROJECT}-train"

with open("params.yaml") as f:
    params = yaml.safe_load(f)

mf.set_experiment(EXPERIMENT)
mf.set_experiment(experiment_name=params["train"]["experiment"])
