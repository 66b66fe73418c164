import sys

import yaml

from lib.settings import name_of

with open("params.yaml") as handle:
    params = yaml.safe_load(handle)
with open("config.yaml") as handle:
    config = yaml.safe_load(handle)  # not a params file: not a params read

key = sys.argv[1] if len(sys.argv) > 1 else "lr"
print(params["train"]["lr"], params["data"]["path"])
print(config["train"]["lr"])
print(params["train"][key])  # a key known only at run time: never guessed
print(params.get("missing", 1))  # not in params.yaml: nothing to declare
print(name_of("train"))
# where and how it runs, not what it computes: no re-run needed when these change
print(params["runtime"]["device"], params["runtime"]["num_workers"])
