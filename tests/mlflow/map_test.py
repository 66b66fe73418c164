"""The map document: loading, schema problems at their positions, lookup, `map init`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator  # type: ignore[import-untyped]

from dvc_gitops.cli import main as cli_main
from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.project import Project
from dvc_gitops.formats import yamldoc
from dvc_gitops.formats.yamldoc import Mark, YamlProblem
from dvc_gitops.mlflow.map import (
    DEFAULT_MAP,
    ExperimentMap,
    MappedStage,
    dump_map,
    load_map,
    map_path,
)
from dvc_gitops.mlflow.runtime import tracking_uri

SCHEMA = REPO / "dvc_gitops/schema/mlflow-map.schema.json"

GOOD = """\
version: 1
tracking_uri: sqlite:///mlflow.db
stages:
  train:
    experiment: churn
    registered_model: churn-model
  "fe@*":
    experiment: features
  fe@special:
    experiment: special
  sub/dvc.yaml:report:
    experiment: report
    description: weekly
"""


def test_schema_is_valid_draft7() -> None:
    Draft7Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_good_map_loads(make_repo: Callable[..., Path]) -> None:
    emap = load_map(Project(make_repo({DEFAULT_MAP: GOOD})))
    assert emap.problems == []
    assert emap.tracking_uri == "sqlite:///mlflow.db"
    assert [(e.pattern, e.experiment, e.registered_model) for e in emap.stages] == [
        ("train", "churn", "churn-model"),
        ("fe@*", "features", None),
        ("fe@special", "special", None),
        ("sub/dvc.yaml:report", "report", None),
    ]
    assert emap.stages[0].mark == Mark(4, 3)


@pytest.mark.parametrize(
    ("address", "experiment"),
    [
        ("train", "churn"),
        ("fe@a", "features"),
        ("fe@special", "special"),  # an exact key wins over an earlier glob
        ("sub/dvc.yaml:report", "report"),
        ("report", None),
        ("fe", None),
        ("training", None),
    ],
)
def test_entry_for(make_repo: Callable[..., Path], address: str, experiment: str | None) -> None:
    entry = load_map(Project(make_repo({DEFAULT_MAP: GOOD}))).entry_for(address)
    assert (entry.experiment if entry else None) == experiment


def test_missing_map(make_repo: Callable[..., Path]) -> None:
    emap = load_map(Project(make_repo({"dvc.yaml": "stages: {}\n"})))
    assert (emap.exists, emap.stages, emap.problems) == (False, [], [])


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", [(1, 1, "the map is empty")]),
        ("version: 1\nstages: {}\nextra: 1\n", [(3, 1, "unknown key 'extra' in the map")]),
        (
            "version: 1\nstage: {}\n",
            [(1, 1, "'stages' is missing"), (2, 1, "unknown key 'stage' in the map (did you mean")],
        ),
        ("stages: {}\n", [(1, 1, "'version' is missing from the map")]),
        ("version: '1'\nstages: {}\n", [(1, 10, "'version' must be 1, not '1'")]),
        ("version: 1\nstages:\n  t: churn\n", [(3, 6, "stage 't' must be a mapping, not str")]),
        (
            "version: 1\nstages:\n  t:\n    experiment: ''\n",
            [(4, 17, "'experiment' of stage 't' is empty")],
        ),
        (
            "version: 1\nstages:\n  t:\n    experiment: 3\n",
            [(4, 17, "'experiment' of stage 't' must be a string, not int")],
        ),
        ("version: 1\ntracking_uri: [a]\nstages: {}\n", [(2, 15, "'tracking_uri' must be")]),
        (
            "version: 1\nstages:\n  t: {experiment: a}\n  t: {experiment: b}\n",
            [(4, 3, "duplicate key 't'")],
        ),
        ("- a\n", [(1, 1, "the map must be a mapping, not list")]),
        (
            "version: 1\nstages:\n  1: {experiment: x}\n",
            [(3, 3, 'stage address 1 is read by YAML as a int, not text: quote it ("1")')],
        ),
        (
            "version: 1\nstages: {~: {experiment: x}, true: {experiment: y}}\n",
            [(2, 10, "a null stage address in 'stages'"), (2, 30, "stage address true is")],
        ),
        ("version: 1\nstages: {'': {experiment: x}}\n", [(2, 10, "an empty stage address")]),
        ("version:\nstages: {}\n", [(1, 9, "'version' must be 1, not empty")]),
    ],
)
def test_problems_have_positions(
    make_repo: Callable[..., Path], text: str, problems: list[tuple[int, int, str]]
) -> None:
    emap = load_map(Project(make_repo({DEFAULT_MAP: text})))
    found = [(p.mark.line, p.mark.column, p.message) for p in emap.problems]
    assert len(found) == len(problems), found
    for (line, column, message), (want_line, want_column, start) in zip(
        found, problems, strict=True
    ):
        assert (line, column) == (want_line, want_column), message
        assert message.startswith(start), message


def test_yaml_errors_keep_the_parsers_position(make_repo: Callable[..., Path]) -> None:
    text = "version: 1\nstages: {t: [\n"
    with pytest.raises(YamlProblem) as parsed:
        yamldoc.load(text, DEFAULT_MAP)
    emap = load_map(Project(make_repo({DEFAULT_MAP: text})))
    assert [(p.mark, p.message) for p in emap.problems] == [
        (parsed.value.mark, parsed.value.message)
    ]
    assert emap.problems[0].message.startswith("invalid YAML")


def test_valid_entries_survive_invalid_ones(make_repo: Callable[..., Path]) -> None:
    text = "version: 1\nstages:\n  a: {experiment: x}\n  b: {experimnt: y}\n"
    emap = load_map(Project(make_repo({DEFAULT_MAP: text})))
    assert [e.pattern for e in emap.stages] == ["a"]
    assert len(emap.problems) == 2  # b: missing experiment, unknown experimnt


def test_configured_map_path(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            "pyproject.toml": '[tool.dvc-gitops.mlflow]\nmap = "ml/experiments.yaml"\n',
            "ml/experiments.yaml": "version: 1\nstages: {t: {experiment: e}}\n",
        }
    )
    project = Project(root)
    assert map_path(project) == "ml/experiments.yaml"
    assert load_map(project).stages[0].experiment == "e"


def test_bad_config_is_a_usage_error(make_repo: Callable[..., Path]) -> None:
    root = make_repo({"pyproject.toml": "[tool.dvc-gitops.mlflow]\nmapp = 'x.yaml'\n"})
    with pytest.raises(ConfigError, match=r"unknown key 'mapp'.*did you mean 'map'"):
        map_path(Project(root))


def test_dump_map_reads_back(make_repo: Callable[..., Path]) -> None:
    entries = [
        ("train", "churn", "churn-model", "named in train.py:3"),
        ("fe@*", "features", None, ""),
        ("sub/dvc.yaml:report", "true", None, ""),
        ("odd: key", "a #b", None, ""),
    ]
    text = dump_map(entries, "sqlite:///mlflow.db")
    data = yaml.safe_load(text)
    assert data["tracking_uri"] == "sqlite:///mlflow.db"
    assert {k: v["experiment"] for k, v in data["stages"].items()} == {
        "train": "churn",
        "fe@*": "features",
        "sub/dvc.yaml:report": "true",
        "odd: key": "a #b",
    }
    emap = load_map(Project(make_repo({DEFAULT_MAP: text})))
    assert emap.problems == []
    assert emap.entry_for("train") == MappedStage("train", "churn", "churn-model", Mark(6, 3))


def test_tracking_uri_is_anchored_at_the_root(tmp_path: Path) -> None:
    emap = ExperimentMap("m.yaml", exists=True)
    assert tracking_uri(emap, tmp_path) == f"sqlite:///{tmp_path.as_posix()}/mlflow.db"
    emap.tracking_uri = "sqlite:////abs/x.db"
    assert tracking_uri(emap, tmp_path) == "sqlite:////abs/x.db"
    emap.tracking_uri = "http://127.0.0.1:5000"
    assert tracking_uri(emap, tmp_path) == "http://127.0.0.1:5000"


MLFLOW_REPO = {
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n  prep:\n    cmd: python prep.py\n",
    "train.py": "import mlflow\nmlflow.set_experiment('churn')\n",
    "prep.py": "print('no tracking')\n",
}


def test_map_init_writes_a_valid_map(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo(MLFLOW_REPO, git=True))
    assert cli_main(["map", "init"]) == 0
    assert "mapped 1 stage(s)" in capsys.readouterr().out
    text = (root / DEFAULT_MAP).read_text()
    assert "  train:  # named in train.py:2\n    experiment: churn\n" in text
    from dvc_gitops.hooks.check_mlflow_map import main as hook_main

    assert hook_main([]) == 0  # the map it writes passes the check


def test_map_init_refuses_to_overwrite(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo({**MLFLOW_REPO, DEFAULT_MAP: "# mine\n"}, git=True))
    assert cli_main(["map", "init"]) == 2
    assert "mlflow-experiments.yaml exists" in capsys.readouterr().err
    assert (root / DEFAULT_MAP).read_text() == "# mine\n"
    assert cli_main(["map", "init", "--force", "--tracking-uri", "sqlite:///m.db"]) == 0
    assert "tracking_uri: sqlite:///m.db\n" in (root / DEFAULT_MAP).read_text()


def test_map_init_without_mlflow_stages(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo({"dvc.yaml": "stages:\n  a:\n    cmd: echo\n"}, git=True))
    assert cli_main(["map", "init"]) == 0
    assert "no stage's scripts use MLflow" in capsys.readouterr().out
    assert load_map(Project(root)).problems == []


NAMES = st.text(min_size=1, max_size=30).filter(lambda t: t.strip() == t and "\x00" not in t)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.dictionaries(NAMES, NAMES, min_size=1, max_size=4), uri=NAMES)
def test_dump_map_round_trips_any_text(
    make_repo: Callable[..., Path], entries: dict[str, str], uri: str
) -> None:
    text = dump_map([(k, v, v, "") for k, v in entries.items()], uri)
    root = make_repo({DEFAULT_MAP: text})
    project = Project(root)
    emap = load_map(project)
    assert emap.problems == []
    assert emap.tracking_uri == uri
    assert [(e.pattern, e.experiment, e.registered_model) for e in emap.stages] == [
        (k, v, v) for k, v in entries.items()
    ]


def test_map_init_outside_a_dvc_project_writes_nothing(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = in_dir(make_repo({"train.py": "import mlflow\n"}, git=True))
    assert cli_main(["map", "init"]) == 2
    assert capsys.readouterr().err == (
        f"dvc-gitops: error: {root} is not a DVC project (no .dvc folder, no dvc.yaml): "
        "run `dvc init` there first\n"
    )
    assert not (root / DEFAULT_MAP).exists()
