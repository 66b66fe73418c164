"""check-dvc-deps: the stages it flags, the ones it must not, and the exact fixes."""

from __future__ import annotations

import difflib
import json
import os
import posixpath
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest
from conftest import CORPUS, TESTS, VENV_BIN, venv_tool
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_gitops.core.project import Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel.commands import scripts_in
from dvc_gitops.dvcmodel.deps import add_deps
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.formats.yamldoc import load
from dvc_gitops.hooks.check_dvc_deps import CHECK, main


def y(text: str) -> str:
    """A YAML text written indented in the test, as the file holds it."""
    return dedent(text).lstrip("\n")


# --- the fixer alone: exact text in, exact text out --------------------------------------

FIXES: list[tuple[str, str, tuple[str | int, ...], list[str], str]] = [
    (
        "block list: a line after the last item, same prefix",
        y("""
        stages:
          train:
            cmd: python src/train.py
            deps:
              - data.csv  # raw
            outs:
              - model.pkl
        """),
        ("stages", "train"),
        ["src/train.py"],
        y("""
        stages:
          train:
            cmd: python src/train.py
            deps:
              - data.csv  # raw
              - src/train.py
            outs:
              - model.pkl
        """),
    ),
    (
        "indentless list and double quotes are copied",
        y("""
        stages:
          train:
            cmd: python x.py
            deps:
            - "data.csv"
        """),
        ("stages", "train"),
        ["x.py", "y.py"],
        y("""
        stages:
          train:
            cmd: python x.py
            deps:
            - "data.csv"
            - "x.py"
            - "y.py"
        """),
    ),
    (
        "single quotes and odd spacing are copied",
        "stages:\n  t:\n    cmd: python x.py\n    deps: \n      -   'a b.csv'\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\n  t:\n    cmd: python x.py\n    deps: \n      -   'a b.csv'\n      -   'x.py'\n",
    ),
    (
        "flow list",
        "stages:\n  t:\n    cmd: python x.py\n    deps: [a.csv, b.csv]  # both\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\n  t:\n    cmd: python x.py\n    deps: [a.csv, b.csv, x.py]  # both\n",
    ),
    (
        "empty flow list",
        "stages:\n  t:\n    cmd: python x.py\n    deps: []\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\n  t:\n    cmd: python x.py\n    deps: [x.py]\n",
    ),
    (
        "no deps: created after cmd, indented like outs",
        y("""
        stages:
          t:
            # train it
            cmd: python x.py   # go
            outs:
            - m.pkl
        """),
        ("stages", "t"),
        ["x.py"],
        y("""
        stages:
          t:
            # train it
            cmd: python x.py   # go
            deps:
            - x.py
            outs:
            - m.pkl
        """),
    ),
    (
        "no deps after a folded block cmd with a blank line",
        y("""
        stages:
          t:
            cmd: >-
              python x.py
              --lr 1

            outs:
              - m
        """),
        ("stages", "t"),
        ["x.py"],
        y("""
        stages:
          t:
            cmd: >-
              python x.py
              --lr 1
            deps:
              - x.py

            outs:
              - m
        """),
    ),
    (
        "no deps after a list cmd, at the end of a file without a final newline",
        "stages:\n  t:\n    cmd:\n      - python a.py\n      - python b.py",
        ("stages", "t"),
        ["a.py", "b.py"],
        "stages:\n  t:\n    cmd:\n      - python a.py\n      - python b.py\n"
        "    deps:\n      - a.py\n      - b.py\n",
    ),
    (
        "no deps after an indentless list cmd followed by a key (found by hypothesis)",
        y("""
        stages:
          train:
            cmd:
            - python src/train.py
            - echo done
            outs:
            - model.pkl
        """),
        ("stages", "train"),
        ["src/train.py"],
        y("""
        stages:
          train:
            cmd:
            - python src/train.py
            - echo done
            deps:
            - src/train.py
            outs:
            - model.pkl
        """),
    ),
    (
        "foreach: into the do template",
        y("""
        stages:
          fe:
            foreach: [a, b]
            do:
              cmd: python x.py ${item}
              outs:
                - out/${item}
        """),
        ("stages", "fe", "do"),
        ["x.py"],
        y("""
        stages:
          fe:
            foreach: [a, b]
            do:
              cmd: python x.py ${item}
              deps:
                - x.py
              outs:
                - out/${item}
        """),
    ),
    (
        "CRLF line breaks are kept",
        "stages:\r\n  t:\r\n    cmd: python x.py\r\n    deps:\r\n      - a\r\n",
        ("stages", "t"),
        ["x.py"],
        "stages:\r\n  t:\r\n    cmd: python x.py\r\n    deps:\r\n      - a\r\n      - x.py\r\n",
    ),
    (
        "a path YAML would type as a number is quoted",
        "stages:\n  t:\n    cmd: ./2024\n",
        ("stages", "t"),
        ["2024", "a b.py"],
        'stages:\n  t:\n    cmd: ./2024\n    deps:\n      - "2024"\n      - "a b.py"\n',
    ),
]


