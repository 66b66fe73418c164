"""check-dvc-pinned: every dependency file format, the rules, the fixer, a real venv."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import REPO, VENV_BIN, git_init, write_tree
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement

from dvc_gitops.core.config import Config
from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.hooks import check_dvc_pinned
from dvc_gitops.pins.dependency_files import dependency_files, read_declarations, requirement_edit
from dvc_gitops.pins.interpreter import project_interpreter
from dvc_gitops.pins.remote_plugins import plugin_needs
from dvc_gitops.pins.rules import check, find_pins, installed_version

# The shared corpus of real dvc.yaml files, as tests/corpus_test.py finds it.
CORPUS = Path(os.environ.get("DVC_GITOPS_CORPUS", REPO.parent / "shared" / "corpus"))
DVC_YAML = "stages:\n  train:\n    cmd: python train.py\n"

# -- reading every format -------------------------------------------------------------

# (files, expected pins as (package, path, line, column, exact version, extras, kind))
PIN_CASES: dict[str, tuple[dict[str, str], list[tuple[str, str, int, int, str | None, str, str]]]]
PIN_CASES = {
    "requirements pinned": (
        {"requirements.txt": "pandas\ndvc==3.67.1\n"},
        [("dvc", "requirements.txt", 2, 1, "3.67.1", "", "declaration")],
    ),
    "requirements unpinned and ranges": (
        {"requirements.txt": "dvc\ndvc-s3>=3\ndvc-gs~=3.0\ndvc-ssh==4.*\ndvc-azure===3.1.0\n"},
        [
            ("dvc", "requirements.txt", 1, 1, None, "", "declaration"),
            ("dvc-s3", "requirements.txt", 2, 1, None, "", "declaration"),
            ("dvc-gs", "requirements.txt", 3, 1, None, "", "declaration"),
            ("dvc-ssh", "requirements.txt", 4, 1, None, "", "declaration"),
            ("dvc-azure", "requirements.txt", 5, 1, "3.1.0", "", "declaration"),
        ],
    ),
    "requirements extras, markers, comments": (
        {
            "requirements.txt": "# dvc==1.0 is not a pin\n"
            "  DVC[S3,gs] == 3.67.1 ; python_version >= '3.10'  # the pin\n"
            "pandas # dvc==2.0\n"
        },
        [("dvc", "requirements.txt", 2, 3, "3.67.1", "gs,s3", "declaration")],
    ),
    "requirements hashes on continuation lines": (
        {
            "requirements.txt": "dvc==3.67.1 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
            "dvc-s3==3.3.0 --hash=sha256:cc\n"
        },
        [
            ("dvc", "requirements.txt", 1, 1, "3.67.1", "", "declaration"),
            ("dvc-s3", "requirements.txt", 4, 1, "3.3.0", "", "declaration"),
        ],
    ),
    "includes and constraints": (
        {
            "requirements.txt": "-r requirements/base.txt\n-c constraints/pins.txt\ndvc\n",
            "requirements/base.txt": "--requirement=../extra.txt\ndvc-s3==3.3.0\n",
            "extra.txt": "dvc-gs==3.0.2\n",
            "constraints/pins.txt": "dvc==3.67.1\n",
        },
        [
            ("dvc-gs", "extra.txt", 1, 1, "3.0.2", "", "declaration"),
            ("dvc-s3", "requirements/base.txt", 2, 1, "3.3.0", "", "declaration"),
            ("dvc", "constraints/pins.txt", 1, 1, "3.67.1", "", "constraint"),
            ("dvc", "requirements.txt", 3, 1, None, "", "declaration"),
        ],
    ),
    "pip-compile .in and options lines": (
        {
            "requirements.in": "--index-url https://example.invalid/simple\n-e .\ndvc>=3.60\n",
            "requirements.txt": "dvc==3.67.1\n    # via -r requirements.in\n",
            "MANIFEST.in": "include dvc==1.0\n",
        },
        [
            ("dvc", "requirements.in", 3, 1, None, "", "declaration"),
            ("dvc", "requirements.txt", 1, 1, "3.67.1", "", "declaration"),
        ],
    ),
    "URLs and paths are not pins": (
        {
            "requirements.txt": "dvc @ https://example.invalid/dvc-3.67.1.whl\n"
            "./vendor/dvc-s3\ngit+https://example.invalid/dvc-gs.git\n"
        },
        [("dvc", "requirements.txt", 1, 1, None, "", "declaration")],
    ),
    "pyproject PEP 621 and PEP 735": (
        {
            "pyproject.toml": "[project]\nname = 'x'\ndependencies = [\n"
            '  "pandas",\n  "dvc[s3]==3.67.1; python_version >= \'3.10\'",\n]\n'
            "[project.optional-dependencies]\ngs = ['dvc-gs>=3']\n"
            "[dependency-groups]\ndev = [{include-group = 'ssh'}, 'dvc-azure==3.1.0']\n"
            'ssh = ["dvc-ssh==4.2.0"]\n'
        },
        [
            ("dvc", "pyproject.toml", 5, 4, "3.67.1", "s3", "declaration"),
            ("dvc-gs", "pyproject.toml", 8, 8, None, "", "declaration"),
            ("dvc-azure", "pyproject.toml", 10, 34, "3.1.0", "", "declaration"),
            ("dvc-ssh", "pyproject.toml", 11, 9, "4.2.0", "", "declaration"),
        ],
    ),
    "Poetry tables": (
        {
            "pyproject.toml": "[tool.poetry.dependencies]\npython = '^3.10'\n"
            'dvc = "3.67.1"\ndvc-s3 = "^3.0"\n'
            'dvc-gs = {version = "~3.0", extras = ["x"]}\n'
            "[tool.poetry.group.dev.dependencies]\n"
            'dvc-ssh = [{version = "4.2.0", python = ">=3.10"}]\n'
            'dvc-azure = {git = "https://example.invalid/dvc-azure.git"}\n'
        },
        [
            ("dvc", "pyproject.toml", 3, 8, "3.67.1", "", "declaration"),
            ("dvc-s3", "pyproject.toml", 4, 11, None, "", "declaration"),
            ("dvc-gs", "pyproject.toml", 5, 22, None, "x", "declaration"),
            ("dvc-ssh", "pyproject.toml", 7, 24, "4.2.0", "", "declaration"),
            ("dvc-azure", "pyproject.toml", 8, 1, None, "", "declaration"),
        ],
    ),
    "setup.cfg": (
        {
            "setup.cfg": "[metadata]\nname = x\n[options]\ninstall_requires =\n"
            "    pandas\n    dvc==3.67.1  # pinned\n"
            "[options.extras_require]\ns3 = dvc-s3>=3\n"
        },
        [
            ("dvc", "setup.cfg", 6, 5, "3.67.1", "", "declaration"),
            ("dvc-s3", "setup.cfg", 8, 6, None, "", "declaration"),
        ],
    ),
    "setup.py, read without running it": (
        {
            "setup.py": "import setuptools\n\nsetuptools.setup(\n    name='x',\n"
            "    install_requires=['pandas', \"dvc[s3]==3.67.1\"],\n"
            "    extras_require={'gs': ['dvc-gs>=3'], **{}},\n)\n"
            "setup_requires = ['dvc==1.0']  # not a setup() call\n"
        },
        [
            ("dvc", "setup.py", 5, 34, "3.67.1", "s3", "declaration"),
            ("dvc-gs", "setup.py", 6, 29, None, "", "declaration"),
        ],
    ),
    "PDM and Hatch lists, pdm.lock": (
        {
            "pyproject.toml": "[tool.pdm.dev-dependencies]\ntest = ['dvc-s3==3.3.0']\n"
            "[tool.hatch.envs.default]\ndependencies = ['dvc==3.67.1']\n"
            "extra-dependencies = ['dvc-gs']\n",
            "pdm.lock": "[[package]]\nname = 'dvc'\nversion = '3.67.1'\n",
        },
        [
            ("dvc-s3", "pyproject.toml", 2, 10, "3.3.0", "", "declaration"),
            ("dvc", "pyproject.toml", 4, 18, "3.67.1", "", "declaration"),
            ("dvc-gs", "pyproject.toml", 5, 24, None, "", "declaration"),
            ("dvc", "pdm.lock", 3, 12, "3.67.1", "", "lock"),
        ],
    ),
    "conda environment and its pip list": (
        {
            "environment.yml": "name: x\ndependencies:\n  - python=3.11\n"
            "  - conda-forge::dvc=3.67.1\n  - dvc-s3=3.3\n  - dvc-gs 3.0.2 pyhd8ed1ab_0\n"
            "  - pip:\n    - dvc-ssh==4.2.0\n    - -r requirements-pip.txt\n",
            "requirements-pip.txt": "dvc-azure==3.1.0\n",
        },
        [
            ("dvc-azure", "requirements-pip.txt", 1, 1, "3.1.0", "", "declaration"),
            ("dvc", "environment.yml", 4, 5, "3.67.1", "", "declaration"),
            ("dvc-s3", "environment.yml", 5, 5, None, "", "declaration"),
            ("dvc-gs", "environment.yml", 6, 5, "3.0.2", "", "declaration"),
            ("dvc-ssh", "environment.yml", 8, 7, "4.2.0", "", "declaration"),
        ],
    ),
    "Pipfile and Pipfile.lock": (
        {
            "Pipfile": "[[source]]\nurl = 'https://pypi.org/simple'\n[packages]\n"
            'dvc = "==3.67.1"\ndvc-s3 = "*"\n[dev-packages]\n'
            'dvc-gs = {version = ">=3", extras = ["x"]}\n',
            "Pipfile.lock": json.dumps(
                {
                    "_meta": {"hash": {"sha256": "x"}},
                    "default": {"dvc": {"version": "==3.67.1"}, "dvc-s3": {"version": "==3.3.0"}},
                    "develop": {},
                },
                indent=4,
            ),
        },
        [
            ("dvc", "Pipfile", 4, 8, "3.67.1", "", "declaration"),
            ("dvc-s3", "Pipfile", 5, 11, None, "", "declaration"),
            ("dvc-gs", "Pipfile", 7, 22, None, "x", "declaration"),
            ("dvc", "Pipfile.lock", 8, 9, "3.67.1", "", "lock"),
            ("dvc-s3", "Pipfile.lock", 11, 9, "3.3.0", "", "lock"),
        ],
    ),
    "uv.lock and poetry.lock": (
        {
            "uv.lock": "version = 1\n[[package]]\nname = 'pandas'\nversion = '2.0'\n"
            '[[package]]\nname = "dvc"\nversion = "3.67.1"\n'
            "[package.optional-dependencies]\ns3 = [{ name = 'dvc-s3' }]\n",
            "poetry.lock": '[[package]]\nname = "DVC_S3"\nversion = "3.3.0"\n',
        },
        [
            ("dvc-s3", "poetry.lock", 3, 12, "3.3.0", "", "lock"),
            ("dvc", "uv.lock", 7, 12, "3.67.1", "", "lock"),
        ],
    ),
}


@pytest.mark.parametrize("case", PIN_CASES, ids=list(PIN_CASES))
def test_find_pins_reads_every_format(case: str, make_repo: Callable[..., Path]) -> None:
    files, expected = PIN_CASES[case]
    project = Project(make_repo(files))
    found = [
        (
            p.package,
            p.path,
            p.mark.line,
            p.mark.column,
            p.version,
            ",".join(sorted(p.extras)),
            p.kind,
        )
        for p in find_pins(project)
    ]
    assert found == expected
    assert read_declarations(project).problems == []


def test_markers_are_kept(make_repo: Callable[..., Path]) -> None:
    project = Project(make_repo({"requirements.txt": 'dvc==3.67.1 ; sys_platform == "linux"\n'}))
    (pin,) = find_pins(project)
    assert pin.marker == 'sys_platform == "linux"'
    assert pin.text == 'dvc==3.67.1 ; sys_platform == "linux"'


# -- malformed files: one line each, never a traceback --------------------------------

PROBLEM_CASES = {
    "bad TOML": (
        {"Pipfile": "[[packages]\nname = 1\n"},
        "Pipfile:1:11: DG507 invalid TOML: Expected ']]' at the end of an array declaration",
    ),
    "lock with merge conflict markers": (
        {
            "uv.lock": "[[package]]\nname = 'dvc'\n<<<<<<< HEAD\nversion = '3.67.1'\n=======\n"
            "version = '3.66.0'\n>>>>>>> other\n"
        },
        "uv.lock:3:1: DG507 merge conflict markers: regenerate the lock",
    ),
    "bad requirement": (
        {"requirements.txt": "dvc==3.67.1\ndvc >= = 3\n"},
        "requirements.txt:2:1: DG507 not a valid requirement 'dvc >= = 3'",
    ),
    "include cycle": (
        {"requirements.txt": "-r b.txt\n", "b.txt": "dvc==3.67.1\n-r requirements.txt\n"},
        "b.txt:2:1: DG507 include cycle requirements.txt -> b.txt -> requirements.txt",
    ),
    "missing include": (
        {"requirements.txt": "dvc==3.67.1\n-c nowhere.txt\n"},
        "requirements.txt:2:1: DG507 included file 'nowhere.txt' does not exist",
    ),
    "bad Pipfile.lock": (
        {"Pipfile.lock": "{\n  'x': 1\n}\n"},
        "Pipfile.lock:2:3: DG507 invalid JSON",
    ),
    "bad setup.cfg": (
        {"setup.cfg": "install_requires = dvc\n"},
        "setup.cfg:1:1: DG507 invalid setup.cfg",
    ),
    "bad environment.yml": (
        {"environment.yml": "dependencies: [dvc\n"},
        "environment.yml:1:15: DG507 invalid YAML: did not find expected",
    ),
    "include-group naming no group": (
        {"pyproject.toml": "[dependency-groups]\ndev = [{include-group = 'test'}]\n"},
        "pyproject.toml:2:26: DG507 include-group 'test' names no group",
    ),
    "include-group cycle": (
        {
            "pyproject.toml": "[dependency-groups]\na = [{include-group = 'b'}]\n"
            "b = [{include-group = 'a'}]\n"
        },
        "pyproject.toml:3:24: DG507 dependency groups include a cycle a -> b -> a",
    ),
    "bad setup.py": (
        {"setup.py": "from setuptools import setup\nsetup(install_requires=['dvc'\n"},
        "setup.py:2:24: DG507 invalid Python: '[' was never closed",
    ),
    "undecodable file": (
        {"requirements.txt": b"dvc==3.67.1\n\xff\n"},
        "requirements.txt:2:1: DG507 not valid UTF-8",
    ),
}


@pytest.mark.parametrize("case", PROBLEM_CASES, ids=list(PROBLEM_CASES))
def test_malformed_files_give_one_line(
    case: str,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, expected = PROBLEM_CASES[case]
    in_dir(make_repo(files))
    assert check_dvc_pinned.main(["--no-installed"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    findings = [line for line in out.splitlines() if " DG507 " in line]
    assert len(findings) == 1, out
    assert findings[0].startswith(expected), out


# -- the rules -----------------------------------------------------------------------

# (files, expected "path:line:col CODE" lines) with the installed check off.
RULE_CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "DVC used, nothing declared": ({"dvc.yaml": DVC_YAML}, ["dvc.yaml:1:1 DG501"]),
    "DVC used, requirements without dvc": (
        {".dvc/config": "", "requirements.txt": "pandas\n"},
        ["requirements.txt:1:1 DG501"],
    ),
    "DVC not used, nothing declared": ({"requirements.txt": "pandas\n"}, []),
    "pinned everywhere": (
        {
            "dvc.yaml": DVC_YAML,
            "requirements.txt": "dvc==3.67.1\n",
            "pyproject.toml": "[project]\ndependencies = ['dvc==3.67.1']\n",
        },
        [],
    ),
    "not pinned": (
        {"dvc.yaml": DVC_YAML, "requirements.txt": "dvc>=3\n"},
        ["requirements.txt:1:1 DG502"],
    ),
    "conflicting pins name both": (
        {
            "pyproject.toml": "[project]\ndependencies = ['dvc==3.67.1']\n",
            "requirements.txt": "\ndvc==3.66.0\n",
        },
        ["requirements.txt:2:1 DG503"],
    ),
    "different markers may differ": (
        {
            "requirements.txt": "dvc==3.67.1; python_version >= '3.10'\n"
            "dvc==3.50.0; python_version < '3.10'\n"
        },
        [],
    ),
    "range governed by uv.lock": (
        {
            "pyproject.toml": "[project]\ndependencies = ['dvc>=3.60']\n",
            "uv.lock": "[[package]]\nname = 'dvc'\nversion = '3.67.1'\n",
        },
        [],
    ),
    "uv.lock outside the range": (
        {
            "pyproject.toml": "[project]\ndependencies = ['dvc>=3.60']\n",
            "uv.lock": "[[package]]\nname = 'dvc'\nversion = '3.50.0'\n",
        },
        ["uv.lock:3:12 DG504"],
    ),
    "poetry.lock differs from the exact pin": (
        {
            "pyproject.toml": "[tool.poetry.dependencies]\ndvc = '3.67.1'\n",
            "poetry.lock": "[[package]]\nname = 'dvc'\nversion = '3.66.0'\n",
        },
        ["poetry.lock:3:12 DG504"],
    ),
    "lock without the package": (
        {
            "pyproject.toml": "[project]\ndependencies = ['dvc==3.67.1']\n",
            "uv.lock": "version = 1\n",
        },
        ["uv.lock:1:1 DG504"],
    ),
    "Pipfile.lock differs": (
        {
            "Pipfile": "[packages]\ndvc = '*'\n",
            "Pipfile.lock": '{"default": {"dvc": {"version": "==3.0.0"}}}',
        },
        [],
    ),
    "a lone lock differs from a requirements pin": (
        {
            "requirements.txt": "dvc==3.67.1\n",
            "sub/uv.lock": "[[package]]\nname = 'dvc'\nversion = '3.0.0'\n",
        },
        ["sub/uv.lock:3:12 DG504"],
    ),
    "uv.lock and a compiled requirements.txt disagree": (
        {
            "pyproject.toml": "[project]\ndependencies = ['dvc>=3.60']\n",
            "uv.lock": "[[package]]\nname = 'dvc'\nversion = '3.67.1'\n",
            "requirements.in": "dvc>=3.60\n",
            "requirements.txt": "dvc==3.66.0 \\\n    --hash=sha256:00\n",
        },
        ["uv.lock:3:12 DG504"],
    ),
    "pip-compiled txt governs the .in": (
        {"requirements.in": "dvc>=3.60\n", "requirements.txt": "dvc==3.67.1\n"},
        [],
    ),
    "pip-compiled txt outside the .in range": (
        {"requirements.in": "dvc>=3.60\n", "requirements.txt": "dvc==3.50.0\n"},
        ["requirements.txt:1:1 DG504"],
    ),
    "constraints file pins a bare name": (
        {"requirements.txt": "-c constraints.txt\ndvc\n", "constraints.txt": "dvc==3.67.1\n"},
        [],
    ),
    "s3 remote without a plugin": (
        {
            ".dvc/config": "[core]\n    remote = s\n['remote \"s\"']\n    url = s3://bucket/x\n",
            "requirements.txt": "dvc==3.67.1\n",
        },
        [".dvc/config:4:11 DG506"],
    ),
    "s3 remote with dvc[s3]": (
        {
            ".dvc/config": "['remote \"s\"']\n    url = s3://bucket/x\n",
            "requirements.txt": "dvc[s3]==3.67.1\n",
        },
        [],
    ),
    "gs remote with dvc[all]": (
        {
            ".dvc/config": "['remote \"g\"']\n    url = gs://bucket/x\n",
            "requirements.txt": "dvc[all]==3.67.1\n",
        },
        [],
    ),
    "ssh remote with a pinned dvc-ssh": (
        {
            ".dvc/config": "['remote \"s\"']\n    url = ssh://host/x\n",
            "requirements.txt": "dvc==3.67.1\ndvc-ssh==4.2.0\n",
        },
        [],
    ),
    "plugin declared but not pinned": (
        {
            ".dvc/config": "['remote \"a\"']\n    url = azure://c/x\n",
            "requirements.txt": "dvc==3.67.1\ndvc-azure\n",
        },
        ["requirements.txt:2:1 DG502"],
    ),
    "http remote needs nothing": (
        {
            ".dvc/config": "['remote \"h\"']\n    url = https://example.invalid/x\n",
            "requirements.txt": "dvc==3.67.1\n",
        },
        [],
    ),
    "remote:// follows the other remote": (
        {
            ".dvc/config": "['remote \"base\"']\n    url = webdavs://host/x\n"
            "['remote \"sub\"']\n    url = remote://base/sub\n",
            "requirements.txt": "dvc==3.67.1\n",
        },
        [".dvc/config:2:11 DG506"],  # one finding per file and plugin
    ),
    "remote:// deps in dvc.yaml": (
        {
            ".dvc/config": "['remote \"data\"']\n    url = gdrive://folder-id\n",
            "dvc.yaml": "stages:\n  get:\n    cmd: x\n    deps:\n    - remote://data/raw.csv\n",
            "requirements.txt": "dvc==3.67.1\n",
        },
        [".dvc/config:2:11 DG506", "dvc.yaml:5:7 DG506"],
    ),
    "external outs in dvc.yaml": (
        {
            "dvc.yaml": "stages:\n  get:\n    cmd: x\n    deps:\n    - gs://b/in\n"
            "    outs:\n    - s3://b/out:\n        cache: false\n",
            "requirements.txt": "dvc==3.67.1\n",
        },
        ["dvc.yaml:5:7 DG506", "dvc.yaml:7:7 DG506"],
    ),
}


def run_check(root: Path, **options: object) -> list[str]:
    project = Project(root)
    context = CheckContext(project, None, {"installed": False, **options})
    return sorted(f"{f.path}:{f.line}:{f.column} {f.code}" for f in check(context))


@pytest.mark.parametrize("case", RULE_CASES, ids=list(RULE_CASES))
def test_rules(case: str, make_repo: Callable[..., Path]) -> None:
    files, expected = RULE_CASES[case]
    assert run_check(make_repo(files)) == expected


def test_messages_say_what_and_how(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(
        make_repo(
            {
                ".dvc/config": "['remote \"s\"']\n    url = s3://bucket/x\n",
                "pyproject.toml": "[tool.poetry.dependencies]\ndvc = '^3.0'\n",
                "requirements.txt": "dvc==3.67.1\ndvc==3.66.0; python_version > '3'\n",
            }
        )
    )
    assert check_dvc_pinned.main(["--no-installed"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        ".dvc/config:2:11: DG506 remote 's' (s3://bucket/x) needs dvc-s3, which no dependency "
        "file declares: add dvc-s3==X.Y.Z (or dvc[s3]) or DVC fails with \"requires 'dvc-s3' "
        'to be installed"',
        "pyproject.toml:2:8: DG502 dvc is declared as 'dvc = \"^3.0\"' in "
        '[tool.poetry.dependencies], not pinned exactly: write dvc = "3.67.1" '
        "(pinned at requirements.txt:1)",
        "requirements.txt:2:1: DG503 dvc is pinned to 3.66.0 here but to 3.67.1 at "
        "requirements.txt:1: pin one version everywhere",
        "Found 3 findings (1 error, 2 warnings) in 3 files.",
    ]


def test_corpus_plugin_cases_and_no_false_alarms() -> None:
    """DG506 fires on exactly the corpus cases DVC refused for a missing plugin."""
    if not (CORPUS / "VERDICTS.tsv").exists():
        pytest.skip("the shared corpus is not on this machine")
    with open(CORPUS / "VERDICTS.tsv", encoding="utf-8") as table:
        verdicts = {row["case"]: row["category"] for row in csv.DictReader(table, delimiter="\t")}
    flagged = {
        case for case in verdicts if any(f.endswith("DG506") for f in run_check(CORPUS / case))
    }
    assert flagged == {case for case, category in verdicts.items() if category == "plugin"}
    assert len(flagged) == 3


def test_plugin_needs_name_the_place(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            ".dvc/config": "['remote \"s\"']\n    url = oss://bucket/x\n",
            "dvc.yaml": "stages:\n  a:\n    foreach: [1]\n    do:\n      cmd: x\n      deps:\n"
            "      - hdfs://n/x\n",
        }
    )
    needs = [(n.package, n.extra, n.path, n.mark.line, n.what) for n in plugin_needs(Project(root))]
    assert needs == [
        ("dvc-oss", "oss", ".dvc/config", 2, "remote 's' (oss://bucket/x)"),
        ("dvc-hdfs", "hdfs", "dvc.yaml", 7, "stage 'a' dep hdfs://n/x"),
    ]


def test_import_url_dvc_files_need_plugins(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            "data/raw.csv.dvc": "md5: 0\nfrozen: true\ndeps:\n- etag: x\n  path: azure://c/raw.csv\n"
            "outs:\n- md5: 1\n  path: raw.csv\n",
            "requirements.txt": "dvc==3.67.1\n",
            ".dvc/config": "",
        }
    )
    assert run_check(root) == ["data/raw.csv.dvc:5:9 DG506"]


def test_inline_suppression_in_a_requirements_file(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`# dvc-gitops: ignore[DG502]` is a pip comment too; --fix leaves that line alone."""
    text = "dvc>=3  # dvc-gitops: ignore[DG502]\ndvc-s3==3.3.0\n"
    root = in_dir(make_repo({"requirements.txt": text, "pyproject.toml": "[project]\n"}))
    assert check_dvc_pinned.main(["--no-installed", "--fix"]) == 0
    assert (root / "requirements.txt").read_text() == text
    assert capsys.readouterr().out == "No findings.\n"


