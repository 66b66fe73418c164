import json

import pandas as pd

labels = pd.read_csv("data/labels.csv")  # committed to git, not a dep
local = pd.read_csv("data/local.csv")  # git does not track it: not this rule's business
json.dump({"n": len(labels) + len(local)}, open("model.json", "w"))
