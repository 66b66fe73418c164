import yaml

params = yaml.safe_load(open("params.yaml"))
if params["train"]["epochs"] > 5:  # the `train` section is declared
    params = {"featurize": {"n": 1}}
# `params` is bound twice: which value reaches this read is not known, so it is not guessed
print(params["featurize"]["n"])