@pytest.mark.parametrize(
    ("before", "path", "deps", "after"),
    [f[1:] for f in FIXES],
    ids=[f[0] for f in FIXES],
)
def test_add_deps_changes_only_the_new_lines(
    before: str, path: tuple[str | int, ...], deps: list[str], after: str
) -> None:
    assert add_deps(load(before, "dvc.yaml"), path, deps) == after


@pytest.mark.parametrize(
    "text",
    [
        "stages:\n  t: {cmd: python x.py}\n",  # flow mapping: not ours to re-layout
        "stages:\n  t:\n    cmd: python x.py\n    deps:\n",  # null deps: a schema error
        "stages:\n  t:\n    cmd: python x.py\n    deps: {a: 1}\n",  # not a list
    ],
)
def test_add_deps_refuses_layouts_it_cannot_edit_safely(text: str) -> None:
    assert add_deps(load(text, "dvc.yaml"), ("stages", "t"), ["x.py"]) is None


# --- the check on resolved pipelines -----------------------------------------------------

SCRIPTS = {
    "src/train.py": "",
    "src/prepare.py": "",
    "src/fe.py": "",
    "src/a.py": "",
    "src/b.py": "",
    "pkg/__init__.py": "",
    "pkg/__main__.py": "",
    "pkg/job.py": "",
    "sub/run.py": "",
    "run.sh": "",
    "report.ipynb": "{}",
    "data.csv": "x\n",
}


def findings_of(
    make_repo: Callable[..., Path], dvc_yaml: str, extra: dict[str, str] | None = None
) -> list[tuple[int, int, str, str]]:
    """(line, column, code, message) of each deps finding (DG20x) on this dvc.yaml."""
    root = make_repo({**SCRIPTS, "dvc.yaml": y(dvc_yaml), **(extra or {})})
    project = Project(root)
    context = CheckContext(project, None)
    found = (f for f in CHECK.run(context) if f.code.startswith("DG20"))
    return sorted((f.line, f.column, f.code, f.message) for f in found)


