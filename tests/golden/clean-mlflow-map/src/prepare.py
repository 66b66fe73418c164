"""Prepares data. Mentions `import mlflow` and mlflow.set_experiment("x") only in text."""

import mlflow_utils  # a different package that merely starts with the name
from trackers import aim


class Tracker:
    def __init__(self, mlflow):
        self.mlflow = mlflow

    def go(self):
        self.mlflow.set_experiment("someone-else's")  # not the mlflow module


def set_experiment(name):  # our own function of the same name
    return name


set_experiment("not-mlflow")
aim.Run(experiment_name="aim-is-not-mlflow")
mlflow_utils.log("x")
