"""The `check-mlflow-map` hook: the stage -> MLflow experiment map is valid and true.

The rules and the logic live in `dvc_gitops.mlflow.rules`;
this module is what pre-commit runs.
"""

from __future__ import annotations

import click

from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.runner import SECONDS, Check, hook_main
from dvc_gitops.mlflow.rest import DEFAULT_TIMEOUT
from dvc_gitops.mlflow.rules import check

CHECK = Check("check-mlflow-map", check, codes=prefixes("check-mlflow-map"))
main = hook_main(
    CHECK,
    help="Check the stage -> MLflow experiment map against the pipeline, the code and "
    "(--online) the tracking server.",
    extra_options=[
        click.option(
            "--online",
            is_flag=True,
            default=None,
            help="Also ask the tracking server (MLFLOW_TRACKING_URI, else the map's).",
        ),
        click.option(
            "--offline-ok",
            is_flag=True,
            default=None,
            help="An unreachable server is a notice, not an error.",
        ),
        click.option(
            "--timeout",
            type=SECONDS,
            default=None,
            help=f"Seconds to wait for each server answer (default {DEFAULT_TIMEOUT:g}).",
        ),
    ],
)

if __name__ == "__main__":
    raise SystemExit(main())
