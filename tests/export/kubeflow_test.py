"""`dvc-gitops export kubeflow`: the pipeline source, compiled by the real kfp SDK and run by
KFP's local runner, gives the same outputs as a plain `dvc repro` of the same commit.

The slow tests install kfp (and this package) in a venv of their own, never in the
project's: DVC_GITOPS_KFP_VENV names one that already has both (to iterate on a test).
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from conftest import REPO, VENV_BIN, git, git_init, venv_tool, write_tree
from small_pipeline import PIPELINE, committed_pipeline

from dvc_gitops.cli import main
from dvc_gitops.hooks import check_kubeflow_export

KFP = "kfp==2.17.3"
OUTPUTS = [
    "data/prepared/a.txt",
    "data/prepared/b.txt",
    "feat/x.txt",
    "feat/y.txt",
    "train/model.txt",
    "metrics.json",
]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def export(root: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(root)
    try:
        return main(["export", "kubeflow", *args])
    finally:
        os.chdir(old)


def export_text(root: Path, *args: str) -> str:
    """The exported source (with --output: the file's text, written where a user would)."""
    assert export(root, *args) == 0
    if "--output" in args:
        return (root / args[args.index("--output") + 1]).read_text()
    raise AssertionError("give --output")


def hook(root: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(root)
    try:
        return check_kubeflow_export.main(list(args))
    finally:
        os.chdir(old)


def test_hook_is_quiet_on_a_fresh_export_even_after_commits(tmp_path: Path) -> None:
    root = committed_pipeline(tmp_path / "repo")
    export_text(root, "--output", "kfp/pipeline.py")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "export")
    assert hook(root) == 0


def test_hook_reports_a_stale_export_and_fix_exports_it_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = committed_pipeline(tmp_path / "repo")
    export_text(root, "--output", "kfp/pipeline.py", "--name", "nightly")
    (root / "dvc.yaml").write_text(PIPELINE["dvc.yaml"].replace("prep.py\n", "prep.py -v\n", 1))
    capsys.readouterr()
    assert hook(root) == 1
    assert capsys.readouterr().out == (
        "kfp/pipeline.py: the Kubeflow pipeline is out of date with the DVC pipeline: run "
        "`dvc-gitops export kubeflow --name nightly --output kfp/pipeline.py`\n"
    )
    assert hook(root, "--fix") == 1
    assert "python prep.py -v" in (root / "kfp/pipeline.py").read_text()
    assert hook(root) == 0
    assert hook(root, "--pipeline", "missing.py") == 2


def test_one_component_per_stage_and_the_edges_of_dvc_dag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = committed_pipeline(tmp_path / "repo")
    assert export(root) == 0
    text = capsys.readouterr().out
    compile(text, "pipeline.py", "exec")  # valid Python
    assert text.count("@dsl.component(") == 4  # prepare, featurize@x, featurize@y, fit
    assert "featurize_x_task = featurize_x(repo_root=repo_root, in_1=prepare_task.outputs" in text
    assert "in_1=featurize_x_task.outputs" in text and "in_2=featurize_y_task.outputs" in text
    assert '"DVC_STAGE": "featurize@y"' in text


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = committed_pipeline(tmp_path / "repo")
    assert export(root, "--name", "Not_Valid") == 2
    (root / "dvc.yaml").write_text("stages: {}\n")
    assert export(root) == 2
    assert "no DVC stages found" in capsys.readouterr().err


def test_a_stage_name_cannot_break_out_of_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(
        tmp_path / "repo",
        {"dvc.yaml": 'stages:\n  "a\\rimport os; os.system(\\"x\\")":\n    cmd: echo """hi"""\n'},
    )
    git_init(root)
    assert export(root) == 0
    text = capsys.readouterr().out
    assert "\r" not in text
    tree = ast.parse(text)
    kinds = [type(node).__name__ for node in tree.body]
    assert kinds == [
        "Expr",
        "ImportFrom",
        "ImportFrom",
        "Assign",
        "Assign",
        "FunctionDef",
        "FunctionDef",
    ]
    imported = {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    assert imported == {"os", "shutil", "subprocess"}


@pytest.fixture(scope="module")
def kfp_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with kfp and this package (pip, about a minute)."""
    ready = os.environ.get("DVC_GITOPS_KFP_VENV")
    if ready:
        return Path(ready) / "bin" / "python"
    where = tmp_path_factory.mktemp("kfp-venv")
    venv.create(where, with_pip=True)
    python = where / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", KFP, str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"pip install {KFP} failed:\n{done.stderr[-3000:]}")
    return python


RUN_LOCALLY = """
import importlib.util, sys
from kfp import local
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[3])
module.pipeline(repo_root=sys.argv[2])
"""


@pytest.mark.slow
def test_kfp_local_runner_gives_the_outputs_of_dvc_repro(tmp_path: Path, kfp_python: Path) -> None:
    reference = committed_pipeline(tmp_path / "reference")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = venv_tool("dvc", reference, "repro", "-q", env=env)
    assert done.returncode == 0, done.stdout + done.stderr

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(reference), str(clone))
    pipeline = tmp_path / "pipeline.py"
    compiled = tmp_path / "pipeline.yaml"
    # The kfp venv's own dvc-gitops compiles the YAML (kfp is in that environment only).
    done = subprocess.run(
        [
            str(kfp_python),
            "-m",
            "dvc_gitops.cli",
            "export",
            "kubeflow",
            "--output",
            str(pipeline),
            "--yaml",
            str(compiled),
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ir = yaml.safe_load(compiled.read_text())
    assert set(ir["root"]["dag"]["tasks"]) == {"prepare", "featurize-x", "featurize-y", "fit"}

    run_env = {**os.environ, "PATH": f"{kfp_python.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(kfp_python), "-c", RUN_LOCALLY, str(pipeline), str(clone), str(tmp_path / "kfp")],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {out: md5(clone / out) for out in OUTPUTS} == {
        out: md5(reference / out) for out in OUTPUTS
    }
    models = list((tmp_path / "kfp").rglob("fit/out_1"))
    assert [md5(m) for m in models] == [md5(reference / "train/model.txt")]


def test_compiling_without_kfp_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("kfp") or "kfp" in sys.modules:
        pytest.skip("kfp is installed in this environment")
    root = committed_pipeline(tmp_path / "repo")
    assert export(root, "--yaml", str(tmp_path / "p.yaml")) == 2
    assert "pip install 'dvc-gitops[kubeflow]'" in capsys.readouterr().err
