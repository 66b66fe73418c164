from pathlib import Path

import yaml

PARAMS = yaml.safe_load((Path(__file__).parent.parent / "params.yaml").read_text())
print(PARAMS["base"]["seed"], PARAMS["split"]["ratio"])
