"""`dvc-gitops export`: the pipeline for another orchestrator (Airflow, Kubeflow)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from dvc_gitops.core.files import WriteRefused, write_output
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.runner import EXIT_USAGE
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.export.airflow import DEFAULT_DAG_ID, ExportProblem, dag_path, export_airflow
from dvc_gitops.export.airflow_transfer import export_transfer
from dvc_gitops.export.dockerfile import dockerfile_command
from dvc_gitops.export.kubeflow import kubeflow_command


@click.group("export")
def export_group() -> None:
    """Export the pipeline to another orchestrator."""


@click.command("airflow")
@click.option("--dag-id", default=DEFAULT_DAG_ID, show_default=True, help="The Airflow DAG id.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the DAG to this file (default: standard output).",
)
@click.option(
    "--transfer",
    type=click.Choice(["dvc", "s3", "gs"]),
    default="dvc",
    show_default=True,
    help="How tasks move data: dvc pull/repro/push, or straight to the remote's bucket "
    "through Airflow's S3 or GCS hook (no DVC on the workers).",
)
def airflow_command(dag_id: str, output: str | None, transfer: str) -> None:
    """Write the pipeline as one Airflow DAG: a task per stage, the edges of `dvc dag`."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", dag_id):
        raise click.BadParameter(
            "use letters, digits, '_', '.' and '-' only", param_hint="--dag-id"
        )
    project = Project(find_root(Path.cwd()))
    try:
        where = output and dag_path(project, output)
        if transfer == "dvc":
            text = export_airflow(project, dag_id, where)
        else:
            text = export_transfer(project, dag_id, where, transfer)
    except ExportProblem as exc:
        click.echo(f"dvc-gitops export airflow: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    if output is None:
        click.echo(text, nl=False)
        return
    target = Path(output)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        click.echo(f"{output} is up to date ({len(pipeline_of(project).stages)} tasks)")
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_output(project.root, target, text)
    except (OSError, WriteRefused) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        click.echo(f"dvc-gitops export airflow: cannot write {output}: {why}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    click.echo(
        f"wrote {output}: {len(pipeline_of(project).stages)} tasks,"
        f" {len(pipeline_of(project).edges())} edges"
    )


export_group.add_command(airflow_command)
export_group.add_command(kubeflow_command)
export_group.add_command(dockerfile_command)
