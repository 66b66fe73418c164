"""check-airflow-export: each DAG file `dvc-gitops export airflow` wrote matches the pipeline.

It finds the DAG files by their first line, exports the pipeline again with the DAG id
the file holds, and compares the two, except for the `Git commit:` line (a commit of
the DAG file itself or of dvc.yaml must not make it stale on its own). `--fix` writes the
fresh export (exit 1, pre-commit style).
"""

from __future__ import annotations

import json
import re

from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.export.airflow import ExportProblem, export_airflow, export_command

FIRST_LINE = re.compile(r'^"""Airflow DAG `[^`]*`: .* written by `dvc-gitops export airflow`\.$')
DAG_ID = re.compile(r"^    dag_id=(\"(?:[^\"\\]|\\.)*\"),$", re.MULTILINE)
COMMIT_LINE = re.compile(r"^Git commit: .*$", re.MULTILINE)


def exported_dags(project: Project) -> list[str]:
    """Repo-relative paths of the Python files `dvc-gitops export airflow` wrote."""
    found = []
    for rel in project.walk_files(suffixes=(".py",)):
        try:
            with open(project.path(rel), encoding="utf-8") as handle:
                first = handle.readline().rstrip("\n")
        except (OSError, UnicodeDecodeError):
            continue
        if FIRST_LINE.match(first):
            found.append(rel)
    return found


def check_dag(project: Project, rel: str, fix: bool) -> str | None:
    """One line when the DAG file at `rel` is stale (rewritten with `fix`), else None."""
    try:
        text = project.read_text(rel)
    except FileProblem as exc:
        return f"{rel}: {exc.message}"
    match = DAG_ID.search(text)
    dag_id = json.loads(match.group(1)) if match else "dvc_pipeline"
    again = export_command(dag_id, rel)
    try:
        fresh = export_airflow(project, dag_id, rel)
    except ExportProblem as exc:
        return f"{rel}: cannot check the Airflow DAG: {exc}"
    if COMMIT_LINE.sub("", fresh) == COMMIT_LINE.sub("", text):
        return None
    if fix:
        try:
            project.path(rel).write_text(fresh, encoding="utf-8")
        except OSError as exc:
            return f"{rel}: the Airflow DAG is out of date and cannot be written: {exc.strerror}"
        return f"{rel}: the Airflow DAG was out of date with the pipeline: exported again"
    return f"{rel}: the Airflow DAG is out of date with the pipeline: run `{again}`"
