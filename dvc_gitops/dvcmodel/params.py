"""Params and vars rules (DG3xx): templates DVC cannot fill, params it cannot find.

Most of these surface while the model resolves each dvc.yaml (`Pipeline.issues`); the
params rules compare each stage's `params:` with the files on disk. Run by
check-dvc-yaml.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml

from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.dvcmodel.model import MISSING, Pipeline, join_path, param_value, pipeline_of
from dvc_gitops.formats.yamldoc import Mark, scalar_value

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project
    from dvc_gitops.core.runner import CheckContext

PARAMS_FILE_MISSING = Rule(
    "DG301",
    "params-file-missing",
    "error",
    "A stage's params file does not exist (and no stage writes it).",
    why="`dvc dag` passes, but `dvc repro` fails on the stage ('Parameters ... are missing "
    "from params.yaml'), after it has already removed the stage's outputs.",
    fix="Create the file with the keys, fix its name, or remove the `params:` entry. Keys "
    "written as plain strings are looked up in the params.yaml of the stage's wdir.",
)
PARAMS_KEY_MISSING = Rule(
    "DG302",
    "params-key-missing",
    "error",
    "A key listed in a stage's `params:` is not in its params file.",
    why="DVC notices only when `repro` runs the stage ('Parameters ... are missing'), after "
    "deleting its outputs; `dvc dag` and `dvc status` pass.",
    fix="Add the key to the params file, or fix its spelling (nested keys are dotted: `train.lr`).",
)
UNDEFINED_KEY = Rule(
    "DG303",
    "undefined-template-key",
    "error",
    "A `${...}` template names a key that no params.yaml or vars defines.",
    why="DVC fails to load the whole dvc.yaml ('Could not find ...'): no stage of it runs.",
    fix="Define the key in the params.yaml beside dvc.yaml or in `vars`, or fix the name.",
)
SHELL_SYNTAX = Rule(
    "DG304",
    "shell-syntax-in-template",
    "error",
    "Shell parameter expansion like `${ENV:-dev}` or `${HOME}` in dvc.yaml.",
    why="DVC reads every `${...}` as its own template, so the shell never sees it; DVC "
    "fails with 'Could not find ...'.",
    fix="Write `$HOME` (no braces) or escape the template as `\\${HOME}`; for defaults, "
    "move the logic into a script.",
)
WRONG_TYPE = Rule(
    "DG305",
    "template-type",
    "error",
    "A dict or list is interpolated where DVC needs a single value.",
    why="DVC expands a dict into `--key value` flags only inside `cmd`; anywhere else, and "
    "for lists inside text, it fails with 'Cannot interpolate data of type ...'.",
    fix="Select one value (`${train.lr}`, `${files[0]}`), or move the dict into `cmd`.",
)
TEMPLATE_IN_VARS = Rule(
    "DG306",
    "template-in-vars",
    "error",
    "`vars` holds a `${...}` template.",
    why="DVC loads vars before anything can be interpolated and refuses templates there "
    "('interpolating is not allowed').",
    fix="Write the value itself in vars, or put it in the params file.",
)
VARS_REDEFINED = Rule(
    "DG307",
    "vars-redefined",
    "error",
    "A vars key is defined twice (params.yaml, vars files, inline vars), or redefines "
    "`item`/`key`.",
    why="DVC never overrides a context key: it refuses the file ('cannot redefine ...').",
    fix="Rename one of the keys, or load only the keys you need (`file.yaml:key1,key2`).",
)
MATRIX_STRING = Rule(
    "DG308",
    "matrix-string",
    "warning",
    "A `matrix` axis is a plain string, so DVC iterates its characters.",
    why="`matrix: {model: models}` makes one stage per letter of 'models' (`stage@m`, "
    "`stage@o`, ...): DVC accepts it silently.",
    fix="Name the list with a template: `model: ${models}`, or write the list itself.",
)
VARS_FILE_MISSING = Rule(
    "DG309",
    "vars-file-missing",
    "error",
    "A file listed in `vars` does not exist.",
    why="DVC cannot load the dvc.yaml at all ('failed to parse vars ... does not exist'). "
    "Paths are relative to the dvc.yaml (to the stage's wdir for stage vars).",
    fix="Create the file or fix its path.",
)
UNUSED_PARAM = Rule(
    "DG310",
    "unused-param",
    "warning",
    "A key of a params file that no stage lists in `params:` and no template uses.",
    why="Changing it re-runs nothing: if a script reads it, the results go stale silently.",
    fix="Add it to the `params:` of the stage whose script reads it. Off by default: on 19 "
    "real repositories most such keys were read outside the pipeline (upload scripts, CI "
    "jobs, notebooks, Hydra configs), where no stage needs them; turn it on with "
    '`extend-select = ["DG310"]` to review a params file.',
    off_by_default=True,
)
TEMPLATE_SYNTAX = Rule(
    "DG311",
    "template-syntax",
    "error",
    "A `${...}` template DVC cannot parse (`${}`, `${a..b}`).",
    why="DVC fails to load the whole dvc.yaml on a template it cannot parse.",
    fix="Write a key (`${a.b}`, `${list[0]}`), or escape a literal `\\${`.",
)
NOT_ITERABLE = Rule(
    "DG312",
    "foreach-not-iterable",
    "error",
    "`foreach` or a `matrix` axis resolves to a single value, not a list or mapping.",
    why="DVC fails to load the dvc.yaml ('expected list/dictionary').",
    fix="Give a list or a mapping, or a `${...}` naming one.",
)
PARAMS_NOT_LIST = Rule(
    "DG313",
    "params-keys-not-list",
    "error",
    "`- file.yaml: key` gives a params file a string instead of a list of keys.",
    why="It passes DVC's schema, then DVC crashes loading the stage ('Expected list of "
    "params for custom params file').",
    fix="Write `- file.yaml: [key]`, or `- file.yaml:` for the whole file.",
)
VARS_FILE_INVALID = Rule(
    "DG314",
    "vars-file-invalid",
    "error",
    "A vars or params file cannot be loaded: not a mapping, unreadable, or missing a key "
    "selected with `file:key`.",
    why="DVC loads these files to fill templates and refuses the whole dvc.yaml when one fails.",
    fix="Fix the file (a mapping of keys at the top), or the key list after the colon.",
)

TOO_MANY_STAGES = Rule(
    "DG142",
    "too-many-stages",
    "error",
    "A `foreach` or `matrix` stage expands to more than 20,000 stages.",
    why="A few KB of `matrix` can ask for millions of stages (300 x 300 x 300 values: 27 "
    "million), which exhausts the memory and time of every tool that expands it, DVC "
    "included; the largest real pipeline known has 4,172 stages in all.",
    fix="Check that the lists are the intended ones (a `${...}` naming the wrong key), or "
    "split the stage.",
)
OUTSIDE_REPOSITORY = Rule(
    "DG141",
    "file-outside-repository",
    "error",
    "A vars or params file lies outside the repository (`../`, an absolute path, or a "
    "symlink that leaves it).",
    why="A checkout must never reach the files of whoever checks it: dvc-gitops reads "
    "nothing outside the repository root, so it cannot check this pipeline, and a clone "
    "elsewhere would not find the file either.",
    fix="Keep vars and params files inside the repository, and refer to them by a path "
    "relative to the dvc.yaml.",
)

# Codes DVC refuses only when `dvc repro` runs the stage: `dvc stage list` and `dvc dag`
# pass, so a load-time verdict (the corpus's) cannot confirm or refute them.
RUN_TIME_CODES = frozenset({"DG301", "DG302"})

# What DVC reads params from (by suffix), for a params key that names a file.
PARAMS_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".py")

_BY_KIND: dict[str, Rule] = {
    "missing": UNDEFINED_KEY,
    "shell": SHELL_SYNTAX,
    "type": WRONG_TYPE,
    "vars-template": TEMPLATE_IN_VARS,
    "redefined": VARS_REDEFINED,
    "reserved": VARS_REDEFINED,
    "matrix-string": MATRIX_STRING,
    "vars-file-missing": VARS_FILE_MISSING,
    "vars-unreadable": VARS_FILE_INVALID,
    "vars-key-missing": VARS_FILE_INVALID,
    "params-unreadable": VARS_FILE_INVALID,
    "syntax": TEMPLATE_SYNTAX,
    "foreach-not-iterable": NOT_ITERABLE,
    "matrix-not-list": NOT_ITERABLE,
    "params-not-list": PARAMS_NOT_LIST,
    "outside-repository": OUTSIDE_REPOSITORY,
    "too-many-members": TOO_MANY_STAGES,
}


def check(context: CheckContext) -> Iterator[Finding]:
    """Params/vars findings for the whole pipeline of the project."""
    project = context.project
    pipeline = pipeline_of(project)
    for issue in pipeline.issues:
        rule = _BY_KIND.get(issue.kind)
        if rule is not None:
            yield rule.at(issue.file, issue.mark, issue.message)
    yield from _stage_params(project, pipeline)
    yield from _unused_params(project, pipeline)


def _load(project: Project, rel: str) -> Any:
    """A params file's data, None when it cannot be read (other rules say why)."""
    from dvc_gitops.dvcmodel.model import LoadProblem, ParamsLoader

    loaders = project.cache("params_checks")
    loader = loaders.setdefault("loader", ParamsLoader(project))
    try:
        return loader.load(rel)
    except LoadProblem:
        return None


