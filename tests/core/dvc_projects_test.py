"""DVC projects as DVC sees them: one per `.dvc/` folder, nested or `--subdir`.

The layouts are checked against the real `dvc` run inside each project (`stage list`,
`dag`, `status`), and every hook is run on them from the git root.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, write_tree

from dvc_gitops.core.dvc_projects import (
    DvcProject,
    DvcProjects,
    dvc_projects,
    dvc_yaml_files,
    orphans,
)
from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel import graph
from dvc_gitops.dvcmodel.model import build_pipeline
from dvc_gitops.pins.remote_plugins import plugin_needs

DVC = str(VENV_BIN / "dvc")


def dvc(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [DVC, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- paths in and out of a project ------------------------------------------------------------


def test_a_subfolder_project_translates_paths_and_addresses() -> None:
    sub = DvcProject("ml/exp")
    assert (sub.prefix, sub.config) == ("ml/exp/", "ml/exp/.dvc/config")
    assert sub.outer("data/x.csv") == "ml/exp/data/x.csv"
    assert sub.outer("../../setup.py") == "setup.py"
    assert sub.inner("ml/exp/data/x.csv") == "data/x.csv"
    assert sub.address("train") == "ml/exp/dvc.yaml:train"
    assert sub.address("eval/dvc.yaml:score@1") == "ml/exp/eval/dvc.yaml:score@1"
    assert sub.address("data.dvc") == "ml/exp/data.dvc"
    assert sub.inner_address("ml/exp/dvc.yaml:train") == "train"
    assert sub.inner_address("ml/exp/eval/dvc.yaml:score@1") == "eval/dvc.yaml:score@1"
    assert sub.inner_address("ml/exp/eval/dvc.yaml") == "eval/dvc.yaml"
    assert sub.contains("ml/exp/a") and not sub.contains("ml/experiments/a")
    root = DvcProject(".")
    assert (root.prefix, root.address("train"), root.inner_address("train")) == (
        "",
        "train",
        "train",
    )


def test_a_path_belongs_to_the_nearest_project_above_it() -> None:
    projects = DvcProjects([".", "a", "a/b", "c"])
    assert [p.root for p in projects] == [".", "a", "a/b", "c"]
    assert projects.of("a/b/x/dvc.yaml") == DvcProject("a/b")
    assert projects.of("a/bee/dvc.yaml") == DvcProject("a")
    assert projects.of("dvc.yaml") == DvcProject(".")
    assert projects.nested_in(DvcProject("a/b")) == DvcProject("a")
    assert projects.children(DvcProject(".")) == [DvcProject("a"), DvcProject("c")]
    assert DvcProjects(["a"]).of("b/dvc.yaml") is None


def test_discovery_skips_what_no_one_checks(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "ml/.dvc/config": "",
            "ml/deep/.dvc/config": "",
            ".venv/pyvenv.cfg": "",
            ".venv/lib/pkg/.dvc/config": "",  # a virtualenv's files are not the project's
            "node_modules/x/.dvc/config": "",
            "notes/.dvc": "a file, not a folder",
            "ran/.dvc/tmp/btime": "",  # DVC's scratch where someone ran it: no project
            "ignored/.dvc/.gitignore": "/config.local\n",  # `dvc init` made it, config empty
        },
    )
    assert [p.root for p in dvc_projects(Project(root))] == ["ignored", "ml", "ml/deep"]


def test_each_project_reads_only_its_own_dvcignore_files(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            ".dvc/config": "",
            ".dvcignore": "inner/\ndrafts/\n",  # hides inner/ from the root project only
            "dvc.yaml": "stages: {}\n",
            "drafts/dvc.yaml": "stages: {}\n",
            "inner/.dvc/config": "",
            "inner/.dvcignore": "old/\n",
            "inner/dvc.yaml": "stages: {}\n",
            "inner/drafts/dvc.yaml": "stages: {}\n",  # the root's drafts/ pattern: not here
            "inner/old/dvc.yaml": "stages: {}\n",
            "loose/dvc.yaml": "stages: {}\n",
        },
    )
    project = Project(root)
    assert dvc_yaml_files(project) == [
        "dvc.yaml",
        "inner/drafts/dvc.yaml",
        "inner/dvc.yaml",
        "loose/dvc.yaml",
    ]
    assert orphans(project, dvc_yaml_files(project)) == []  # the root project holds loose/


# -- layouts against the real dvc ---------------------------------------------------------------

NESTED = {
    "dvc.yaml": "stages:\n  top:\n    cmd: echo top > top.txt\n    outs: [top.txt]\n",
    "a/b/dvc.yaml": "stages:\n  ab:\n    cmd: cat ../../top.txt\n    deps: [../../top.txt]\n",
    "sub/dvc.yaml": "stages:\n  s1:\n    cmd: echo s > out.txt\n    outs: [out.txt]\n"
    "  shared:\n    cmd: echo > ../top.txt\n    outs: [../top.txt]\n",
    "sub/x/dvc.yaml": "stages:\n  s2:\n    cmd: cat ../out.txt\n    deps: [../out.txt]\n",
    "ign/dvc.yaml": "stages:\n  hidden:\n    cmd: echo\n",
}


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """A root project with a nested `--subdir` project `sub` and a dvcignored folder."""
    root = git_init(write_tree(tmp_path / "nested", NESTED), commit=False)
    dvc(root, "init", "-q")
    dvc(root / "sub", "init", "-q", "--subdir")
    (root / ".dvcignore").write_text("ign/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "layout")
    return root


def _dag_edges(folder: Path, project: DvcProject) -> set[tuple[str, str]]:
    """`dvc dag --dot` in the project's folder, as git-root addresses."""
    edges = set()
    for line in dvc(folder, "dag", "--dot").splitlines():
        if "->" in line:
            up, down = (part.strip().strip(";").strip('"') for part in line.split("->"))
            edges.add((project.address(up), project.address(down)))
    return edges


