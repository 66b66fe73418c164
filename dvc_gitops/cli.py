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
from dvc_gitops.core.project import find_root
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
    )
    raise click.exceptions.Exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = files_never_options(list(sys.argv[1:] if argv is None else argv))

    def body() -> int:
        result: Any = cli.main(args=args, prog_name="dvc-gitops", standalone_mode=False)
        return int(result or 0)

    return guarded("dvc-gitops", "--debug" in args, body)


if __name__ == "__main__":
    raise SystemExit(main())
