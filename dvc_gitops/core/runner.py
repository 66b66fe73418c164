"""Running checks: files in, findings through config and suppressions, a report, an exit code.

Hooks and `dvc-gitops check` share this path. A hook module declares its check as a
`Check` and gets its `main(argv) -> int` from `hook_main`, so every hook has the same
options, output formats and exit codes:

    0  nothing to report (or only warn-only findings and notices)
    1  findings, or files changed by --fix
    2  usage or configuration error
    3  internal error (one line; --debug shows the traceback)
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import click

from dvc_gitops import __version__
from dvc_gitops.core import suppressions
from dvc_gitops.core.config import FAIL_ON, ConfigError, matches
from dvc_gitops.core.files import Edit, WriteRefused, write_text
from dvc_gitops.core.files import apply as apply_edits
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.redact import redact, safe
from dvc_gitops.core.reporters import REPORTERS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
# Every hook and command answers -h as --help, and --version (the hooks too).
# Fix rounds after the first, at most: each fixer edits a file once per round.
MAX_FIX_ROUNDS = 3
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


@dataclass
class CheckContext:
    """What a check is given: the project, the files to look at, its options."""

    project: Project
    # Repo-relative files named on the command line (pre-commit passes them), or None:
    # the check then finds its own files in the whole repository.
    files: list[str] | None
    options: dict[str, Any] = field(default_factory=dict)
    fix: bool = False
    fixed: list[str] = field(default_factory=list)  # files a fixer rewrote
    # Findings of these codes print but do not fail the run: a check appends to it
    # for its advisory mode (dvc-status warns unless --fail).
    warn_only: list[str] = field(default_factory=list)

    def apply(self, edits: Iterable[Edit], who: str = "dvc-gitops") -> list[str]:
        """Write a fixer's edits (atomically, inside the repository: core/files.py); the
        paths written, also added to `fixed`. A refused or failed write is one line on
        stderr, and its findings stay, unfixed."""
        try:
            written = apply_edits(self.project.root, edits)
        except WriteRefused as exc:
            click.echo(f"{who}: {exc}", err=True)
            return []
        self.fixed.extend(sorted(written))
        return written

    def selected(self, *names: str, suffixes: tuple[str, ...] = ()) -> list[str]:
        """The given files whose base name is one of `names` or ends with `suffixes`."""
        assert self.files is not None
        return [
            f
            for f in self.files
            if f.rsplit("/", 1)[-1] in names or (suffixes and f.endswith(suffixes))
        ]


@dataclass(frozen=True)
class Check:
    """A hook's check: its id, its function, and the code prefixes it can report."""

    hook_id: str
    run: Callable[[CheckContext], Iterable[Finding]]
    codes: tuple[str, ...]
    can_fix: bool = False


def run_checks(
    project: Project,
    checks: Sequence[Check],
    context: CheckContext,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    baseline: str | None = None,
) -> list[Finding]:
    """Every finding the checks report, filtered by config, suppressions and the
    baseline file (repo-relative; the config's when None), sorted."""
    config = project.config
    config.narrow(select, ignore)
    raw: list[Finding] = []
    for check in checks:
        # DG0 (unreadable file, bad suppression) can come from any check.
        if any(config.may_select(prefix) for prefix in (*check.codes, "DG0")):
            raw.extend(check.run(context))
    active_prefixes = [c for check in checks for c in check.codes]

    def active(code: str) -> bool:
        return matches(code, active_prefixes) and config.is_selected(code)

    kept = suppressions.apply(project, set(raw), active)
    found = sorted(f for f in kept if config.is_selected(f.code, f.path))
    baseline = baseline if baseline is not None else config.baseline
    if not baseline:
        return found
    from dvc_gitops.core import baseline as baselines  # only runs that use one pay for it

    def covered(entry: baselines.Entry) -> bool:
        # The run would have seen this finding again: its code was checked in its file.
        in_files = context.files is None or entry.path in context.files
        return in_files and active(entry.code) and config.is_selected(entry.code, entry.path)

    entries = baselines.read(project, baseline)
    left = baselines.subtract(project, found, entries, baseline, covered)
    return sorted(f for f in left if config.is_selected(f.code, f.path))


def exit_code(findings: Iterable[Finding], project: Project, context: CheckContext) -> int:
    for f in findings:
        if f.severity == "notice":
            continue
        if project.config.is_warn_only(f.code) or matches(f.code, context.warn_only):
            continue
        if f.severity == "warning" and project.config.fail_on == "error":
            continue
        return EXIT_FINDINGS
    return EXIT_FINDINGS if context.fixed else EXIT_CLEAN


