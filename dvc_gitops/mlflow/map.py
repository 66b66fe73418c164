"""The stage -> MLflow experiment map (`mlflow-experiments.yaml`): loaded, validated, written.

```yaml
version: 1
tracking_uri: sqlite:///mlflow.db     # optional; used when MLFLOW_TRACKING_URI is unset
stages:
  train:                              # a stage address, as `dvc stage list` prints it
    experiment: churn-train
    registered_model: churn-model     # optional
  "fe@*":                             # a glob: every foreach/matrix member of `fe`
    experiment: churn-features
```

The check (`hooks/check_mlflow_map.py`), the runtime helper (`mlflow.py`) and `doctor`
read it through `load_map`, which never raises: what is wrong sits in `.problems`.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

import click
import yaml

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.files import WriteRefused, write_text
from dvc_gitops.core.project import FileProblem, Project, find_root
from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlDoc, YamlProblem

DEFAULT_MAP = "mlflow-experiments.yaml"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "mlflow-map.schema.json"
# MLflow's own default since 3.7; the helper anchors the relative path at the repo root.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
GLOB_CHARS = frozenset("*?[")

# `[tool.dvc-gitops.mlflow]`: key -> accepted types.
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "map": str,
    "online": bool,
    "offline-ok": bool,
    "timeout": (int, float),
}


@dataclass(frozen=True)
class MappedStage:
    """One entry of the map: a stage address or glob and where its runs go."""

    pattern: str
    experiment: str
    registered_model: str | None
    mark: Mark  # the entry's key in the map

    @property
    def is_glob(self) -> bool:
        return bool(GLOB_CHARS & set(self.pattern))

    def matches(self, address: str) -> bool:
        if self.is_glob:
            return fnmatch.fnmatchcase(address, self.pattern)
        return address == self.pattern

    @property
    def json_path(self) -> JsonPath:
        return ("stages", self.pattern)


@dataclass(frozen=True)
class MapProblem:
    """Why (part of) the map cannot be used, and where."""

    mark: Mark
    message: str
    unreadable: bool = False  # the file itself could not be read (DG002, not DG601)


@dataclass
class ExperimentMap:
    """The map document as far as it could be read; `problems` says what is wrong."""

    path: str  # repo-relative
    exists: bool
    doc: YamlDoc | None = None
    tracking_uri: str | None = None
    stages: list[MappedStage] = field(default_factory=list)
    problems: list[MapProblem] = field(default_factory=list)

    def entry_for(self, address: str) -> MappedStage | None:
        """The entry for a stage address: an exact key first, else the first matching glob."""
        for entry in self.stages:
            if not entry.is_glob and entry.pattern == address:
                return entry
        for entry in self.stages:
            if entry.is_glob and entry.matches(address):
                return entry
        return None

    def mark_of(self, path: JsonPath) -> Mark:
        return self.doc.value_mark(path) if self.doc else Mark(1, 1)


def mlflow_config(project: Project) -> dict[str, Any]:
    """The validated `[tool.dvc-gitops.mlflow]` table (empty when absent)."""
    return project.config.section("mlflow", CONFIG_KEYS)


def map_path(project: Project) -> str:
    """The repo-relative path of the map document (config `map`, default at the root)."""
    configured = mlflow_config(project).get("map", DEFAULT_MAP)
    if not configured.strip():
        raise ConfigError(f"{project.config.source}: 'map' in [tool.dvc-gitops.mlflow] is empty")
    return project.rel(configured)


def load_map(project: Project, rel: str | None = None) -> ExperimentMap:
    """The project's map (or the one at `rel`, a DVC project's own), validated against
    the schema; problems collected, never raised."""
    if rel is None:
        rel = map_path(project)
    cached = project.cache("mlflow-map").get(rel)
    if isinstance(cached, ExperimentMap):
        return cached
    result = _load(project, rel)
    project.cache("mlflow-map")[rel] = result
    return result


def _load(project: Project, rel: str) -> ExperimentMap:
    if not project.exists(rel):
        return ExperimentMap(rel, exists=False)
    found = ExperimentMap(rel, exists=True)
    try:
        doc = project.yaml(rel)
    except FileProblem as exc:
        found.problems.append(MapProblem(exc.mark, exc.message, unreadable=True))
        return found
    except YamlProblem as exc:
        found.problems.append(MapProblem(exc.mark, exc.message))
        return found
    found.doc = doc
    found.problems.extend(MapProblem(p.mark, p.message) for p in doc.problems)
    found.problems.extend(schema_problems(doc))
    data = doc.data if isinstance(doc.data, dict) else {}
    uri = data.get("tracking_uri")
    found.tracking_uri = uri if isinstance(uri, str) and uri else None
    stages = data.get("stages")
    if isinstance(stages, dict):
        for pattern, entry in stages.items():
            experiment = entry.get("experiment") if isinstance(entry, dict) else None
            valid = isinstance(pattern, str) and isinstance(experiment, str)
            if not (valid and pattern and experiment):
                continue  # reported by the schema; the rest of the map is still usable
            model = entry.get("registered_model")
            found.stages.append(
                MappedStage(
                    pattern,
                    experiment,
                    model if isinstance(model, str) else None,
                    doc.key_mark(("stages", pattern)),
                )
            )
    return found


@cache
def _schema() -> Any:
    # Beside this module, as check_dvc_yaml reads its schema (importlib.resources would
    # load tempfile, shutil and the compressors: 10 ms of every run).
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Any:
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]

    return Draft7Validator(_schema())


@cache
def _fast_validator() -> Any:
    import fastjsonschema

    return fastjsonschema.compile(_schema())


def _surely_valid(data: Any) -> bool:
    """A quick yes from fastjsonschema (20 ms to load; jsonschema takes 170 ms, paid only
    to explain a no). A document holding a boolean always goes to jsonschema: the fast
    one's `const: 1` takes `true` for 1."""

    from fastjsonschema import JsonSchemaException

    pending = [data]  # a loop, not recursion: YAML nests up to 1,000 levels
    while pending:
        value = pending.pop()
        if isinstance(value, bool):
            return False
        if isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    try:
        _fast_validator()(data)
    except JsonSchemaException:  # jsonschema says what and where
        return False
    return True


