"""The manifest, the console scripts, the README, the docs pages and the hooks agree."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from conftest import REPO, VENV_BIN

from dvc_gitops.cli import COMMANDS, cli

MANIFEST = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
HOOK_IDS = [hook["id"] for hook in MANIFEST]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
README = (REPO / "README.md").read_text()


def test_manifest_is_valid_for_pre_commit() -> None:
    done = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("hook", MANIFEST, ids=HOOK_IDS)
def test_each_hook_entry_is_our_console_script(hook: dict[str, object]) -> None:
    assert hook["language"] == "python"
    if hook["id"] == "dvc-gitops":  # the one hook for every offline check, like ruff's
        assert hook["entry"] == "dvc-gitops check"
        assert SCRIPTS["dvc-gitops"] == "dvc_gitops.cli:main"
        return
    assert hook["entry"] == hook["id"]
    module_name, _, attribute = SCRIPTS[hook["id"]].partition(":")
    assert module_name == f"dvc_gitops.hooks.{str(hook['id']).replace('-', '_')}"
    assert callable(getattr(importlib.import_module(module_name), attribute))


@pytest.mark.parametrize("hook_id", HOOK_IDS)
def test_readme_names_every_hook(hook_id: str) -> None:
    # The README's table links each hook's page; the page shows its config entry.
    assert f"[`{hook_id}`](docs/hooks/{hook_id}.md)" in README
    assert f"id: {hook_id}" in (REPO / "docs" / "hooks" / f"{hook_id}.md").read_text()


def cli_commands() -> list[str]:
    names = ["check", *COMMANDS]
    nested = []
    for name in names:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None, f"dvc-gitops {name} is not implemented"
        for sub in getattr(command, "commands", {}):
            nested.append(f"{name} {sub}")
    return names + nested


def test_readme_names_every_command() -> None:
    # The README links each command's page; the page shows the command and its subcommands.
    missing = []
    for command in cli_commands():
        top = command.split()[0]
        page = (REPO / "docs" / "commands" / f"{top}.md").read_text()
        if f"[`dvc-gitops {top}`](docs/commands/{top}.md)" not in README:
            missing.append(f"README: dvc-gitops {top}")
        if f"dvc-gitops {command}" not in page:
            missing.append(f"docs/commands/{top}.md: dvc-gitops {command}")
    assert not missing, f"not shown: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block


def matches(hook_id: str, path: str) -> bool:
    hook = next(h for h in MANIFEST if h["id"] == hook_id)
    return re.search(hook.get("files", ""), path) is not None


FILES_MUST_MATCH = {
    "check-dvc-yaml": ["dvc.yaml", "sub/dir/dvc.yaml", "params.yaml", "sub/params.yaml"],
    "check-dvc-deps": ["dvc.yaml", "models/dvc.yaml"],
    "check-dvc-pinned": [
        "requirements.txt",
        "requirements-dev.txt",
        "requirements/base.in",
        "pyproject.toml",
        "setup.cfg",
        "environment.yml",
        "uv.lock",
        "poetry.lock",
        "Pipfile.lock",
        ".dvc/config",
        "dvc.yaml",  # external s3:// deps and outs need a plugin (DG506)
    ],
    "check-dvc-config": [".dvc/config", ".dvc/config.local", ".gitignore", ".dvc/.gitignore"],
    "check-mlflow-map": ["mlflow-experiments.yaml", "dvc.yaml", "params.yaml", "src/train.py"],
    "dvc-dag-docs": ["dvc.yaml", "sub/dvc.yaml", "README.md"],
}
FILES_MUST_NOT_MATCH = {
    "check-dvc-yaml": ["dvc.lock", "mydvc.yaml", "dvc.yaml.bak", "dvc.yml", "myparams.yaml"],
    "check-dvc-deps": ["dvc.lock", "train.py", "params.yaml"],
    "check-dvc-pinned": ["README.md", "dvc.lock", "requirements.md", "src/config"],
    "check-dvc-config": ["config", "src/.dvc/configure.py", "dvc.yaml"],
    "check-mlflow-map": ["README.md", "dvc.lock", "data/raw.csv"],
    "dvc-dag-docs": ["docs/README.md", "dvc.lock"],
}


@pytest.mark.parametrize(
    ("hook_id", "path"), [(h, p) for h, paths in FILES_MUST_MATCH.items() for p in paths]
)
def test_hook_files_pattern_matches(hook_id: str, path: str) -> None:
    assert matches(hook_id, path)


@pytest.mark.parametrize(
    ("hook_id", "path"), [(h, p) for h, paths in FILES_MUST_NOT_MATCH.items() for p in paths]
)
def test_hook_files_pattern_does_not_match(hook_id: str, path: str) -> None:
    assert not matches(hook_id, path)


def test_static_hooks_never_import_dvc_or_mlflow() -> None:
    code = (
        "import sys\n"
        "import dvc_gitops.cli, dvc_gitops.rules_docs\n"
        "from dvc_gitops.core.catalog import offline_hooks\n"
        "for hook in offline_hooks(): __import__(hook.module)\n"
        "dvc_gitops.rules_docs.all_rules()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dvc', 'mlflow')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_package_data_is_declared() -> None:
    schemas = sorted(p.name for p in (REPO / "dvc_gitops" / "schema").glob("*.json"))
    assert schemas, "the JSON Schemas ship in dvc_gitops/schema"
    assert Path(REPO / "docs" / "rules").is_dir()
