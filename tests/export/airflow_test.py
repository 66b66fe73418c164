"""`dvc-gitops export airflow`: the DAG file, and the demo pipeline run by a real Airflow.

The slow test installs Apache Airflow in a venv of its own (never in the project's venv:
it is an optional extra), loads the exported DAG with Airflow's DagBag, and runs it with
`airflow dags test` in a copy of this repository against a local DVC remote; the outputs
must equal those of a plain `dvc repro` in a second copy, made while Airflow installs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN, copy_checkout, git

from dvc_gitops.cli import main
from dvc_gitops.export.airflow import py
from dvc_gitops.hooks import check_airflow_export

DAG_FILE = "dags/pipeline.py"
# The demo's outputs: the four cached outs and the two metrics files.
OUTPUTS = (
    "data/raw/dataset.csv",
    "data/processed/train.parquet",
    "data/processed/test.parquet",
    "models/model.pkl",
    "metrics.json",
    "eval.json",
)


def environment(base: Path) -> dict[str, str]:
    """The demo's `dvc` and `python` first on PATH; no DVC/MLflow settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "MLFLOW_"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_SITE_CACHE_DIR"] = str(base / "dvc-site-cache")
    env.update(DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def export(root: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(root)
    try:
        return main(["export", "airflow", *args])
    finally:
        os.chdir(old)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def dvc_dag_edges(root: Path, env: dict[str, str]) -> set[tuple[str, str]]:
    done = run([str(VENV_BIN / "dvc"), "dag", "--dot"], root, env)
    assert done.returncode == 0, done.stderr
    return set(re.findall(r'^"([^"]+)" -> "([^"]+)";$', done.stdout, re.MULTILINE))


def task_graph(text: str) -> tuple[list[str], set[tuple[str, str]]]:
    """The task ids and `a >> b` edges of a generated DAG file, read from its syntax."""
    tree = ast.parse(text)
    ids: list[str] = []
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for keyword in node.value.keywords:
                if keyword.arg == "task_id" and isinstance(keyword.value, ast.Constant):
                    ids.append(str(keyword.value.value))
                    names[node.targets[0].id] = ids[-1]  # type: ignore[attr-defined]
    edges = {
        (names[n.left.id], names[n.right.id])  # type: ignore[attr-defined]
        for n in ast.walk(tree)
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.RShift)
    }
    return ids, edges


# ---------------------------------------------------------------------------------------
# Fast: the file itself.


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("export") / "repo")


