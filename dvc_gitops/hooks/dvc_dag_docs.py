"""The `dvc-dag-docs` hook: the Mermaid picture of the pipeline kept current in README.md.

The picture is drawn by `dvc_gitops.export.mermaid`;
this module is what pre-commit runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from dvc_gitops import __version__
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.runner import EXIT_CLEAN, HELP_OPTIONS, guarded
from dvc_gitops.export.mermaid import DEFAULT_FILE, document_option, finish, update_document


@click.command("dvc-dag-docs", context_settings=HELP_OPTIONS)
@click.version_option(__version__, prog_name="dvc-dag-docs")
@click.option("--check", is_flag=True, help="Only report an out-of-date picture; write nothing.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@document_option
# pre-commit passes no file names (pass_filenames: false); names given anyway are ignored:
# the picture is drawn from the whole pipeline, never from the files that changed.
@click.argument("filenames", nargs=-1, type=click.Path())
def hook_command(check: bool, debug: bool, document: str, filenames: tuple[str, ...]) -> None:
    """Redraw the Mermaid picture of the pipeline between the markers in README.md."""
    project = Project(find_root(Path.cwd()))
    # The default README.md is optional: without markers the hook says how and passes.
    finish(*update_document(project, document, write=not check, optional=document == DEFAULT_FILE))


def main(argv: Sequence[str] | None = None) -> int:
    """The hook's entry point: 0 up to date, 1 redrawn (or stale with --check), 2 usage."""
    args = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        # Not standalone: click hands the exit code of `_finish` back as the return value.
        code = hook_command.main(args=args, prog_name="dvc-dag-docs", standalone_mode=False)
        return int(code or EXIT_CLEAN)

    return guarded("dvc-dag-docs", "--debug" in args, body)


if __name__ == "__main__":
    raise SystemExit(main())
