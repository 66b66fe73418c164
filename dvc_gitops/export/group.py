"""`dvc-gitops export`: the pipeline for another orchestrator."""

from __future__ import annotations

import click

from dvc_gitops.export.airflow import airflow_command
from dvc_gitops.export.kubeflow import kubeflow_command


@click.group("export")
def export_group() -> None:
    """Export the pipeline to another orchestrator."""


export_group.add_command(airflow_command)
export_group.add_command(kubeflow_command)
