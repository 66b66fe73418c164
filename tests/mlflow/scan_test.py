"""The AST scan: each MLflow pattern found, each look-alike left alone, names resolved."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dvc_gitops.core.project import Project
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.formats.yamldoc import Mark
from dvc_gitops.mlflow.scan import (
    StageScanner,
    is_file_store,
    proposed_entries,
    scan_cmd,
    scan_source,
)

# (source, what the first use says) for code that uses MLflow.
USES = [
    ("import mlflow\n", "import mlflow"),
    ("import mlflow.sklearn\n", "import mlflow.sklearn"),
    ("import mlflow as mf\n", "import mlflow"),
    ("from mlflow import log_metric\n", "from mlflow import log_metric"),
    ("from mlflow.tracking import MlflowClient\n", "from mlflow.tracking import MlflowClient"),
    (
        "from lightning.pytorch.loggers import MLFlowLogger\nMLFlowLogger(experiment_name='e')\n",
        "MLFlowLogger()",
    ),
    (
        "import os\nos.environ['MLFLOW_EXPERIMENT_NAME'] = 'e'\n",
        'os.environ["MLFLOW_EXPERIMENT_NAME"]',
    ),
    ("from dvc_gitops.mlflow import start_run\n", "from dvc_gitops.mlflow import start_run"),
    ("from dvc_gitops import mlflow\n", "from dvc_gitops import mlflow"),
]

# Code that must not count as using MLflow.
NOT_USES = [
    '"""import mlflow; mlflow.set_experiment("x")"""\n',
    "# import mlflow\n",
    "import mlflow_utils\nmlflow_utils.set_experiment('x')\n",
    "from mlflowish import thing\n",
    "def set_experiment(name):\n    return name\nset_experiment('x')\n",
    "class T:\n    def go(self):\n        self.mlflow.set_experiment('x')\n",
    "from aim import Run\nRun(experiment_name='x')\n",
    "import wandb\nwandb.init(project='x')\n",
    "import os\nos.environ['MLFLOW_TRACKING_URI'] = 'sqlite:///m.db'\n",
    "import os\nos.environ['OTHER'] = 'MLFLOW_EXPERIMENT_NAME'\n",
    "x = 'MLFLOW_EXPERIMENT_NAME=e python t.py'\n",
]


@pytest.mark.parametrize(("source", "what"), USES)
def test_uses_are_found(source: str, what: str) -> None:
    scan = scan_source(source, "t.py")
    assert scan.uses, f"no use found in {source!r}"
    assert scan.uses[0].what == what
    assert scan.uses[0].path == "t.py"


@pytest.mark.parametrize("source", NOT_USES)
def test_look_alikes_are_not_uses(source: str) -> None:
    scan = scan_source(source, "t.py")
    assert scan.uses == []
    assert scan.experiments == []


# (source, how, resolved value, hidden_by, by_id) of the first experiment claim.
CLAIMS = [
    ("import mlflow\nmlflow.set_experiment('churn')\n", "set_experiment()", "churn", None, False),
    (
        "import mlflow\nmlflow.set_experiment(experiment_name='c')\n",
        "set_experiment()",
        "c",
        None,
        False,
    ),
    (
        "from mlflow import set_experiment as se\nse('c')\n",
        "set_experiment()",
        "c",
        None,
        False,
    ),
    (
        "import mlflow\nmlflow.set_experiment(experiment_id='7')\n",
        "set_experiment(experiment_id=...)",
        "7",
        None,
        True,
    ),
    (
        "import mlflow\nmlflow.start_run(experiment_id=eid)\n",
        "start_run(experiment_id=...)",
        None,
        "eid",
        True,
    ),
    (
        "import mlflow\nP = 'churn'\nNAME = f'{P}-train'\nmlflow.set_experiment(NAME)\n",
        "set_experiment()",
        "churn-train",
        None,
        False,
    ),
    (
        "import mlflow\nP = 'churn'\nmlflow.set_experiment(P + '-' + 'x')\n",
        "set_experiment()",
        "churn-x",
        None,
        False,
    ),
    (
        "import mlflow\ndef main():\n    name = 'local'\n    mlflow.set_experiment(name)\n",
        "set_experiment()",
        "local",
        None,
        False,
    ),
    (
        "import mlflow\nN = 'a'\nN = 'b'\nmlflow.set_experiment(N)\n",
        "set_experiment()",
        None,
        "N",
        False,
    ),
    (
        "import mlflow, sys\nmlflow.set_experiment(sys.argv[1])\n",
        "set_experiment()",
        None,
        "sys.argv",
        False,
    ),
    (
        "import mlflow\nfor n in ['a']:\n    mlflow.set_experiment(n)\n",
        "set_experiment()",
        None,
        "n",
        False,
    ),
    (
        "import mlflow\nmlflow.set_experiment(f'{x:>3}')\n",
        "set_experiment()",
        None,
        "x",
        False,
    ),
    (
        "import os\nos.environ.setdefault('MLFLOW_EXPERIMENT_NAME', 'e')\n",
        'os.environ["MLFLOW_EXPERIMENT_NAME"]',
        "e",
        None,
        False,
    ),
    (
        "import os\nos.environ.update(MLFLOW_EXPERIMENT_NAME='e')\n",
        'os.environ["MLFLOW_EXPERIMENT_NAME"]',
        "e",
        None,
        False,
    ),
    (
        "import os\nos.environ.update({'MLFLOW_EXPERIMENT_ID': '3'})\n",
        'os.environ["MLFLOW_EXPERIMENT_ID"]',
        "3",
        None,
        True,
    ),
    (
        "from os import environ\nenviron['MLFLOW_EXPERIMENT_NAME'] = 'e'\n",
        'os.environ["MLFLOW_EXPERIMENT_NAME"]',
        "e",
        None,
        False,
    ),
    (
        "import pytorch_lightning as pl\n"
        "pl.loggers.MLFlowLogger(experiment_name='e', tracking_uri='x')\n",
        "MLFlowLogger(experiment_name=...)",
        "e",
        None,
        False,
    ),
]


@pytest.mark.parametrize(("source", "how", "value", "hidden_by", "by_id"), CLAIMS)
def test_experiment_claims(
    source: str, how: str, value: str | None, hidden_by: str | None, by_id: bool
) -> None:
    scan = scan_source(source, "t.py")
    assert len(scan.experiments) == 1, scan.experiments
    claim = scan.experiments[0]
    assert (claim.how, claim.value, claim.hidden_by, claim.by_id) == (how, value, hidden_by, by_id)


def test_claim_marks_point_at_the_call() -> None:
    scan = scan_source("import mlflow\n\nif True:\n    mlflow.set_experiment('e')\n", "t.py")
    assert scan.experiments[0].mark == Mark(4, 5)


PARAMS = {"params.yaml": {"train": {"experiment": "from-params", "other": 1}}}


@pytest.mark.parametrize(
    "source",
    [
        "import mlflow, yaml\np = yaml.safe_load(open('params.yaml'))\n"
        "mlflow.set_experiment(p['train']['experiment'])\n",
        "import mlflow, yaml\nwith open('params.yaml') as f:\n    p = yaml.safe_load(f)\n"
        "mlflow.set_experiment(p['train']['experiment'])\n",
        "import mlflow, yaml\nfrom pathlib import Path\n"
        "p = yaml.safe_load(Path('params.yaml').read_text())\n"
        "mlflow.set_experiment(p.get('train')['experiment'])\n",
        "import mlflow, dvc.api\np = dvc.api.params_show()\n"
        "mlflow.set_experiment(p['train']['experiment'])\n",
        "import mlflow, yaml\np = yaml.safe_load(open('params.yaml'))\n"
        "mlflow.set_experiment(p['train'].get('missing', 'from-params'))\n",
    ],
)
def test_names_from_params_files(source: str) -> None:
    scan = scan_source(source, "t.py", ".", lambda rel: PARAMS.get(rel))
    assert [c.value for c in scan.experiments] == ["from-params"]


@pytest.mark.parametrize(
    "opened",
    [
        "Path(__file__).parent.parent / 'params.yaml'",
        "Path(__file__).resolve().parent.parent / 'params.yaml'",
        "os.path.join(os.path.dirname(os.path.dirname(__file__)), 'params.yaml')",
        "os.path.join(os.path.dirname(__file__), '..', 'params.yaml')",
    ],
)
def test_params_file_next_to_the_script(opened: str) -> None:
    asked: list[str] = []

    def read(rel: str) -> object:
        asked.append(rel)
        return PARAMS.get(rel)

    source = (
        "import os\nfrom pathlib import Path\nimport mlflow, yaml\n"
        f"PARAMS = yaml.safe_load(open({opened}))\n"
        "mlflow.set_experiment(PARAMS['train']['experiment'])\n"
    )
    scan = scan_source(source, "src/train.py", "elsewhere", read)
    assert asked == ["params.yaml"]
    assert scan.experiments[0].value == "from-params"


def test_params_file_is_read_relative_to_the_stage_wdir() -> None:
    asked: list[str] = []

    def read(rel: str) -> object:
        asked.append(rel)
        return PARAMS["params.yaml"] if rel == "sub/params.yaml" else None

    source = (
        "import mlflow, yaml\n"
        "mlflow.set_experiment(yaml.safe_load(open('params.yaml'))['train']['experiment'])\n"
    )
    scan = scan_source(source, "sub/t.py", "sub", read)
    assert asked == ["sub/params.yaml"]
    assert scan.experiments[0].value == "from-params"


def test_missing_params_key_is_unresolved_not_guessed() -> None:
    source = (
        "import mlflow, yaml\np = yaml.safe_load(open('params.yaml'))\n"
        "mlflow.set_experiment(p['nope'])\n"
    )
    claim = scan_source(source, "t.py", ".", lambda rel: PARAMS.get(rel)).experiments[0]
    assert claim.value is None
    assert claim.hidden_by == "p['nope']"


def test_tracking_uris_and_registered_models() -> None:
    scan = scan_source(
        "import mlflow, os\nmlflow.set_tracking_uri('./mlruns')\n"
        "os.environ['MLFLOW_TRACKING_URI'] = 'http://x'\n"
        "mlflow.sklearn.log_model(m, 'model', registered_model_name='churn')\n"
        "mlflow.register_model('runs:/1/m', 'other')\n",
        "t.py",
    )
    assert [(c.how, c.value) for c in scan.tracking_uris] == [
        ("set_tracking_uri()", "./mlruns"),
        ('os.environ["MLFLOW_TRACKING_URI"]', "http://x"),
    ]
    assert scan.registered_models == ["churn", "other"]


def test_syntax_error_is_recorded_not_raised() -> None:
    scan = scan_source("def (:\n", "t.py")
    assert scan.error and scan.error.startswith("not valid Python")


def test_unparsable_scripts_still_show_their_mlflow_imports() -> None:
    source = 'print "python 2"\n  from mlflow.tracking import MlflowClient  # x\nimport mlflow_x\n'
    scan = scan_source(source, "t.py")
    assert scan.error and scan.error.startswith("not valid Python")
    assert [(u.mark, u.what) for u in scan.uses] == [
        (Mark(2, 3), "from mlflow.tracking import MlflowClient")
    ]


def test_deeply_nested_code_is_scanned_without_recursion() -> None:
    # Generated code nests deep: the scan neither recurses nor guesses.
    chain = "+".join(["'a'"] * 400)
    source = f"import mlflow\nname = {chain}\nmlflow.set_experiment(name)\n"
    claim = scan_source(source, "t.py").experiments[0]
    assert claim.value is None and claim.hidden_by
    scan = scan_source("import mlflow\nx = " + "+".join(["1"] * 5000) + "\n", "t.py")
    assert [u.what for u in scan.uses] == ["import mlflow"]


@pytest.mark.parametrize(
    ("cmd", "experiments", "uris"),
    [
        ("MLFLOW_EXPERIMENT_NAME=e python t.py", [("e", None, False)], []),
        ("export MLFLOW_EXPERIMENT_NAME=e && python t.py", [("e", None, False)], []),
        ("env MLFLOW_EXPERIMENT_ID=4 python t.py", [("4", None, True)], []),
        ("MLFLOW_EXPERIMENT_NAME=$EXP python t.py", [(None, "$EXP", False)], []),
        ("MLFLOW_TRACKING_URI=file:./mlruns python t.py", [], ["file:./mlruns"]),
        ("python t.py --name MLFLOW_EXPERIMENT_NAME", [], []),
        ("echo 'unbalanced", [], []),
        ("python t.py  # MLFLOW_EXPERIMENT_NAME=e", [], []),
    ],
)
def test_cmd_environment(
    cmd: str, experiments: list[tuple[str | None, str | None, bool]], uris: list[str]
) -> None:
    found, found_uris = scan_cmd(cmd, "dvc.yaml", Mark(3, 10))
    assert [(c.value, c.hidden_by, c.by_id) for c in found] == experiments
    assert [c.value for c in found_uris] == uris
    assert all(c.mark == Mark(3, 10) and c.path == "dvc.yaml" for c in found)


@pytest.mark.parametrize(
    ("uri", "file_store"),
    [
        ("./mlruns", True),
        ("mlruns", True),
        ("/abs/mlruns", True),
        ("file:///srv/mlruns", True),
        ("FILE:./m", True),
        ("C:\\mlruns", True),
        ("sqlite:///mlflow.db", False),
        ("postgresql://u@h/db", False),
        ("http://127.0.0.1:5000", False),
        ("https://mlflow.example.com", False),
        ("databricks", False),
        ("databricks://profile", False),
    ],
)
def test_file_store_uris(uri: str, file_store: bool) -> None:
    assert is_file_store(uri) is file_store


def test_stage_scan_follows_local_imports_and_notebooks(
    make_repo: Callable[..., Path],
) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["import mlflow"]},
            {"cell_type": "code", "source": ["%pip install x\n", "import mlflow\n"]},
        ]
    }
    root = make_repo(
        {
            "dvc.yaml": "stages:\n"
            "  a:\n    cmd: python -m pkg.run\n"
            "  b:\n    cmd: papermill nb.ipynb out.ipynb\n"
            "  c:\n    cmd: python plain.py\n",
            "pkg/__init__.py": "",
            "pkg/run.py": "from .helpers import track\nfrom pkg import other\n",
            "pkg/helpers.py": "import mlflow\nmlflow.set_experiment('deep')\n",
            "pkg/other.py": "",
            "nb.ipynb": json.dumps(notebook),
            "plain.py": "import json\nimport os\n",
        }
    )
    project = Project(root)
    scanner = StageScanner(project)
    stages = pipeline_of(project).stages
    a = scanner.scan(stages["a"])
    # the imports check-dvc-deps follows (an empty __init__.py holds no code to scan)
    assert sorted(a.files) == ["pkg/helpers.py", "pkg/other.py", "pkg/run.py"]
    assert [(c.path, c.value) for c in a.experiments] == [("pkg/helpers.py", "deep")]
    b = scanner.scan(stages["b"])
    assert [u.what for u in b.uses] == ["import mlflow"]
    c = scanner.scan(stages["c"])
    assert not c.uses_mlflow


def test_stage_scan_stops_at_the_helper_package(make_repo: Callable[..., Path]) -> None:
    # As in this repository: dvc_gitops sits beside the pipeline; its own mlflow calls
    # are not the stage's (the helper is known by name), and reading it all cost 0.4 s.
    root = make_repo(
        {
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
            "train.py": "from dvc_gitops.mlflow import start_run\n",
            "dvc_gitops/__init__.py": "",
            "dvc_gitops/mlflow.py": "import mlflow\nmlflow.set_experiment('inside')\n",
        }
    )
    project = Project(root)
    scan = StageScanner(project).scan(pipeline_of(project).stages["train"])
    assert scan.files == ["train.py"]
    assert scan.uses_helper and scan.uses_mlflow
    assert scan.experiments == []


def test_proposed_entries(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            "dvc.yaml": "stages:\n"
            "  train:\n    cmd: python train.py\n"
            "  fe:\n    foreach: [a, b]\n    do:\n      cmd: python fe.py ${item}\n"
            "  plain:\n    cmd: python plain.py\n",
            "train.py": "import mlflow\nmlflow.set_experiment('churn')\n"
            "mlflow.sklearn.log_model(m, 'm', registered_model_name='churn-model')\n",
            "fe.py": "from dvc_gitops.mlflow import start_run\n",
            "plain.py": "print(1)\n",
        }
    )
    assert proposed_entries(Project(root)) == [
        ("train", "churn", "churn-model", "named in train.py:2"),
        ("fe@*", "fe", None, "the code does not name one statically: check this name"),
    ]