def schema_problems(doc: YamlDoc) -> list[MapProblem]:
    """Every schema violation, as a one-line message at its key or value."""
    if doc.data is None:
        return [MapProblem(Mark(1, 1), f"the map is empty: start with `version: 1` {_FIX_EMPTY}")]
    if _surely_valid(doc.data):
        return []
    problems = []
    for error in _validator().iter_errors(doc.data):
        problems.extend(_explain(doc, tuple(error.absolute_path), error))
    return sorted(problems, key=lambda p: (p.mark, p.message))


_FIX_EMPTY = "and `stages:` (or write one with `dvc-gitops map init`)"
_TYPE_NAMES = {"object": "a mapping", "string": "a string", "array": "a list"}


def _explain(doc: YamlDoc, path: JsonPath, error: Any) -> list[MapProblem]:
    where = _describe(path)
    kind = error.validator
    if "propertyNames" in error.absolute_schema_path:  # a key under `stages:`
        key = error.instance
        # YAML keys may be null, numbers, booleans: the marks' lookup compares by value.
        at = doc.key_mark(cast(JsonPath, (*path, key)))
        if key is None:
            return [MapProblem(at, f"a null stage address in {where}")]
        if not isinstance(key, str):
            text = str(key).lower() if isinstance(key, bool) else str(key)
            return [
                MapProblem(
                    at,
                    f"stage address {text} is read by YAML as a {type(key).__name__}, not "
                    f'text: quote it ("{text}")',
                )
            ]
        return [MapProblem(at, f"an empty stage address in {where}")]
    if kind == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        return [
            MapProblem(
                doc.key_mark((*path, key)),
                f"unknown key '{key}' in {where}{_did_you_mean(str(key), known)}; "
                f"allowed: {', '.join(known)}",
            )
            for key in extra
        ]
    if kind == "required":
        missing = error.message.split("'")[1]
        hint = {
            "version": "add `version: 1` at the top",
            "stages": "add `stages:` with one `ADDRESS: {experiment: NAME}` per stage",
            "experiment": "add `experiment: NAME` (the MLflow experiment of its runs)",
        }.get(missing, f"add '{missing}'")
        return [MapProblem(doc.key_mark(path), f"'{missing}' is missing from {where}: {hint}")]
    if kind == "type":
        wanted = _TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
        got = type(error.instance).__name__ if error.instance is not None else "empty"
        return [MapProblem(doc.value_mark(path), f"{where} must be {wanted}, not {got}")]
    if kind == "const":
        got = "empty" if error.instance is None else repr(error.instance)
        return [
            MapProblem(
                doc.value_mark(path),
                f"{where} must be {error.validator_value!r}, not {got}: "
                "this dvc-gitops reads format version 1",
            )
        ]
    if kind == "minLength":
        return [MapProblem(doc.value_mark(path), f"{where} is empty: give a name")]
    return [MapProblem(doc.value_mark(path), f"{where}: {error.message}")]


