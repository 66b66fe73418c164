"""Exported orchestrator files that the pipeline outgrew: DG801 (Airflow), DG802 (Kubeflow).

`dvc-gitops check` asks on every run, so finding the exported files is kept cheap: a look
at the first line of each Python file, and the exporters are imported only when a file
was written by one of them.
"""

from __future__ import annotations

import re

from dvc_gitops.core.findings import Rule
from dvc_gitops.core.project import Project

AIRFLOW_FIRST_LINE = re.compile(
    r'^"""Airflow DAG `[^`]*`: .* written by `dvc-gitops export airflow`\.$'
)
KUBEFLOW_FIRST_LINE = re.compile(
    r'^"""Kubeflow pipeline `[^`]*`: .* written by `dvc-gitops export kubeflow`\.$'
)

AIRFLOW_EXPORT_STALE = Rule(
    "DG801",
    "airflow-export-stale",
    "warning",
    "An Airflow DAG `dvc-gitops export airflow` wrote no longer matches the pipeline.",
    why="The DAG was exported from an older dvc.yaml, params or MLflow map: production "
    "runs other commands, edges or params than `dvc repro` does, and nobody sees it "
    "until a model differs.",
    fix="Export it again with the command the message gives (or run the "
    "`check-airflow-export` hook with `--fix`), and commit the DAG with the change.",
    fixable=True,
)
KUBEFLOW_EXPORT_STALE = Rule(
    "DG802",
    "kubeflow-export-stale",
    "warning",
    "A Kubeflow pipeline `dvc-gitops export kubeflow` wrote no longer matches the pipeline.",
    why="The pipeline source was exported from an older dvc.yaml, params or MLflow map: "
    "the cluster runs other commands or passes other artifacts than `dvc repro` does.",
    fix="Export it again with the command the message gives (or run the "
    "`check-kubeflow-export` hook with `--fix`), and commit it with the change.",
    fixable=True,
)


def exported_files(project: Project, first_line: re.Pattern[str]) -> list[str]:
    """Repo-relative Python files whose first line says which exporter wrote them."""
    found = []
    for rel in project.walk_files(suffixes=(".py",)):
        try:
            with open(project.path(rel), encoding="utf-8") as handle:
                first = handle.readline(500).rstrip("\n")
        except (OSError, UnicodeDecodeError):
            continue
        if first_line.match(first):
            found.append(rel)
    return found
