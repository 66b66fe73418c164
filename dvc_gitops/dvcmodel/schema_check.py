"""check-dvc-yaml: dvc.yaml as DVC 3 loads it, every error at its key or value.

The schema (`dvc_gitops/schema/dvc.schema.json`) says what DVC 3.67's loader accepts in
the RAW document, before any `${...}` is filled in. A compiled fastjsonschema validator
answers yes or no for each file; only a file that fails goes through `jsonschema`, whose
errors are turned into findings at the exact key (unknown, missing) or value (wrong
type). The graph (DG21x-DG23x) and params/vars (DG3xx) rules of the pipeline model run
after the schema pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dvc_gitops.core.findings import UNREADABLE_FILE, Finding, Rule
from dvc_gitops.core.project import FileProblem
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel.schema import doc_is_valid, schema
from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlDoc, YamlProblem

INVALID_YAML = Rule(
    "DG101",
    "invalid-yaml",
    "error",
    "dvc.yaml is not YAML that DVC can load.",
    why="DVC refuses the whole file: no stage of it can run, and `dvc status` fails.",
    fix="Fix the syntax at the position given.",
)
DUPLICATE_KEY = Rule(
    "DG102",
    "duplicate-key",
    "error",
    "A mapping repeats a key.",
    why="DVC's YAML loader refuses duplicate keys, so the file does not load at all.",
    fix="Keep one of the two keys; merge their contents if both were meant.",
)
MERGE_CONFLICT = Rule(
    "DG103",
    "merge-conflict",
    "error",
    "dvc.yaml still holds git merge conflict markers.",
    why="A half-merged file is not the pipeline anyone meant, and DVC cannot load it.",
    fix="Resolve the conflict (keep the right side, delete the `<<<<<<<`, `=======` and "
    "`>>>>>>>` lines), then commit.",
)
NOT_A_MAPPING = Rule(
    "DG104",
    "not-a-mapping",
    "error",
    "The top level of dvc.yaml is a list or a single value, not a mapping.",
    why="DVC expects `stages:` (and `vars`, `params`, `metrics`, `plots`, `artifacts`, "
    "`datasets`) as keys of a mapping; anything else fails with 'expected a dictionary'.",
    fix="Put the stages under a `stages:` key, each stage a mapping with a `cmd`.",
)
NOT_TEXT = Rule(
    "DG105",
    "not-text",
    "error",
    "dvc.yaml is not UTF-8 text (a binary file, a NUL byte, another encoding).",
    why="DVC reads dvc.yaml as UTF-8 and stops at the first byte it cannot decode.",
    fix="Save the file as UTF-8 (an editor's 'encoding' setting), or restore it from git.",
)
TOO_COMPLEX = Rule(
    "DG106",
    "too-complex",
    "error",
    "The document expands through aliases to too many nodes, or nests too deeply.",
    why="Such a file (a 'YAML bomb') exhausts memory or time in every tool that reads it.",
    fix="Write the values out, or use DVC's `vars` and `${...}` to share them.",
)
EMPTY_FILE = Rule(
    "DG107",
    "empty-file",
    "warning",
    "dvc.yaml holds no document (empty, only comments, or `null`/`[]`).",
    why="DVC reads an empty document as a pipeline without stages and says nothing: a "
    "file emptied by accident (a bad merge, a failed generator) goes unnoticed.",
    fix="Add the stages back, or delete the file.",
)
UNKNOWN_KEY = Rule(
    "DG110",
    "unknown-key",
    "error",
    "A key DVC does not know (often a typo: `dep`, `out`, `command`).",
    why="DVC refuses the whole file with 'extra keys not allowed'.",
    fix="Use the key the message suggests, or delete it. `--fix` renames a stage key that is "
    "a near-certain typo (`dep:` to `deps:`) when the stage lacks the key it meant.",
    fixable=True,
)
LEGACY_KEY = Rule(
    "DG111",
    "legacy-key",
    "error",
    "A key from DVC 1.x/2.x that DVC 3 no longer accepts (`outs_persist`, `locked`, `live`).",
    why="DVC 3 refuses the whole file with 'extra keys not allowed'; the meaning moved to "
    "flags on each output or to another key.",
    fix="Write the modern form the message gives (`persist: true` or `cache: false` on each "
    "output, `frozen` for `locked`).",
)
WRONG_TYPE = Rule(
    "DG112",
    "wrong-type",
    "error",
    "A value of the wrong type (a number where DVC wants text, a mapping where a list).",
    why="DVC validates types strictly and refuses the whole file.",
    fix="Write the type the message names; quote values that YAML reads as numbers, "
    "booleans or dates.",
)
EMPTY_VALUE = Rule(
    "DG113",
    "empty-value",
    "error",
    "A key with no value (null) or an empty mapping where DVC needs content.",
    why="`outs:` with nothing after it is null to YAML, not an empty list; DVC refuses "
    "null where it expects a list, text or flags.",
    fix="Give the value, write `[]`, or delete the key (and a trailing `:` after a path).",
)
MISSING_CMD = Rule(
    "DG114",
    "missing-cmd",
    "error",
    "A stage without `cmd`.",
    why="Every stage (and the `do` of a `foreach` stage) must say what it runs; DVC refuses "
    "the file with 'required key not provided'.",
    fix="Add `cmd: <the command>` to the stage.",
)
EMPTY_STAGE = Rule(
    "DG115",
    "empty-stage",
    "error",
    "A stage with nothing in it (`train:` or `train: {}`).",
    why="DVC refuses the whole file: a stage needs at least a `cmd`.",
    fix="Give the stage its `cmd` (and deps, outs), or delete it.",
)
FOREACH_SHAPE = Rule(
    "DG116",
    "foreach-shape",
    "error",
    "A `foreach` stage without `do` (or the reverse), or mixed with `cmd`/`matrix`.",
    why="A `foreach` stage must hold exactly `foreach` and `do`; the stage keys go under "
    "`do`. `foreach` and `matrix` cannot be combined. DVC refuses anything else.",
    fix="Move `cmd`, `deps`, `outs`... under `do:`, or drop `foreach` and use `matrix`.",
)
PLOTS_NOT_A_LIST = Rule(
    "DG117",
    "plots-not-a-list",
    "error",
    "`plots` written as a mapping; DVC 3 wants a list of plots.",
    why="DVC refuses `plots: {file: {...}}` with 'expected a list'.",
    fix="Make each plot a list item: `plots:` then `- file.csv: {x: step, y: loss}`.",
)
NOT_A_LIST = Rule(
    "DG118",
    "string-instead-of-list",
    "error",
    "`params`, `deps`, `outs`... given as a single string instead of a list.",
    why="DVC wants a list even for one entry and refuses the whole file otherwise.",
    fix="Write `params: [lr]` or put the entry on its own `- lr` line.",
)
INTERPOLATED_TYPED_VALUE = Rule(
    "DG119",
    "interpolated-typed-value",
    "error",
    "A `${...}` where DVC wants a boolean, a list or a mapping (`frozen: ${flag}`).",
    why="DVC validates the raw file before it fills in `${...}`: the value is text at that "
    "moment, and text is not a boolean or a list.",
    fix="Write the literal value (`frozen: true`), or interpolate inside the items "
    "(`deps: [${data_dir}/x.csv]`).",
)
PLOT_KEY_ON_OUTPUT = Rule(
    "DG120",
    "plot-key-on-output",
    "error",
    "Plot properties (`x`, `y`, `template`...) on an entry of `outs` or `metrics`.",
    why="Only entries of `plots` take plot properties; DVC refuses them elsewhere.",
    fix="Move the entry to the stage's `plots:` list, or delete the plot properties.",
)
CHECKPOINT_IGNORED = Rule(
    "DG121",
    "checkpoint-ignored",
    "warning",
    "`checkpoint: true` on an output: accepted by DVC 3, and ignored.",
    why="Checkpoints were removed in DVC 3.0; the flag still validates but does nothing, so "
    "the pipeline does not do what the file says.",
    fix="Delete the flag; save intermediate models with DVCLive or as ordinary outputs.",
)
ARTIFACT_WITHOUT_PATH = Rule(
    "DG122",
    "artifact-without-path",
    "error",
    "An entry of `artifacts` without a `path`.",
    why="DVC requires the path of every artifact and refuses the file otherwise.",
    fix="Add `path: <the model file>` to the artifact.",
)
NON_TEXT_KEY = Rule(
    "DG123",
    "non-text-key",
    "error",
    "A stage name, output path or other name that YAML reads as a number, boolean or null.",
    why="DVC wants names as text: `1:` is the number 1 and DVC refuses it.",
    fix="Quote the name: `'1':`.",
)
STAGE_NAME_CONTROL = Rule(
    "DG140",
    "stage-name-control-character",
    "warning",
    "A stage name holds a control character (`\\r`, `\\n`, ESC, a bidi override...).",
    why="DVC 3.67 accepts any character in a stage name, but a carriage return in a name "
    "written into a comment of generated code ends the comment early (Python ends lines at "
    "`\\r`), and escape codes rewrite the terminal of whoever reads the output.",
    fix="Rename the stage with letters, digits, `_`, `-` and `.` (the names DVC itself suggests).",
)
# C0 and C1 controls, DEL, line separators and the bidi overrides of "Trojan Source".
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PLOT_FLAGS_LIST = Rule(
    "DG124",
    "plot-flags-list",
    "error",
    "A stage plot whose properties are a list of mappings (`- file.csv: [{x: a}]`).",
    why="DVC's schema lets a list through, then loading the stage fails with 'Expected dict "
    "for ...': every DVC command on the repository stops.",
    fix="Give the plot one mapping of properties (`- file.csv: {x: a, y: b}`); for several "
    "views of one file, use top-level `plots:` entries with ids.",
)

STAGE_KEYS = [
    "cmd",
    "wdir",
    "deps",
    "params",
    "outs",
    "metrics",
    "plots",
    "frozen",
    "always_changed",
    "desc",
    "meta",
    "vars",
    "matrix",
]
TOP_KEYS = ["stages", "vars", "params", "metrics", "plots", "artifacts", "datasets"]
OUTPUT_FLAGS = ["cache", "persist", "push", "remote", "desc", "type", "labels", "meta"]
PLOT_PROPERTIES = ["x", "y", "x_label", "y_label", "title", "template"]
ARTIFACT_KEYS = ["path", "desc", "type", "labels", "meta"]
OUTPUT_KINDS = {"outs": "output", "metrics": "metrics file", "plots": "plot"}

# Common slips that difflib alone would not catch, or would catch the wrong way.
ALIASES = {
    "command": "cmd",
    "commands": "cmd",
    "run": "cmd",
    "script": "cmd",
    "dep": "deps",
    "dependencies": "deps",
    "inputs": "deps",
    "out": "outs",
    "output": "outs",
    "outputs": "outs",
    "param": "params",
    "parameters": "params",
    "metric": "metrics",
    "plot": "plots",
    "description": "desc",
    "workdir": "wdir",
    "working_dir": "wdir",
    "freeze": "frozen",
    "always_change": "always_changed",
    "for_each": "foreach",
    "variables": "vars",
    "stage": "stages",
    "steps": "stages",
    "pipeline": "stages",
    "no_cache": "cache",
    "artifact": "artifacts",
    "dataset": "datasets",
}

_NO_CACHE = "cache: false"
_PERSIST = "persist: true"
# DVC 1.x/2.x stage keys: (where the paths go now, the flags each takes).
LEGACY_OUTPUT_KEYS = {
    "outs_no_cache": ("outs", _NO_CACHE),
    "outs_persist": ("outs", _PERSIST),
    "outs_persist_no_cache": ("outs", f"{_NO_CACHE}, {_PERSIST}"),
    "metrics_no_cache": ("metrics", _NO_CACHE),
    "metrics_persist": ("metrics", _PERSIST),
    "metrics_persist_no_cache": ("metrics", f"{_NO_CACHE}, {_PERSIST}"),
    "plots_no_cache": ("plots", _NO_CACHE),
    "plots_persist": ("plots", _PERSIST),
    "plots_persist_no_cache": ("plots", f"{_NO_CACHE}, {_PERSIST}"),
}
LEGACY_STAGE_KEYS = {
    "locked": "is DVC 1's name for `frozen`: write `frozen: true` (or false)",
    "md5": "is a stage hash from DVC 1's stage files: delete it (dvc.lock keeps hashes now)",
    "live": "was removed in DVC 3.0: delete it and declare the files DVCLive writes, e.g. "
    "`metrics: [{dir}/metrics.json]` and `plots: [{dir}/plots/metrics]`",
    "checkpoints": "was removed with checkpoints in DVC 3.0: delete it",
}


def schema_findings(doc: YamlDoc) -> Iterator[Finding]:
    """Findings for every place the document breaks DVC's schema (none when it is valid)."""
    data = doc.data
    if not data:  # DVC reads an empty or falsy document as `{}`
        yield EMPTY_FILE.at_value(
            doc,
            (),
            "dvc.yaml holds no stages (an empty document): add the stages, or delete the file",
        )
        return
    if not isinstance(data, dict):
        found = _found(data)
        yield NOT_A_MAPPING.at_value(
            doc,
            (),
            f"the top level of dvc.yaml must be a mapping with `stages:`, found {found}: "
            "put each stage under `stages:` as `name:` with its `cmd`",
        )
        return
    if not doc_is_valid(doc):
        from jsonschema import Draft7Validator  # type: ignore[import-untyped]

        validator = Draft7Validator(schema())
        for error in validator.iter_errors(data):
            yield from _explain(doc, error)
    yield from _beyond_schema(doc, data)