@pytest.mark.slow
def test_each_project_is_the_pipeline_dvc_loads_there(nested: Path) -> None:
    project = Project(nested)
    projects = dvc_projects(project)
    assert [p.root for p in projects] == [".", "sub"]
    pipeline = build_pipeline(project)
    for where in projects:
        folder = nested / where.root
        listed = dvc(folder, "stage", "list", "--all", "--fail", "--name-only").split()
        part = pipeline.part(where.root)
        assert sorted(part.stages) == sorted(where.address(a) for a in listed)
        assert set(part.edges()) == _dag_edges(folder, where)
    # `top.txt` is written by a stage of each project: DVC loads them apart, so both
    # `dvc dag` runs above passed, and so does the graph check.
    found = list(graph.check(CheckContext(project, None)))
    assert [f.code for f in found if f.code.startswith("DG21")] == []
    assert pipeline.downstream("sub/dvc.yaml:s1") == ["sub/x/dvc.yaml:s2"]
    assert pipeline.downstream("top") == ["a/b/dvc.yaml:ab"]


@pytest.mark.slow
def test_duplicate_output_inside_one_nested_project_is_still_found(nested: Path) -> None:
    (nested / "sub/x/dvc.yaml").write_text(
        "stages:\n  s2:\n    cmd: echo > ../out.txt\n    outs: [../out.txt]\n"
    )
    done = subprocess.run([DVC, "dag"], cwd=nested / "sub", capture_output=True, text=True)
    assert done.returncode != 0 and "out.txt" in done.stderr
    found = list(graph.check(CheckContext(Project(nested), None)))
    assert [(f.path, f.code) for f in found] == [("sub/x/dvc.yaml", "DG210")]


def _status(folder: Path, *args: str) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [str(VENV_BIN / "dvc-status"), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    return done.returncode, done.stdout.splitlines(), done.stderr


@pytest.mark.slow
def test_dvc_status_asks_each_project_in_its_folder(nested: Path) -> None:
    for where in ("sub", "sub/x"):
        asked = json.loads(dvc(nested / where, "status", "--json"))
        assert asked  # never run: every stage is stale
    code, lines, err = _status(nested)
    assert (code, err) == (0, "")
    said = {line.split(" ")[0]: line for line in lines[:-1]}
    assert sorted(said) == [
        "a/b/dvc.yaml:2:3:",
        "dvc.yaml:2:3:",
        "sub/dvc.yaml:2:3:",
        "sub/dvc.yaml:5:3:",
        "sub/x/dvc.yaml:2:3:",
    ]
    assert "stage 'sub/dvc.yaml:s1' is stale" in said["sub/dvc.yaml:2:3:"]
    assert (
        "downstream, re-run if its outputs change: sub/x/dvc.yaml:s2" in said["sub/dvc.yaml:2:3:"]
    )
    assert (
        "run `cd sub && dvc repro` (or `cd sub && dvc repro --downstream s1`)"
        in said["sub/dvc.yaml:2:3:"]
    )
    assert "run `cd sub && dvc repro x/dvc.yaml:s2`" in said["sub/x/dvc.yaml:2:3:"]
    assert "run `dvc repro` (or `dvc repro --downstream top`)" in said["dvc.yaml:2:3:"]
    # From inside the nested project (any folder of it): that project only.
    for folder in (nested / "sub", nested / "sub/x"):
        code, lines, err = _status(folder)
        assert (code, err) == (0, "")
        assert {line.split(":")[0] for line in lines[:-1]} == {"sub/dvc.yaml", "sub/x/dvc.yaml"}


@pytest.mark.slow
def test_dvc_status_after_repro_in_a_subdir_project_is_clean(tmp_path: Path) -> None:
    root = git_init(
        write_tree(
            tmp_path / "r",
            {
                "README.md": "x\n",
                "ml/dvc.yaml": "stages:\n  s1:\n    cmd: echo s > out.txt\n    outs: [out.txt]\n",
                "ml/x/dvc.yaml": "stages:\n  s2:\n    cmd: cp ../out.txt y.txt\n"
                "    deps: [../out.txt]\n    outs: [y.txt]\n",
            },
        ),
        commit=False,
    )
    dvc(root / "ml", "init", "-q", "--subdir")
    dvc(root / "ml", "repro", "-q", "--all-pipelines")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "reproduced")
    assert _status(root) == (0, ["No findings."], "")
    assert _status(root / "ml/x", "--fail") == (0, ["No findings."], "")
    (root / "ml/dvc.yaml").write_text(
        "stages:\n  s1:\n    cmd: echo t > out.txt\n    outs: [out.txt]\n"
    )
    git(root, "add", "-A")
    code, lines, _ = _status(root, "--scope", "staged", "--fail")
    assert code == 1
    assert lines[0].startswith("ml/dvc.yaml:2:3: DG401 stage 'ml/dvc.yaml:s1' is stale: command")
    assert "ml/x/dvc.yaml:s2" in lines[0]  # its downstream, from the model of ml/


