"""A small DVC pipeline of standard-library stages, for the export tests: a folder
output, foreach members, a `cache: false` metric, a wdir, and outputs that record
DVC_STAGE (so a runner's environment is compared too)."""

from __future__ import annotations

from pathlib import Path

from conftest import git, git_init, venv_tool, write_tree

PIPELINE = {
    "prep.py": (
        "import os, pathlib\n"
        "out = pathlib.Path('data/prepared'); out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'a.txt').write_text('a\\n' * 3)\n"
        "(out / 'b.txt').write_text(os.environ['DVC_STAGE'] + '\\n')\n"
    ),
    "feat.py": (
        "import os, pathlib, sys\n"
        "name = sys.argv[1]\n"
        "text = ''.join(p.read_text() for p in sorted(pathlib.Path('data/prepared').iterdir()))\n"
        "pathlib.Path('feat').mkdir(exist_ok=True)\n"
        "pathlib.Path(f'feat/{name}.txt').write_text(name + os.environ['DVC_STAGE'] + text)\n"
    ),
    "train/fit.py": (
        "import json, os, pathlib\n"
        "feat = pathlib.Path('../feat')\n"
        "text = (feat / 'x.txt').read_text() + (feat / 'y.txt').read_text()\n"
        "pathlib.Path('model.txt').write_text(text[::-1] + os.environ['DVC_STAGE'])\n"
        "pathlib.Path('../metrics.json').write_text(json.dumps({'size': len(text)}))\n"
    ),
    "dvc.yaml": (
        "stages:\n"
        "  prepare:\n"
        "    cmd: python prep.py\n"
        "    deps: [prep.py]\n"
        "    outs: [data/prepared]\n"
        "  featurize:\n"
        "    foreach: [x, y]\n"
        "    do:\n"
        "      cmd: python feat.py ${item}\n"
        "      deps: [feat.py, data/prepared]\n"
        "      outs:\n"
        "        - feat/${item}.txt\n"
        "  fit:\n"
        "    wdir: train\n"
        "    cmd: python fit.py\n"
        "    deps: [fit.py, ../feat/x.txt, ../feat/y.txt]\n"
        "    outs: [model.txt]\n"
        "    metrics:\n"
        "      - ../metrics.json:\n"
        "          cache: false\n"
    ),
}


def committed_pipeline(root: Path) -> Path:
    write_tree(root, PIPELINE)
    git_init(root, commit=False)
    done = venv_tool("dvc", root, "init", "-q")
    assert done.returncode == 0, done.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "pipeline")
    return root
