"""check-airflow-export: each DAG file `dvc-gitops export airflow` wrote matches the pipeline.

It finds the DAG files by their first line, exports the pipeline again with the DAG id
the file holds, and compares the two, except for the `Git commit:` line (a commit of
the DAG file itself or of dvc.yaml must not make it stale on its own). `--fix` writes the
fresh export (exit 1, pre-commit style).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..export import ExportProblem, export_airflow, export_command
from ..project import FileProblem, Project, find_root
from ..runner import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, guarded

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


@click.command("check-airflow-export")
@click.option("--fix", is_flag=True, help="Write the fresh export over a stale DAG file.")
@click.option(
    "--dag",
    "dags",
    multiple=True,
    help="A DAG file to check (repo-relative; default: every file the export wrote).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
# pre-commit passes no file names (pass_filenames: false): the DAG depends on the whole
# pipeline, never only on the files that changed.
@click.argument("filenames", nargs=-1, type=click.Path())
def hook_command(fix: bool, dags: tuple[str, ...], debug: bool, filenames: tuple[str, ...]) -> int:
    """Report Airflow DAG files from `dvc-gitops export airflow` that the pipeline outgrew."""
    project = Project(find_root(Path.cwd()))
    for rel in dags:
        if not project.exists(rel):
            click.echo(
                f"check-airflow-export: {rel}: no such file: export it with "
                f"`{export_command('dvc_pipeline', rel)}` or fix --dag",
                err=True,
            )
            return EXIT_USAGE
    reports = [r for rel in dags or exported_dags(project) if (r := check_dag(project, rel, fix))]
    for line in reports:
        click.echo(line)
    return EXIT_FINDINGS if reports else EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    """The hook's entry point: 0 up to date, 1 stale (or rewritten with --fix), 2 usage."""
    args = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        code = hook_command.main(args=args, prog_name="check-airflow-export", standalone_mode=False)
        return int(code or EXIT_CLEAN)

    return guarded("check-airflow-export", "--debug" in args, body)


if __name__ == "__main__":
    raise SystemExit(main())
