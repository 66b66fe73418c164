"""Stage fetch_data: the breast cancer dataset bundled with scikit-learn as data/raw/dataset.csv.

No network: the data ships inside the scikit-learn package. Each row gets an `id` and a
`feature_count` (how many of its measurements are above the dataset's mean), the two
columns the top-level `plots` entry of dvc.yaml draws.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_breast_cancer

OUT = Path("data/raw/dataset.csv")


def main() -> None:
    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data.rename(columns=lambda name: name.replace(" ", "_"))
    frame = features.assign(
        feature_count=(features > features.mean()).sum(axis=1),
        target=bunch.target,
    )
    frame.insert(0, "id", range(len(frame)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, float_format="%.6g")
    print(f"fetch_data: {len(frame)} rows, {features.shape[1]} features -> {OUT}")


if __name__ == "__main__":
    main()