def _explain(doc: YamlDoc, error: Any) -> Iterator[Finding]:
    """One or more findings for one jsonschema error, placed at its key or value."""
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    instance = error.instance
    if list(error.absolute_schema_path)[-2:-1] == ["propertyNames"]:
        # a key of the mapping at `path` is not text (`1:`)
        yield _extra_key(doc, path, instance)
    elif kind == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        for key in instance:
            if key not in known:
                yield _extra_key(doc, path, key)
    elif kind == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            finding = _missing(doc, path, key, instance) if key not in instance else None
            if finding is not None:
                yield finding
    elif kind == "minProperties":
        yield EMPTY_VALUE.at_value(
            doc, path, f"{_place(path)} is an empty mapping: name the plot's file or id"
        )
    elif kind == "type":
        yield _wrong_type(doc, path, instance, error.validator_value)
    else:  # pragma: no cover - the schema uses no other keyword that can fail
        yield WRONG_TYPE.at_value(doc, path, f"{_place(path)}: {error.message}")


def _extra_key(doc: YamlDoc, path: JsonPath, key: Any) -> Finding:
    at = (*path, key)
    where = _place(path, inner=True)
    in_stage = _is_stage(path)
    if not isinstance(key, str):
        name = f"key {key!r} in {where}"
        if _is_output_entry(path):
            name = f"{OUTPUT_KINDS[str(path[-2])]} path {key!r} of stage '{path[1]}'"
        return NON_TEXT_KEY.at_key(
            doc,
            at,
            f"{name} is read by YAML as {_found(key)}; DVC wants text: "
            f"quote it ('{_yaml_text(key)}')",
        )
    if in_stage and _is_foreach(doc, path):
        if key == "matrix":
            return FOREACH_SHAPE.at_key(
                doc, at, f"{where} has both `foreach` and `matrix`: keep one of them"
            )
        if key in STAGE_KEYS:
            return FOREACH_SHAPE.at_key(
                doc, at, f"`{key}` of foreach {where} belongs under `do:`: move it there"
            )
    if in_stage and key in LEGACY_OUTPUT_KEYS:
        target, flags = LEGACY_OUTPUT_KEYS[key]
        example = _first_text(doc.data, at) or "path"
        return LEGACY_KEY.at_key(
            doc,
            at,
            f"`{key}` in {where} is a DVC 1.x key that DVC 3 refuses: list these paths "
            f"under `{target}:` with `{flags}` on each (`- {example}: {{{flags}}}`)",
        )
    if in_stage and key in LEGACY_STAGE_KEYS:
        hint = LEGACY_STAGE_KEYS[key].format(dir=_live_dir(doc.data, at))
        return LEGACY_KEY.at_key(doc, at, f"`{key}` in {where} {hint}")
    known = _known_keys(path)
    if (key in PLOT_PROPERTIES or key == "header") and path[-3:-2] in (("outs",), ("metrics",)):
        return PLOT_KEY_ON_OUTPUT.at_key(
            doc,
            at,
            f"plot property `{key}` on {where}: move the entry to the stage's `plots:` "
            "list, or delete it",
        )
    guess = _guess(key, known)
    if guess is not None:
        return UNKNOWN_KEY.at_key(
            doc, at, f"unknown key `{key}` in {where}: did you mean `{guess}`?"
        )
    allowed = ", ".join(k for k in known if k != "checkpoint")
    return UNKNOWN_KEY.at_key(
        doc, at, f"unknown key `{key}` in {where}: DVC refuses it (allowed: {allowed})"
    )


