"""Rule pages: `dvc-gitops rules [CODE]` and the generator of docs/rules/<CODE>.md.

A page is built from the rule's own text (summary, why, fix) and a real example: the
first golden test case named after the code, with the exact output the tool printed for
it. The pages are generated, committed, and checked by a test, so docs cannot drift.
"""

from __future__ import annotations

import importlib
import shlex
import sys
from importlib.resources import files
from pathlib import Path

import click

from dvc_gitops.core.catalog import HOOKS, hook_of, rule_modules
from dvc_gitops.core.findings import RULES, Rule

SOURCE_ROOT = Path(__file__).resolve().parent.parent
GOLDEN = SOURCE_ROOT / "tests" / "golden"
PAGES = SOURCE_ROOT / "docs" / "rules"

# Files of a golden case that drive the test rather than form the example's input.
CONTROL_FILES = {"args.txt", "expected.txt", ".golden-git", "mlflow-server.yaml"}
# A case file its own .gitignore hides is stored under this suffix (shown without it).
GITIGNORED = ".gitignored"
# A case's folder of corrected files: the page's "Write instead", never the case's input.
INSTEAD = "instead"
# DVC's cache inside a case: files named by their hash, not what a user writes.
CACHE = ".dvc/cache/"
# The code fence of an example file, by suffix (others are plain text).
FENCES = {".yaml": "yaml", ".yml": "yaml", ".py": "python", ".toml": "toml", ".json": "json"}


def all_rules() -> list[Rule]:
    """Every released rule, by code."""
    for name in rule_modules():
        importlib.import_module(name)
    return [RULES[code] for code in sorted(RULES)]


def example_case(code: str, golden: Path = GOLDEN) -> Path | None:
    cases = sorted(golden.glob(f"{code}-*")) if golden.is_dir() else []
    return cases[0] if cases else None


def render(rule: Rule, golden: Path = GOLDEN) -> str:
    """The Markdown page of `rule`, with the example from its golden case."""
    lines = [
        f"# {rule.code} `{rule.name}`",
        "",
        f"Severity: **{rule.severity}** · reported by {_hook_link(rule.code)}"
        + (
            f' · **off by default**: turn it on with `extend-select = ["{rule.code}"]`'
            if rule.off_by_default
            else ""
        ),
        "",
        rule.summary,
        "",
        *_fix_and_options(rule),
        "## Why it matters",
        "",
        rule.why or rule.summary,
        "",
    ]
    case = example_case(rule.code, golden)
    if case is not None:
        lines += [
            "## Example",
            "",
            *_files(case, skip=INSTEAD),
            *_cache_note(case, "The DVC cache (`.dvc/cache`) holds what DVC stored."),
        ]
        args_file = case / "args.txt"
        argv = args_file.read_text().strip() if args_file.exists() else "dvc-gitops check ."
        output, _, exit_line = (case / "expected.txt").read_text().rstrip("\n").rpartition("\n")
        lines += [
            f"`{shlex.join(shlex.split(argv))}` prints ({exit_line.strip('[]')}):",
            "",
            "```text",
            output,
            "```",
            "",
        ]
        if (case / INSTEAD).is_dir():
            lines += [
                "## Write instead",
                "",
                *_files(case / INSTEAD),
                *_cache_note(
                    case / INSTEAD, "With the data in the DVC cache too, as `dvc pull` leaves it."
                ),
                f"With these files in place of the example's, "
                f"`{shlex.join(shlex.split(argv))}` no longer reports {rule.code} "
                "(a test runs it).",
                "",
            ]
    lines += ["## How to fix", "", rule.fix or "See the message.", ""]
    lines += [
        "To silence it on one line, end the line with "
        f"`# dvc-gitops: ignore[{rule.code}]`; for a whole project, add "
        f'`ignore = ["{rule.code}"]` to `[tool.dvc-gitops]`.',
        "",
    ]
    return "\n".join(lines)


def _hook_link(code: str) -> str:
    """The hook that reports `code`, linked to its page (DG0xx: every hook)."""
    hook = hook_of(code)
    ids = {h.id for h in HOOKS}
    return f"[`{hook}`](../hooks/{hook}.md)" if hook in ids else hook


def _fix_and_options(rule: Rule) -> list[str]:
    """The lines saying whether `--fix` removes the finding and which options change it."""
    hook = hook_of(rule.code)
    lines = []
    if rule.fixable:
        lines += [
            f"Fixable with `--fix`: `{hook} --fix` (or `dvc-gitops check --fix`) "
            "edits the files in place.",
            "",
        ]
    if rule.options:
        names = ", ".join(f"`{option}`" for option in rule.options)
        lines += [
            f"Options of `{hook}` that change what it reports: {names} "
            f"(see [its page](../hooks/{hook}.md#options)).",
            "",
        ]
    return lines


def _cache_note(folder: Path, note: str) -> list[str]:
    """`note` on the DVC cache, when the case's folder holds one (its files are not shown)."""
    return [note, ""] if (folder / CACHE).is_dir() else []


def _files(folder: Path, skip: str = "") -> list[str]:
    """Each input file under `folder` as a name and a fenced block (control files left out)."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix().removesuffix(GITIGNORED)
        if name in CONTROL_FILES or name.endswith(".expected"):
            continue
        if skip and name.split("/", 1)[0] == skip:
            continue
        if name.startswith(CACHE):  # DVC's copies of the data: said below, not shown
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            content = "(binary content)"
        if name.startswith(".dvc/") and not content.strip():
            continue  # what `dvc init` writes: an empty config says nothing
        fence = FENCES.get(Path(name).suffix, "text")
        lines += [f"`{name}`:", "", f"```{fence}", content.rstrip("\n"), "```", ""]
    return lines


def page(code: str) -> str | None:
    """The published page of `code`: packaged in a wheel, or docs/rules in a checkout."""
    name = f"{code}.md"
    try:
        return files("dvc_gitops.rule_docs").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    source = PAGES / name
    return source.read_text(encoding="utf-8") if source.is_file() else None


@click.command("rules")
@click.argument("code", required=False)
def rules_command(code: str | None) -> None:
    """List every rule, or print the page of one (e.g. `dvc-gitops rules DG201`)."""
    rules = all_rules()
    if code is None:
        for rule in rules:
            off = " (off by default)" if rule.off_by_default else ""
            click.echo(f"{rule.code}  {rule.severity:<8} {rule.name:<32} {rule.summary}{off}")
        return
    code = code.upper()
    if code not in RULES:
        raise click.UsageError(f"no rule {code}; `dvc-gitops rules` lists them")
    click.echo(page(code) or render(RULES[code]), nl=False)


def write_pages(target: Path = PAGES, golden: Path = GOLDEN) -> list[Path]:
    """Regenerate docs/rules (run by `make docs`); returns the pages written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in all_rules():
        path = target / f"{rule.code}.md"
        path.write_text(render(rule, golden), encoding="utf-8")
        written.append(path)
    for stale in set(target.glob("DG*.md")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    pages = write_pages()
    sys.stdout.write(f"wrote {len(pages)} rule pages to {PAGES}\n")