# (name, dvc.yaml, [(line, column, the dep line the message asks for) ...])
STAGES: list[tuple[str, str, list[tuple[int, int, str]]]] = [
    (
        "script missing",
        "stages:\n  t:\n    cmd: python src/train.py\n    outs: [model.pkl]\n",
        [(3, 10, "src/train.py")],
    ),
    (
        "script in deps",
        "stages:\n  t:\n    cmd: python src/train.py\n    deps: [src/train.py]\n",
        [],
    ),
    ("dep folder covers it", "stages:\n  t:\n    cmd: python src/train.py\n    deps: [src]\n", []),
    ("dep '.' covers all", "stages:\n  t:\n    cmd: python src/train.py\n    deps: [.]\n", []),
    (
        "a sibling folder does not cover it",
        "stages:\n  t:\n    cmd: python src/train.py\n    deps: [sr, src/train]\n",
        [(3, 10, "src/train.py")],
    ),
    (
        "interpreter flags and env prefix",
        "stages:\n  t:\n    cmd: PYTHONPATH=. python -u -W ignore src/train.py\n"
        "    deps: [src/train.py]\n",
        [],
    ),
    (
        "data files and configs are not scripts",
        "stages:\n  t:\n    cmd: python src/train.py data.csv params.yaml\n"
        "    deps: [src/train.py]\n",
        [],
    ),
    (
        "system commands and URLs",
        "stages:\n  t:\n    cmd: curl -o data.csv https://x.org/src/train.py && wc -l data.csv\n",
        [],
    ),
    (
        "two scripts, one missing",
        "stages:\n  t:\n    cmd: python src/prepare.py && python src/train.py\n"
        "    deps: [src/prepare.py]\n",
        [(3, 10, "src/train.py")],
    ),
    (
        "wdir: the dep line is relative to it",
        "stages:\n  t:\n    wdir: sub\n    cmd: python ../src/train.py && python run.py\n"
        "    deps: [run.py]\n",
        [(4, 10, "../src/train.py")],
    ),
    (
        "cd changes the directory for the rest",
        "stages:\n  t:\n    cmd: cd sub && python run.py\n    deps: [src]\n",
        [(3, 10, "sub/run.py")],
    ),
    (
        "python -m module",
        "stages:\n  t:\n    cmd: python -m pkg.job\n    outs: [o]\n",
        [(3, 10, "pkg/job.py")],
    ),
    (
        "python -m package: covered by its __main__.py",
        "stages:\n  t:\n    cmd: python -m pkg\n    deps: [pkg/__main__.py]\n",
        [],
    ),
    (
        "python -m package missing",
        "stages:\n  t:\n    cmd: python -m pkg\n    outs: [o]\n",
        [(3, 10, "pkg")],
    ),
    (
        "interpolated script path, resolved",
        "vars:\n  - script: src/train.py\nstages:\n  t:\n    cmd: python ${script}\n"
        "    outs: [o]\n",
        [(5, 10, "src/train.py")],
    ),
    (
        "a list cmd: each item at its own line",
        "stages:\n  t:\n    cmd:\n      - bash run.sh\n"
        "      - jupyter nbconvert --execute report.ipynb\n    deps: [run.sh]\n",
        [(5, 9, "report.ipynb")],
    ),
    (
        "frozen stages are not re-run anyway",
        "stages:\n  t:\n    cmd: python src/train.py\n    frozen: true\n",
        [],
    ),
    (
        "a script the stage writes is an output",
        "stages:\n  t:\n    cmd: python src/train.py src/fe.py\n    deps: [src/train.py]\n"
        "    outs: [src/fe.py]\n",
        [],
    ),
    (
        "a script that does not exist is not a deps finding (DG252's)",
        "stages:\n  t:\n    cmd: python src/missing.py\n",
        [],
    ),
    (
        "foreach, same script for every member: one finding, at the template",
        "stages:\n  fe:\n    foreach: [a, b]\n    do:\n      cmd: python src/fe.py ${item}\n"
        '      outs: ["o-${item}"]\n',
        [(5, 12, "src/fe.py")],
    ),
    (
        "foreach, a script per member: the template's word",
        "stages:\n  fe:\n    foreach: [a, b]\n    do:\n      cmd: python src/${item}.py\n"
        '      outs: ["o-${item}"]\n',
        [(5, 12, "src/${item}.py")],
    ),
    (
        "foreach, a script per member, one covered: one finding for the other",
        "stages:\n  fe:\n    foreach: [a, b]\n    do:\n      cmd: python src/${item}.py\n"
        "      deps: [src/a.py]\n",
        [(5, 12, "src/b.py")],
    ),
    (
        "matrix, a script per member",
        "stages:\n  m:\n    matrix:\n      s: [a, b]\n    cmd: python src/${item.s}.py --x\n"
        '    outs: ["o-${item.s}"]\n',
        [(5, 10, "src/${item.s}.py")],
    ),
    (
        "foreach covered with ${item}",
        "stages:\n  fe:\n    foreach: [a, b]\n    do:\n      cmd: python src/${item}.py\n"
        "      deps: [src/${item}.py]\n",
        [],
    ),
    (
        "matrix",
        "stages:\n  m:\n    matrix:\n      n: [1, 2]\n    cmd: python src/fe.py ${item.n}\n"
        '    outs: ["o-${item.n}"]\n',
        [(5, 10, "src/fe.py")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [s[1:] for s in STAGES], ids=[s[0] for s in STAGES])
def test_check(
    text: str, expected: list[tuple[int, int, str]], make_repo: Callable[..., Path]
) -> None:
    got = findings_of(make_repo, text)
    assert [(line, col) for line, col, _, _ in got] == [(ln, c) for ln, c, _ in expected]
    for (_, _, code, message), (_, _, dep) in zip(got, expected, strict=True):
        assert code == "DG201"
        assert f'add "- {dep}"' in message


def test_message_names_the_stage_and_what_to_do(make_repo: Callable[..., Path]) -> None:
    [(_, _, _, message)] = findings_of(
        make_repo, "stages:\n  train:\n    cmd: python src/train.py\n    outs: [model.pkl]\n"
    )
    assert message == (
        "stage 'train' runs src/train.py but its deps do not cover it: DVC will not re-run "
        'the stage when it changes; add "- src/train.py" to its deps'
    )


def test_foreach_messages(make_repo: Callable[..., Path]) -> None:
    same = findings_of(
        make_repo,
        "stages:\n  fe:\n    foreach: [a, b]\n    do:\n      cmd: python src/fe.py\n"
        '      outs: ["o-${item}"]\n',
    )
    assert "every member of 'fe' (fe@a, fe@b) runs src/fe.py" in same[0][3]
    assert same[0][3].endswith("to the deps under 'do'")


def test_a_templated_dep_fixes_every_member(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (
        "stages:\n  fe:\n    foreach: [a, b]\n    do:\n      cmd: python src/${item}.py\n"
        '      outs: ["o-${item}"]\n'
    )
    root = in_dir(make_repo({**SCRIPTS, "dvc.yaml": text}))
    assert main([]) == 1
    assert "every member of 'fe' (fe@a, fe@b) runs src/${item}.py" in capsys.readouterr().out
    assert main(["--fix"]) == 1
    assert (root / "dvc.yaml").read_text() == text.replace(
        "      outs:", '      deps:\n        - "src/${item}.py"\n      outs:'
    )
    capsys.readouterr()
    assert main([]) == 0  # DVC resolves the dep per member, as the model does


def test_unparsable_cmd_is_a_notice(make_repo: Callable[..., Path]) -> None:
    [(line, _, code, message)] = findings_of(
        make_repo, "stages:\n  t:\n    cmd: python 'src/train.py\n"
    )
    assert (line, code) == (3, "DG202")
    assert "unbalanced quote" in message


def test_stages_of_other_files_and_selected_files(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            **SCRIPTS,
            "dvc.yaml": "stages:\n  t:\n    cmd: python src/train.py\n    outs: [o]\n",
            "sub/dvc.yaml": "stages:\n  s:\n    cmd: python run.py\n    outs: [o]\n",
        }
    )
    project = Project(root)
    every = list(CHECK.run(CheckContext(project, None)))
    assert sorted((f.path, f.line) for f in every) == [("dvc.yaml", 3), ("sub/dvc.yaml", 3)]
    assert (
        'add "- run.py" to its deps' in next(f for f in every if f.path == "sub/dvc.yaml").message
    )
    only = list(CHECK.run(CheckContext(project, ["sub/dvc.yaml", "src/train.py"])))
    assert [f.path for f in only] == ["sub/dvc.yaml"]


# --- why it matters, shown with the real dvc ---------------------------------------------


def dvc(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(root.parent / "dvc-site-cache"),
    }
    done = venv_tool("dvc", root, *args, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_real_dvc_misses_a_changed_script_until_it_is_a_dep(
    make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]
) -> None:
    root = make_repo(
        {
            "data.txt": "1\n2\n",
            "train.py": "open('out.txt', 'w').write(str(len(open('data.txt').readlines())))\n",
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n"
            "    deps:\n      - data.txt\n    outs:\n      - out.txt\n",
        },
        git=True,
    )
    dvc(root, "init", "-q")
    dvc(root, "repro", "-q")
    assert (root / "out.txt").read_text() == "2"
    # The script changes: DVC does not notice, the output is stale.
    (root / "train.py").write_text("open('out.txt', 'w').write('changed')\n")
    assert json.loads(dvc(root, "status", "--json")) == {}
    assert (root / "out.txt").read_text() == "2"

    in_dir(root)
    assert main([]) == 1
    assert main(["--fix"]) == 1
    assert "      - train.py\n" in (root / "dvc.yaml").read_text()
    assert main([]) == 0
    # Now a dep, the changed script makes the stage stale, and repro brings it up to date.
    status = json.loads(dvc(root, "status", "--json"))
    assert list(status) == ["train"]
    dvc(root, "repro", "-q")
    assert (root / "out.txt").read_text() == "changed"
    assert json.loads(dvc(root, "status", "--json")) == {}


# --- DG203: local modules a script imports -------------------------------------------------

LIBRARY = {
    "src/train.py": "import json\nfrom model import fit\nfrom lib import tools\n",
    "src/model.py": "from .layers import dense\n",
    "src/layers.py": "",
    "src/lib/__init__.py": "",
    "src/lib/tools.py": "",
    "src/lib/more.py": "",
}


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        ("[src]", []),
        ("[src/train.py, src/model.py, src/layers.py, src/lib]", []),
        ("[src/train.py, src/lib]", ['add "- src/model.py", "- src/layers.py" to its deps']),
        (
            "[src/train.py]",
            [
                "stage 't' imports src/model.py, src/lib/tools.py, src/layers.py "
                "(through src/train.py) but its deps do not cover them"
            ],
        ),
    ],
)
def test_imports(deps: str, expected: list[str], make_repo: Callable[..., Path]) -> None:
    text = f"stages:\n  t:\n    cmd: python src/train.py\n    deps: {deps}\n"
    got = findings_of(make_repo, text, LIBRARY)
    assert [code for _, _, code, _ in got] == ["DG203"] * len(expected)
    for (_, _, _, message), part in zip(got, expected, strict=True):
        assert part in message