def default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def emit(
    findings: Sequence[Finding], fmt: str, output_file: str | None, context: CheckContext
) -> None:
    reporter = REPORTERS[fmt]
    # The last line of defence for secrets: whatever a check quoted, no URL credential
    # reaches any format (text, json, github, sarif) or the output file.
    findings = [
        f if f.message == (m := redact(f.message)) else dataclasses.replace(f, message=m)
        for f in findings
    ]
    if fmt == "text":
        for path in dict.fromkeys(context.fixed):
            click.echo(f"{path}: fixed")
    if output_file:
        import io

        buffer = io.StringIO()
        reporter(findings, buffer)
        try:
            target = Path(output_file).absolute()  # wherever the user asked, atomically
            write_text(target.parent, target, buffer.getvalue())
        except WriteRefused as exc:
            raise ConfigError(f"--output-file: {exc}") from None
        return
    reporter(findings, sys.stdout)


def guarded(prog: str, debug: bool, body: Callable[[], int]) -> int:
    """Run `body`, turning every failure into one line on stderr and an exit code."""
    try:
        return body()
    except ConfigError as exc:
        click.echo(f"{prog}: error: {safe(str(exc))}", err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"{prog}: error: {safe(exc.format_message())}", err=True)
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo(f"{prog}: aborted", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo(f"{prog}: interrupted", err=True)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        detail = safe(" ".join(str(exc).split())) or type(exc).__name__
        click.echo(
            f"{prog}: internal error: {type(exc).__name__}: {detail} "
            "(run again with --debug for the traceback)",
            err=True,
        )
        return EXIT_INTERNAL


class Seconds(click.ParamType):  # type: ignore[type-arg]
    """A timeout: a number of seconds above 0 and at most a day; `nan` and `inf` (which
    float() accepts and every comparison lets through) are usage errors."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not 0 < number <= 86400:  # false for nan
            self.fail(f"{value} is not a number of seconds above 0 and at most 86400", param, ctx)
        return number


SECONDS = Seconds()


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every hook and `dvc-gitops check` take."""
    for option in reversed(
        [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(sorted(REPORTERS)),
                default=None,
                help="Output format (default: text; github inside GitHub Actions).",
            ),
            click.option(
                "--output-file", type=click.Path(dir_okay=False), help="Write the report here."
            ),
            click.option(
                "--select", multiple=True, help="Only these codes or prefixes (comma-separated)."
            ),
            click.option(
                "--ignore", multiple=True, help="Skip these codes or prefixes (comma-separated)."
            ),
            click.option(
                "--baseline",
                "baseline",
                type=click.Path(dir_okay=False),
                default=None,
                help="Report only findings this baseline file does not hold "
                "(default: the `baseline` config key; write it with `dvc-gitops baseline`).",
            ),
            click.option(
                "--fail-on",
                "fail_on",
                type=click.Choice(FAIL_ON),
                default=None,
                help="The lowest severity that fails the run (default: the `fail-on` config "
                "key, else warning); notices never do.",
            ),
            click.option("--debug", is_flag=True, help="Show tracebacks of internal errors."),
        ]
    ):
        fn = option(fn)
    return fn