def _guess(key: str, known: list[str]) -> str | None:
    """The known key a typo most likely meant: a common slip first, then by spelling."""
    import difflib

    alias = ALIASES.get(key)
    if alias in known:
        return alias
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _missing(doc: YamlDoc, path: JsonPath, key: str, instance: dict[Any, Any]) -> Finding | None:
    where = _place(path)
    if key == "cmd":
        if any(isinstance(k, str) and _guess(k, STAGE_KEYS) == "cmd" for k in instance):
            # `command:` is reported as a typo of `cmd`; saying "no cmd" too is noise
            return None
        if not instance and not _is_foreach_body(path):
            return EMPTY_STAGE.at_key(
                doc,
                path,
                _EMPTY_STAGE.format(where=where),
            )
        return MISSING_CMD.at_key(doc, path, f"{where} has no `cmd`: add the command it runs")
    if key in ("foreach", "do"):
        other = "do" if key == "foreach" else "foreach"
        return FOREACH_SHAPE.at_key(
            doc,
            (*path, other),
            f"{where} has `{other}` without `{key}`: a foreach stage needs both "
            "(`foreach:` the items, `do:` the stage)",
        )
    if key == "path":
        return ARTIFACT_WITHOUT_PATH.at_key(
            doc, path, f"{where} has no `path`: add the path of the artifact's file"
        )
    return WRONG_TYPE.at_key(
        doc, path, f"{where} lacks the required key `{key}`"
    )  # pragma: no cover


