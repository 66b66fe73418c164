"""The reference pages under docs/ and the README's table are held to the code.

Every hook of the catalog (and of the manifest) has docs/hooks/<id>.md, every command and
subcommand of `dvc-gitops` has docs/commands/<command>.md, each page shows every option
the click command defines, every config key the code reads is on docs/configuration.md,
and the README's table lists exactly the catalog's hooks and commands, with their codes.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from conftest import REPO

from dvc_gitops.cli import cli
from dvc_gitops.core import config as core_config
from dvc_gitops.core.catalog import COMMANDS, HOOKS, Hook
from dvc_gitops.core.catalog import hook as catalog_hook

DOCS = REPO / "docs"
README = (REPO / "README.md").read_text(encoding="utf-8")
MANIFEST_IDS = [h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())]
CATALOG_IDS = [h.id for h in HOOKS]
COMMAND_NAMES = ["check", *COMMANDS]


def hook_page(hook_id: str) -> Path:
    return DOCS / "hooks" / f"{hook_id}.md"


def command_page(name: str) -> Path:
    return DOCS / "commands" / f"{name}.md"


def hook_command(hook: Hook) -> click.Command:
    """The click command a hook's `main` runs, caught as it is about to parse its argv.

    `hook_main` builds the command inside `main`, so the command is taken from the one
    place every hook goes through: `click.Command.main`.
    """
    caught: list[click.Command] = []

    def catch(self: click.Command, *args: Any, **kwargs: Any) -> int:
        caught.append(self)
        return 0

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(click.Command, "main", catch)
        importlib.import_module(hook.module).main([])
    assert caught, f"{hook.id}: its main never reached a click command"
    return caught[0]


def cli_command(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, f"dvc-gitops {name} is not implemented"
    return command


def subcommands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from subcommands(sub, f"{path} {name}")


def option_names(command: click.Command) -> list[str]:
    names = []
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            names += [*param.opts, *param.secondary_opts]
    return names


def shows(text: str, option: str) -> bool:
    """Whether the page shows `option` in code (`--fix`, `--select CODES`, `-y`)."""
    return re.search("`" + re.escape(option) + r"(?![\w-])", text) is not None


# -- one page per hook and per command -------------------------------------------------------


def test_catalog_and_manifest_name_the_same_hooks() -> None:
    assert sorted(CATALOG_IDS) == sorted(MANIFEST_IDS)


@pytest.mark.parametrize("hook_id", sorted(set(CATALOG_IDS) | set(MANIFEST_IDS)))
def test_every_hook_has_its_page(hook_id: str) -> None:
    page = hook_page(hook_id)
    assert page.is_file(), f"write {page.relative_to(REPO)}"
    text = page.read_text(encoding="utf-8")
    title = text.partition("\n")[0]
    assert title.startswith("# ") and hook_id in title, f"{page.name}: the title names the hook"
    assert f"id: {hook_id}" in text, f"{page.name}: show the .pre-commit-config.yaml entry"


@pytest.mark.parametrize("hook", HOOKS, ids=CATALOG_IDS)
def test_hook_page_shows_every_option(hook: Hook) -> None:
    text = hook_page(hook.id).read_text(encoding="utf-8")
    missing = [o for o in option_names(hook_command(hook)) if not shows(text, o)]
    assert not missing, f"docs/hooks/{hook.id}.md does not show {missing}"


@pytest.mark.parametrize("hook", HOOKS, ids=CATALOG_IDS)
def test_hook_page_lists_its_rules(hook: Hook) -> None:
    from dvc_gitops.rules_docs import all_rules

    text = hook_page(hook.id).read_text(encoding="utf-8")
    own = [r.code for r in all_rules() if hook.prefixes and r.code.startswith(hook.prefixes)]
    unlisted = [code for code in own if f"[{code}](../rules/{code}.md)" not in text]
    assert not unlisted, f"docs/hooks/{hook.id}.md: add a row for {unlisted}"


def page_of(path: str) -> Path:
    """A command's page: `export kubeflow` may have its own (commands/export-kubeflow.md),
    else it is on its group's page."""
    own = command_page(path.replace(" ", "-"))
    return own if own.is_file() else command_page(path.split()[0])


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_its_page(name: str) -> None:
    page = command_page(name)
    assert page.is_file(), f"write {page.relative_to(REPO)}"
    group = page.read_text(encoding="utf-8")
    for path, _command in subcommands(cli_command(name), name):
        text = page_of(path).read_text(encoding="utf-8")
        assert f"dvc-gitops {path}" in text, f"{page_of(path).name} does not show it"
        if page_of(path) != page:  # the group's page leads to the subcommand's own
            assert f"({page_of(path).name})" in group, f"{page.name}: link {page_of(path).name}"


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_command_page_shows_every_option(name: str) -> None:
    for path, command in subcommands(cli_command(name), name):
        text = page_of(path).read_text(encoding="utf-8")
        missing = [o for o in option_names(command) if not shows(text, o)]
        assert not missing, f"docs/commands/{page_of(path).name} does not show {missing} of {path}"


