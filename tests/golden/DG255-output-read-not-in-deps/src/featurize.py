import pandas as pd

pd.read_csv("data/train.csv").to_csv("data/features.csv")