# -- the fixer -------------------------------------------------------------------------

FIX_CASES = {
    "requirements: only the specifier changes": (
        "requirements.txt",
        "# keep me\ndvc[s3] >= 3.0 ; python_version >= '3.10'  # and me\r\ndvc-gs\ndvc-ssh (>=4)\n",
        "# keep me\ndvc[s3] ==3.67.1 ; python_version >= '3.10'  # and me\r\n"
        "dvc-gs==3.67.1\ndvc-ssh ==3.67.1\n",
    ),
    "pyproject: PEP 621, PEP 735 and Poetry": (
        "pyproject.toml",
        "[project]\ndependencies = [\n  'dvc ; python_version > \"3\"',  # c\n]\n"
        '[dependency-groups]\ndev = ["dvc-s3>3"]\n'
        "[tool.poetry.dependencies]\ndvc-gs = { version = '^3.0', extras = ['a'] }\n",
        "[project]\ndependencies = [\n  'dvc==3.67.1 ; python_version > \"3\"',  # c\n]\n"
        '[dependency-groups]\ndev = ["dvc-s3==3.67.1"]\n'
        "[tool.poetry.dependencies]\ndvc-gs = { version = '3.67.1', extras = ['a'] }\n",
    ),
    "byte order mark and CRLF kept": (
        "requirements.txt",
        "\ufeffdvc>=3\r\npandas\r\n",
        "\ufeffdvc==3.67.1\r\npandas\r\n",
    ),
    "hashes: left alone": (
        "requirements.txt",
        "dvc>=3 \\\n    --hash=sha256:aa\n",
        "dvc>=3 \\\n    --hash=sha256:aa\n",
    ),
}


