import json

with open("metrics_config.json") as handle:
    config = json.load(handle)
print(config["threshold"], config["average"])
