"""Stage preprocess: data/raw/dataset.csv split into train and test parquet files.

Reads `preprocess.train_split` and `preprocess.random_seed` from params.yaml (the keys the
stage declares in dvc.yaml: DVC re-runs it when they change).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

RAW = Path("data/raw/dataset.csv")
OUT_DIR = Path("data/processed")


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))["preprocess"]
    frame = pd.read_csv(RAW)
    # `id` and `feature_count` describe rows for the plot; they are not measurements.
    frame = frame.drop(columns=["id", "feature_count"])
    train, test = train_test_split(
        frame,
        train_size=params["train_split"],
        random_state=params["random_seed"],
        stratify=frame["target"],
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    train.to_parquet(OUT_DIR / "train.parquet", index=False)
    test.to_parquet(OUT_DIR / "test.parquet", index=False)
    print(f"preprocess: {len(train)} train rows, {len(test)} test rows -> {OUT_DIR}/")


if __name__ == "__main__":
    main()
