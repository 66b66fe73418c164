import json

import dvc.api

params = dvc.api.params_show()
print(json.dumps(params["train"]["epochs"]))
