"""`dvc-gitops review BASE [HEAD]`: the click command."""

from __future__ import annotations

from pathlib import Path

import click

from dvc_gitops.core.files import WriteRefused, write_output
from dvc_gitops.core.project import find_root
from dvc_gitops.core.runner import EXIT_CLEAN, EXIT_USAGE


@click.command("review")
@click.argument("base")
@click.argument("head", default="HEAD")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json", "text"]),
    default="text",
    show_default=True,
    help="markdown for a PR comment or job summary, json for bots.",
)
@click.option("--output-file", type=click.Path(dir_okay=False), help="Write the review here.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def review_command(base: str, head: str, fmt: str, output_file: str | None, debug: bool) -> None:
    """Review a change: pipeline, params, what re-runs, dvc.lock, metrics, a picture.

    BASE and HEAD (default HEAD) are revisions of the git repository holding the current
    folder, read from git objects: nothing is checked out, no data and no DVC needed.
    """
    from dvc_gitops.review.render import RENDERERS
    from dvc_gitops.review.report import review
    from dvc_gitops.review.revisions import RevisionProblem

    root = find_root(Path.cwd())
    try:
        result = review(root, base, head)
    except RevisionProblem as exc:
        click.echo(f"dvc-gitops review: error: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    text = RENDERERS[fmt](result)
    if output_file:
        try:
            write_output(root, output_file, text)
        except WriteRefused as exc:
            raise click.UsageError(str(exc)) from None
    else:
        click.echo(text, nl=False)
    raise click.exceptions.Exit(EXIT_CLEAN)
