"""Stage evaluate: the trained model scored on the held-out rows, written to eval.json.

Logs the scores to MLflow, in the experiment mlflow-experiments.yaml maps the stage to.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

TEST = Path("data/processed/test.parquet")
MODEL = Path("models/model.pkl")
EVAL = Path("eval.json")


def main() -> None:
    model = pickle.loads(MODEL.read_bytes())
    frame = pd.read_parquet(TEST)
    features, target = frame.drop(columns=["target"]), frame["target"]
    predicted = model.predict(features)
    scores = {
        "accuracy": accuracy_score(target, predicted),
        "f1": f1_score(target, predicted),
        "roc_auc": roc_auc_score(target, model.predict_proba(features)[:, 1]),
    }
    scores = {name: round(float(value), 6) for name, value in scores.items()}
    EVAL.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    log_to_mlflow(scores)
    print(f"evaluate: accuracy {scores['accuracy']:.4f}, roc_auc {scores['roc_auc']:.4f} -> {EVAL}")


def log_to_mlflow(scores: dict[str, float]) -> None:
    import mlflow

    from dvc_gitops.mlflow import start_run

    with start_run():
        mlflow.log_metrics(scores)
        mlflow.log_artifact(str(EVAL))


if __name__ == "__main__":
    main()