_EMPTY_STAGE = "{where} is empty: give it a `cmd` (and its deps and outs), or delete it"
# YAML 1.1 booleans that YAML 1.2 (DVC's reader) keeps as text.
_YAML11_BOOLS = {
    "yes": "true",
    "no": "false",
    "on": "true",
    "off": "false",
    "y": "true",
    "n": "false",
}
_TYPE_WORDS = {
    "string": "text",
    "array": "a list",
    "object": "a mapping",
    "boolean": "true or false",
    "null": "empty",
}


def _wrong_type(doc: YamlDoc, path: JsonPath, instance: Any, expected: Any) -> Finding:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in wanted)
    where = _place(path)
    found = _found(instance)
    if isinstance(instance, dict) and (path == ("plots",) or _is_stage_key(path, "plots")):
        first = next(iter(instance), "file.csv")
        return PLOTS_NOT_A_LIST.at_value(
            doc,
            path,
            f"{where} is a mapping; DVC 3 wants a list: write each plot as an item "
            f"(`- {first}: ...`)",
        )
    if instance is None:
        if _is_stage(path):
            return EMPTY_STAGE.at_key(
                doc,
                path,
                _EMPTY_STAGE.format(where=where),
            )
        if path and _is_output_entry(path[:-1]):
            return EMPTY_VALUE.at_key(
                doc,
                path,
                f"{where} ends with ':' but has no flags: delete the ':' or add flags "
                "(`{cache: false}`)",
            )
        return EMPTY_VALUE.at_key(
            doc, path, f"{where} has no value (null); DVC wants {words}: give it one, or delete it"
        )
    if isinstance(instance, str) and "${" in instance and "string" not in wanted:
        return INTERPOLATED_TYPED_VALUE.at_value(
            doc,
            path,
            f"{where} is `{instance}`: DVC checks the file before it fills in ${{...}}, and "
            f"wants {words} here: write the literal value",
        )
    if isinstance(instance, str) and wanted == ["array"]:
        return NOT_A_LIST.at_value(
            doc,
            path,
            f"{where} is a single string; DVC wants a list: write `[{instance}]` or a "
            f"`- {instance}` item",
        )
    if _is_stage(path) and isinstance(instance, str):
        return WRONG_TYPE.at_value(
            doc,
            path,
            f"{where} is text, not a mapping: put `cmd: {instance}` on its own line, "
            f"indented under `{path[1]}:`",
        )
    if _is_stage(path):
        return WRONG_TYPE.at_value(
            doc, path, f"{where} must be a mapping with `cmd:`, found {found}"
        )
    if path == ("stages",) and isinstance(instance, list):
        return WRONG_TYPE.at_value(
            doc,
            path,
            "`stages` must be a mapping, found a list: write each stage as `name:` with its "
            "keys indented under it, not as a `- ` item",
        )
    if isinstance(instance, dict) and path[-2:-1] == ("deps",) and "path" in instance:
        return WRONG_TYPE.at_value(
            doc,
            path,
            f"{where} is a mapping with `path:` (the DVC 1 form); deps are plain paths: "
            f"write `- {_yaml_text(instance['path'])}`",
        )
    if isinstance(instance, dict) and path[-2:-1] == ("deps",):
        first = next(iter(instance), "path")
        return WRONG_TYPE.at_value(
            doc,
            path,
            f"{where} is a mapping; deps are plain paths and take no flags: write `- {first}`",
        )
    if wanted == ["boolean"] and isinstance(instance, str) and instance in ("true", "false"):
        return WRONG_TYPE.at_value(
            doc, path, f"{where} is the text '{instance}', not a boolean: remove the quotes"
        )
    hint = ""
    if wanted == ["boolean"] and isinstance(instance, str) and instance.lower() in _YAML11_BOOLS:
        return WRONG_TYPE.at_value(
            doc,
            path,
            f"{where} is the text '{instance}' (YAML 1.2, which DVC reads, has only true and "
            f"false): write `{_YAML11_BOOLS[instance.lower()]}`",
        )
    quotable = isinstance(instance, (bool, int, float)) or found == "a date"
    if "string" in wanted and quotable:
        hint = f": quote it ('{_yaml_text(instance)}')"
    return WRONG_TYPE.at_value(doc, path, f"{where} must be {words}, found {found}{hint}")


