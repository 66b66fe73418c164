"""Ask the real DVC how it resolves a set of scratch repositories, in one process.

Importing DVC costs about a second, so every case of a test module goes through one
`python` run of the project's venv: for each folder it prints the stages DVC built
(address, cmd, wdir, deps, outs, params, repo-relative) or the first line of the error
DVC raised while loading the stages or building the graph.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conftest import VENV_BIN, write_tree

_SCRIPT = r"""
import json, os, sys
from dvc.repo import Repo
from dvc.dependency import ParamsDependency

results = {}
for folder in sys.argv[1:]:
    os.chdir(folder)
    try:
        repo = Repo(folder)
        root = repo.root_dir
        rel = lambda p: os.path.relpath(p, root).replace(os.sep, "/")
        stages = {}
        for s in repo.index.stages:
            stages[s.addressing] = {
                "cmd": s.cmd,
                "wdir": rel(s.wdir),
                "deps": [rel(d.fs_path) for d in s.deps if not isinstance(d, ParamsDependency)],
                "params": {
                    rel(d.fs_path): sorted(d.params)
                    for d in s.deps
                    if isinstance(d, ParamsDependency)
                },
                "outs": [rel(o.fs_path) for o in s.outs],
            }
        repo.index.graph
        results[folder] = {"stages": stages}
    except Exception as exc:
        text = str(exc).strip().splitlines()
        results[folder] = {"error": text[0] if text else type(exc).__name__}
print(json.dumps(results))
"""


def ask_dvc(base: Path, cases: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """Write each case under `base/<name>` (with a `.dvc` folder) and resolve it with DVC."""
    folders: dict[str, Path] = {}
    for name, files in cases.items():
        folder = base / name
        write_tree(folder, {".dvc/config": "[core]\n    no_scm = True\n", **files})
        folders[name] = folder
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _SCRIPT, *map(str, folders.values())],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    raw = json.loads(done.stdout)
    return {name: raw[str(folder)] for name, folder in folders.items()}