@pytest.mark.parametrize("case", FIX_CASES, ids=list(FIX_CASES))
def test_fix_edits_only_the_specifier(case: str, make_repo: Callable[..., Path]) -> None:
    """With the installed check off, --fix pins to the version pinned elsewhere."""
    name, before, after = FIX_CASES[case]
    # Each package is proposed the version it is pinned to elsewhere: pin each once.
    reference = "dvc==3.67.1\ndvc-s3==3.67.1\ndvc-gs==3.67.1\ndvc-ssh==3.67.1\n"
    root = make_repo({name: before, "pins/requirements-ref.txt": reference})
    context = CheckContext(Project(root), None, {"installed": False}, fix=True)
    findings = list(check(context))
    assert (root / name).read_bytes() == after.encode()
    if before == after:
        assert context.fixed == []
        assert [f.code for f in findings] == ["DG502"]
        assert "--fix left it: it carries --hash values" in findings[0].message
    else:
        assert context.fixed == [name]
        assert findings == []


# -- the installed version, from a real virtual environment -----------------------------

OLD_DVC = "3.50.0"


@pytest.fixture(scope="session")
def old_dvc_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real venv holding a real, older DVC (metadata is all the hook reads)."""
    venv = tmp_path_factory.mktemp("old-dvc") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            f"dvc=={OLD_DVC}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot install dvc=={OLD_DVC} from the package index: {done.stderr[-300:]}")
    return venv


@pytest.mark.slow
def test_installed_version_reads_that_interpreter(
    old_dvc_venv: Path, make_repo: Callable[..., Path]
) -> None:
    project = Project(make_repo({"requirements.txt": "dvc==3.67.1\n"}))
    python = str(old_dvc_venv / "bin" / "python")
    assert installed_version(project, "dvc", python=python) == OLD_DVC
    assert installed_version(project, "dvc-s3", python=python) is None
    # and not the interpreter running the tests, which has another DVC
    assert installed_version(project, "dvc") not in (None, OLD_DVC)


@pytest.mark.slow
def test_project_venv_and_virtual_env_are_found(
    old_dvc_venv: Path, make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo({"requirements.txt": "dvc==3.67.1\n"})
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert project_interpreter(Project(root)).source == "the interpreter running dvc-gitops"
    (root / ".venv").symlink_to(old_dvc_venv)
    found = project_interpreter(Project(root))
    assert (found.source, found.python) == (".venv", str(root / ".venv" / "bin" / "python"))
    assert installed_version(Project(root)) == OLD_DVC
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)  # pre-commit's own env: skipped
    assert project_interpreter(Project(root)).source == ".venv"
    other = make_repo({})
    monkeypatch.setenv("VIRTUAL_ENV", str(old_dvc_venv))
    assert project_interpreter(Project(other)).source == "$VIRTUAL_ENV"


@pytest.mark.slow
def test_installed_differs_from_the_pin(
    old_dvc_venv: Path,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    python = str(old_dvc_venv / "bin" / "python")
    in_dir(
        make_repo(
            {"dvc.yaml": DVC_YAML, "requirements.txt": "pandas\ndvc==3.67.1\ndvc-s3==3.3.0\n"}
        )
    )
    assert check_dvc_pinned.main(["--python", python]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"requirements.txt:2:1: DG505 dvc {OLD_DVC} is installed in --python ({python}) but "
        "pinned to 3.67.1 here: run `pip install dvc==3.67.1` there, or pin the installed version",
        f"requirements.txt:3:1: DG505 dvc-s3 is not installed in --python ({python}) but pinned "
        "to 3.3.0 here: run `pip install dvc-s3==3.3.0` there, or pin the installed version",
        "Found 2 findings (2 warnings) in 1 file.",
    ]


@pytest.mark.slow
def test_proposal_names_the_pin_and_the_installed_version(
    old_dvc_venv: Path,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(
        {
            "pyproject.toml": "[project]\ndependencies = ['dvc==3.67.1']\n",
            "requirements.txt": "dvc\n",
        }
    )
    (root / ".venv").symlink_to(old_dvc_venv)
    in_dir(root)
    assert check_dvc_pinned.main(["--fix"]) == 1
    assert (root / "requirements.txt").read_text() == "dvc==3.67.1\n"  # never a conflict
    assert check_dvc_pinned.main([]) == 1
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"pyproject.toml:2:18: DG505 dvc {OLD_DVC} is installed in .venv but pinned to 3.67.1 "
        "here: run `pip install dvc==3.67.1` there, or pin the installed version",
        "Found 1 finding (1 warning) in 1 file.",
    ]
    (root / "requirements.txt").write_text("dvc>=3\n")
    assert check_dvc_pinned.main(["--select", "DG502"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "requirements.txt:1:1: DG502 dvc is declared as 'dvc>=3', not pinned exactly: write "
        f"dvc==3.67.1 (pinned at pyproject.toml:2; {OLD_DVC} is installed in .venv)"
    )


@pytest.mark.slow
def test_fix_pins_the_installed_version(
    old_dvc_venv: Path,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo({"dvc.yaml": DVC_YAML, "requirements.txt": "dvc>=3  # any\n"}))
    (root / ".venv").symlink_to(old_dvc_venv)
    assert check_dvc_pinned.main(["--fix"]) == 1
    assert (root / "requirements.txt").read_text() == f"dvc=={OLD_DVC}  # any\n"
    assert capsys.readouterr().out == "requirements.txt: fixed\nNo findings.\n"
    assert check_dvc_pinned.main([]) == 0


@pytest.mark.slow
def test_plugin_from_an_extra_but_not_installed(
    old_dvc_venv: Path,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(
        make_repo(
            {
                ".dvc/config": "['remote \"s\"']\n    url = s3://bucket/x\n",
                "requirements.txt": f"dvc[s3]=={OLD_DVC} ; python_version >= '3.8'\n",
            }
        )
    )
    python = str(old_dvc_venv / "bin" / "python")
    assert check_dvc_pinned.main(["--python", python]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "requirements.txt:1:1: DG505 remote 's' (s3://bucket/x) needs dvc-s3, declared through "
        f"dvc[s3] here, but it is not installed in --python ({python}): run "
        f"`pip install 'dvc[s3]=={OLD_DVC}'` there",
        "Found 1 finding (1 warning) in 1 file.",
    ]


def test_a_python_that_is_not_one_is_a_usage_error(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo({"requirements.txt": "dvc==3.67.1\n", "fake-python": "#!/bin/sh\n"}))
    (root / "fake-python").chmod(0o755)
    # Inside the checked repository, an interpreter is never run (SECURITY.md).
    assert check_dvc_pinned.main(["--python", "fake-python"]) == 2
    assert capsys.readouterr().err == (
        "check-dvc-pinned: error: --python: 'fake-python' is inside the repository and not "
        "a virtual environment we can read as data: it is never run\n"
    )
    # Outside it, one the user names is asked, and a broken one is a usage error.
    outside = root.parent / "elsewhere"
    outside.mkdir()
    (outside / "fake-python").write_text("#!/bin/sh\n")
    (outside / "fake-python").chmod(0o755)
    (outside / "not-executable").write_text("print(1)\n")
    fake, plain = str(outside / "fake-python"), str(outside / "not-executable")
    assert check_dvc_pinned.main(["--python", fake]) == 2
    assert capsys.readouterr().err == (
        f"check-dvc-pinned: error: --python: '{fake}' is not a Python that can read "
        "package metadata: exit 0\n"
    )
    assert check_dvc_pinned.main(["--python", plain]) == 2
    assert capsys.readouterr().err == (
        f"check-dvc-pinned: error: --python: '{plain}' cannot run: Permission denied\n"
    )


def test_a_missing_python_is_a_usage_error(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(make_repo({"requirements.txt": "dvc==3.67.1\n"}))
    assert check_dvc_pinned.main(["--python", "no/such/python"]) == 2
    assert capsys.readouterr().err == (
        "check-dvc-pinned: error: --python: 'no/such/python' does not exist\n"
    )


def test_manifest_files_pattern_matches_what_the_hook_reads(make_repo: Callable[..., Path]) -> None:
    """pre-commit runs the hook when a file it reads changes, and only then."""
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (entry,) = [h for h in hooks if h["id"] == "check-dvc-pinned"]
    pattern = re.compile(entry["files"])
    read = [
        "requirements.txt",
        "dev-requirements.in",
        "requirements-dev.txt",
        "requirements/base.in",
        "sub/constraints.txt",
        "pyproject.toml",
        "setup.cfg",
        "Pipfile",
        "Pipfile.lock",
        "environment.yml",
        "environment-gpu.yaml",
        "conda.yaml",
        "uv.lock",
        "poetry.lock",
        "pdm.lock",
        "setup.py",
    ]
    ignored = ["MANIFEST.in", "config.h.in", "notes.txt", "src/x.py", "README.md"]
    root = make_repo(dict.fromkeys([*read, *ignored], ""))
    assert sorted(dependency_files(Project(root))) == sorted(read)
    assert [p for p in read if not pattern.search(p)] == []
    assert [p for p in ignored if pattern.search(p)] == []
    for also in ("dvc.yaml", "sub/dvc.yaml", ".dvc/config"):
        assert pattern.search(also), also
    assert not pattern.search(".dvc/config.local")


@pytest.mark.slow
def test_under_pre_commit_the_project_venv_is_compared(
    old_dvc_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """pre-commit sets VIRTUAL_ENV to the hook's own environment: `.venv/` must win."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    results = []
    for pin in ("3.67.1", OLD_DVC):
        scratch = tmp_path_factory.mktemp("scratch")
        write_tree(scratch, {"requirements.txt": f"dvc=={pin}\n", "dvc.yaml": DVC_YAML})
        (scratch / ".gitignore").write_text(".venv\n")
        (scratch / ".venv").symlink_to(old_dvc_venv)
        git_init(scratch)
        done = subprocess.run(
            [
                str(VENV_BIN / "pre-commit"),
                "try-repo",
                str(REPO),
                "check-dvc-pinned",
                "--all-files",
            ],
            cwd=scratch,
            env={**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        results.append((done.returncode, done.stdout + done.stderr))
    (failed, out), (passed, clean) = results
    assert failed == 1, out
    assert (
        f"requirements.txt:1:1: DG505 dvc {OLD_DVC} is installed in .venv but pinned to 3.67.1 here"
    ) in out
    assert passed == 0, clean
    assert "Passed" in clean


@pytest.mark.slow
def test_real_uv_lock_and_hashed_compile(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    """Files written by the real uv: its lock and `uv pip compile --generate-hashes`."""
    root = make_repo(
        {
            "pyproject.toml": "[project]\nname = 'demo'\nversion = '1.0'\n"
            "requires-python = '>=3.10'\ndependencies = ['dvc[s3]>=3.60']\n",
            "requirements.in": "dvc[s3]>=3.60\n",
            ".dvc/config": "['remote \"s\"']\n    url = s3://bucket/x\n",
        }
    )
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    for args in (
        ["lock", "--python", sys.executable, "-q"],
        [
            "pip",
            "compile",
            "-q",
            "--generate-hashes",
            "--python-version",
            "3.11",
            "requirements.in",
            "-o",
            "requirements.txt",
        ],
    ):
        done = subprocess.run(
            [str(VENV_BIN / "uv"), *args], cwd=root, env=env, capture_output=True, text=True
        )
        if done.returncode != 0 and "network" in done.stderr.lower():
            pytest.skip(f"uv cannot reach the package index: {done.stderr[-200:]}")
        assert done.returncode == 0, done.stderr
    pins = {(p.path, p.package): p for p in find_pins(Project(root))}
    locked = pins[("uv.lock", "dvc")]
    compiled = pins[("requirements.txt", "dvc")]
    assert locked.kind == "lock" and locked.version == compiled.version
    assert compiled.edit is None and "--hash" in compiled.no_edit
    assert pins[("uv.lock", "dvc-s3")].version == pins[("requirements.txt", "dvc-s3")].version
    assert run_check(root) == []
    # A lock left behind by a tighter pin is caught at its version line.
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(">=3.60", ">=99"))
    line = locked.mark.line
    assert run_check(root) == [f"uv.lock:{line}:12 DG504"]


@given(
    name=st.sampled_from(["dvc", "DVC", "dvc-s3", "dvc_gs", "Dvc.Azure"]),
    gap=st.sampled_from(["", " ", "  "]),
    extras=st.sampled_from(["", "[s3]", "[ s3 , gs ]", "[all]"]),
    spec=st.sampled_from(["", ">=3", " >= 3.0 , <4", "~=3.1", "==3.*", "(>=3)", "!=3.0", "<4"]),
    marker=st.sampled_from(["", '; python_version >= "3.10"', " ;sys_platform=='linux'"]),
    tail=st.sampled_from(["", " ", "\t"]),
)
def test_fixing_a_requirement_changes_only_its_specifier(
    name: str, gap: str, extras: str, spec: str, marker: str, tail: str
) -> None:
    text = f"{name}{gap}{extras}{spec}{marker}{tail}"
    try:
        before = Requirement(text)
    except InvalidRequirement:
        assume(False)
        raise
    edit = requirement_edit(text, 0)
    assert edit is not None
    fixed = edit.apply(text, "3.67.1")
    after = Requirement(fixed)
    assert str(after.specifier) == "==3.67.1"
    assert (after.name, after.extras, str(after.marker)) == (
        before.name,
        before.extras,
        str(before.marker),
    )
    inserted = len("==3.67.1")
    assert fixed[: edit.start] == text[: edit.start]
    assert fixed[edit.start + inserted :] == text[edit.end :]


CONFIG_CASES = {
    "default: compared with the interpreter running the tests": ("", 1, "DG505"),
    "installed = false": ("[tool.dvc-gitops.pinned]\ninstalled = false\n", 0, "No findings."),
    "a wrong type is a usage error": (
        '[tool.dvc-gitops.pinned]\ninstalled = "no"\n',
        2,
        "check-dvc-pinned: error: pyproject.toml: 'installed' in [tool.dvc-gitops.pinned] "
        "must be bool",
    ),
    "an unknown key is a usage error": (
        '[tool.dvc-gitops.pinned]\npyhton = "x"\n',
        2,
        "unknown key 'pyhton' in [tool.dvc-gitops.pinned] (did you mean 'python'?)",
    ),
}


@pytest.mark.parametrize("case", CONFIG_CASES, ids=list(CONFIG_CASES))
def test_config_table(
    case: str,
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`[tool.dvc-gitops.pinned]`: `installed` and `python`, checked like every table."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    table, code, expected = CONFIG_CASES[case]
    # the interpreter running the tests has the DVC this repository pins, never 3.0.0
    in_dir(make_repo({"pyproject.toml": f"[project]\ndependencies = ['dvc==3.0.0']\n{table}"}))
    assert check_dvc_pinned.main([]) == code
    out, err = capsys.readouterr()
    assert expected in out + err


FRAGMENTS = [
    "dvc",
    "dvc-s3",
    "==3.67.1",
    ">=3",
    "[s3]",
    "; python_version > '3'",
    " --hash=sha256:00",
    "\\\n",
    "\n",
    " # c",
    "-r x.txt",
    "-c requirements.txt",
    "[project]",
    "dependencies = [",
    "]",
    '"',
    "'",
    "=",
    "{",
    "}",
    "[[package]]",
    'name = "dvc"',
    'version = "1"',
    "install_requires =",
    "    ",
    "setup(install_requires=[",
    "extras_require={",
    "dependencies:",
    "  - ",
    "pip:",
    "\ufeff",
    "<<<<<<< ",
    "\x00",
]
DEPENDENCY_FILES = [
    "requirements.txt",
    "x.txt",
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "Pipfile",
    "Pipfile.lock",
    "uv.lock",
    "environment.yml",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(
        st.sampled_from(DEPENDENCY_FILES),
        st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
        min_size=1,
    )
)
def test_any_dependency_file_content_gives_findings_never_a_crash(
    files: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    write_tree(root, {**files, "dvc.yaml": DVC_YAML, ".dvc/config": ""})
    for fix in (False, True):
        # An invalid pyproject.toml is the config loader's usage error (exit 2): the
        # check itself runs with the default config.
        project = Project(root, config=Config())
        context = CheckContext(project, None, {"installed": False}, fix=fix)
        for finding in check(context):
            assert "\n" not in finding.message


def test_any_name_of_this_venv_is_read_in_process(tmp_path: Path) -> None:
    """bin/python3 or a symlinked .venv runs our own environment: no second Python."""
    from dvc_gitops.pins.interpreter import _is_this_environment

    assert _is_this_environment(sys.executable)
    bin_dir = Path(sys.executable).parent
    for name in ("python", "python3"):
        if (bin_dir / name).exists():
            assert _is_this_environment(str(bin_dir / name))
    if sys.prefix != sys.base_prefix:  # the tests run in a venv
        (tmp_path / ".venv").symlink_to(sys.prefix)
        assert _is_this_environment(str(tmp_path / ".venv" / "bin" / "python"))
        assert not _is_this_environment(os.path.realpath(sys.executable))  # the base Python
    assert not _is_this_environment(str(tmp_path / "bin" / "python"))


def test_versions_read_here_agree_with_importlib_metadata() -> None:
    """The in-process reader gives importlib.metadata's answer for every distribution
    installed in the test environment, and None for one that is not there."""
    import importlib.metadata

    from dvc_gitops.pins.interpreter import _only_path_distributions, _version_here

    assert _only_path_distributions()  # so the reader below is really ours
    names = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    assert len(names) > 50
    differ = {
        name: (_version_here(name), importlib.metadata.version(name))
        for name in names
        if _version_here(name) != importlib.metadata.version(name)
    }
    assert differ == {}
    for spelling in ("DVC", "dvc", "Dvc"):
        assert _version_here(spelling) == importlib.metadata.version("dvc")
    assert _version_here("ruamel.yaml") == importlib.metadata.version("ruamel-yaml")
    assert _version_here("no-such-distribution-dvc-gitops") is None
