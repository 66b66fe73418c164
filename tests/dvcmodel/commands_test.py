"""scripts_in: the source files a stage command runs, over many real command shapes."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import pytest
from conftest import write_tree

from dvc_gitops.core.project import Project
from dvc_gitops.dvcmodel.commands import (
    Script,
    is_parsable,
    relative_to,
    scripts_in,
    scripts_run_by,
)
from dvc_gitops.dvcmodel.imports import local_imports

FILES = {
    "src/train.py": "print('train')\n",
    "src/prepare.py": "",
    "src/utils.py": "",
    "src/evaluate.py": "",
    "pkg/__init__.py": "",
    "pkg/__main__.py": "",
    "pkg/features.py": "",
    "lib/mypkg/__init__.py": "",
    "lib/mypkg/job.py": "",
    "scripts/fetch.sh": "#!/bin/sh\n",
    "scripts/tool": "#!/bin/sh\n",
    "analysis/report.R": "",
    "analysis/report.Rmd": "",
    "analysis/report.qmd": "",
    "notebooks/explore.ipynb": "{}",
    "notebooks/explore.out.ipynb": "{}",
    "model.jl": "",
    "queries/select.sql": "",
    "sub/local.py": "",
    "sub/inner/deep.py": "",
    "data/raw.csv": "a\n",
    "params.yaml": "lr: 1\n",
    "conf/train.yaml": "x: 1\n",
    ".venv/bin/activate.sh": "",
    "train.py": "",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("cmds")
    write_tree(root, FILES)
    return Project(root)


def found(cmd: str, project: Project, wdir: str = ".") -> list[tuple[str, str]]:
    return [(s.path, s.kind) for s in scripts_in(cmd, wdir, project)]


# (cmd, wdir, [(path, kind), ...]): what each shape runs.
CASES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("python src/train.py", ".", [("src/train.py", "python")]),
    ("python3 src/train.py --lr 0.1", ".", [("src/train.py", "python")]),
    ("python3.11 -u -W ignore -X dev src/train.py", ".", [("src/train.py", "python")]),
    ("python -Wignore -OO src/train.py", ".", [("src/train.py", "python")]),
    ("PYTHONPATH=. CUDA=0 python src/train.py", ".", [("src/train.py", "python")]),
    ("time nohup python src/train.py", ".", [("src/train.py", "python")]),
    ("env -u HOME A=1 python src/train.py", ".", [("src/train.py", "python")]),
    ("uv run python src/train.py", ".", [("src/train.py", "python")]),
    ("uv run --with pandas src/train.py", ".", [("src/train.py", "python")]),
    ("poetry run python src/train.py", ".", [("src/train.py", "python")]),
    ("conda run -n ml --no-capture-output python src/train.py", ".", [("src/train.py", "python")]),
    (
        "python src/prepare.py && python src/train.py; python src/evaluate.py",
        ".",
        [("src/prepare.py", "python"), ("src/train.py", "python"), ("src/evaluate.py", "python")],
    ),
    ("python src/prepare.py || exit 1", ".", [("src/prepare.py", "python")]),
    (
        "cat data/raw.csv | python src/prepare.py > out.csv 2>&1",
        ".",
        [("src/prepare.py", "python")],
    ),
    ("cd src && python train.py", ".", [("src/train.py", "python")]),
    (
        "cd sub; python local.py; python inner/deep.py",
        ".",
        [("sub/local.py", "python"), ("sub/inner/deep.py", "python")],
    ),
    (
        "(cd sub && python local.py) && python train.py",
        ".",
        [("sub/local.py", "python"), ("train.py", "python")],
    ),
    ("python local.py", "sub", [("sub/local.py", "python")]),
    ("python ../src/train.py", "sub", [("src/train.py", "python")]),
    ("python -m pkg.features", ".", [("pkg/features.py", "module")]),
    ("python -m pkg", ".", [("pkg", "module")]),
    ("python -um pkg.features --n 3", ".", [("pkg/features.py", "module")]),
    ("PYTHONPATH=lib python -m mypkg.job", ".", [("lib/mypkg/job.py", "module")]),
    ("python -m pytest tests", ".", []),
    ("python -c 'import src.train' src/utils.py", ".", [("src/utils.py", "argument")]),
    ("Rscript --vanilla analysis/report.R 2020", ".", [("analysis/report.R", "r")]),
    ("R CMD BATCH analysis/report.R", ".", [("analysis/report.R", "r")]),
    (
        'Rscript -e \'rmarkdown::render("analysis/report.Rmd", output_dir = "out")\'',
        ".",
        [("analysis/report.Rmd", "argument")],
    ),
    ("python -c \"exec(open('src/utils.py').read())\"", ".", [("src/utils.py", "argument")]),
    ("quarto render analysis/report.qmd --to html", ".", [("analysis/report.qmd", "argument")]),
    ("bash scripts/fetch.sh data", ".", [("scripts/fetch.sh", "shell")]),
    ("sh -e -x scripts/fetch.sh", ".", [("scripts/fetch.sh", "shell")]),
    ("bash -c 'cd src && python train.py'", ".", [("src/train.py", "python")]),
    ("./scripts/tool --fast", ".", [("scripts/tool", "executable")]),
    ("./scripts/fetch.sh", ".", [("scripts/fetch.sh", "shell")]),
    ("uv run train.py", ".", [("train.py", "python")]),
    ("scripts/tool", ".", [("scripts/tool", "executable")]),
    (
        "jupyter nbconvert --to notebook --execute notebooks/explore.ipynb --output x.ipynb",
        ".",
        [("notebooks/explore.ipynb", "notebook")],
    ),
    (
        "papermill notebooks/explore.ipynb notebooks/explore.out.ipynb -p alpha 0.6",
        ".",
        [("notebooks/explore.ipynb", "notebook")],
    ),
    ("julia --project=. -t 4 model.jl", ".", [("model.jl", "julia")]),
    ("duckdb db.duckdb < queries/select.sql", ".", []),
    ("duckdb db.duckdb -f queries/select.sql", ".", [("queries/select.sql", "argument")]),
    ("streamlit run src/train.py --config=conf/train.yaml", ".", [("src/train.py", "python")]),
    ("torchrun --nproc_per_node 2 src/train.py --lr 1", ".", [("src/train.py", "python")]),
    ("accelerate launch --config_file conf/a.yaml src/train.py", ".", [("src/train.py", "python")]),
    ("mpirun -np 4 python -u src/train.py", ".", [("src/train.py", "python")]),
    ("ls data | xargs -n1 python src/prepare.py", ".", [("src/prepare.py", "python")]),
    ("docker compose run app python src/train.py", ".", [("src/train.py", "argument")]),
    (
        "python src/train.py --helper=src/utils.py",
        ".",
        [("src/train.py", "python"), ("src/utils.py", "argument")],
    ),
    (
        "python src/train.py \\\n  --lr 1\npython src/evaluate.py",
        ".",
        [("src/train.py", "python"), ("src/evaluate.py", "python")],
    ),
    ("python src/train.py  # then src/evaluate.py", ".", [("src/train.py", "python")]),
    ("python src/train.py src/train.py", ".", [("src/train.py", "python")]),
    # Must not be flagged: data, configs, system commands, URLs, missing files, outside.
    (
        "python src/train.py data/raw.csv conf/train.yaml params.yaml",
        ".",
        [("src/train.py", "python")],
    ),
    ("curl -o data/raw.csv https://example.com/src/train.py", ".", []),
    ("dvc repro src/train.py", ".", []),
    ("echo src/train.py", ".", []),
    ("python src/missing.py", ".", []),
    ("python /usr/lib/python3/dist-packages/x.py", ".", []),
    ("python ../../outside.py", ".", []),
    ("python $SCRIPT", ".", []),
    ("source .venv/bin/activate.sh && python train.py", ".", [("train.py", "python")]),
    ("cd $HOME && python train.py", ".", []),
    ("mkdir -p out && cp data/raw.csv out/", ".", []),
    ("python 'src/train.py", ".", []),  # unbalanced quote: the shell refuses it too
    ("", ".", []),
]


@pytest.mark.parametrize(("cmd", "wdir", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_scripts_in(cmd: str, wdir: str, expected: list[tuple[str, str]], project: Project) -> None:
    assert found(cmd, project, wdir) == expected


def test_token_names_the_word_in_the_command(project: Project) -> None:
    assert scripts_in("cd src && python ./train.py -m x", ".", project) == [
        Script("src/train.py", "python", "./train.py")
    ]
    assert scripts_in("python -m pkg.features", ".", project) == [
        Script("pkg/features.py", "module", "pkg.features")
    ]


def test_absolute_path_inside_the_repo(project: Project) -> None:
    absolute = Path(project.root, "src", "train.py").as_posix()
    assert found(f"python {absolute}", project) == [("src/train.py", "python")]


def test_parsable() -> None:
    assert is_parsable("python x.py && echo 'a b'")
    assert not is_parsable('python "x.py')


# --- local imports of Python scripts ------------------------------------------------------

IMPORTS = {
    "src/train.py": (
        "import os\nimport numpy as np\nfrom utils import load\nimport features.build\n"
        "from src import helpers\nfrom common.config import *\n"
        "try:\n    import optional_local\nexcept ImportError:\n    pass\n"
    ),
    "src/utils.py": "from .io import read\nimport json\n",
    "src/io.py": "",
    "src/features/__init__.py": "",
    "src/features/build.py": "from . import steps\n",
    "src/features/steps.py": "import src.utils\n",
    "src/helpers.py": "",
    "src/optional_local.py": "",
    "common/__init__.py": "VERSION = 1\n",
    "common/config.py": "",
    "app/__init__.py": "",
    "app/__main__.py": "from app.core import run\n",
    "app/core.py": "from ..outside import x\n",
    "bad.py": "def broken(:\n",
    "cyclic_a.py": "import cyclic_b\n",
    "cyclic_b.py": "import cyclic_a\n",
}


@pytest.fixture(scope="module")
def import_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("imports")
    write_tree(root, IMPORTS)
    return Project(root)


def imports(cmd: str, project: Project) -> list[str]:
    [script] = scripts_in(cmd, ".", project)
    return local_imports(script, project)


def test_local_imports_follow_the_python_search_path(import_project: Project) -> None:
    # `python src/train.py` puts src/ first on sys.path; `from src import helpers` and
    # `common.config` then run only with the root on the path (PYTHONPATH=., an install):
    # the project's own packages, looked up after the script's folder.
    assert imports("python src/train.py", import_project) == [
        "src/utils.py",
        "src/features/build.py",  # a package's empty __init__.py is left out
        "src/helpers.py",
        "common/__init__.py",
        "common/config.py",
        "src/optional_local.py",
        "src/io.py",  # transitively, relative
        "src/features/steps.py",
    ]


def test_an_installed_src_layout_package_is_the_projects_code(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'cnn'\n",
            "src/cnn_classifier/__init__.py": "",
            "src/cnn_classifier/components/model.py": "from cnn_classifier.utils import io\n",
            "src/cnn_classifier/utils/io.py": "",
            "main.py": "from cnn_classifier.components.model import Model\nimport yaml\n",
            "dvc_gitops/mlflow.py": "",
            "pipeline/uses_helper.py": "from dvc_gitops.mlflow import start_run\n",
        },
    )
    project = Project(tmp_path)
    assert imports("python main.py", project) == [
        "src/cnn_classifier/components/model.py",
        "src/cnn_classifier/utils/io.py",
    ]
    # our runtime helper is an installed dependency, even where its source sits
    assert imports("python pipeline/uses_helper.py", project) == []


def test_launchers_search_like_python(import_project: Project) -> None:
    expected = imports("python src/train.py", import_project)
    assert imports("torchrun --standalone src/train.py", import_project) == expected
    assert imports("mpirun -np 2 python src/train.py", import_project) == expected
    assert imports("./src/train.py", import_project) == expected
    assert imports("uv run src/train.py", import_project) == expected


def test_pythonpath_adds_to_the_search_path(import_project: Project) -> None:
    expected = [
        "src/utils.py",
        "src/features/build.py",
        "src/helpers.py",  # `from src import helpers`: a namespace package at the root
        "common/__init__.py",  # not empty: it runs
        "common/config.py",
        "src/optional_local.py",
        "src/io.py",
        "src/features/steps.py",
    ]
    assert imports("PYTHONPATH=. python src/train.py", import_project) == expected
    assert imports("export PYTHONPATH=.; python src/train.py", import_project) == expected


def test_local_imports_of_a_package_run_with_dash_m(import_project: Project) -> None:
    assert imports("python -m app", import_project) == ["app/core.py"]


def test_local_imports_survive_syntax_errors_and_cycles(import_project: Project) -> None:
    assert imports("python bad.py", import_project) == []
    assert imports("python cyclic_a.py", import_project) == ["cyclic_b.py"]


def test_only_python_is_scanned(import_project: Project) -> None:
    assert local_imports(Script("src/train.py", "argument", "x"), import_project) == []
    # A script named without a search path (built by hand) is not scanned either.
    assert local_imports(Script("src/train.py", "python", "x"), import_project) == []


@pytest.mark.parametrize(
    ("path", "folder", "expected"),
    [
        ("src/train.py", ".", "src/train.py"),
        ("src/train.py", "src", "train.py"),
        ("src/train.py", "sub/inner", "../../src/train.py"),
        ("src", "src", "."),
        ("src/a/b.py", "src/c", "../a/b.py"),
        ("srcx/a.py", "src", "../srcx/a.py"),
    ],
)
def test_relative_to_is_relpath_without_the_file_system(
    path: str, folder: str, expected: str
) -> None:
    assert relative_to(path, folder) == expected == posixpath.relpath(path, folder)


# --- scripts a shell script runs ---------------------------------------------------------

SHELL = {
    "run.sh": (
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        'echo "training on $1"\n'
        "if [ -f data.csv ]; then\n  python src/train.py --data data.csv\nfi\n"
        'for split in train test; do\n  python src/eval.py "$split"\ndone\n'
        "bash steps/more.sh\n"
        "cat <<EOF > notes.txt\nit's done\nEOF\n"
    ),
    "steps/more.sh": "cd steps && Rscript report.R\nbash ../run.sh  # a cycle\n",
    "steps/report.R": "",
    "src/train.py": "",
    "src/eval.py": "",
    "tool": "#!/bin/sh\npython src/train.py\n",
    "binary": "\x7fELF\x00\x00",
    "pytool": "#!/usr/bin/env python\nprint(1)\n",
}


@pytest.fixture(scope="module")
def shell_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("shell")
    write_tree(root, SHELL)
    return Project(root)


def run_by(cmd: str, project: Project) -> list[tuple[str, str]]:
    [script] = scripts_in(cmd, ".", project)
    return [(s.path, s.kind) for s in scripts_run_by(script, project)]


def test_a_shell_script_is_read_like_a_command(shell_project: Project) -> None:
    assert run_by("bash run.sh", shell_project) == [
        ("src/train.py", "python"),
        ("src/eval.py", "python"),
        ("steps/more.sh", "shell"),
        ("steps/report.R", "r"),  # cd inside more.sh, followed
    ]


def test_executables_are_read_when_their_shebang_is_a_shell(shell_project: Project) -> None:
    assert run_by("./tool", shell_project) == [("src/train.py", "python")]
    assert run_by("./binary", shell_project) == []
    assert run_by("./pytool", shell_project) == []
    [script] = scripts_in("./pytool", ".", shell_project)
    assert (script.kind, script.search_path) == ("python", (".",))


def test_python_scripts_run_nothing(shell_project: Project) -> None:
    assert run_by("python src/train.py", shell_project) == []


def _notebook(*cells: str) -> str:
    return json.dumps(
        {
            "cells": [{"cell_type": "code", "source": c.splitlines(keepends=True)} for c in cells]
            + [{"cell_type": "markdown", "source": ["import not_code\n"]}],
            "nbformat": 4,
        }
    )


NOTEBOOKS = {
    "nb/analysis.ipynb": _notebook(
        "%matplotlib inline\nimport helpers\n!pip install x\n",
        "def broken(:\n",  # a bad cell spoils only itself
        "%%bash\nimport not_python\n",
        "from plots import draw\n",
    ),
    "nb/helpers.py": "",
    "nb/plots.py": "",
    "plots.py": "",
    "not_code.py": "",
    "bad.ipynb": "{not json",
}


@pytest.fixture(scope="module")
def notebook_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("notebooks")
    write_tree(root, NOTEBOOKS)
    return Project(root)


def test_notebook_imports_follow_the_kernel_folder(notebook_project: Project) -> None:
    # nbconvert runs the kernel in the notebook's folder; papermill in its own.
    nbconvert = "jupyter nbconvert --execute nb/analysis.ipynb"
    assert imports(nbconvert, notebook_project) == ["nb/helpers.py", "nb/plots.py"]
    assert imports("papermill nb/analysis.ipynb out.ipynb", notebook_project) == ["plots.py"]
    assert imports("jupyter execute bad.ipynb", notebook_project) == []


def test_r_scripts_source_files_from_the_folder_r_runs_in(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "analysis/report.R": (
                'library(dplyr)\nsource("R/utils.R")\n# source("R/old.R")\n'
                "sys.source(file = 'R/plots.R', envir = e)\nsource(\"missing.R\")\n"
            ),
            "R/utils.R": 'source("R/helpers.R")\n',
            "R/helpers.R": "",
            "R/plots.R": "",
            "R/old.R": "",
        },
    )
    project = Project(root)
    [script] = scripts_in("Rscript analysis/report.R", ".", project)
    assert local_imports(script, project) == ["R/utils.R", "R/plots.R", "R/helpers.R"]
    # From another folder, the same source() calls name files that are not there.
    [script] = scripts_in("cd analysis && Rscript report.R", ".", project)
    assert local_imports(script, project) == []
