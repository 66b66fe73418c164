"""The `dvc-gitops` command line.

Subcommands live beside the code they drive and load only when called, so
`dvc-gitops check` never pays for what `onboard` or `status` import.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from dvc_gitops import __version__
from dvc_gitops.core.catalog import COMMANDS, SHARED_PREFIX, offline_hooks
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.runner import Check, common_options, execute, files_never_options, guarded


def offline_checks(wanted: Callable[[str], bool] = lambda _prefix: True) -> list[Check]:
    """The CHECK of every offline hook with a `wanted` code prefix (others are not imported)."""
    checks = []
    for hook in offline_hooks():
        if not any(wanted(prefix) for prefix in (*hook.prefixes, SHARED_PREFIX)):
            continue
        checks.append(importlib.import_module(hook.module).CHECK)
    return checks


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *(n for n in COMMANDS if self._load(n))])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None
        command: click.Command = getattr(module, attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dvc-gitops")
def cli() -> None:
    """Keep a Git repository of DVC pipelines and MLflow tracking honest."""


@cli.command("check")
@common_options
@click.option("--fix", is_flag=True, help="Fix what can be fixed (missing deps, pins), in place.")
@click.argument("paths", nargs=-1, type=click.Path())
def check_command(
    fmt: str | None,
    output_file: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    debug: bool,
    baseline: str | None,
    fail_on: str | None,
    fix: bool,
    paths: tuple[str, ...],
) -> None:
    """Run every offline check on a repository (a folder) or on the given files."""
    folders = [p for p in paths if Path(p).is_dir()]
    if folders and len(paths) > 1:
        raise click.UsageError("give one repository folder, or files, not both")
    root = Path(folders[0]) if folders else find_root(Path.cwd())
    files = None if folders or not paths else list(paths)
    code = execute(
        offline_checks,
        root,
        files,
        {},
        fmt=fmt,
        output_file=output_file,
        select=select,
        ignore=ignore,
        fix=fix,
        baseline=baseline,
        fail_on=fail_on,
    )
    raise click.exceptions.Exit(code)


def todays_findings(project: Project) -> list[Finding]:
    """Every finding of the offline checks, no baseline subtracted (what one records)."""
    from dvc_gitops.core.runner import CheckContext, run_checks

    checks = offline_checks(project.config.may_select)
    return run_checks(project, checks, CheckContext(project, None), baseline="")


@click.command("baseline")
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="The baseline file (default: the `baseline` config key, else "
    ".dvc-gitops-baseline.json at the repository root).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
def baseline_command(output: str | None, debug: bool, folder: str | None) -> None:
    """Record today's findings of every offline check, so that `check` and the hooks
    report only new ones. Run it again to drop what was fixed."""
    from dvc_gitops.core import baseline as baselines

    if folder and not Path(folder).is_dir():
        raise click.UsageError(f"{folder}: no such folder")
    root = find_root(Path(folder) if folder else Path.cwd())
    project = Project(root)
    name = output or project.config.baseline or baselines.DEFAULT_FILE
    target = Path(output) if output else project.root / name
    shown = project.rel(target)
    if shown.startswith("../"):
        raise click.UsageError(f"{output}: the baseline must be inside the repository {root}")
    text = baselines.render(project, todays_findings(project))
    changed = baselines.write(project.root / shown, text)
    count = text.count('"fingerprint"')
    state = "written" if changed else "unchanged"
    click.echo(f"{shown}: {state}, {count} finding{'' if count == 1 else 's'} recorded.")
    if project.config.baseline != shown:
        click.echo(
            f"Use it: `dvc-gitops check --baseline {shown}`, or for every hook add "
            f'`baseline = "{shown}"` to [tool.dvc-gitops] (`dvc-gitops init --baseline`).'
        )


@click.command("init")
@click.option("--dry-run", is_flag=True, help="Print the diff of every file; write nothing.")
@click.option("--dag-docs", is_flag=True, help="Also keep a picture of the pipeline in README.md.")
@click.option("--mlflow-map", is_flag=True, help="Also write a first mlflow-experiments.yaml.")
@click.option(
    "--baseline",
    is_flag=True,
    help="Also record today's findings in .dvc-gitops-baseline.json and name it in the "
    "config, so only new findings block.",
)
@click.option("--rev", default=None, help="The rev of dvc-gitops pre-commit installs.")
@click.option(
    "--repo",
    default=None,
    help="Where pre-commit fetches the hooks: a mirror, or a local clone "
    "(default: https://github.com/dvc-gitops/dvc-gitops).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def init_command(
    dry_run: bool,
    dag_docs: bool,
    mlflow_map: bool,
    baseline: bool,
    rev: str | None,
    repo: str | None,
    debug: bool,
) -> None:
    """Set this repository up: the recommended pre-commit hooks and the config table."""
    from dvc_gitops.setup import init as setup_init  # only init pays for ruamel and difflib

    here = Path.cwd()
    root = find_root(here)
    if not (root / ".git").exists():
        raise click.UsageError(
            f"{here} is not in a git repository: pre-commit needs one (`git init`)"
        )
    project = Project(root)
    changes = setup_init.plan(
        project,
        repo=repo or setup_init.HOME_REPO,
        rev=rev,
        dag_docs=dag_docs,
        mlflow=mlflow_map,
        baseline=todays_findings if baseline else None,
    )
    if dry_run:
        for change in changes:
            if change.changed:
                click.echo(change.diff(), nl=False)
        pending = sum(c.changed for c in changes)
        click.echo(f"{pending} file(s) would change (--dry-run: nothing written).")
        return
    setup_init.apply(project, changes, lambda target, text: write_inside(root, target, text))
    for change in changes:
        click.echo(f"{change.path}: {change.what if change.changed else 'unchanged'}")
    if not any(c.changed for c in changes):
        click.echo("Nothing to change: this repository is set up.")
        return
    click.echo(setup_init.NEXT_STEPS)


def write_inside(root: Path, target: Path, text: str) -> None:
    """Write a file of the repository atomically (core/files); a refusal is one line."""
    from dvc_gitops.core.files import WriteRefused, write_text

    try:
        write_text(root, target, text)
    except WriteRefused as exc:
        raise click.UsageError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = files_never_options(list(sys.argv[1:] if argv is None else argv))

    def body() -> int:
        result: Any = cli.main(args=args, prog_name="dvc-gitops", standalone_mode=False)
        return int(result or 0)

    return guarded("dvc-gitops", "--debug" in args, body)


if __name__ == "__main__":
    raise SystemExit(main())
