"""Stage train: a gradient-boosted classifier as models/model.pkl, its scores in metrics.json.

Reads `train.learning_rate` and `train.max_depth` from params.yaml and logs the params,
the metrics and the model to MLflow: `start_run()` opens the run in the experiment that
mlflow-experiments.yaml maps this stage to, on the tracking store that file names, and the
model is registered under the name the map gives.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss

TRAIN = Path("data/processed/train.parquet")
MODEL = Path("models/model.pkl")
METRICS = Path("metrics.json")


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))["train"]
    frame = pd.read_parquet(TRAIN)
    features, target = frame.drop(columns=["target"]), frame["target"]
    # A fixed seed and no threads: the same data and params give the same model file,
    # byte for byte, so dvc.lock does not change when nothing else did.
    model = GradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_depth=params["max_depth"],
        random_state=0,
    )
    model.fit(features, target)
    metrics = {
        "train_accuracy": round(float(accuracy_score(target, model.predict(features))), 6),
        "train_log_loss": round(float(log_loss(target, model.predict_proba(features))), 6),
    }
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    MODEL.write_bytes(pickle.dumps(model))
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    log_to_mlflow(params, metrics, model)
    print(f"train: accuracy {metrics['train_accuracy']:.4f} on the training rows -> {MODEL}")


def log_to_mlflow(params: dict[str, Any], metrics: dict[str, float], model: Any) -> None:
    import mlflow
    import mlflow.sklearn
    import sklearn

    from dvc_gitops.mlflow import registered_model, start_run

    with start_run():
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.sklearn.log_model(
            model,
            name="model",
            # Stated, not inferred: inference imports the model in a subprocess (slow).
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            # We trained this model ourselves a moment ago: its tree type is safe to load.
            skops_trusted_types=["sklearn.tree._tree.Tree"],
            registered_model_name=registered_model(),
        )


if __name__ == "__main__":
    main()