def split_codes(values: Sequence[str]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def execute(
    checks: Sequence[Check] | Callable[[Callable[[str], bool]], Sequence[Check]],
    root: Path,
    files: list[str] | None,
    options: dict[str, Any],
    *,
    fmt: str | None,
    output_file: str | None,
    select: Sequence[str],
    ignore: Sequence[str],
    fix: bool = False,
    baseline: str | None = None,
    fail_on: str | None = None,
) -> int:
    """Build the project, run the checks, print the report, return the exit code.

    `checks` may be a function of a predicate on code prefixes (whether the config and
    command line may select such a code), so that deselected checks are never loaded.
    """
    select, ignore = split_codes(select), split_codes(ignore)
    for given in (*select, *ignore):
        # A code that selects nothing would pass silently in CI: a usage error.
        from dvc_gitops.core.catalog import unknown_code

        problem = unknown_code(given)
        if problem:
            raise ConfigError(problem)
    for name in files or ():
        if not (Path.cwd() / name).exists():
            raise ConfigError(f"{name}: no such file{_did_you_mean_file(Path.cwd() / name)}")
    project = Project(root)
    if fail_on is not None:
        project.config.fail_on = fail_on
    if callable(checks):
        project.config.narrow(select, ignore)
        checks = checks(project.config.may_select)
    if fmt is not None and fmt not in REPORTERS:
        raise ConfigError(f"unknown format '{fmt}'")
    rel_files = None
    if files is not None:  # pre-commit passes excluded files too: they are skipped here
        rel_files = [
            r for r in (project.rel(Path.cwd() / f) for f in files) if not project.excluded(r)
        ]
    context = CheckContext(project, rel_files, options, fix=fix)
    baseline_rel = None if baseline is None else project.rel(Path.cwd() / baseline)
    findings = run_checks(project, checks, context, select, ignore, baseline_rel)
    fixed_now = list(context.fixed)
    for _round in range(MAX_FIX_ROUNDS):
        if not fixed_now:
            break
        # The fixers rewrote files: run again on them read afresh, so what is left is
        # reported at its lines in the new text, and a fixer that left a file another
        # had just rewritten (a fixer never edits a file already fixed in its run) gets
        # its turn. With --fix still on, a finding left alone says why.
        fresh = Project(root)
        fresh.config.fail_on = project.config.fail_on
        again = CheckContext(fresh, rel_files, options, fix=True)
        findings = run_checks(fresh, checks, again, select, ignore, baseline_rel)
        context.warn_only.extend(again.warn_only)
        fixed_now = again.fixed
        context.fixed.extend(path for path in again.fixed if path not in context.fixed)
        project = fresh
    emit(findings, fmt or default_format(), output_file, context)
    return exit_code(findings, project, context)


def _did_you_mean_file(path: Path) -> str:
    import difflib

    try:
        names = [p.name for p in path.parent.iterdir()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1)
    if not close:
        return ""
    shown = path.parent / close[0]
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    return f" (did you mean {shown.as_posix()}?)"


class HookMain(Protocol):
    def __call__(self, argv: Sequence[str] | None = None) -> int: ...


def hook_main(
    check: Check,
    *,
    help: str,
    extra_options: Sequence[Callable[[Callable[..., Any]], Callable[..., Any]]] = (),
) -> HookMain:
    """A hook's `main(argv) -> int`: common options, the hook's own, then file names.

    Extra options' values reach the check as `context.options` (by parameter name).
    Without file names the hook checks the whole repository at the current directory.
    """

    def main(argv: Sequence[str] | None = None) -> int:
        args = files_never_options(list(sys.argv[1:] if argv is None else argv))
        debug = "--debug" in args

        def body() -> int:
            result: list[int] = []

            @click.command(name=check.hook_id, help=help, context_settings=HELP_OPTIONS)
            @click.version_option(__version__, prog_name=check.hook_id)
            @common_options
            @click.argument("filenames", nargs=-1, type=click.Path())
            def command(
                fmt: str | None,
                output_file: str | None,
                select: tuple[str, ...],
                ignore: tuple[str, ...],
                debug: bool,
                baseline: str | None,
                fail_on: str | None,
                filenames: tuple[str, ...],
                **options: Any,
            ) -> None:
                fix = bool(options.pop("fix", False))
                result.append(
                    execute(
                        [check],
                        find_root(Path.cwd()),
                        list(filenames) or None,
                        options,
                        fmt=fmt,
                        output_file=output_file,
                        select=select,
                        ignore=ignore,
                        fix=fix,
                        baseline=baseline,
                        fail_on=fail_on,
                    )
                )

            if check.can_fix:
                command = click.option(
                    "--fix", is_flag=True, help="Fix what can be fixed, in place."
                )(command)
            for option in extra_options:
                command = option(command)  # type: ignore[assignment]
            command.main(args=args, prog_name=check.hook_id, standalone_mode=False)
            return result[0] if result else EXIT_CLEAN

        return guarded(check.hook_id, debug, body)

    return main


def files_never_options(args: list[str]) -> list[str]:
    """`args` with a `--` put before the first file name that looks like an option.

    pre-commit passes file names after the hook's `args`, as they are: a folder called
    `--select=ZZ` holding a dvc.yaml arrives as `--select=ZZ/dvc.yaml`, and must be read as
    that file, never as an option. A word starting with `-` that names an existing path
    and holds a `/`, `=` or `.` (no option of ours does) starts the file names.
    """
    if "--" in args:
        return args
    for index, arg in enumerate(args):
        if (
            arg.startswith("-")
            and len(arg) > 1
            and any(mark in arg for mark in "/=.")
            and os.path.lexists(arg)
        ):
            return [*args[:index], "--", *args[index:]]
    return args