@pytest.mark.slow
def test_subdir_projects_side_by_side_and_a_dvc_yaml_in_none(tmp_path: Path) -> None:
    # Two `--subdir` projects both write ../shared.txt (DVC loads them apart, as the
    # deckard examples do), and a dvc.yaml no project holds.
    stage = "stages:\n  make:\n    cmd: echo > ../shared.txt\n    outs: [../shared.txt]\n"
    root = git_init(
        write_tree(
            tmp_path / "r",
            {
                "one/dvc.yaml": stage,
                "two/dvc.yaml": stage,
                "loose/dvc.yaml": "stages:\n  x:\n    cmd: echo\n",
                "requirements.txt": "dvc[s3]==3.67.1\n",
            },
        ),
        commit=False,
    )
    for name in ("one", "two"):
        dvc(root / name, "init", "-q", "--subdir")
        dvc(root / name, "dag")
    (root / "two/.dvc/config").write_text("['remote \"s\"']\n    url = s3://bucket/x\n")
    (root / "one/.dvc/config").write_text("['remote \"g\"']\n    url = gs://bucket/x\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "layout")
    done = subprocess.run([DVC, "status"], cwd=root / "loose", capture_output=True, text=True)
    assert done.returncode != 0 and "not inside of a DVC repository" in done.stderr
    project = Project(root)
    found = [(f.path, f.code) for f in graph.check(CheckContext(project, None))]
    assert found == [("loose/dvc.yaml", "DG239")]
    # Each project's remotes are its own; requirements at the git root count for both.
    needs = sorted((n.path, n.package) for n in plugin_needs(project))
    assert needs == [("one/.dvc/config", "dvc-gs"), ("two/.dvc/config", "dvc-s3")]
    done = subprocess.run(
        [str(VENV_BIN / "check-dvc-pinned"), "--no-installed"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.stdout.splitlines()[0].startswith("one/.dvc/config:2:11: DG506 remote 'g'")
    assert "two/.dvc/config" not in done.stdout  # dvc[s3] at the git root covers it


def test_no_finding_for_a_dvc_yaml_outside_git(make_repo: Callable[..., Path]) -> None:
    # Without git the root is just the folder checked: a project may be above it.
    root = make_repo({"dvc.yaml": "stages:\n  x:\n    cmd: echo\n"})
    assert [f.code for f in graph.check(CheckContext(Project(root), None))] == []


# -- per-project files: the MLflow map --------------------------------------------------------


def _mlflow_findings(root: Path) -> list[str]:
    from dvc_gitops.mlflow import rules

    project = Project(root)
    found = rules.check(CheckContext(project, None))
    return sorted(f"{f.path}:{f.line} {f.code}" for f in found)


def test_each_project_has_its_own_mlflow_map(tmp_path: Path) -> None:
    train = "import mlflow\nmlflow.set_experiment('exp-b')\n"
    root = write_tree(
        tmp_path,
        {
            "ml/.dvc/config": "",
            "ml/dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n",
            "ml/train.py": train,
            # As DVC names the stage in ml/ (DVC_STAGE at run time): `train`.
            "ml/mlflow-experiments.yaml": "version: 1\nstages:\n  train:\n"
            "    experiment: exp-a\n  gone:\n    experiment: exp-c\n",
        },
    )
    assert _mlflow_findings(root) == [
        "ml/mlflow-experiments.yaml:5 DG602",  # `gone` is no stage of ml/
        "ml/train.py:2 DG604",  # train logs to exp-b, the map of ml/ says exp-a
    ]


def test_no_map_and_no_mlflow_costs_nothing(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "ml/.dvc/config": "",
            "ml/dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
            "ml/train.py": "print('no tracking here')\n",
        },
    )
    project = Project(root)
    from dvc_gitops.mlflow import rules

    assert list(rules.check(CheckContext(project, None))) == []
    assert project.cache("pipeline") == {}  # never built
