import argparse
import os

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--experiment")
args = parser.parse_args()
mlflow.set_experiment(args.experiment)
mlflow.start_run(experiment_id=os.environ["CHURN_EXPERIMENT_ID"])