def _beyond_schema(doc: YamlDoc, data: dict[Any, Any]) -> Iterator[Finding]:
    """What the schema lets through and DVC then fails on, or silently ignores.

    (`- file: lr` in params, which DVC also fails on, is the params rules' DG313.)
    """
    stages = data.get("stages")
    if not isinstance(stages, dict):
        return
    for name, stage in stages.items():
        if isinstance(name, str) and _CONTROL.search(name):
            yield STAGE_NAME_CONTROL.at_key(
                doc,
                ("stages", name),
                f"stage name {name!a} holds control characters: DVC accepts it, but "
                "every tool that prints it or writes it into code (logs, `dvc dag`, an "
                "exported DAG) can be misled; use letters, digits, '_', '-' and '.'",
            )
        if not isinstance(stage, dict):
            continue
        body, base = stage, ("stages", name)  # type: tuple[dict[Any, Any], JsonPath]
        if isinstance(stage.get("do"), dict):
            body, base = stage["do"], ("stages", name, "do")
        for kind in OUTPUT_KINDS:
            entries = body.get(kind)
            if not isinstance(entries, list):
                continue
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                for out, flags in entry.items():
                    if isinstance(flags, list):
                        yield PLOT_FLAGS_LIST.at_value(
                            doc,
                            (*base, kind, index, out),
                            f"the properties of {OUTPUT_KINDS[kind]} '{out}' are a list: DVC "
                            "fails loading it ('Expected dict'); write one mapping "
                            "(`{x: ..., y: ...}`)",
                        )
                    for one in flags if isinstance(flags, list) else [flags]:
                        if isinstance(one, dict) and "checkpoint" in one:
                            yield CHECKPOINT_IGNORED.at_key(
                                doc,
                                (*base, kind, index, out, "checkpoint"),
                                f"`checkpoint` on {OUTPUT_KINDS[kind]} '{out}' is ignored since "
                                "DVC 3.0 (checkpoints were removed): delete it",
                            )
                            break


