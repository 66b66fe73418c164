"""check-airflow-export: each DAG file `dvc-gitops export airflow` wrote matches the pipeline.

It finds the DAG files by their first line, exports the pipeline again with the DAG id
the file holds, and compares the two, except for the `Git commit:` line (a commit of
the DAG file itself or of dvc.yaml must not make it stale on its own). `--fix` writes the
fresh export (exit 1, pre-commit style).
"""

from __future__ import annotations

import json
import re

from dvc_gitops.core.files import WriteRefused, write_text
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.export.airflow import ExportProblem, export_airflow, export_command
from dvc_gitops.export.airflow_transfer import export_transfer
from dvc_gitops.export.stale import AIRFLOW_EXPORT_STALE, AIRFLOW_FIRST_LINE, exported_files

DAG_ID = re.compile(r"^    dag_id=(\"(?:[^\"\\]|\\.)*\"),$", re.MULTILINE)
COMMIT_LINE = re.compile(r"^Git commit: .*$", re.MULTILINE)
TRANSFER = re.compile(r"^    dvc-gitops export airflow --transfer (s3|gs)\b", re.MULTILINE)


def exported_dags(project: Project) -> list[str]:
    """Repo-relative paths of the Python files `dvc-gitops export airflow` wrote."""
    return exported_files(project, AIRFLOW_FIRST_LINE)


def check_dag(project: Project, rel: str, fix: bool) -> str | None:
    """One line when the DAG file at `rel` is stale (rewritten with `fix`), else None."""
    try:
        text = project.read_text(rel)
    except FileProblem as exc:
        return f"{rel}: {exc.message}"
    match = DAG_ID.search(text)
    dag_id = json.loads(match.group(1)) if match else "dvc_pipeline"
    transfer = TRANSFER.search(text)
    again = export_command(dag_id, rel, transfer.group(1) if transfer else "dvc")
    try:
        if transfer:
            fresh = export_transfer(project, dag_id, rel, transfer.group(1))
        else:
            fresh = export_airflow(project, dag_id, rel)
    except ExportProblem as exc:
        return f"{rel}: cannot check the Airflow DAG: {exc}"
    if COMMIT_LINE.sub("", fresh) == COMMIT_LINE.sub("", text):
        return None
    if fix:
        try:
            write_text(project.root, rel, fresh)
        except WriteRefused as exc:
            return f"{rel}: the Airflow DAG is out of date and cannot be written: {exc}"
        return f"{rel}: the Airflow DAG was out of date with the pipeline: exported again"
    return f"{rel}: the Airflow DAG is out of date with the pipeline: run `{again}`"


def stale_findings(project: Project) -> list[Finding]:
    """DG801 for each exported DAG the pipeline outgrew (at its first line)."""
    found = []
    for rel in exported_dags(project):
        line = check_dag(project, rel, fix=False)
        if line:
            message = line.removeprefix(f"{rel}: ")
            found.append(AIRFLOW_EXPORT_STALE.at(rel, (1, 1), message))
    return found
