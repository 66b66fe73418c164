""" "Will re-run" against real DVC, over generated pipelines and change sequences.

Each example builds a pipeline (shell scripts, git-tracked data, params, stages chained
through their outputs), runs real `dvc repro` and commits BASE; applies a generated
sequence of changes (a script, a data file, a params value, a cmd, a dep added, a params
key declared, a stage added, renamed or removed) and commits HEAD, keeping BASE's
dvc.lock and outputs in the work tree. Real `dvc status --json` then names the stages
whose own inputs changed; with everything downstream of them in DVC's own graph, that
is what `dvc repro` would run. The review's re-run set must be exactly that, in an
order that respects every edge.

Derandomized and few in `make test` (each example runs DVC three times); more with

    REVIEW_EXAMPLES=60 .venv/bin/pytest tests/review/review_rerun_dvc_test.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import VENV_BIN, git, git_init, write_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_gitops.review.report import review

EXAMPLES = int(os.environ.get("REVIEW_EXAMPLES", "4"))
SETTINGS = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
KEYS = ("a", "b", "c", "g")  # "g" is a section: {"x": 1, "y": 1}
DATA = ("d0.txt", "d1.txt")

# DVC's graph and the stages `dvc status` names, asked in one process of the venv.
_ORACLE = r"""
import json, sys
import networkx as nx
from dvc.repo import Repo
repo = Repo(".")
status = repo.status()
graph = repo.index.graph  # an edge runs from a stage to the stage it depends on
names = {s: s.addressing for s in graph.nodes}
stale = {s for s in graph.nodes if s.addressing in status}
# `dvc repro` runs a stale stage, then what depends on it, but never a frozen stage (and
# nothing re-runs through one: its outputs stay as they are).
rerun, todo = set(), [s for s in stale if not s.frozen]
while todo:
    s = todo.pop()
    if s not in rerun:
        rerun.add(s)
        todo += [d for d in graph.predecessors(s) if not d.frozen]
print(json.dumps({"status": sorted(status), "rerun": sorted(names[s] for s in rerun)}))
"""


@st.composite
def pipelines(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(2, 4))
    stages: dict[str, Any] = {}
    if draw(st.booleans()):  # no deps and no outs: DVC runs it on every repro
        stages["cb"] = {"script": "cb.sh", "ups": [], "data": [], "params": [], "out": None}
    for i in range(count):
        ups = draw(st.lists(st.sampled_from(range(i)), unique=True, max_size=2)) if i else []
        stages[f"s{i}"] = {
            "script": f"s{i}.sh",
            "ups": [f"s{u}" for u in ups],
            "data": draw(st.lists(st.sampled_from(DATA), unique=True, max_size=1)),
            "params": draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=2)),
            "out": f"out{i}.txt",
            "tracked": draw(st.booleans()),
        }
    return stages


CHANGES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *("script", "data", "param", "cmd", "add_dep", "declare"),
                *("add", "rename", "remove", "freeze", "tracked", "section"),
            ]
        ),
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=3,
)


def _files(
    stages: dict[str, Any], params: dict[str, Any], scripts: dict[str, str]
) -> dict[str, str]:
    document: dict[str, Any] = {"stages": {}}
    outs = {name: s["out"] for name, s in stages.items()}
    for name, s in stages.items():
        entry: dict[str, Any] = {"cmd": s.get("cmd", f"sh {s['script']}")}
        if s.get("frozen"):
            entry["frozen"] = True
        if s["out"] is None:
            document["stages"][name] = {"cmd": "sh cb.sh"}
            continue
        entry["deps"] = [
            s["script"],
            *s["data"],
            *(["tracked.csv"] if s.get("tracked") else []),
            *(outs[u] for u in s["ups"] if u in outs),
        ]
        if s["params"]:
            entry["params"] = list(s["params"])
        entry["outs"] = [s["out"]]
        document["stages"][name] = entry
    files = {"dvc.yaml": yaml.safe_dump(document, sort_keys=False)}
    files["params.yaml"] = yaml.safe_dump(params)
    files.update(scripts)
    return files


def _script(stage: dict[str, Any], version: int, outs: dict[str, str]) -> str:
    if stage["out"] is None:
        return "echo callback\n"
    inputs = " ".join([*stage["data"], *(outs[u] for u in stage["ups"] if u in outs)])
    return f"cat {inputs or '/dev/null'} > {stage['out']}\necho v{version} >> {stage['out']}\n"


def _apply(
    stages: dict[str, Any], params: dict[str, Any], changes: list[tuple[str, int]]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, str]]:
    """HEAD's stages, params, script edits and data edits after `changes`."""
    stages = {
        n: dict(s, ups=list(s["ups"]), data=list(s["data"]), params=list(s["params"]))
        for n, s in stages.items()
    }
    params = dict(params)
    scripts: dict[str, str] = {}
    data: dict[str, str] = {}
    for kind, pick in changes:
        names = list(stages)
        name = names[pick % len(names)]
        stage = stages[name]
        if kind == "script":
            scripts[stage["script"]] = f"# edited {pick}\n"
        elif kind == "data":
            data[DATA[pick % 2]] = f"changed {pick}\n"
        elif kind == "param":
            params[KEYS[pick % 3]] += 1 + pick
        elif kind == "section":
            params["g"] = {**params["g"], "xy"[pick % 2]: pick + 2}
        elif kind == "freeze":
            stage["frozen"] = True
        elif kind == "tracked":
            data["tracked.csv"] = f"tracked {pick}\n"
        elif kind == "cmd":
            stage["cmd"] = f"sh {stage['script']} && true"
        elif kind == "add_dep" and DATA[pick % 2] not in stage["data"]:
            stage["data"].append(DATA[pick % 2])
        elif kind == "declare" and KEYS[pick % 4] not in stage["params"]:
            stage["params"].append(KEYS[pick % 4])
        elif kind == "add":
            new = f"n{len(stages)}{pick}"
            if new not in stages and stage["out"] is not None:
                stages[new] = {
                    "script": f"{new}.sh",
                    "ups": [name],
                    "data": [],
                    "params": [],
                    "out": f"{new}.txt",
                }
                scripts[f"{new}.sh"] = f"cat {stage['out']} > {new}.txt\n"
        elif kind == "rename":
            stages = {("r" + n if n == name else n): s for n, s in stages.items()}
            for s in stages.values():
                s["ups"] = ["r" + u if u == name else u for u in s["ups"]]
        elif (
            kind == "remove"
            and len(stages) > 1
            and not any(name in s["ups"] for s in stages.values())
        ):
            del stages[name]
    return stages, params, scripts, data