def test_demo_export_has_one_task_per_stage_and_the_edges_of_dvc_dag(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(checkout) == 0
    text = capsys.readouterr().out
    ids, edges = task_graph(text)
    assert ids == ["fetch_data", "preprocess", "train", "evaluate"]
    env = environment(checkout.parent)
    assert edges == dvc_dag_edges(checkout, env)
    assert "dvc --wait-for-lock pull models/model.pkl data/processed/test.parquet" in text
    assert '"MLFLOW_EXPERIMENT_NAME": "dvc-gitops-demo-train",' in text
    assert '"train.learning_rate": 0.1,' in text
    compile(text, DAG_FILE, "exec")


def test_header_names_the_dvc_yaml_and_the_commit_and_stays_put_after_committing_the_dag(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(checkout, "--output", DAG_FILE) == 0
    assert capsys.readouterr().out == f"wrote {DAG_FILE}: 4 tasks, 4 edges\n"
    first = (checkout / DAG_FILE).read_bytes()
    head = git(checkout, "log", "-1", "--format=%H", "--", "dvc.yaml").strip()
    assert b"Pipeline: dvc.yaml\n" in first
    assert f"Git commit: {head}\n".encode() in first
    git(checkout, "add", DAG_FILE)
    git(checkout, "commit", "-q", "-m", "the DAG")
    assert export(checkout, "--output", DAG_FILE) == 0
    assert capsys.readouterr().out == f"{DAG_FILE} is up to date (4 tasks)\n"
    assert (checkout / DAG_FILE).read_bytes() == first


def test_an_uncommitted_dvc_yaml_is_named_in_the_header(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dvc_yaml = checkout / "dvc.yaml"
    original = dvc_yaml.read_text()
    try:
        dvc_yaml.write_text(original + "\n")
        assert export(checkout) == 0
        assert "+ uncommitted changes\n" in capsys.readouterr().out
    finally:
        dvc_yaml.write_text(original)


def test_the_file_is_ruff_format_clean(checkout: Path, tmp_path: Path) -> None:
    target = tmp_path / "pipeline.py"
    assert export(checkout, "--output", str(target)) == 0
    done = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--isolated", "--check", "--diff", str(target)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Outside the repository: the checkout comes from DVC_REPO_ROOT only.
    assert 'REPO_ROOT = os.environ.get("DVC_REPO_ROOT", "")' in target.read_text()


def test_no_stages_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".dvc").mkdir()
    assert export(tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "dvc-gitops export airflow: no DVC stages found: write a dvc.yaml with `stages:` first\n"
    )


def test_a_bad_dag_id_is_a_usage_error(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(checkout, "--dag-id", "my dag") == 2
    assert "--dag-id" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Slow: a real Airflow loads and runs the demo DAG.


def changed_checkout(dest: Path) -> Path:
    """A copy with `train.max_depth` changed and committed without running the pipeline:
    its dvc.lock is stale, so only the entries the tasks hand on locate the new outputs."""
    root = copy_checkout(dest)
    params = root / "params.yaml"
    text = params.read_text()
    assert "  max_depth: 3\n" in text
    params.write_text(text.replace("  max_depth: 3\n", "  max_depth: 2\n"))
    git(root, "commit", "-q", "-am", "a shallower tree")
    return root


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[str]]:
    """A plain `dvc repro` of the same commit in its own copy, started before Airflow installs."""
    base = tmp_path_factory.mktemp("plain-repro")
    root = changed_checkout(base / "repo")
    log = (base / "repro.log").open("w")
    process = subprocess.Popen(
        [str(VENV_BIN / "dvc"), "repro"],
        cwd=root,
        env=environment(base),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.root = root  # type: ignore[attr-defined]
    yield process
    if process.poll() is None:
        os.killpg(process.pid, 9)
    process.wait()
    log.close()


def plain_repro_outputs(process: subprocess.Popen[str]) -> dict[str, str]:
    root: Path = process.root  # type: ignore[attr-defined]
    assert process.wait(timeout=600) == 0, (root.parent / "repro.log").read_text()
    return {rel: md5(root / rel) for rel in OUTPUTS}


DAGBAG_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get(sys.argv[2])
print(json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dags),
    "tasks": [t.task_id for t in dag.tasks] if dag else [],
    "edges": [[t.task_id, d] for t in dag.tasks for d in t.downstream_task_ids] if dag else [],
    "params": {k: dag.params[k] for k in dag.params} if dag else {},
}))
"""


@pytest.mark.slow
def test_airflow_loads_and_runs_the_exported_demo(
    reference: subprocess.Popen[str],
    airflow_venv: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = tmp_path_factory.mktemp("airflow-run")
    root = changed_checkout(base / "repo")
    env = environment(base)
    dvc = str(VENV_BIN / "dvc")
    done = run([dvc, "remote", "add", "-f", "-d", "local", str(base / "dvc-remote")], root, env)
    assert done.returncode == 0, done.stderr
    assert export(root, "--dag-id", "demo", "--output", DAG_FILE) == 0
    capsys.readouterr()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a local remote, the DAG")
    env.update(
        AIRFLOW_HOME=str(base / "airflow-home"),
        AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    python = str(airflow_venv / "bin" / "python")
    airflow = str(airflow_venv / "bin" / "airflow")

    # Airflow's own loader: no import errors, the tasks and edges of `dvc dag`.
    done = run([python, "-c", DAGBAG_SCRIPT, str(root / "dags"), "demo"], root, env)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["import_errors"] == {}
    assert loaded["dags"] == ["demo"]
    assert loaded["tasks"] == ["fetch_data", "preprocess", "train", "evaluate"]
    assert {tuple(e) for e in loaded["edges"]} == dvc_dag_edges(root, env)
    assert len(loaded["edges"]) == 4
    assert loaded["params"]["repo_root"] == str(root)
    assert loaded["params"]["train.max_depth"] == 2

    # A real run, every task in turn (`dags test`), in this checkout.
    done = run([airflow, "db", "migrate"], root, env)
    assert done.returncode == 0, done.stderr[-3000:]
    done = run([airflow, "dags", "test", "demo"], root, env, timeout=900)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    assert re.search(r"DagRun Finished: .*state=success", log), log[-5000:]
    for stage in ("fetch_data", "preprocess", "train", "evaluate"):
        assert f"Running stage '{stage}'" in log
    run_id = re.findall(r"run_id=(manual__[^,\s]+)", log)[-1]

    # The outputs: those of a plain `dvc repro` of the same commit, recorded in dvc.lock
    # and pushed to the remote.
    produced = {rel: md5(root / rel) for rel in OUTPUTS}
    assert produced == plain_repro_outputs(reference)
    status = run([dvc, "status", "--json"], root, env)
    assert json.loads(status.stdout) == {}, status.stdout + status.stderr
    pushed = run([dvc, "status", "--cloud", "--json"], root, env)
    assert json.loads(pushed.stdout) == {}, pushed.stdout + pushed.stderr

    # Another worker: a clone of the commit (its dvc.lock still names the old model),
    # running `evaluate` of the same DAG run. The dvc.lock entries handed on through XCom
    # let it pull the model the run trained, from the remote.
    worker = base / "worker"
    git(base, "clone", "-q", str(root), str(worker))
    assert produced["models/model.pkl"] not in git(worker, "show", "HEAD:dvc.lock")
    parse_env = json.dumps({"DVC_REPO_ROOT": str(worker)})
    done = run(
        [airflow, "tasks", "test", "demo", "evaluate", run_id, "--env-vars", parse_env], worker, env
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    assert "Running stage 'evaluate'" in log, log[-5000:]
    for rel in ("models/model.pkl", "data/processed/test.parquet", "eval.json"):
        assert md5(worker / rel) == produced[rel], rel


GOLDEN = REPO / "tests" / "golden"
GOLDEN_DAGS = sorted(GOLDEN.glob("export-airflow-*/**/*.py.expected"))


@pytest.mark.parametrize(
    "dag", GOLDEN_DAGS, ids=[p.relative_to(GOLDEN).parts[0] for p in GOLDEN_DAGS]
)
def test_golden_dag_files_are_ruff_format_clean(dag: Path, tmp_path: Path) -> None:
    target = tmp_path / "dag.py"
    shutil.copy(dag, target)
    done = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--isolated", "--check", "--diff", str(target)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_there_are_golden_exports_of_foreach_matrix_wdir_and_several_dvc_yaml() -> None:
    names = {p.relative_to(GOLDEN).parts[0] for p in GOLDEN_DAGS}
    assert {
        "export-airflow-foreach-matrix",
        "export-airflow-wdir",
        "export-airflow-multi-dvc-yaml",
    } <= names


# ---------------------------------------------------------------------------------------
# The check-airflow-export hook.

SMALL = {
    "dvc.yaml": (
        "stages:\n"
        "  prepare:\n"
        "    cmd: python prepare.py\n"
        "    deps: [prepare.py]\n"
        "    params: [prepare.rows]\n"
        "    outs: [data.csv]\n"
        "  fit:\n"
        "    cmd: python fit.py\n"
        "    deps: [fit.py, data.csv]\n"
        "    outs: [model.pkl]\n"
    ),
    "params.yaml": "prepare:\n  rows: 10\n",
    "prepare.py": "",
    "fit.py": "",
}


def hook(root: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(root)
    try:
        return check_airflow_export.main(list(args))
    finally:
        os.chdir(old)


def test_hook_is_quiet_on_a_fresh_export_even_after_commits(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(SMALL, git=True)
    assert export(root, "--dag-id", "small", "--output", "airflow/dags/small.py") == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the DAG")
    (root / "dvc.yaml").write_text(SMALL["dvc.yaml"] + "# a comment\n")
    git(root, "commit", "-q", "-am", "dvc.yaml again: a new commit, the same pipeline")
    capsys.readouterr()
    assert hook(root) == 0
    assert capsys.readouterr().out == ""


def test_hook_reports_a_stale_dag_and_fix_exports_it_again(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(SMALL, git=True)
    assert export(root, "--output", DAG_FILE) == 0
    (root / "params.yaml").write_text("prepare:\n  rows: 20\n")
    capsys.readouterr()
    assert hook(root) == 1
    assert capsys.readouterr().out == (
        f"{DAG_FILE}: the Airflow DAG is out of date with the pipeline: "
        f"run `dvc-gitops export airflow --output {DAG_FILE}`\n"
    )
    assert hook(root, "--fix") == 1
    assert "exported again" in capsys.readouterr().out
    assert '"prepare.rows": 20,' in (root / DAG_FILE).read_text()
    assert hook(root) == 0


def test_hook_with_a_missing_dag_file_is_a_usage_error(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(SMALL, git=True)
    assert hook(root, "--dag", "dags/none.py") == 2
    assert capsys.readouterr().err.startswith("check-airflow-export: dags/none.py: no such file")


@pytest.mark.parametrize(
    "value",
    [
        'say "hi"',
        "it's",
        "both ' and \"",
        "naïve \\ tab\t",
        float("inf"),
        float("-inf"),
        1e-20,
        None,
        True,
        [1, [2.5, "x"], {"k": None}],
    ],
)
def test_literals_read_back_as_the_same_value(value: object) -> None:
    assert eval(py(value), {}) == value  # a literal, as the DAG file holds it


def test_nan_stays_nan() -> None:
    assert py(float("nan")) == 'float("nan")'


def test_a_dvc_yaml_dvc_cannot_load_stops_the_export(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo({**SMALL, "sub/dvc.yaml": "stages:\n  a:\n    cmd: [\n"})
    assert export(root, "--output", DAG_FILE) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("dvc-gitops export airflow: sub/dvc.yaml: invalid YAML: ")
    assert captured.err.endswith("; fix it (`dvc-gitops check` shows where) and export again\n")
    assert not (root / DAG_FILE).exists()


GOLDEN_BAG_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "tasks": [t.task_id for t in dag.tasks],
            "edges": sorted([t.task_id, d] for t in dag.tasks for d in t.downstream_task_ids),
        }
        for dag_id, dag in bag.dags.items()
    },
}))
"""