def _place(path: JsonPath, inner: bool = False) -> str:
    """The thing at `path` in the user's words: "stage 'train'", "output 'm.pkl' of ..."."""
    if not path:
        return "the top level" if inner else "the document"
    if path[0] == "stages" and len(path) >= 2:
        stage = f"stage '{path[1]}'"
        rest = path[2:]
        if rest[:1] == ("do",):
            stage = f"`do` of stage '{path[1]}'"
            rest = rest[1:]
        if not rest:
            return stage
        if rest[0] in OUTPUT_KINDS and len(rest) >= 3:
            entry = f"{OUTPUT_KINDS[str(rest[0])]} '{rest[2]}' of {stage}"
            return entry if len(rest) == 3 else f"`{_tail(rest[3:])}` of {entry}"
        if rest[0] == "params" and len(rest) >= 3:
            return f"params file '{rest[2]}' of {stage}"
        return f"`{_tail(rest)}` of {stage}"
    if path[0] == "stages":
        return "`stages`"
    if path[0] == "plots" and len(path) >= 3:
        entry = f"plot '{path[2]}'"
        return entry if len(path) == 3 else f"`{_tail(path[3:])}` of {entry}"
    if path[0] == "artifacts" and len(path) >= 2:
        entry = f"artifact '{path[1]}'"
        return entry if len(path) == 2 else f"`{_tail(path[2:])}` of {entry}"
    return f"`{_tail(path)}`"


