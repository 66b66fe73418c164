from dvc.api import params_show

params = params_show(stages="train")
print(params["train"]["lr"], params["train"]["epochs"])
