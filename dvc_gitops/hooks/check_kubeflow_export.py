"""The `check-kubeflow-export` hook: Kubeflow pipelines exported from the DVC pipeline are
current.

The comparison lives in `dvc_gitops.export.kubeflow_check`;
this module is what pre-commit runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from dvc_gitops import __version__
from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.runner import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_USAGE,
    HELP_OPTIONS,
    Check,
    CheckContext,
    guarded,
)
from dvc_gitops.export.stale import KUBEFLOW_FIRST_LINE, exported_files


def _stale(context: CheckContext) -> list[Finding]:
    """What `dvc-gitops check` reports: exporters are loaded only when an export exists."""
    if not exported_files(context.project, KUBEFLOW_FIRST_LINE):
        return []
    from dvc_gitops.export.kubeflow_check import stale_findings

    return stale_findings(context.project)


CHECK = Check("check-kubeflow-export", _stale, codes=prefixes("check-kubeflow-export"))


@click.command("check-kubeflow-export", context_settings=HELP_OPTIONS)
@click.version_option(__version__, prog_name="check-kubeflow-export")
@click.option("--fix", is_flag=True, help="Write the fresh export over a stale pipeline file.")
@click.option(
    "--pipeline",
    "pipelines",
    multiple=True,
    help="A pipeline source to check (repo-relative; default: every file the export wrote).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
# pre-commit passes no file names (pass_filenames: false): the export depends on the
# whole pipeline, never only on the files that changed.
@click.argument("filenames", nargs=-1, type=click.Path())
def hook_command(
    fix: bool, pipelines: tuple[str, ...], debug: bool, filenames: tuple[str, ...]
) -> int:
    """Report Kubeflow pipelines from `dvc-gitops export kubeflow` the DVC pipeline outgrew."""
    from dvc_gitops.export.kubeflow import DEFAULT_IMAGE, DEFAULT_NAME, export_command
    from dvc_gitops.export.kubeflow_check import check_pipeline, exported_pipelines

    project = Project(find_root(Path.cwd()))
    for rel in pipelines:
        if not project.exists(rel):
            again = export_command(DEFAULT_NAME, DEFAULT_IMAGE, rel)
            click.echo(
                f"check-kubeflow-export: {rel}: no such file: export it with `{again}` "
                "or fix --pipeline",
                err=True,
            )
            return EXIT_USAGE
    reports = [
        r
        for rel in pipelines or exported_pipelines(project)
        if (r := check_pipeline(project, rel, fix))
    ]
    for line in reports:
        click.echo(line)
    return EXIT_FINDINGS if reports else EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    """The hook's entry point: 0 up to date, 1 stale (or rewritten with --fix), 2 usage."""
    args = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        code = hook_command.main(
            args=args, prog_name="check-kubeflow-export", standalone_mode=False
        )
        return int(code or EXIT_CLEAN)

    return guarded("check-kubeflow-export", "--debug" in args, body)


if __name__ == "__main__":
    raise SystemExit(main())