def _tail(path: JsonPath) -> str:
    """`deps` item 2 -> `deps[2]`; keys joined with dots."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _known_keys(path: JsonPath) -> list[str]:
    if not path:
        return TOP_KEYS
    if _is_stage(path) or _is_foreach_body(path):
        return STAGE_KEYS
    if path[0] == "artifacts":
        return ARTIFACT_KEYS
    if path[0] == "plots":
        return PLOT_PROPERTIES
    kinds = [step for step in path if step in OUTPUT_KINDS]
    if kinds and kinds[-1] == "plots":
        return [*OUTPUT_FLAGS, *PLOT_PROPERTIES, "header"]
    return [*OUTPUT_FLAGS, "checkpoint"]


def _is_stage(path: JsonPath) -> bool:
    return len(path) == 2 and path[0] == "stages"


def _is_foreach_body(path: JsonPath) -> bool:
    return len(path) == 3 and path[0] == "stages" and path[2] == "do"


def _is_stage_key(path: JsonPath, key: str) -> bool:
    return (len(path) == 3 and path[0] == "stages" and path[2] == key) or (
        len(path) == 4 and path[0] == "stages" and path[2] == "do" and path[3] == key
    )


def _is_output_entry(path: JsonPath) -> bool:
    """`path` is an item of a stage's outs/metrics/plots list."""
    return len(path) >= 4 and path[0] == "stages" and path[-2] in OUTPUT_KINDS


def _is_foreach(doc: YamlDoc, path: JsonPath) -> bool:
    stage = doc.data.get("stages", {}).get(path[1]) if isinstance(doc.data, dict) else None
    return isinstance(stage, dict) and ("foreach" in stage or "do" in stage)


def _found(value: Any) -> str:
    import datetime

    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    return type(value).__name__  # pragma: no cover


def _yaml_text(value: Any) -> str:
    """A scalar as the user typed it (near enough) for a fix hint."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list):
        return ", ".join(_yaml_text(v) for v in value)
    return str(value)


def _first_text(data: Any, path: JsonPath) -> str | None:
    """The first path listed under a legacy key, to make the fix hint concrete."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    if isinstance(data, str):
        return data
    if isinstance(data, list) and data and isinstance(data[0], str):
        return data[0]
    return None


def _live_dir(data: Any, path: JsonPath) -> str:
    value = data
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    if isinstance(value, dict) and value:
        first = next(iter(value))
        if isinstance(first, str):
            return first
    return "dvclive"


def _model_checks(context: CheckContext) -> Iterator[Finding]:
    """The graph (DG21x-DG23x) and params/vars (DG3xx) rules of the pipeline model.

    Skipped when `--select`/`ignore` leave none of their codes: building the model is
    most of a run's cost, and `--select DG1` asks for the schema alone.
    """
    config = context.project.config
    if any(config.is_selected(f"DG{n}") for n in range(210, 240)):
        from dvc_gitops.dvcmodel import graph as graph_checks  # imported here: it builds the model

        yield from graph_checks.check(context)
    if any(config.is_selected(f"DG{n}") for n in range(300, 400)):
        from dvc_gitops.dvcmodel import params as params_checks

        yield from params_checks.check(context)


def check(context: CheckContext) -> Iterator[Finding]:
    """Findings for each dvc.yaml: YAML, schema, then the model's graph and params rules."""
    project = context.project
    files = project.dvc_yaml_files if context.files is None else context.selected("dvc.yaml")
    for path in files:
        try:
            doc = project.yaml(path)
        except YamlProblem as exc:
            rule = {
                "merge-conflict": MERGE_CONFLICT,
                "encoding": NOT_TEXT,
                "too-large": TOO_COMPLEX,
            }.get(exc.kind, INVALID_YAML)
            yield rule.at(path, exc.mark, exc.message)
            continue
        except FileProblem as exc:
            yield UNREADABLE_FILE.at(path, exc.mark, exc.message)
            continue
        for problem in doc.problems:
            rule = DUPLICATE_KEY if problem.kind == "duplicate-key" else INVALID_YAML
            yield rule.at(path, problem.mark, problem.message)
        findings = list(schema_findings(doc))
        if context.fix:
            findings = _fix_typos(context, doc, findings)
        yield from findings
    yield from _model_checks(context)


