"""check-dvc-lock against the real `dvc status --json`, on generated pipelines.

Hypothesis builds a pipeline (scripts, params read through `${}` in cmd, folders as deps,
outputs feeding later stages, a foreach stage, a stage with its own wdir, a second
dvc.yaml), real `dvc repro` reproduces it and it is committed; then a random sequence of
edits is applied (a script, a param value, a cmd, a dep added or removed, a file added to
a folder dep, a lock entry removed, a partial `dvc repro -s STAGE`, a stage frozen) and
our stale stages and their causes must equal DVC's, for the work tree and for the index.

`make test` runs a few examples with a fixed seed; LOCK_DIFF_EXAMPLES=N runs N (each
prints nothing; the summary line at the end says how many scenarios agreed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, git_init, venv_tool, write_tree
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from dvc_gitops.core.git_tree import DiskTree, GitTree
from dvc_gitops.core.project import Project
from dvc_gitops.status.lock import LockCheck

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("LOCK_DIFF_EXAMPLES", "3"))
SCENARIOS: list[int] = []  # edits per scenario, for the summary


def build(data: st.DataObject) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """Files, the root dvc.yaml and sub/dvc.yaml of a generated pipeline."""
    count = data.draw(st.integers(2, 4), "stages")
    files: dict[str, str] = {"extra.txt": "extra\n"}
    params: dict[str, Any] = {}
    stages: dict[str, Any] = {}
    for i in range(count):
        files[f"s{i}.py"] = f"# script {i}\n"
        params[f"p{i}"] = {"a": data.draw(st.integers(0, 3)), "b": "x"}
        deps = [f"s{i}.py"]
        cat = [f"s{i}.py"]
        if data.draw(st.booleans(), f"folder dep {i}"):
            files[f"inputs/d{i}/one.txt"] = "1\n"
            deps.append(f"inputs/d{i}")
            cat.append(f"inputs/d{i}/*")
        if i and data.draw(st.booleans(), f"upstream of {i}"):
            j = data.draw(st.integers(0, i - 1))
            deps.append(f"out{j}.txt")
            cat.append(f"out{j}.txt")
        stages[f"st{i}"] = {
            "cmd": f"cat {' '.join(cat)} > out{i}.txt && echo ${{p{i}.a}} >> out{i}.txt",
            "deps": deps,
            "params": [f"p{i}.a"],
            "outs": [f"out{i}.txt"],
        }
    if data.draw(st.booleans(), "foreach"):
        files["fe.py"] = "# foreach\n"
        stages["fe"] = {
            "foreach": ["x", "y"],
            "do": {
                "cmd": "cat fe.py > fe_${item}.txt",
                "deps": ["fe.py"],
                "outs": ["fe_${item}.txt"],
            },
        }
    if data.draw(st.booleans(), "wdir"):
        files["w/run.py"] = "# in w\n"
        stages["inw"] = {
            "wdir": "w",
            "cmd": "cat run.py ../extra.txt > w.txt",
            "deps": ["run.py"],
            "outs": ["w.txt"],
        }
    files["params.yaml"] = yaml.safe_dump(params)
    sub: dict[str, Any] = {}
    if data.draw(st.booleans(), "second dvc.yaml"):
        files["sub/t.py"] = "# sub\n"
        files["sub/params.yaml"] = "k: 1\n"
        sub = {
            "stages": {
                "t": {
                    "cmd": "cat t.py > t.txt && echo ${k} >> t.txt",
                    "deps": ["t.py"],
                    "params": ["k"],
                    "outs": ["t.txt"],
                }
            }
        }
    return files, {"stages": stages}, sub


EDITS = [
    "script",
    "param",
    "cmd",
    "add-dep",
    "remove-dep",
    "folder",
    "unlock",
    "repro-one",
    "freeze",
]


def apply(edit: str, root: Path, data: st.DataObject, pipe: dict[str, Any]) -> str:
    """Apply one edit in the scratch repository; a short label of what was done."""
    plain = sorted(n for n in pipe["stages"] if n.startswith("st"))
    name = data.draw(st.sampled_from(plain), f"{edit} stage")
    stage = pipe["stages"][name]
    i = name[2:]
    if edit == "script":
        with open(root / f"s{i}.py", "a") as f:
            f.write("# edited\n")
    elif edit == "param":
        params = yaml.safe_load((root / "params.yaml").read_text())
        old = params[f"p{i}"]["a"]
        params[f"p{i}"]["a"] = data.draw(st.sampled_from([old + 1, float(old), str(old), old]))
        (root / "params.yaml").write_text(yaml.safe_dump(params))
    elif edit == "cmd":
        stage["cmd"] += " && true"
    elif edit == "add-dep":
        if "extra.txt" not in stage["deps"]:
            stage["deps"].append("extra.txt")
    elif edit == "remove-dep":
        stage["deps"] = [d for d in stage["deps"] if d != f"s{i}.py"]
    elif edit == "folder":
        folder = root / f"inputs/d{i}"
        if folder.is_dir():
            (folder / "two.txt").write_text("2\n")
    elif edit == "unlock":
        lock = yaml.safe_load((root / "dvc.lock").read_text())
        lock["stages"].pop(name, None)
        (root / "dvc.lock").write_text(yaml.safe_dump(lock))
    elif edit == "freeze":
        stage["frozen"] = True
    if edit != "repro-one":
        (root / "dvc.yaml").write_text(yaml.safe_dump(pipe, sort_keys=False))
        return f"{edit} {name}"
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipe, sort_keys=False))
    done = venv_tool("dvc", root, "repro", "-q", "-s", name)
    return f"repro -s {name} -> {done.returncode}"


def dvc_view(root: Path) -> dict[str, set[str]]:
    """`dvc status --json` as {address: causes} in LockCheck.stale's terms."""
    done = venv_tool("dvc", root, "status", "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, set[str]] = {}
    for address, entries in json.loads(done.stdout).items():
        causes: set[str] = set()
        for entry in entries:
            if entry == "changed command":
                causes.add("cmd")
            elif isinstance(entry, dict):
                for kind, items in entry.items():
                    for path, state in items.items():
                        if kind == "changed outs":
                            causes.add(f"out:{path}")
                        elif isinstance(state, dict):
                            causes.update(f"param:{path}:{key}" for key in state)
                        elif path.endswith("params.yaml"):
                            causes.add(f"params:{path}")
                        else:
                            causes.add(f"dep:{path}")
        if causes:
            found[address] = causes
    return found


def ours(root: Path, tree: Any) -> dict[str, set[str]]:
    project = Project(root) if isinstance(tree, DiskTree) else Project(root, tree=tree)
    check = LockCheck(project, tree)
    list(check.run())
    return check.stale


def same(dvc: dict[str, set[str]], mine: dict[str, set[str]]) -> bool:
    """The same stale stages, and the same causes except for a stage never locked (DVC
    lists whatever it compares against nothing; we say "never reproduced")."""
    if set(dvc) != set(mine):
        return False
    return all(mine[a] == {"never"} or mine[a] == dvc[a] for a in dvc)


@seed(20261205)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # shrinking a DVC run takes minutes: the
    # failing example's draws and edits are in the message instead
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_stale_stages_and_causes_equal_dvc_status(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("diff")
    files, pipe, sub = build(data)
    write_tree(root, files)
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipe, sort_keys=False))
    if sub:
        (root / "sub" / "dvc.yaml").write_text(yaml.safe_dump(sub, sort_keys=False))
    git_init(root, commit=False)
    assert venv_tool("dvc", root, "init", "-q").returncode == 0
    done = venv_tool("dvc", root, "repro", "-q", "--all-pipelines")  # sub/dvc.yaml too
    assert done.returncode == 0, done.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "reproduced")
    assert ours(root, DiskTree(root)) == {} == dvc_view(root)
    edits = data.draw(st.lists(st.sampled_from(EDITS), min_size=1, max_size=4), "edits")
    done_edits = [apply(edit, root, data, pipe) for edit in edits]
    dvc = dvc_view(root)
    mine = ours(root, DiskTree(root))
    assert same(dvc, mine), f"edits {done_edits}: dvc {dvc} ours {mine}"
    git(root, "add", "-A")
    with GitTree.staged(root) as staged:
        assert ours(root, staged) == mine, f"edits {done_edits}: the index disagrees"
    SCENARIOS.append(len(edits))
    shutil.rmtree(root, ignore_errors=True)


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the property (same module, declared later): how many scenarios agreed."""
    with capsys.disabled():
        print(
            f"\ncheck-dvc-lock vs dvc status: {len(SCENARIOS)} scenarios, all agreed "
            f"({sum(SCENARIOS)} edits)"
        )
