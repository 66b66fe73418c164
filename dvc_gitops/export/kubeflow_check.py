"""check-kubeflow-export: each pipeline source `dvc-gitops export kubeflow` wrote is current.

It finds the files by their first line, exports the pipeline again with the name and
image the file holds, and compares the two except for the `Git commit:` line. `--fix`
writes the fresh export (exit 1, pre-commit style).
"""

from __future__ import annotations

import json
import re

from dvc_gitops.core.files import WriteRefused, write_text
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.export.airflow import ExportProblem
from dvc_gitops.export.kubeflow import (
    DEFAULT_IMAGE,
    DEFAULT_NAME,
    export_command,
    export_kubeflow,
)
from dvc_gitops.export.stale import KUBEFLOW_EXPORT_STALE, KUBEFLOW_FIRST_LINE, exported_files

_NAME = re.compile(r'^@dsl\.pipeline\(name=("(?:[^"\\]|\\.)*")\)$', re.MULTILINE)
_IMAGE = re.compile(r'^BASE_IMAGE = ("(?:[^"\\]|\\.)*")$', re.MULTILINE)
_COMMIT_LINE = re.compile(r"^Git commit: .*$", re.MULTILINE)


def exported_pipelines(project: Project) -> list[str]:
    """Repo-relative paths of the Python files `dvc-gitops export kubeflow` wrote."""
    return exported_files(project, KUBEFLOW_FIRST_LINE)


def _literal(pattern: re.Pattern[str], text: str, default: str) -> str:
    match = pattern.search(text)
    if not match:
        return default
    value = json.loads(match.group(1))
    return value if isinstance(value, str) else default


def check_pipeline(project: Project, rel: str, fix: bool) -> str | None:
    """One line when the pipeline source at `rel` is stale (rewritten with `fix`), else None."""
    try:
        text = project.read_text(rel)
    except FileProblem as exc:
        return f"{rel}: {exc.message}"
    name = _literal(_NAME, text, DEFAULT_NAME)
    image = _literal(_IMAGE, text, DEFAULT_IMAGE)
    try:
        fresh = export_kubeflow(project, name, image, rel)
    except ExportProblem as exc:
        return f"{rel}: cannot check the Kubeflow pipeline: {exc}"
    if _COMMIT_LINE.sub("", fresh) == _COMMIT_LINE.sub("", text):
        return None
    if fix:
        try:
            write_text(project.root, rel, fresh)
        except WriteRefused as exc:
            return f"{rel}: the Kubeflow pipeline is out of date and cannot be written: {exc}"
        return f"{rel}: the Kubeflow pipeline was out of date with the DVC pipeline: exported again"
    again = export_command(name, image, rel)
    return f"{rel}: the Kubeflow pipeline is out of date with the DVC pipeline: run `{again}`"


def stale_findings(project: Project) -> list[Finding]:
    """DG802 for each exported pipeline source the DVC pipeline outgrew."""
    found = []
    for rel in exported_pipelines(project):
        line = check_pipeline(project, rel, fix=False)
        if line:
            message = line.removeprefix(f"{rel}: ")
            found.append(KUBEFLOW_EXPORT_STALE.at(rel, (1, 1), message))
    return found
