import os
import pickle
import sys
from pathlib import Path

import pandas as pd

FEATURES = os.path.join("data", "features.csv")
features = pd.read_csv(FEATURES)  # the output of `featurize`, without a dep
vocab = (Path("data/vocab") / "words.txt").read_text()  # inside another output folder
labels = pd.read_csv("data/train.csv")  # a dep: fine
if len(sys.argv) > 1:
    extra = pd.read_csv("data/extra.csv")  # only some runs: not guessed
with open("model.pkl", "wb") as handle:  # its own output, written
    pickle.dump((features, vocab, labels), handle)
print(Path("data/features.csv").exists())  # a probe, not a read