@pytest.mark.slow
def test_airflow_loads_every_golden_export(airflow_venv: Path, tmp_path: Path) -> None:
    """Foreach/matrix members, sub-folder dvc.yaml files, odd stage names: valid task ids."""
    folder = tmp_path / "dags"
    folder.mkdir()
    expected: dict[str, object] = {}
    for number, dag in enumerate(GOLDEN_DAGS):
        text = dag.read_text().replace('dag_id="', f'dag_id="g{number}_', 1)
        (folder / f"g{number}.py").write_text(text)
        ids, edges = task_graph(text)
        dag_id = re.findall(r'dag_id="([^"]+)"', text)[0]
        expected[dag_id] = {"tasks": ids, "edges": sorted([a, b] for a, b in edges)}
    env = environment(tmp_path)
    env.update(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    env["DVC_REPO_ROOT"] = str(tmp_path)
    done = run(
        [str(airflow_venv / "bin" / "python"), "-c", GOLDEN_BAG_SCRIPT, str(folder)], tmp_path, env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["import_errors"] == {}
    assert loaded["dags"] == expected


def test_an_output_that_cannot_be_written_is_a_one_line_error(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(SMALL)
    (root / "dags").write_text("a file where the folder should be\n")
    assert export(root, "--output", DAG_FILE) == 2
    assert capsys.readouterr().err.startswith(
        f"dvc-gitops export airflow: cannot write {DAG_FILE}: "
    )


def test_stage_names_of_every_length_give_a_ruff_format_clean_file(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Short commands fit on one line (ruff joins the parts); long ones keep one per line.
    names = ["s" * length for length in range(1, 40)]
    stages = "".join(
        f"  {name}:\n    cmd: echo {name}  \n    deps: [in.txt]\n    outs: [{name}.txt]\n"
        for name in names
    )
    root = make_repo({"dvc.yaml": "stages:\n" + stages, "in.txt.dvc": "outs:\n- path: in.txt\n"})
    assert export(root, "--output", DAG_FILE) == 0
    done = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--isolated", "--check", "--diff", DAG_FILE],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert task_graph((root / DAG_FILE).read_text())[0] == names
