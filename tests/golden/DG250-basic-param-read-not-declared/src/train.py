"""Train: the split size comes from params.yaml too, but the stage does not declare it."""

import argparse

import yaml


def fit(settings, seed):
    # a dict passed down one call: its keys are read here
    return settings["lr"] * settings["test_size"] + seed


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", dest="params", required=True)
    args = parser.parse_args()
    with open(args.params) as handle:
        params = yaml.safe_load(handle)
    seed = params["base"]["seed"]
    epochs = params["train"].get("epochs", 5)
    print(fit(params["train"], seed), epochs)
