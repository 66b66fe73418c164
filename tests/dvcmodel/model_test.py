"""The pipeline model against the real DVC: same stages, commands, paths and params.

Each case is a small repository; DVC (through `dvc_oracle`) and `build_pipeline` resolve
it, and the test compares what each stage runs and reads and writes. Cases DVC refuses
must leave an issue of the expected kind in the model.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from dvc_oracle import ask_dvc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvc_gitops.core.project import Project
from dvc_gitops.dvcmodel.model import Pipeline, build_pipeline
from dvc_gitops.formats.yamldoc import Mark


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


RICH = {
    "params.yaml": d(
        """
        train: {lr: 0.01, epochs: 3, fast: true, slow: false, layers: [64, 32]}
        models: [tree, forest]
        threshold: 0.5
        """
    ),
    "config.yaml": "model: {depth: 4}\npaths_unused: 1\n",
    "shared.yaml": d(
        """
        paths: {raw: data/raw.csv, prepared: data/prepared.csv}
        other: 2
        """
    ),
    "dvc.yaml": d(
        """
        vars:
          - config.yaml
          - shared.yaml:paths
          - seed: 7
            nested: {x: 1}
        stages:
          prepare:
            cmd: python prep.py --seed ${seed} ${train} --depth ${model.depth}
            deps:
              - prep.py
              - ${paths.raw}
            outs:
              - ${paths.prepared}
              - logs/prep.log:
                  cache: false
            params:
              - train.lr
              - config.yaml:
                  - model
          fe:
            foreach: ${models}
            do:
              cmd: python fe.py ${item} --x ${nested.x}
              deps:
                - ${paths.prepared}
              outs:
                - features/${item}.csv
          per_split:
            foreach:
              train: {frac: 0.8}
              test: {frac: 0.2}
            do:
              cmd: echo ${key} ${item.frac}
              outs:
                - splits/${key}.csv
          listdicts:
            foreach: [{name: a}, {name: b}]
            do:
              cmd: echo ${item.name}
          grid:
            matrix:
              model: ${models}
              lr: [0.1, 0.01]
              opt: [{name: sgd}, {name: adam}]
            cmd: python train.py --model ${item.model} --lr ${item.lr} --opt ${item.opt.name}
            deps:
              - features/${item.model}.csv
            outs:
              - models/${key}.pkl
          in_src:
            wdir: src
            cmd: python run.py \\${HOME} "${threshold}"
            vars:
              - local.yaml
            deps:
              - run.py
              - ../data/raw.csv
            params:
              - threshold
            metrics:
              - ../metrics/${local_name}.json:
                  cache: false
            plots:
              - ../plots/${local_name}.csv
        """
    ),
    "src/local.yaml": "local_name: scores\n",
    "src/params.yaml": "threshold: 0.7\n",
    "sub/params.yaml": "k: 5\n",
    "sub/dvc.yaml": d(
        """
        stages:
          inner:
            cmd:
              - echo ${k}
              - echo done
            deps:
              - ../prep.py
            outs:
              - out.txt
        """
    ),
}

# Cases DVC refuses while resolving, and the issue kind the model must record.
REFUSED = {
    "missing-key": ({"dvc.yaml": "stages:\n  a:\n    cmd: echo ${nope}\n"}, "missing"),
    "shell-default": (
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${ENV:-dev}\n"},
        "shell",
    ),
    "shell-env": ({"dvc.yaml": "stages:\n  a:\n    cmd: cd ${HOME} && ls\n"}, "shell"),
    "dict-in-outs": (
        {
            "params.yaml": "train: {lr: 1}\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: echo\n    outs:\n      - ${train}\n",
        },
        "type",
    ),
    "list-in-cmd": (
        {"params.yaml": "m: [a, b]\n", "dvc.yaml": "stages:\n  a:\n    cmd: echo ${m}\n"},
        "type",
    ),
    "template-in-vars": (
        {
            "params.yaml": "b: 1\n",
            "dvc.yaml": "vars:\n  - a: ${b}\nstages:\n  s:\n    cmd: echo ${a}\n",
        },
        "vars-template",
    ),
    "redefined": (
        {
            "params.yaml": "a: 1\n",
            "dvc.yaml": "vars:\n  - a: 2\nstages:\n  s:\n    cmd: echo ${a}\n",
        },
        "redefined",
    ),
    "vars-file-missing": (
        {"dvc.yaml": "vars:\n  - ../config.yaml\nstages:\n  s:\n    cmd: echo\n"},
        "vars-file-missing",
    ),
    "vars-key-missing": (
        {
            "c.yaml": "a: 1\n",
            "dvc.yaml": "vars:\n  - c.yaml:a,b\nstages:\n  s:\n    cmd: echo ${a}\n",
        },
        "vars-key-missing",
    ),
    "empty-template": ({"dvc.yaml": "stages:\n  a:\n    cmd: echo ${}\n"}, "syntax"),
    "foreach-scalar": (
        {
            "params.yaml": "n: 3\n",
            "dvc.yaml": "stages:\n  a:\n    foreach: ${n}\n    do:\n      cmd: echo\n",
        },
        "foreach-not-iterable",
    ),
    "reserved-item": (
        {
            "dvc.yaml": d(
                """
                stages:
                  a:
                    foreach: [x, y]
                    do:
                      vars:
                        - item: 1
                      cmd: echo ${item}
                """
            )
        },
        "reserved",
    ),
    "params-not-list": (
        {
            "p.yaml": "lr: 1\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: echo\n    params:\n      - p.yaml: lr\n",
        },
        "params-not-list",
    ),
    # The stage's vars load part of a file the dvc.yaml's vars loaded whole.
    "vars-partial-after-whole": (
        {
            "sub/conf/c.yaml": "x: 1\n",
            "sub/dvc.yaml": d(
                """
                vars:
                  - conf/c.yaml
                stages:
                  s:
                    wdir: conf
                    vars:
                      - c.yaml:x
                    cmd: echo ${x}
                """
            ),
        },
        "redefined",
    ),
    "top-level-metrics": (
        {"dvc.yaml": "metrics:\n  - ${reports}/m.json\nstages:\n  s:\n    cmd: echo\n"},
        "missing",
    ),
    "params-yaml-list": (
        {"params.yaml": "- 1\n", "dvc.yaml": "stages:\n  s:\n    cmd: echo\n"},
        "params-unreadable",
    ),
    "stage-vars-redefine": (
        {
            "params.yaml": "a: 1\n",
            "dvc.yaml": "stages:\n  s:\n    vars:\n      - a: 2\n    cmd: echo ${a}\n",
        },
        "redefined",
    ),
}

# Cases DVC accepts: the model must agree on the stages and record no error issue.
ACCEPTED = {
    "rich": RICH,
    "matrix-string": {
        "dvc.yaml": "stages:\n  m:\n    matrix:\n      x: ab\n    cmd: echo ${item.x}\n",
    },
    "escapes": {
        "params.yaml": "a: 1\n",
        "dvc.yaml": "stages:\n  e:\n    cmd: echo \\${a} $HOME \\\\${a} ${a}\n",
    },
    "duplicate-items": {
        "dvc.yaml": "stages:\n  f:\n    foreach: [a, b, a]\n    do:\n      cmd: echo ${item}\n",
    },
    "flags-config": {
        ".dvc/config": "[core]\n    no_scm = True\n[parsing]\n    bool = boolean_optional\n"
        "    list = append\n",
        "params.yaml": "o: {on: true, off: false, xs: [1, 'a b'], name: n, deep: {k: 1}}\n",
        "dvc.yaml": "stages:\n  f:\n    cmd: run ${o}\n",
    },
    "types-in-text": {
        "params.yaml": "i: 1\nf: 1.0e-05\nn: null\nb: false\ns: x\n",
        "dvc.yaml": "stages:\n  t:\n    cmd: echo ${i} ${f} ${n} ${b} ${s}-${i}\n",
    },
    "vars-same-file-twice": {
        "c.yaml": "a: 1\nb: 2\n",
        "dvc.yaml": "vars:\n  - c.yaml\n  - c.yaml\nstages:\n  s:\n    cmd: echo ${a}\n",
    },
    "vars-keys-split": {
        "c.yaml": "a: 1\nb: 2\n",
        "dvc.yaml": "vars:\n  - c.yaml:a\n  - c.yaml:b\nstages:\n  s:\n    cmd: echo ${a}${b}\n",
    },
    "merge-nested": {
        "params.yaml": "t: {a: 1}\n",
        "c.yaml": "t: {b: 2}\n",
        "dvc.yaml": "vars:\n  - c.yaml\nstages:\n  s:\n    cmd: echo ${t.a} ${t.b}\n",
    },
    "templated-wdir-and-keys": {
        # Int keys never reach DVC's context, so `sized` makes no stages at all.
        "params.yaml": "dir: src\nfile: p.yaml\nsizes: {1: small, 2: large}\n"
        "flags: [true, false]\n",
        "src/p.yaml": "lr: 1\n",
        "dvc.yaml": d(
            """
            stages:
              w:
                wdir: ${dir}
                cmd: python run.py
                params:
                  - ${file}:
                      - lr
              sized:
                foreach: ${sizes}
                do:
                  cmd: echo ${key} ${item}
              flagged:
                foreach: ${flags}
                do:
                  cmd: echo ${item}
              mx:
                matrix:
                  f: ${flags}
                  rate: [0.1, 1.0e-3]
                cmd: echo ${key}
              local:
                vars:
                  - extra: 5
                cmd: echo ${extra}
            """
        ),
    },
    "params-yaml-empty": {
        "params.yaml": "# nothing yet\n",
        "dvc.yaml": "stages:\n  s:\n    cmd: x\n",
    },
    "anchors-and-merge-keys": {
        "dvc.yaml": d(
            """
            stages:
              a: &stage
                cmd: python run.py a
                deps: [shared.py]
              b:
                <<: *stage
                cmd: python run.py b
              c:
                cmd: python run.py c
                deps: &inputs [a.csv, b.csv]
              e:
                cmd: python run.py e
                deps: *inputs
            """
        ),
    },
    "whole-string-types": {
        "params.yaml": "n: 3\nflag: true\n",
        "dvc.yaml": "stages:\n  s:\n    cmd: ['${n}', 'x${flag}']\n    frozen: false\n",
    },
}


@pytest.fixture(scope="module")
def dvc_says(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    cases = {**{k: v for k, (v, _) in REFUSED.items()}, **ACCEPTED}
    return ask_dvc(tmp_path_factory.mktemp("oracle"), cases)


def model_of(tmp_path: Path, files: dict[str, str]) -> Pipeline:
    from conftest import write_tree

    write_tree(tmp_path, {".dvc/config": "", **files})
    return build_pipeline(Project(tmp_path))


def as_dvc_shows(pipeline: Pipeline) -> dict[str, Any]:
    """The model's stages in the shape of the oracle's answer."""
    shown: dict[str, Any] = {}
    for stage in pipeline.stages.values():
        params: dict[str, list[str]] = {}
        for p in stage.params:
            keys = params.setdefault(p.file, [])
            if p.key is not None:
                keys.append(p.key)
        shown[stage.address] = {
            "cmd": stage.cmds,
            "wdir": stage.wdir,
            "deps": [r.path for r in stage.deps],
            "params": {k: sorted(v) for k, v in params.items()},
            "outs": [o.path for o in stage.outs],
        }
    return shown


def normalised(dvc: dict[str, Any]) -> dict[str, Any]:
    """DVC's answer with `cmd` always a list of strings (the model's shape)."""
    result = {}
    for address, stage in dvc.items():
        cmd = stage["cmd"]
        cmds = [cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        result[address] = {**stage, "cmd": cmds}
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_model_resolves_as_dvc_does(
    name: str, dvc_says: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    dvc = dvc_says[name]
    assert "error" not in dvc, dvc
    pipeline = model_of(tmp_path, ACCEPTED[name])
    assert as_dvc_shows(pipeline) == normalised(dvc["stages"])
    assert list(pipeline.stages) == list(dvc["stages"])  # same order too
    errors = [i for i in pipeline.issues if i.kind != "matrix-string"]
    assert errors == []
    assert pipeline.problems == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_model_records_what_dvc_refuses(
    name: str, dvc_says: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    files, kind = REFUSED[name]
    assert "error" in dvc_says[name], dvc_says[name]
    pipeline = model_of(tmp_path, files)
    assert kind in {i.kind for i in pipeline.issues}, pipeline.issues
    assert pipeline.problems  # the dvc.yaml DVC refuses is named


def test_marks_point_at_the_yaml_that_produced_each_value(tmp_path: Path) -> None:
    pipeline = model_of(tmp_path, RICH)
    prepare = pipeline.stages["prepare"]
    assert prepare.mark == Mark(7, 3)
    assert prepare.cmd_mark == Mark(8, 10)
    assert [r.mark for r in prepare.deps] == [Mark(10, 9), Mark(11, 9)]
    assert [(o.path, o.mark, o.cache) for o in prepare.outs] == [
        ("data/prepared.csv", Mark(13, 9), True),
        ("logs/prep.log", Mark(14, 9), False),
    ]
    assert [(p.file, p.key, p.mark) for p in prepare.params] == [
        ("params.yaml", "train.lr", Mark(17, 9)),
        ("config.yaml", "model", Mark(19, 13)),
    ]
    # Foreach members point into the shared `do` template.
    fe = pipeline.stages["fe@forest"]
    assert (fe.definition, fe.member, fe.json_path) == ("fe", "forest", ("stages", "fe"))
    assert fe.template_path == ("stages", "fe", "do")
    assert fe.outs[0].mark == Mark(27, 11)
    grid = pipeline.stages["grid@forest-0.01-opt1"]
    assert grid.outs[0].raw == "models/forest-0.01-opt1.pkl"
    sub = pipeline.stages["sub/dvc.yaml:inner"]
    assert (sub.dvcfile, sub.wdir, sub.deps[0].path) == ("sub/dvc.yaml", "sub", "prep.py")


def test_graph_helpers_follow_deps_to_outs(tmp_path: Path) -> None:
    pipeline = model_of(tmp_path, RICH)
    assert pipeline.producers()["features/tree.csv"] == "fe@tree"
    assert ("prepare", "fe@tree") in pipeline.edges()
    assert ("fe@forest", "grid@forest-0.1-opt0") in pipeline.edges()
    order = pipeline.topological_order()
    assert order.index("prepare") < order.index("fe@tree") < order.index("grid@tree-0.1-opt0")
    assert set(pipeline.downstream("prepare")) >= {"fe@tree", "fe@forest", "grid@tree-0.1-opt0"}
    assert pipeline.downstream("fe@tree") == [
        "grid@tree-0.1-opt0",
        "grid@tree-0.1-opt1",
        "grid@tree-0.01-opt0",
        "grid@tree-0.01-opt1",
    ]
    assert pipeline.upstream("grid@tree-0.1-opt0") == ["prepare", "fe@tree"]
    assert pipeline.context("dvc.yaml")["seed"] == 7
    assert pipeline.context("sub/dvc.yaml") == {"k": 5}


def test_producers_are_remembered_per_path_and_handed_out_as_copies(tmp_path: Path) -> None:
    pipeline = model_of(tmp_path, RICH)
    first = pipeline.producers_of("features")
    assert first == ["fe@forest", "fe@tree"]  # sorted by output path
    first.append("changed by a caller")
    assert pipeline.producers_of("features") == ["fe@forest", "fe@tree"]
    assert pipeline.producers_of("features/tree.csv") == ["fe@tree"]
    assert pipeline.producers_of("nowhere.csv") == []


def test_a_dep_directory_links_to_outputs_below_it(tmp_path: Path) -> None:
    pipeline = model_of(
        tmp_path,
        {
            "dvc.yaml": d(
                """
                stages:
                  a: {cmd: x, outs: [data/a.csv]}
                  b: {cmd: x, outs: [data/b]}
                  c: {cmd: x, deps: [data]}
                  e: {cmd: x, deps: [data/b/part.csv]}
                """
            )
        },
    )
    assert sorted(pipeline.edges()) == [("a", "c"), ("b", "c"), ("b", "e")]


def test_the_model_never_raises_on_broken_files(tmp_path: Path) -> None:
    pipeline = model_of(
        tmp_path,
        {
            "dvc.yaml": "stages: [1, 2\n",
            "a/dvc.yaml": "- just a list\n",
            "b/dvc.yaml": "stages:\n  s: 5\n  t:\n    foreach: 3\n    do: {cmd: x}\n",
            "c/dvc.yaml": "stages:\n  m:\n    matrix: {x: 5}\n    cmd: x\n",
            "c/params.yaml": "[unclosed\n",
            "e/dvc.yaml": "vars: [{a: {b: 1}}, {a: {b: 2}}]\nstages: {s: {cmd: '${a.b}'}}\n",
        },
    )
    assert set(pipeline.problems) == {
        "dvc.yaml",
        "a/dvc.yaml",
        "b/dvc.yaml",
        "c/dvc.yaml",
        "e/dvc.yaml",
    }
    # What resolved stays usable (e/dvc.yaml's stage saw the first definition).
    assert list(pipeline.stages) == ["e/dvc.yaml:s"]


def test_a_missing_vars_file_does_not_also_report_every_missing_key(tmp_path: Path) -> None:
    pipeline = model_of(
        tmp_path,
        {"dvc.yaml": "vars: [gone.yaml]\nstages:\n  s: {cmd: 'echo ${a} ${b}'}\n"},
    )
    assert [i.kind for i in pipeline.issues] == ["vars-file-missing"]


@pytest.mark.slow
def test_dvc_yaml_files_dvc_never_loads_are_left_out(tmp_path: Path) -> None:
    from conftest import VENV_BIN, git_init, write_tree

    root = write_tree(
        tmp_path,
        {
            ".gitignore": "scratch/\n",
            "dvc.yaml": "stages:\n  a: {cmd: x, outs: [made]}\n",
            "made/dvc.yaml": "stages:\n  hidden: {cmd: x}\n",
            "scratch/dvc.yaml": "stages:\n  ignored: {cmd: x}\n",
            "z/dvc.yaml": "stages:\n  seen: {cmd: x}\n",
            "z/.dvcignore": "drafts/\n",
            "z/drafts/dvc.yaml": "stages:\n  draft: {cmd: x}\n",
            "inner/dvc.yaml": "stages:\n  own: {cmd: x}\n",
        },
    )
    git_init(root)
    subprocess.run([str(VENV_BIN / "dvc"), "init", "-q"], cwd=root, check=True)
    subprocess.run(
        [str(VENV_BIN / "dvc"), "init", "-q", "--subdir"], cwd=root / "inner", check=True
    )
    listed = subprocess.run(
        [str(VENV_BIN / "dvc"), "stage", "list", "--all", "--fail", "--name-only"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    inner = subprocess.run(
        [str(VENV_BIN / "dvc"), "stage", "list", "--all", "--fail", "--name-only"],
        cwd=root / "inner",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    pipeline = build_pipeline(Project(root))
    # The nested project is a pipeline of its own: DVC at the root never loads it, DVC
    # in inner/ loads only it.
    assert list(pipeline.part(".").stages) == listed == ["a", "z/dvc.yaml:seen"]
    assert list(pipeline.part("inner").stages) == ["inner/dvc.yaml:own"]
    assert inner == ["own"]
    assert pipeline.ignored == {"made/dvc.yaml": "a", "scratch/dvc.yaml": "ignored by git"}
    assert "z/drafts/dvc.yaml" not in pipeline.project_of  # hidden by z/.dvcignore


_WORDS = st.sampled_from(
    [
        "a",
        "b",
        "item",
        "key",
        "x.csv",
        "dir",
        "dir/x",
        "${a}",
        "${b.c}",
        "${item}",
        "${key}",
        "${a[0]}",
        "${}",
        "${HOME}",
        "\\${a}",
        "p ${a} q",
        "${d}",
        "../up",
        ".",
    ]
)
_SCALARS = st.one_of(_WORDS, st.integers(-2, 3), st.booleans(), st.none(), st.floats(0, 1))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_WORDS, inner, max_size=3)
    ),
    max_leaves=8,
)
_STAGE_KEYS = st.sampled_from(
    [
        "cmd",
        "deps",
        "outs",
        "params",
        "metrics",
        "plots",
        "foreach",
        "do",
        "matrix",
        "wdir",
        "vars",
        "frozen",
        "always_changed",
    ]
)
_STAGES = st.dictionaries(
    st.sampled_from(["s", "t", "u"]), st.dictionaries(_STAGE_KEYS, _VALUES, max_size=5), max_size=3
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stages=_STAGES,
    top_vars=st.lists(st.one_of(_WORDS, st.dictionaries(_WORDS, _VALUES, max_size=2)), max_size=2),
    params=st.dictionaries(_WORDS, _VALUES, max_size=4),
)
def test_the_model_never_crashes_on_any_shape(
    tmp_path: Path, stages: dict[str, Any], top_vars: list[Any], params: dict[str, Any]
) -> None:
    import json
    import shutil

    root = tmp_path / "fuzz"
    shutil.rmtree(root, ignore_errors=True)
    pipeline = model_of(
        root,
        {
            "dvc.yaml": json.dumps({"vars": top_vars, "stages": stages}),
            "params.yaml": json.dumps(params),
        },
    )
    crashes = [p for p in pipeline.problems.values() if p.startswith("could not resolve")]
    assert crashes == []
    pipeline.topological_order()
    pipeline.edges()


def test_a_dvc_project_in_a_subfolder_keeps_its_stages(tmp_path: Path) -> None:
    # `dvc init --subdir` in ml/ of a git repository without a DVC root of its own.
    from conftest import write_tree

    root = write_tree(
        tmp_path, {"ml/.dvc/config": "", "ml/dvc.yaml": "stages:\n  train: {cmd: x}\n"}
    )
    pipeline = build_pipeline(Project(root))
    assert list(pipeline.stages) == ["ml/dvc.yaml:train"]
    assert pipeline.ignored == {}
