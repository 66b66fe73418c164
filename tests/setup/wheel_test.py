"""The wheel as users install it: built from a clean copy of this checkout, installed in a
fresh venv, run from outside any checkout (no repository on the path)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from conftest import REPO, VENV_BIN, copy_checkout, git_init, write_tree

from dvc_gitops import __version__

pytestmark = pytest.mark.slow

SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the wheel, the venv's bin folder, an environment without our checkout in it)."""
    base = tmp_path_factory.mktemp("wheel")
    source = copy_checkout(base / "source")
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    built = run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(base / "dist"),
            str(source),
        ],
        base,
        env,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (base / "dist").glob("dvc_gitops-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = run([str(venv / "bin/pip"), "install", "-q", str(wheel)], base, env)
    assert done.returncode == 0, done.stdout + done.stderr
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    return wheel, venv / "bin", env


def test_the_wheel_holds_the_rule_pages_schemas_and_recommended_setup(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    names = set(zipfile.ZipFile(installed[0]).namelist())
    pages = sorted(p.name for p in (REPO / "docs" / "rules").glob("DG*.md"))
    assert pages and all(f"dvc_gitops/rule_docs/{page}" in names for page in pages)
    assert "dvc_gitops/schema/dvc.schema.json" in names
    assert "dvc_gitops/examples/pre-commit-config.yaml" in names
    assert not any(n.startswith(("tests/", "pipeline/", "bench/")) for n in names)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_console_script_answers_version(
    installed: tuple[Path, Path, dict[str, str]], tmp_path: Path, script: str
) -> None:
    _wheel, bin_dir, env = installed
    done = run([str(bin_dir / script), "--version"], tmp_path, env)
    assert (done.returncode, done.stdout) == (0, f"{script}, version {__version__}\n"), done.stderr


def test_a_real_check_a_rule_page_and_init_from_the_installed_package(
    installed: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    _wheel, bin_dir, env = installed
    root = write_tree(
        tmp_path / "project",
        {
            ".dvc/config": "",
            ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    outs: [model.pkl]\n",
            "train.py": "",
            "requirements.txt": "dvc==3.67.1\n",
        },
    )
    git_init(root)
    where = run(
        [str(bin_dir / "python"), "-c", "import dvc_gitops; print(dvc_gitops.__file__)"], root, env
    )
    assert str(bin_dir.parent) in where.stdout  # the installed copy, not this checkout
    check = run([str(bin_dir / "dvc-gitops"), "check", "--ignore", "DG5"], root, env)
    assert check.returncode == 1, check.stdout + check.stderr
    assert check.stdout.startswith("dvc.yaml:3:10: DG201 stage 'train' runs train.py")
    page = run([str(bin_dir / "dvc-gitops"), "rules", "DG201"], root, env)
    assert page.returncode == 0 and page.stdout.startswith("# DG201 "), page.stderr
    init = run([str(bin_dir / "dvc-gitops"), "init"], root, env)
    assert init.returncode == 0, init.stdout + init.stderr
    assert (root / ".pre-commit-config.yaml").read_text() == (
        REPO / "examples" / "pre-commit-config.yaml"
    ).read_text()