def test_many_imports_are_counted_and_their_folder_offered(make_repo: Callable[..., Path]) -> None:
    modules = {f"src/m{n}.py": "" for n in range(5)}
    main_script = "".join(f"import m{n}\n" for n in range(5))
    text = "stages:\n  t:\n    cmd: python src/train.py\n    deps: [src/train.py]\n"
    [(_, _, code, message)] = findings_of(make_repo, text, {**modules, "src/train.py": main_script})
    assert code == "DG203"
    assert "imports 5 local modules (src/m0.py, src/m1.py, src/m2.py, ...)" in message
    assert message.endswith('add each of them (--fix does) or their folder "- src" to its deps')


def test_script_and_imports_both_missing(make_repo: Callable[..., Path]) -> None:
    text = "stages:\n  t:\n    cmd: python src/train.py\n    deps: [src/lib]\n"
    got = findings_of(make_repo, text, LIBRARY)
    assert [code for _, _, code, _ in got] == ["DG201", "DG203"]


# --- 155 real dvc.yaml files -------------------------------------------------------------

# An independent, deliberately simple reading of `python [flags] x.py`, as an oracle.
_PYTHON_RUNS = re.compile(r"(?:^|[;&|(]\s*|\s)python[\d.]*\s+(?:-[uBOIsSE]+\s+)*([\w./-]+\.py)\b")