def _describe(path: JsonPath) -> str:
    if not path:
        return "the map"
    if path[0] == "stages" and len(path) >= 2:
        if len(path) == 2:
            return f"stage '{path[1]}'"
        return f"'{path[-1]}' of stage '{path[1]}'"
    return f"'{'.'.join(map(str, path))}'"


def _did_you_mean(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def dump_map(entries: list[tuple[str, str, str | None, str]], tracking_uri: str | None) -> str:
    """The text of a map: (pattern, experiment, registered model, comment) per stage."""
    lines = [
        "# Which MLflow experiment each DVC stage logs to; checked by `check-mlflow-map`,",
        "# read at run time by `dvc_gitops.mlflow.start_run()`.",
        "version: 1",
    ]
    if tracking_uri:
        lines.append(f"tracking_uri: {_scalar(tracking_uri)}")
    lines.append("stages:" if entries else "stages: {}")
    for pattern, experiment, model, comment in entries:
        lines.append(f"  {_scalar(pattern)}:" + (f"  # {comment}" if comment else ""))
        lines.append(f"    experiment: {_scalar(experiment)}")
        if model:
            lines.append(f"    registered_model: {_scalar(model)}")
    return "\n".join(lines) + "\n"


_PLAIN = re.compile(r"[A-Za-z_][\w.@*/:+-]*(?<!:)")


def _scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when YAML reads it back as this string, else quoted."""
    plain = _PLAIN.fullmatch(text) and text.lower() not in ("true", "false", "null", "yes", "no")
    if plain:
        return text
    # YAML's own emitter knows every escape a double-quoted scalar needs (line separators,
    # characters outside the BMP); JSON's are not all YAML's.
    quoted: str = yaml.safe_dump(text, default_style='"', width=math.inf, allow_unicode=True)
    return quoted.rstrip("\n")


@click.group("map")
def map_group() -> None:
    """The stage -> MLflow experiment map (mlflow-experiments.yaml)."""


@map_group.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing map.")
@click.option(
    "--tracking-uri",
    default=None,
    help="Write this tracking URI into the map (default: none; MLflow's sqlite:///mlflow.db).",
)
def init_command(force: bool, tracking_uri: str | None) -> None:
    """Write a first map from the stages whose scripts use MLflow."""
    from dvc_gitops.mlflow.scan import proposed_entries

    project = Project(find_root(Path.cwd()))
    if not project.is_dvc_repo and not project.dvc_yaml_files:
        # The map names stages: without a pipeline there is nothing to map, only a file
        # to forget in a folder that may not even be the project.
        raise click.UsageError(
            f"{project.root} is not a DVC project (no .dvc folder, no dvc.yaml): "
            "run `dvc init` there first"
        )
    rel = map_path(project)
    if project.exists(rel) and not force:
        raise click.ClickException(f"{rel} exists: edit it, or pass --force to replace it")
    entries = proposed_entries(project)
    text = dump_map(entries, tracking_uri)
    project.path(rel).parent.mkdir(parents=True, exist_ok=True)
    try:
        write_text(project.root, rel, text)
    except WriteRefused as exc:
        raise click.ClickException(str(exc)) from None
    if entries:
        click.echo(f"{rel}: mapped {len(entries)} stage(s) that use MLflow; review the names")
    else:
        click.echo(f"{rel}: no stage's scripts use MLflow yet; add stages by hand")
