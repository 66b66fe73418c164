"""The real-repository harness: each false alarm the trial on 19 public DVC repositories
found (docs/trial.md), distilled into a small repository of our own writing.

Each case runs `dvc-gitops check` (every default rule, as a user runs it) and asserts the
exact findings: none where the trial found a false alarm, and the true findings beside
it that must stay. `bench/real_repos.py` repeats the trial on real checkouts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, venv_tool, write_tree

from dvc_gitops.cli import main

# What every case's repository holds unless it says otherwise: a DVC project whose dvc is
# pinned, checked without comparing the installed version (the trial's interpreter is
# not the owner's: DG505 is environment-dependent and has tests of its own).
BASE: dict[str, str] = {
    ".dvc/config": "",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
    ".dvc-gitops.toml": "[pinned]\ninstalled = false\n",
    "requirements.txt": "dvc==3.67.1\n",
}


@dataclass
class Case:
    files: dict[str, str]
    # (code, severity, path) of each finding that must be reported; nothing else may be.
    expected: list[tuple[str, str, str]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    ignored: str = ""  # a .gitignore at the root
    without: tuple[str, ...] = ()  # BASE files this case leaves out


CASES: dict[str, Case] = {
    # 1. DVC 3 matches a params key with glob characters against the file's keys; the
    # lock records the key as written. Exactly one match is required (checked with dvc
    # 3.67.1: none fails 'missing', two fail 'globs must match only one leaf').
    "1 wildcard params": Case(
        {
            "params/ds.yaml": "kw:\n  moons: {noise: 0.1}\n  circles: {noise: 0.2}\n",
            "dvc.yaml": (
                "stages:\n"
                "  train:\n"
                "    cmd: echo x > a\n"
                "    params:\n"
                "      - params/ds.yaml:\n"
                "          - kw.moo*\n"
                "    outs: [a]\n"
                "  none:\n"
                "    cmd: echo > b\n"
                "    params:\n"
                "      - params/ds.yaml: [kw.stars*]\n"
                "    outs: [b]\n"
                "  two:\n"
                "    cmd: echo > c\n"
                "    params:\n"
                "      - params/ds.yaml: ['kw.*']\n"
                "    outs: [c]\n"
            ),
        },
        [("DG302", "error", "dvc.yaml"), ("DG302", "error", "dvc.yaml")],
    ),
    # 2/3. A key no `params:` entry names is often read outside the pipeline (upload
    # scripts, CI jobs) or composed by Hydra: DG310 is off by default.
    "3 params read outside the pipeline": Case(
        {
            "params.yaml": "train: {lr: 0.1}\nupload: {bucket: b}\n",
            "upload.py": "import yaml\nprint(yaml.safe_load(open('params.yaml'))['upload'])\n",
            "dvc.yaml": "stages:\n  t:\n    cmd: echo > m\n    params: [train.lr]\n    outs: [m]\n",
        }
    ),
    # 2. Asked for (extend-select), DG310 still leaves alone the keys of a file a stage
    # depends on whole, and Hydra configs; it reports the key nothing uses.
    "2 whole-file params dep and Hydra, DG310 asked for": Case(
        {
            "params.yaml": "train: {lr: 0.1}\nstale: 1\n",
            "conf.yaml": "model: {depth: 3}\n",
            "conf/hydra.yaml": "defaults:\n  - model: small\noptimizer: adam\n",
            "dvc.yaml": (
                "stages:\n"
                "  t:\n"
                "    cmd: echo > m\n"
                "    deps: [conf.yaml]\n"
                "    params: [train.lr, conf.yaml: [model], conf/hydra.yaml: [optimizer]]\n"
                "    outs: [m]\n"
            ),
            ".dvc-gitops.toml": 'extend-select = ["DG310"]\n[pinned]\ninstalled = false\n',
        },
        [("DG310", "warning", "params.yaml")],
    ),
    # 4. DVC runs an always_changed stage, and one with no deps, outs or params, every
    # time: a missing script dep changes nothing. A stage with params only is not always
    # run (params are deps): its script must be a dep.
    "4 always-run stages": Case(
        {
            "report.py": "print(1)\n",
            "train.py": "print(2)\n",
            "params.yaml": "lr: 1\n",
            "dvc.yaml": (
                "stages:\n"
                "  report:\n"
                "    cmd: python report.py > r.txt\n"
                "    always_changed: true\n"
                "    outs: [r.txt]\n"
                "  notify:\n"
                "    cmd: python report.py\n"
                "  train:\n"
                "    cmd: python train.py\n"
                "    params: [lr]\n"
            ),
        },
        [("DG201", "warning", "dvc.yaml")],
    ),
    # 5. Stage order is style (jsonnet-generated files sort stages by name): off.
    "5 stages out of run order": Case(
        {
            "dvc.yaml": (
                "stages:\n"
                "  b-train:\n    cmd: cp a b\n    deps: [a]\n    outs: [b]\n"
                "  a-prepare:\n    cmd: echo > a\n    outs: [a]\n"
            )
        }
    ),
    # 6. pixi declares and locks dvc and the plugin a webdav remote needs.
    "6 pixi declares and locks dvc": Case(
        {
            ".dvc/config": "['remote \"vault\"']\n    url = webdavs://example.org/dvc\n",
            "pixi.toml": (
                '[workspace]\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n'
                '[feature.data.dependencies]\ndvc = "~=3.30"\ndvc-webdav = "~=3.0"\n'
            ),
            "pixi.lock": (
                "version: 6\npackages:\n"
                "- conda: https://conda.anaconda.org/conda-forge/noarch/dvc-3.60.0-pyhd8ed1ab_0.conda\n"
                "  sha256: 00\n"
                "- conda: https://conda.anaconda.org/conda-forge/noarch/dvc-webdav-3.0.0-pyhd8ed1ab_0.conda\n"
                "  sha256: 00\n"
            ),
            "dvc.yaml": "stages:\n  t:\n    cmd: echo > m\n    outs: [m]\n",
        },
        without=("requirements.txt",),
    ),
    # 6/7. A library's setup.py binds its requirements to module-level names, and keeps
    # ranges (pinning `==` in a package's metadata forces one DVC on its users).
    "6 setup.py module-level bindings, a library": Case(
        {
            "setup.py": (
                "from setuptools import setup\n"
                'extras_require = {"data": ["dvc[ssh]>=3"]}\n'
                'setup(name="lib", extras_require=extras_require)\n'
            ),
            ".dvc/config": "['remote \"r\"']\n    url = ssh://example.org/dvc\n",
            "dvc.yaml": "stages:\n  t:\n    cmd: echo > m\n    outs: [m]\n",
        },
        without=("requirements.txt",),
    ),
    "7 a library's pyproject keeps a range; an application's requirements pin": Case(
        {
            "pyproject.toml": (
                '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
                '[project]\nname = "lib"\nversion = "1"\ndependencies = ["dvc>=3"]\n'
            ),
            "requirements.txt": "dvc>=3\n",
            "dvc.yaml": "stages:\n  t:\n    cmd: echo > m\n    outs: [m]\n",
        },
        [("DG502", "warning", "requirements.txt")],
    ),
    # 10. An `__init__.py` holding only a docstring changes nothing a stage computes.
    "10 docstring-only __init__.py": Case(
        {
            "pkg/__init__.py": '"""The package."""\n',
            "pkg/util.py": "X = 1\n",
            "pkg/train.py": "from pkg import util\nprint(util.X)\n",
            "dvc.yaml": (
                "stages:\n  t:\n    cmd: python -m pkg.train\n    deps: [pkg/train.py]\n"
                "    outs: [m]\n"
            ),
        },
        [("DG203", "warning", "dvc.yaml")],
    ),
    # 11. The stage -> experiment map is our convention: no map, no DG603.
    "11 MLflow without a map": Case(
        {
            "train.py": "import mlflow\nmlflow.log_metric('a', 1)\n",
            "dvc.yaml": "stages:\n  t:\n    cmd: python train.py\n    deps: [train.py]\n"
            "    outs: [m]\n",
        }
    ),
    # 12. A dvc.yaml in a folder whose deps are written from the root: one cause, one
    # finding (an error: `dvc repro` fails), not a DG216 per dep and DG201/DG203 per stage.
    "12 wrong wdir": Case(
        {
            "src/app/__init__.py": "",
            "src/app/prepare.py": "from app import util\n",
            "src/app/util.py": "",
            "configs/data.yaml": "a: 1\n",
            "pipelines/dvc.yaml": (
                "stages:\n"
                "  prepare:\n"
                "    cmd: python -m app.prepare --config configs/data.yaml\n"
                "    deps: [src/app/prepare.py, configs/data.yaml]\n"
                "    outs: [data/prepared]\n"
                "  train:\n"
                "    cmd: python src/app/prepare.py\n"
                "    deps: [src/app/prepare.py, data/prepared]\n"
                "    outs: [model]\n"
            ),
        },
        [("DG216", "error", "pipelines/dvc.yaml")],
    ),
    # A dep that exists nowhere fails `dvc repro` (an error); one git ignores is data
    # each clone supplies (a warning).
    "missing deps: error, or warning when git-ignored": Case(
        {
            "dvc.yaml": "stages:\n  t:\n    cmd: cat raw/new.csv typo.csv > m\n"
            "    deps: [raw/new.csv, typo.csv]\n    outs: [m]\n",
        },
        [("DG216", "error", "dvc.yaml"), ("DG216", "warning", "dvc.yaml")],
        ignored="/raw/\n",
    ),
    # A dvc.yaml DVC refuses to load says so once; its half-resolved stages say nothing.
    "a dvc.yaml DVC refuses is not half checked": Case(
        {
            "dvc.yaml": "stages:\n  t:\n    cmd: echo ${nope} > out/x\n    outs: [out/x]\n"
            "  u:\n    cmd: cat out > m\n    deps: [out]\n    outs: [m]\n",
        },
        [("DG303", "error", "dvc.yaml")],
    ),
}


def run_check(root: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> list[Mapping]:
    capsys.readouterr()
    code = main(["check", "--format", "json", *args, str(root)])
    found: list[Mapping] = json.loads(capsys.readouterr().out)["findings"]
    assert code == (1 if found else 0)
    return found


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_real_repo_case(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name]
    files = {k: v for k, v in BASE.items() if k not in case.without}
    files.update(case.files)
    if case.ignored:
        files[".gitignore"] = case.ignored
    root = write_tree(tmp_path / "repo", files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    found = run_check(root, case.args, capsys)
    got = sorted((f["code"], f["severity"], f["path"]) for f in found)
    assert got == sorted(case.expected), "\n".join(f["message"] for f in found)
    assert all(len(f["message"]) < 500 for f in found)


def dvc(root: Path, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(root.parent / "dvc-cache"),
    }
    done = venv_tool("dvc", root, *args, env=env, timeout=120)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_real_dvc_agrees_on_glob_params(tmp_path: Path) -> None:
    """The verdicts of case 1, from the real dvc: one match runs, none and two fail."""
    case = CASES["1 wildcard params"]
    root = write_tree(tmp_path / "repo", {k: v for k, v in case.files.items()})
    git(root, "init", "-q", "-b", "main")
    assert dvc(root, "init", "-q")[0] == 0
    assert dvc(root, "repro", "train")[0] == 0
    assert "kw.moo*" in (root / "dvc.lock").read_text()
    code, out = dvc(root, "repro", "none")
    assert code != 0 and "missing" in out
    code, out = dvc(root, "repro", "two")
    assert code != 0 and "only one" in out


@pytest.mark.slow
def test_real_dvc_runs_always_run_stages_every_time(tmp_path: Path) -> None:
    """Case 4 from the real dvc: `report` and `notify` are listed as always changed
    after a repro; `train` (params only) is not."""
    case = CASES["4 always-run stages"]
    root = write_tree(tmp_path / "repo", case.files)
    git(root, "init", "-q", "-b", "main")
    assert dvc(root, "init", "-q")[0] == 0
    assert dvc(root, "repro")[0] == 0
    code, out = dvc(root, "status", "--json")
    assert code == 0
    assert sorted(json.loads(out)) == ["notify", "report"]


def test_the_venv_has_the_dvc_the_slow_tests_use() -> None:
    assert (VENV_BIN / "dvc").exists()


def test_a_thousand_members_make_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = ", ".join(f"s{n}" for n in range(1071))
    root = write_tree(
        tmp_path / "repo",
        {
            **BASE,
            "fetch.py": "",
            "dvc.yaml": f"stages:\n  fetch:\n    foreach: [{members}]\n    do:\n"
            "      cmd: python fetch.py ${item}\n      outs: [out/${item}]\n".replace(
                "[out/${item}]", '["out/${item}"]'
            ),
        },
    )
    [finding] = run_check(root, [], capsys)
    assert finding["message"].startswith("all 1,071 members of 'fetch' run fetch.py")
    assert len(finding["message"]) < 300


def test_a_params_entry_naming_a_file_is_told_to_track_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(
        tmp_path / "repo",
        {
            **BASE,
            "params.yaml": "seed: 1\n",
            "preprocess.yaml": "size: 3\n",
            "dvc.yaml": "stages:\n  p:\n    cmd: echo > o\n    params: [preprocess.yaml]\n"
            "    outs: [o]\n",
        },
    )
    [finding] = run_check(root, [], capsys)
    assert finding["code"] == "DG302"
    assert finding["message"].endswith(
        "an entry without a colon is a key of params.yaml; to track the file "
        "'preprocess.yaml' whole, write `- preprocess.yaml:`"
    )


# --- what DVC's own test suite refuses: our verdict beside the real dvc's ---------------

DVC_REFUSES: dict[str, tuple[dict[str, str], str, str]] = {
    # name: (files, the code we report, what `dvc dag` or `dvc stage list` says)
    "an output a .dvc file already tracks": (
        {
            "foo": "x\n",
            "foo.dvc": "outs:\n- md5: 401b30e3b8b5d629635a5c613cdb7919\n  size: 2\n"
            "  hash: md5\n  path: foo\n",
            "dvc.yaml": "stages:\n  s:\n    cmd: echo y > foo\n    outs: [foo]\n",
        },
        "DG210",
        "is specified in",
    ),
    "an output inside a folder a .dvc file tracks": (
        {
            "data.dvc": "outs:\n- md5: 0.dir\n  hash: md5\n  path: data\n",
            "dvc.yaml": "stages:\n  s:\n    cmd: echo y > data/b\n    outs: [data/b]\n",
        },
        "DG211",
        "overlap",
    ),
    "one output written two ways": (
        {"dvc.yaml": "stages:\n  s:\n    cmd: echo y > foo\n    outs: [foo, ./foo]\n"},
        "DG210",
        "already specified",
    ),
    "a remote:// dep naming no remote": (
        {
            "dvc.yaml": "stages:\n  s:\n    cmd: echo > o\n    deps: [remote://nope/x]\n"
            "    outs: [o]\n"
        },
        "DG222",
        "remote 'nope' doesn't exist",
    ),
    "a git-ignored dvc.yaml": (
        {
            ".gitignore": "dvc.yaml\n",
            "dvc.yaml": "stages:\n  s:\n    cmd: echo > o\n    outs: [o]\n",
        },
        "DG223",
        "is git-ignored",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", DVC_REFUSES, ids=list(DVC_REFUSES))
def test_what_dvc_refuses_we_report(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, code, dvc_says = DVC_REFUSES[name]
    root = write_tree(tmp_path / "repo", {**BASE, **files})
    git(root, "init", "-q", "-b", "main")
    found = run_check(root, [], capsys)
    assert [f["code"] for f in found] == [code], found
    # `dvc dag` raises the graph errors, `dvc stage list` the file-name ones.
    answers = [dvc(root, "dag"), dvc(root, "stage", "list")]
    assert any(code != 0 and dvc_says in out for code, out in answers), answers


def test_a_fresh_clone_of_thousands_of_stages_is_one_dg402() -> None:
    """9 (the 4,172-stage pipeline): one cause, nothing pulled yet, is one finding per
    dvc.yaml; a few stages keep a finding each."""
    from dvc_gitops.status.dvc_status import MISSING_OUTPUTS, group_missing

    def missing(count: int, path: str = "data/dvc.yaml") -> list:  # type: ignore[type-arg]
        return [
            MISSING_OUTPUTS.at(
                path,
                (n + 1, 3),
                f"stage 'fetch@{n}' outputs are missing from the workspace (not in the local "
                f"cache: out/{n}) though nothing it depends on changed: run `dvc pull fetch@{n}`",
            )
            for n in range(count)
        ]

    [one] = list(group_missing(missing(4172)))
    assert one.message.startswith("4,172 stages' outputs are missing from the workspace")
    assert one.message.endswith("run `dvc pull`") and len(one.message) < 300
    assert len(list(group_missing(missing(3, "small/dvc.yaml")))) == 3