def _stage_names(message: str, definitions: dict[str, list[str]]) -> list[str]:
    """The stages a finding names: "stage 'a'", "stages 'a', 'b'", "every member of ...",
    "all 1,071 members of 'x'" (`definitions`: a definition's member names)."""
    members = re.match(r"every member of '[^']+' \(([^)]+)\)", message)
    if members:
        return members.group(1).split(", ")
    every = re.match(r"all [\d,]+ members of '([^']+)'", message)
    if every:
        return definitions.get(every.group(1), [])
    listed = re.match(r"stages? ((?:'[^']+'(?:, )?)+)", message)
    return re.findall(r"'([^']+)'", listed.group(1)) if listed else []


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not on this machine")
def test_corpus_agrees_with_a_simple_reading(tmp_path: Path) -> None:
    """Every real dvc.yaml checks without a crash, and each `python x.py` whose script no
    dep covers is reported with exactly that dep line (scripts materialised as empty files).
    """
    stages = expected = agreed = reported = 0
    for n, case in enumerate(sorted(p for p in CORPUS.iterdir() if (p / "dvc.yaml").is_file())):
        root = tmp_path / str(n)
        root.mkdir()
        (root / "dvc.yaml").write_bytes((case / "dvc.yaml").read_bytes())
        wanted: set[tuple[str, str]] = set()
        for stage in pipeline_of(Project(root)).stages.values():
            deps = [d.path for d in stage.deps] + [o.path for o in stage.outs]
            for cmd in stage.cmds:
                for word in re.findall(r"[\w./-]+\.(?:py|R|sh|ipynb)\b", cmd):
                    target = root / stage.wdir / word
                    if not word.startswith("/") and target.resolve().is_relative_to(root):
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.touch()
                if "cd " in cmd or stage.frozen:
                    continue  # beyond the oracle
                if stage.always_changed or not (stage.deps or stage.outs or stage.params):
                    continue  # DVC runs it every time: no dep is missing
                for script in _PYTHON_RUNS.findall(cmd):
                    path = posixpath.normpath(posixpath.join(stage.wdir, script))
                    if path.startswith("..") or path.startswith("/"):
                        continue
                    if not any(path == d or path.startswith(d + "/") or d == "." for d in deps):
                        wanted.add((stage.name, posixpath.relpath(path, stage.wdir)))
        project = Project(root)
        stages += len(pipeline_of(project).stages)
        # the deps rules only: the scripts materialised empty are no code to read
        findings = [f for f in CHECK.run(CheckContext(project, None)) if f.code < "DG21"]
        assert all(f.code in ("DG201", "DG202", "DG203") for f in findings)
        definitions: dict[str, list[str]] = {}
        for stage in pipeline_of(project).stages.values():
            definitions.setdefault(stage.definition, []).append(stage.name)
        got = {
            (name, dep)
            for f in findings
            for name in _stage_names(f.message, definitions)
            for dep in re.findall(r'add "- ([^"]+)"', f.message)
        }
        reported += sum(f.code == "DG201" for f in findings)
        expected += len(wanted)
        agreed += len(wanted & got)
    print(
        f"\ncorpus: {stages} stages; {reported} DG201 findings; the simple reading expects "
        f"{expected} and {agreed} of them are reported ({agreed / max(expected, 1):.0%})"
    )
    assert expected > 20  # the corpus really has such stages
    assert agreed == expected


