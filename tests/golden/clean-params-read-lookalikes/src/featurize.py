import yaml

print(yaml.safe_load(open("params.yaml"))["featurize"]["n"])
