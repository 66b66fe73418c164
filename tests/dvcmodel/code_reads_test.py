"""What stages' code reads beyond what they declare (DG250-DG256), against real DVC."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import VENV_BIN, venv_tool

from dvc_gitops.core.project import Project
from dvc_gitops.dvcmodel.packages import package_roots
from dvc_gitops.hooks.check_dvc_deps import main


def dvc(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(root.parent / "dvc-site-cache"),
    }
    done = venv_tool("dvc", root, *args, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


TRAIN = """\
import yaml

with open("params.yaml") as handle:
    params = yaml.safe_load(handle)
size = params["train"]["test_size"]
open("out.txt", "w").write(f"{params['train']['lr']} {size}")
"""


@pytest.mark.slow
def test_real_dvc_misses_an_undeclared_param_until_it_is_declared(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(
        {
            "params.yaml": "train:\n  lr: 0.1\n  test_size: 0.2\n",
            "train.py": TRAIN,
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n"
            "    deps:\n      - train.py\n    params:\n      - train.lr\n"
            "    outs:\n      - out.txt\n",
        },
        git=True,
    )
    dvc(root, "init", "-q")
    dvc(root, "repro", "-q")
    assert (root / "out.txt").read_text() == "0.1 0.2"
    # The undeclared key changes: DVC does not notice, the output is stale.
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n  test_size: 0.5\n")
    assert json.loads(dvc(root, "status", "--json")) == {}

    in_dir(root)
    capsys.readouterr()
    assert main(["--select", "DG25"]) == 1
    out = capsys.readouterr().out
    assert (
        "train.py:5:8: DG250 stage 'train' reads params.yaml key train.test_size here, but its "
        "params do not list it" in out
    )
    assert main(["--fix", "--select", "DG25"]) == 1
    assert "      - train.test_size\n" in (root / "dvc.yaml").read_text()
    assert main(["--select", "DG25"]) == 0
    # Declared, the changed key makes the stage stale, and repro brings it up to date.
    status = json.loads(dvc(root, "status", "--json"))
    assert list(status) == ["train"]
    dvc(root, "repro", "-q")
    assert (root / "out.txt").read_text() == "0.1 0.5"
    assert json.loads(dvc(root, "status", "--json")) == {}


@pytest.mark.slow
def test_real_dvc_fails_on_a_script_the_stage_folder_does_not_hold(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(
        {
            "src/make.py": "open('out.txt', 'w').write('1')\n",
            "src/dvc.yaml": "stages:\n  make:\n    cmd: python src/make.py\n"
            "    outs:\n      - out.txt\n",
        },
        git=True,
    )
    dvc(root, "init", "-q")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = venv_tool("dvc", root, "repro", "-q", env=env, timeout=120)
    assert done.returncode != 0  # python cannot open src/src/make.py
    in_dir(root)
    capsys.readouterr()
    assert main(["--select", "DG252"]) == 1
    assert "DG252 stage 'make' runs src/src/make.py" in capsys.readouterr().out


def test_selected_files_narrow_to_the_stages_that_read_them(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(
        {
            "params.yaml": "a: 1\nb: 2\n",
            "one.py": "import yaml\nyaml.safe_load(open('params.yaml'))['a']\n",
            "two.py": "import yaml\nyaml.safe_load(open('params.yaml'))['b']\n",
            "dvc.yaml": "stages:\n  one:\n    cmd: python one.py\n    deps: [one.py]\n"
            "  two:\n    cmd: python two.py\n    deps: [two.py]\n    params: [a]\n",
        }
    )
    in_dir(root)
    capsys.readouterr()
    assert main(["--select", "DG25", "two.py"]) == 1
    out = capsys.readouterr().out
    assert "two.py:2:1: DG250 stage 'two' reads params.yaml key b" in out
    assert "one.py" not in out


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"x.py": ""}, (".",)),
        ({"pyproject.toml": "[project]\nname='x'\n", "src/pkg/__init__.py": ""}, ("src", ".")),
        (
            {
                "pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["lib"]\n',
                "lib/pkg/__init__.py": "",
            },
            ("lib", "."),
        ),
        (
            {"setup.cfg": "[options]\npackage_dir =\n    =code\n", "code/p/__init__.py": ""},
            ("code", "."),
        ),
        (
            {"setup.py": "setup(package_dir={'': 'source'})", "source/p/__init__.py": ""},
            ("source", "."),
        ),
        (
            {
                "pyproject.toml": '[tool.hatch.build.targets.wheel]\npackages = ["src/llm"]\n',
                "src/llm/__init__.py": "",
            },
            ("src", "."),
        ),
    ],
)
def test_package_roots(
    files: dict[str, str], expected: tuple[str, ...], make_repo: Callable[..., Path]
) -> None:
    assert package_roots(Project(make_repo(files))) == expected