def test_no_page_without_a_hook_or_command() -> None:
    assert {p.stem for p in (DOCS / "hooks").glob("*.md")} <= set(CATALOG_IDS)
    paths = {p.replace(" ", "-") for n in COMMAND_NAMES for p, _ in subcommands(cli_command(n), n)}
    assert {p.stem for p in (DOCS / "commands").glob("*.md")} <= paths


# -- configuration keys ----------------------------------------------------------------------


def _constant_keys(node: ast.expr, module: Any) -> list[str]:
    """The keys of a dict literal, or of the module-level dict a name refers to."""
    if isinstance(node, ast.Dict):
        return [k.value for k in node.keys if isinstance(k, ast.Constant)]
    if isinstance(node, ast.Name):
        return list(getattr(module, node.id))
    raise AssertionError(f"{module.__name__}: a config schema the test cannot read")


@functools.cache
def config_reads() -> dict[str, set[str]]:
    """Table -> keys, for every `config.section(NAME, SCHEMA)` and raw `sections.get(NAME)`.

    Read from the source of every module, so a new key or table cannot slip past the page.
    """
    tables: dict[str, set[str]] = {"": set(core_config.COMMON_KEYS)}
    package = REPO / "dvc_gitops"
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if node.func.attr == "section" and len(node.args) == 2:
                module = importlib.import_module(name)
                keys = _constant_keys(node.args[1], module)
                tables.setdefault(first.value, set()).update(keys)
            elif (
                node.func.attr == "get"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "sections"
            ):
                tables.setdefault(first.value, set())
    # The remote table is read raw by onboard: its named keys (any other is a remote option).
    from dvc_gitops.setup.onboard import RESERVED

    tables["remote"] |= set(RESERVED)
    return tables


def test_config_reads_are_found() -> None:
    tables = config_reads()
    assert set(tables) - {""} == set(core_config.SECTIONS)
    assert {"fail", "timeout", "scope", "dvc"} <= tables["status"]


@pytest.mark.parametrize(("table", "key"), [(t, k) for t, ks in config_reads().items() for k in ks])
def test_every_config_key_is_documented(table: str, key: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    where = "[tool.dvc-gitops" + (f".{table}" if table else "") + "]"
    row = f"| `{key}` | `{where}` |"
    assert row in text, f"docs/configuration.md: add the row {row} ..."


# -- the README ------------------------------------------------------------------------------

ROW = re.compile(
    r"^\| \[`(?P<name>[^`]+)`\]\((?P<link>[^)]+)\) \| (?P<what>.+) \| (?P<codes>.+) \|$"
)


def readme_rows() -> list[re.Match[str]]:
    return [m for line in README.splitlines() if (m := ROW.match(line))]


def codes_of(hook: Hook) -> str:
    """How the table writes a hook's code prefixes: DG1 -> DG1xx, DG21 -> DG21x."""
    if hook.all_offline:
        return "all offline"
    return ", ".join(p + "x" * (5 - len(p)) for p in hook.prefixes) or "-"


def test_readme_table_is_the_catalog() -> None:
    rows = readme_rows()
    hooks = [r for r in rows if not r["name"].startswith("dvc-gitops ")]
    commands = [r for r in rows if r["name"].startswith("dvc-gitops ")]
    assert sorted(r["name"] for r in hooks) == sorted(CATALOG_IDS), "one row per catalog hook"
    for row in hooks:
        hook = catalog_hook(row["name"])
        assert row["link"] == f"docs/hooks/{hook.id}.md"
        assert row["codes"] == codes_of(hook), f"{hook.id}: write {codes_of(hook)}"
    names = sorted(f"dvc-gitops {n}" for n in COMMAND_NAMES)
    assert sorted(r["name"] for r in commands) == names, "one row per command"
    for row in commands:
        assert row["link"] == f"docs/commands/{row['name'].split()[1]}.md"


def test_readme_keeps_its_parts_in_order() -> None:
    first_block = README.split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block
    parts = [
        "## Use it in your repository",
        "docs/quickstart.md",
        "## Hooks and commands",
        "<!-- dvc-gitops:dag:start -->\n```mermaid\n",
        "<!-- dvc-gitops:dag:end -->",
    ]
    positions = [README.find(part) for part in parts]
    where = dict(zip(parts, positions, strict=True))
    assert -1 not in positions and positions == sorted(positions), where


def test_readme_is_short() -> None:
    # Reference belongs in docs/: the README is read in two minutes.
    assert len(README) < 12_000, "move reference text from README.md to a page under docs/"


# -- links -----------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md")), *sorted(DOCS.glob("*/*.md"))]


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = [
        target
        for target in LINK.findall(text)
        if "://" not in target and not (page.parent / target).exists()
    ]
    assert not broken, f"{page.relative_to(REPO)}: broken links {broken}"


@pytest.mark.parametrize("hook", [h for h in HOOKS if h.prefixes], ids=lambda h: h.id)
def test_a_hook_that_fixes_says_which_rules(hook: Hook) -> None:
    from dvc_gitops.rules_docs import all_rules

    fixable = [r.code for r in all_rules() if r.code.startswith(hook.prefixes) and r.fixable]
    assert ("--fix" in option_names(hook_command(hook))) == bool(fixable), (
        f"{hook.id}: its --fix and its rules' `fixable=True` ({fixable}) disagree"
    )