def _stage_params(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    seen: set[tuple[str, Mark]] = set()
    # Thousands of stages list the same few files and keys: each asked once.
    checked: dict[str, str] = {}  # file -> "skip", "missing" or "readable"
    problems: dict[tuple[str, str], str] = {}
    for stage in pipeline.stages.values():
        if stage.dvcfile in pipeline.problems:
            continue  # DVC refuses the file first; its params come after a fix
        for param in stage.params:
            state = checked.get(param.file)
            if state is None:
                if "://" in param.file or pipeline.producers_of(param.file):
                    state = "skip"
                elif not project.exists(param.file):
                    state = "missing"
                else:
                    state = "readable"
                checked[param.file] = state
            if state == "skip":
                continue
            if (param.source, param.mark) in seen:
                continue  # foreach members share one template entry
            if state == "missing":
                seen.add((param.source, param.mark))
                what = f"key '{param.key}'" if param.key else "the whole file"
                yield PARAMS_FILE_MISSING.at(
                    param.source,
                    param.mark,
                    f"params file '{param.file}' of stage '{stage.address}' does not exist "
                    f"({what} is listed): `dvc repro` will fail; create it or fix the path",
                )
                continue
            if param.key is None:
                continue
            lookup = (param.file, param.key)
            problem = problems.get(lookup)
            if problem is None:
                problem = problems[lookup] = _key_problem(
                    _load(project, param.file), param.file, param.key
                )
            if not problem:
                continue
            seen.add((param.source, param.mark))
            yield PARAMS_KEY_MISSING.at(
                param.source,
                param.mark,
                f"param '{param.key}' of stage '{stage.address}' {problem}: `dvc repro` will "
                f"fail after deleting the outputs; {_key_fix(project, param.file, param.key)}",
            )


def _key_fix(project: Project, file: str, key: str) -> str:
    """The fix of a missing key; a key that names a file meant that file, whole."""
    named = join_path(posixpath.dirname(file) or ".", key)
    if posixpath.splitext(key)[1].lower() in PARAMS_SUFFIXES and project.exists(named):
        return (
            f"an entry without a colon is a key of {posixpath.basename(file)}; to track the "
            f"file '{key}' whole, write `- {key}:`"
        )
    return "add it or fix the name"


def _key_problem(data: Any, file: str, key: str) -> str:
    """What DVC's run-time lookup of `key` in `file` will say is wrong ("" for nothing)."""
    if data is None:
        return ""  # unreadable: another rule says why
    if not is_glob(key):
        return "" if param_value(data, key) is not MISSING else f"is not in '{file}'"
    if "**" in key:
        return ""  # a recursive glob: not worth modelling
    found = glob_paths(data, key)
    if not found:
        return f"matches no key of '{file}'"
    if len(found) > 1:
        names = ", ".join(".".join(p) for p in found[:3])
        return (
            f"matches {len(found)} keys of '{file}' ({names}{', ...' if len(found) > 3 else ''}),"
            " and DVC needs exactly one"
        )
    return ""


def is_glob(key: str) -> bool:
    """Whether DVC reads a params key as a glob over keys (DVC 3: `kw.moons*`)."""
    return any(c in key for c in "*?[")


def glob_paths(data: Any, key: str) -> list[tuple[str, ...]]:
    """The key paths a glob params key matches, each dot-separated part matched by
    fnmatch against mapping keys (or list indexes), as DVC's dpath lookup does."""
    found: list[tuple[tuple[str, ...], Any]] = [((), data)]
    for part in key.split("."):
        step = []
        for path, node in found:
            items = (
                node.items()
                if isinstance(node, dict)
                else enumerate(node)
                if isinstance(node, list)
                else ()
            )
            for name, value in items:
                if fnmatch.fnmatchcase(str(name), part):
                    step.append(((*path, str(name)), value))
        found = step
    return [path for path, _ in found]


def _unused_params(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    """Keys of params files (params.yaml beside a dvc.yaml, or listed by a stage) unused."""
    used: dict[str, set[tuple[str, ...]]] = {}
    whole: set[str] = set()
    files: list[str] = []
    for rel in pipeline.default_params.values():
        files.append(rel)
    # A dvc.yaml that does not resolve uses its params in ways nobody can see yet.
    broken = {pipeline.default_params.get(f) for f in pipeline.problems}
    for stage in pipeline.stages.values():
        # A params file listed as a dep re-runs the stage on any change of it.
        whole.update(dep.path for dep in stage.deps)
        for param in stage.params:
            files.append(param.file)
            if param.key is None:
                whole.add(param.file)
            elif is_glob(param.key):
                data = _load(project, param.file)
                for path in glob_paths(data, param.key) if data is not None else []:
                    used.setdefault(param.file, set()).add(path)
            else:
                used.setdefault(param.file, set()).add(tuple(param.key.split(".")))
                used[param.file].add((param.key,))
    for source, path in pipeline.used_keys:
        used.setdefault(source, set()).add(path)
    # Files a dvc.yaml lists at its top-level `params:` are tracked whole by experiments.
    for dvcfile in pipeline.definitions:
        try:
            data = project.yaml(dvcfile).data
        except Exception:
            continue
        top = data.get("params") if isinstance(data, dict) else None
        folder = posixpath.dirname(dvcfile) or "."
        for name in top if isinstance(top, list) else []:
            if isinstance(name, str):
                whole.add(join_path(folder, name))
    if _hydra_enabled(project):
        # DVC's Hydra integration writes params.yaml from the Hydra config on each run.
        whole.update(pipeline.default_params.values())
    for rel in dict.fromkeys(files):
        if rel in whole or posixpath.splitext(rel)[1].lower() in (".json", ".toml", ".py"):
            continue
        if not project.exists(rel) or rel in broken:
            continue
        try:
            doc = project.yaml(rel)
        except Exception:
            continue
        if not isinstance(doc.root, yaml.MappingNode) or _hydra_config(doc.root):
            continue
        paths = used.get(rel, set())
        prefixes = {p[:i] for p in paths for i in range(1, len(p))}
        yield from _unused_in(rel, doc.root, (), paths, prefixes)


def _hydra_enabled(project: Project) -> bool:
    """Whether `.dvc/config` turns on DVC's Hydra integration (`[hydra] enabled = true`)."""
    from dvc_gitops.core.project import FileProblem
    from dvc_gitops.formats.dvc_config import ConfigSyntaxError, parse

    try:
        option = parse(project.read_text(".dvc/config"), ".dvc/config").option("hydra", "enabled")
    except (ConfigSyntaxError, FileProblem):
        return False
    return option is not None and option.value.strip().lower() in ("true", "1", "yes")


def _hydra_config(root: yaml.MappingNode) -> bool:
    """Whether a params file is a Hydra config (a `defaults:` list, `_target_` keys):
    Hydra composes it into the params a run sees, so its keys are read by name there."""
    keys = {scalar_value(k) for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
    return "defaults" in keys or "_target_" in keys or "hydra" in keys


def _unused_in(
    rel: str,
    node: yaml.MappingNode,
    path: tuple[str, ...],
    used: set[tuple[str, ...]],
    prefixes: set[tuple[str, ...]],
) -> Iterator[Finding]:
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = scalar_value(key_node)
        if not isinstance(key, str):
            continue
        here = (*path, key)
        if here in used:
            continue
        if here in prefixes and isinstance(value_node, yaml.MappingNode):
            yield from _unused_in(rel, value_node, here, used, prefixes)
            continue
        if here in prefixes:
            continue  # list items selected one by one: the list is in use
        dotted = ".".join(here)
        yield UNUSED_PARAM.at(
            rel,
            Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1),
            f"param '{dotted}' is used by no stage (no `params:` entry, no ${{{dotted}}}): "
            "changing it re-runs nothing; if a stage's script reads it, list it in that "
            "stage's params",
        )
