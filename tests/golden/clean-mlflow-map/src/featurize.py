import sys

from dvc_gitops.mlflow import start_run

with start_run(run_name=sys.argv[1]):
    pass