# --- --fix through the hook's main ---------------------------------------------------------


def test_fix_edits_what_it_can_and_reports_the_rest(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (
        "stages:\n"
        "  packed: {cmd: python src/prepare.py, outs: [a.csv]}\n"
        "  train:\n"
        "    cmd: python src/train.py\n"
        "    outs: [model.pkl]\n"
    )
    root = in_dir(make_repo({**SCRIPTS, "dvc.yaml": text}))
    assert main(["--fix"]) == 1
    assert (root / "dvc.yaml").read_text() == text.replace(
        "    outs: [model.pkl]", "    deps:\n      - src/train.py\n    outs: [model.pkl]"
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dvc.yaml: fixed"
    assert out[1].startswith("dvc.yaml:2:17: DG201 stage 'packed' runs src/prepare.py")
    assert main([]) == 1  # the flow mapping is left to its author
    assert "DG201" in capsys.readouterr().out


def test_fix_cannot_write(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    text = "stages:\n  train:\n    cmd: python src/train.py\n    outs: [model.pkl]\n"
    root = in_dir(make_repo({**SCRIPTS, "dvc.yaml": text}))
    target = root / "dvc.yaml"
    target.chmod(0o444)
    if os.geteuid() == 0:  # root writes read-only files: make it immutable instead
        made = subprocess.run(["chattr", "+i", str(target)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip("root, and no chattr to make a file unwritable")
        request.addfinalizer(lambda: subprocess.run(["chattr", "-i", str(target)], check=False))
    assert main(["--fix"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("check-dvc-deps: cannot write dvc.yaml: ")
    assert "DG201" in captured.out
    assert (root / "dvc.yaml").read_text() == text


def test_without_fix_nothing_is_written(
    make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]
) -> None:
    text = "stages:\n  train:\n    cmd: python src/train.py\n    outs: [model.pkl]\n"
    root = in_dir(make_repo({**SCRIPTS, "dvc.yaml": text}))
    assert main(["dvc.yaml"]) == 1
    assert (root / "dvc.yaml").read_text() == text


# --- properties: any layout, the fix only inserts ----------------------------------------


@st.composite
def stage_layouts(draw: st.DrawFn) -> str:
    """A dvc.yaml stage written in one of the many ways people write them."""
    indent = " " * draw(st.sampled_from([2, 4]))
    item = indent * 2 + draw(st.sampled_from(["- ", "  - ", "-   ", indent + "- "]))
    quote = draw(st.sampled_from(["", "'", '"']))
    cmd = draw(
        st.sampled_from(
            [
                "cmd: python src/train.py",
                "cmd: python src/train.py  # go",
                "cmd: 'python src/train.py'",
                "cmd: >-\n" + indent * 3 + "python src/train.py\n" + indent * 3 + "--lr 1",
                "cmd: |\n" + indent * 3 + "python src/train.py\n",
                "cmd:\n" + item + "python src/train.py\n" + item + "echo done",
            ]
        )
    )
    lines = ["# pipeline", "stages:", f"{indent}train:"]
    if draw(st.booleans()):
        lines.append(f"{indent * 2}# the model")
    lines.append(indent * 2 + cmd)
    deps = draw(st.sampled_from(["none", "block", "flow", "empty"]))
    if deps == "block":
        lines += [f"{indent * 2}deps:", f"{item}{quote}data.csv{quote}  # input"]
    elif deps == "flow":
        lines.append(f"{indent * 2}deps: [{quote}data.csv{quote}]")
    elif deps == "empty":
        lines.append(f"{indent * 2}deps: []")
    if draw(st.booleans()):
        lines.append("")
    if draw(st.booleans()):
        lines += [f"{indent * 2}outs:", f"{item}model.pkl"]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@settings(max_examples=150, deadline=None)
@given(stage_layouts())
def test_fix_only_inserts(text: str) -> None:
    doc = load(text, "dvc.yaml")
    after = add_deps(doc, ("stages", "train"), ["src/train.py", "src/utils.py"])
    assert after is not None, text
    data = load(after, "dvc.yaml").data["stages"]["train"]
    assert data["deps"][-2:] == ["src/train.py", "src/utils.py"]
    # Every byte of the original survives, in order: the edit only inserted text.
    matcher = difflib.SequenceMatcher(a=text, b=after, autojunk=False)
    assert all(tag == "insert" for tag, *_ in matcher.get_opcodes() if tag != "equal"), after


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("python -m x.py;&|()'\"\\\n$=>cd/src"))))
def test_any_command_text_is_read_without_error(cmd: str) -> None:
    scripts_in(cmd, ".", PROPERTY_PROJECT)


PROPERTY_PROJECT = Project(TESTS)


# --- DG204: scripts a stage's shell script runs --------------------------------------------


def test_scripts_run_by_a_shell_script(make_repo: Callable[..., Path]) -> None:
    extra = {"run.sh": "cd src\npython train.py\npython prepare.py\n"}
    text = "stages:\n  t:\n    cmd: bash run.sh\n    deps: [run.sh, src/prepare.py]\n"
    [(line, _, code, message)] = findings_of(make_repo, text, extra)
    assert (line, code) == (3, "DG204")
    assert message == (
        "stage 't' runs src/train.py (through run.sh) but its deps do not cover it: DVC will "
        'not re-run the stage when it changes; add "- src/train.py" to its deps'
    )
    covered = "stages:\n  t:\n    cmd: bash run.sh\n    deps: [run.sh, src]\n"
    assert findings_of(make_repo, covered, extra) == []
