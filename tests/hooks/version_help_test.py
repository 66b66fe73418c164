"""Every console script answers --version and -h (the hooks too), exit 0."""

from __future__ import annotations

import importlib

import pytest
import tomllib
from conftest import REPO

from dvc_gitops import __version__

SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def entry(target: str):  # type: ignore[no-untyped-def]
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize(("name", "target"), sorted(SCRIPTS.items()))
def test_version_and_short_help(name: str, target: str, capsys) -> None:
    main = entry(target)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"{name}, version {__version__}\n"
    assert main(["-h"]) == 0
    assert capsys.readouterr().out.startswith(f"Usage: {name} [OPTIONS]")