def _dvc(root: Path, *args: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(root.parent / "site")}
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _oracle(root: Path) -> dict[str, list[str]]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(root.parent / "site")}
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _ORACLE],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.slow
@SETTINGS
@given(stages=pipelines(), changes=CHANGES)
def test_rerun_equals_dvc_status_plus_downstream(
    stages: dict[str, Any], changes: list[tuple[str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "repo"
        root.mkdir()
        params: dict[str, Any] = {k: 1 for k in KEYS[:3]}
        params["g"] = {"x": 1, "y": 1}
        outs = {n: s["out"] for n, s in stages.items()}
        scripts = {s["script"]: _script(s, 0, outs) for s in stages.values()}
        files = _files(stages, params, scripts)
        files.update({d: f"{d}\n" for d in DATA})
        files["tracked.csv"] = "tracked\n"
        write_tree(root, files)
        git_init(root, commit=False)
        _dvc(root, "init", "-q")
        _dvc(root, "add", "-q", "tracked.csv")  # data DVC tracks, git holds its pointer
        _dvc(root, "repro", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "base")

        head, head_params, edits, data = _apply(stages, params, changes)
        head_scripts = {
            s["script"]: (root / s["script"]).read_text() if (root / s["script"]).exists() else ""
            for s in head.values()
        }
        head_scripts.update(edits)
        dvc_yaml = _files(head, head_params, head_scripts)
        write_tree(root, {**dvc_yaml, **data})
        if "tracked.csv" in data:
            _dvc(root, "add", "-q", "tracked.csv")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "head", "--allow-empty")

        truth = _oracle(root)
        found = review(root, "HEAD~1", "HEAD")
        ours = [r.address for r in found.rerun]
        assert sorted(ours) == truth["rerun"], (changes, truth, [r.as_dict() for r in found.rerun])
        position = {a: i for i, a in enumerate(ours)}
        for up, down in [(u, d) for d, s in head.items() for u in s["ups"]]:
            if up in position and down in position:
                assert position[up] < position[down]
        shutil.rmtree(root, ignore_errors=True)