def _fix_typos(context: CheckContext, doc: YamlDoc, findings: list[Finding]) -> list[Finding]:
    """Rename the stage keys that are near-certain typos (`dep:` -> `deps:`); their DG110
    findings go, unless config or an inline comment keeps the fixer's hands off."""
    from dvc_gitops.core import suppressions
    from dvc_gitops.core.files import Edit

    project = context.project
    chosen = []
    for typo in stage_key_typos(doc):
        finding = next(
            (f for f in findings if f.code == UNKNOWN_KEY.code and f.line == typo.mark.line),
            None,
        )
        if (
            finding is not None
            and project.config.is_selected(finding.code, finding.path)
            and not suppressions.hides(project, finding)
        ):
            chosen.append((typo, finding))
    text = renamed(doc, [typo for typo, _ in chosen]) if chosen else None
    if text is None:
        return findings
    if not context.apply([Edit(doc.path, text)], "check-dvc-yaml"):
        return findings  # refused (said on stderr): the findings stay
    gone = {id(finding) for _, finding in chosen}
    return [f for f in findings if id(f) not in gone]


# -- a stage key that is a near-certain typo (`dep:` for `deps:`) -------------------------
# DVC refuses the stage (DG110), and every other rule would read the stage wrongly: the
# deps under `dep:` are not deps, so DG201 would ask to add a script already listed and
# its fixer would add a second `deps:`. The typo wins: the other checks leave such a
# stage alone, and `--fix` renames the key in place when the stage lacks the key meant.


@dataclass(frozen=True)
class Typo:
    template: JsonPath  # where the stage's own keys live: ("stages", "train") or (..., "do")
    key: str  # as written: "dep"
    meant: str  # the stage key it stands for: "deps"
    mark: Mark  # where the key stands


def stage_key_typos(doc: YamlDoc) -> list[Typo]:
    """Every near-certain typo of a stage key in the stages of `doc`."""
    import difflib

    stages = doc.data.get("stages") if isinstance(doc.data, dict) else None
    if not isinstance(stages, dict):
        return []
    found = []
    for name, body in stages.items():
        template: JsonPath = ("stages", name)
        if isinstance(body, dict) and isinstance(body.get("do"), dict):
            template, body = (*template, "do"), body["do"]
        if not isinstance(body, dict):
            continue
        for key in body:
            if not isinstance(key, str) or key in STAGE_KEYS or key in ("foreach", "do"):
                continue
            meant = ALIASES.get(key)
            if meant is None:
                close = difflib.get_close_matches(key, STAGE_KEYS, n=1, cutoff=0.8)
                meant = close[0] if close else None
            if meant in STAGE_KEYS and meant not in body:
                found.append(Typo(template, key, meant, doc.key_mark((*template, key))))
    return found


def typo_templates(doc: YamlDoc) -> set[JsonPath]:
    """The stages (by where their keys live) that hold a near-certain typo."""
    return {typo.template for typo in stage_key_typos(doc)}


def renamed(doc: YamlDoc, typos: list[Typo]) -> str | None:
    """The text of `doc` with each typo's key renamed, every other byte unchanged; None
    when a key is not written plainly where it stands or the result does not parse."""
    lines = doc.text.splitlines(keepends=True)
    for typo in sorted(typos, key=lambda t: (t.mark.line, t.mark.column), reverse=True):
        index, start = typo.mark.line - 1, typo.mark.column - 1
        line = lines[index]
        after = line[start + len(typo.key) :]
        if line[start : start + len(typo.key)] != typo.key or not after.lstrip(" ").startswith(":"):
            return None  # quoted, or a flow mapping written oddly: left to the user
        lines[index] = line[:start] + typo.meant + after
    text = "".join(lines)
    from dvc_gitops.formats.yamldoc import load

    try:
        fixed = load(text, doc.path)
    except YamlProblem:
        return None
    if typo_templates(fixed) & {t.template for t in typos}:
        return None
    return text
