"""check-dvc-deps: scripts a stage's cmd runs that its deps do not list, and --fix for them.

DVC decides whether a stage is stale from its `deps` (and params, outs) alone. A stage
that runs `python src/train.py` without `src/train.py` among its deps is never re-run
when the script changes: the model it produced silently goes stale. The commands come
resolved from the pipeline model (vars, `${}`, foreach and matrix already applied).
"""

from __future__ import annotations

import ast
import copy
import json
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import yaml

from dvc_gitops.core import suppressions
from dvc_gitops.core.files import Edit
from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel.code_reads import check_reads
from dvc_gitops.dvcmodel.commands import (
    Script,
    is_parsable,
    relative_to,
    scripts_in,
    scripts_run_by,
    shell_words,
)
from dvc_gitops.dvcmodel.graph import misplaced_base
from dvc_gitops.dvcmodel.imports import local_imports
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.dvcmodel.packages import package_roots
from dvc_gitops.dvcmodel.schema_check import typo_templates
from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlDoc, YamlProblem, load

if TYPE_CHECKING:
    from dvc_gitops.dvcmodel.model import Stage

SCRIPT_NOT_IN_DEPS = Rule(
    "DG201",
    "script-not-in-deps",
    "warning",
    "A script, module or notebook a stage's `cmd` runs is not covered by its `deps`.",
    why="DVC re-runs a stage only when one of its deps, params or outs changed. It runs "
    "the script but never looks at it: after the script changes, `dvc status` says the "
    "stage is up to date and `dvc repro` skips it, so the outputs in the cache and the "
    "remote keep coming from the old code.",
    fix="Add the script (or a folder that holds it) to the stage's `deps`, as the message "
    "says; `check-dvc-deps --fix` adds it for you. For a `foreach` or `matrix` stage the "
    "fix goes into the shared template when every member runs the same script, or its own "
    "script named from the template (`python models/${key}.py` gets the dep "
    '`"models/${key}.py"`); when only some members lack theirs, add it yourself.',
    fixable=True,
)
UNPARSABLE_CMD = Rule(
    "DG202",
    "unparsable-cmd",
    "notice",
    "A stage's `cmd` cannot be split into shell words, so its scripts were not checked.",
    why="An unbalanced quote makes the shell refuse the command when `dvc repro` runs it; "
    "until then nothing can tell which scripts the stage runs.",
    fix="Balance the quotes in the command. A YAML block scalar (`cmd: >-`) saves quoting "
    "the whole command for YAML.",
)

IMPORT_NOT_IN_DEPS = Rule(
    "DG203",
    "import-not-in-deps",
    "warning",
    "A repository file that a stage's script imports (Python) or sources (R) is not covered "
    "by its `deps`.",
    why="Code a script imports changes the stage's result as much as the script itself, "
    "but DVC only watches the deps: after `src/utils.py` changes, a stage that runs "
    "`src/train.py` (which imports it) stays up to date in `dvc status` and is never "
    "re-run. Imports are followed from the script through every local module it reaches, "
    "as Python finds them (the script's folder and the PYTHONPATH the command sets); the "
    "standard library and installed packages are not the project's code. R scripts' "
    "`source()` calls are followed the same way.",
    fix="Add the imported files, or the folder that holds them (often `src`), to the "
    "stage's `deps`; `check-dvc-deps --fix` adds the files. Ignore the code "
    '(`ignore = ["DG203"]`) if your stages deliberately do not re-run on library changes.',
    fixable=True,
)
NESTED_SCRIPT_NOT_IN_DEPS = Rule(
    "DG204",
    "nested-script-not-in-deps",
    "warning",
    "A script that a stage's shell script runs is not covered by the stage's `deps`.",
    why="A stage whose `cmd` is `bash run.sh` depends on everything run.sh runs: when "
    "`src/train.py`, called from run.sh, changes, DVC still sees only the deps it was "
    "given, and never re-runs the stage.",
    fix="Add the scripts (or their folder) to the stage's `deps`, as the message says; "
    "`check-dvc-deps --fix` adds them.",
    fixable=True,
)

# An import finding names this many files; beyond, it counts them.
_LISTED_IMPORTS = 3
# Keys of a stage whose block lists show how the file indents lists.
_LIST_KEYS = ("outs", "metrics", "plots", "params")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_ITEM_PREFIX = re.compile(r"[ \t]*-[ \t]+")
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./@+~-]*")
# Plain words YAML would type as something other than a string.
_NOT_A_STRING = re.compile(r"(?i)(null|~|true|false|yes|no|on|off|[-+.\d_eE]+|\.inf|\.nan)")


@dataclass
class _Missing:
    """A dep line missing from one or more stages of one definition."""

    dep: str  # as it goes in the YAML: relative to the stage's wdir
    script: Script
    mark: Mark  # the cmd (or cmd list item) that runs it
    via: str | None = None  # the script that runs or imports it, when not the cmd itself
    rule: Rule = SCRIPT_NOT_IN_DEPS
    cmd_index: int = 0  # which of the stage's commands runs it
    stages: list[str] = field(default_factory=list)


def check(context: CheckContext) -> Iterator[Finding]:
    """The deps rules (DG20x), then what the stages' code reads (DG25x)."""
    yield from _check_deps(context)
    yield from check_reads(context, add_deps, _line_moves)


def _check_deps(context: CheckContext) -> Iterator[Finding]:
    """DG201/DG203 for scripts and imports no dep covers, DG202 for unreadable commands.

    With `context.fix`, the missing deps are written first and only what is left is
    reported.
    """
    project = context.project
    wanted = None if context.files is None else set(context.selected("dvc.yaml"))
    definitions: dict[tuple[str, str], list[Stage]] = {}
    for stage in pipeline_of(project).stages.values():
        if wanted is None or stage.dvcfile in wanted:
            definitions.setdefault((stage.dvcfile, stage.definition), []).append(stage)

    reports: list[tuple[str, JsonPath, _Missing, bool]] = []
    for (dvcfile, _definition), stages in definitions.items():
        try:
            doc = project.yaml(dvcfile)
        except (YamlProblem, FileProblem):
            continue  # check-dvc-yaml reports the file
        template = stages[0].template_path or stages[0].json_path
        if template in typo_templates(doc):
            continue  # `dep:` for `deps:`: DG110 wins, and its fix renames the key

        yield from _unparsable(doc, template, stages)
        members = [s.name for s in stages if not s.frozen]
        missing = _missing(project, doc, template, stages)
        if len(stages) > 1 or template[-1] == "do":
            missing = _templated(doc, template, stages, members, missing)
        for item in missing:
            reports.append((dvcfile, template, item, item.stages == members))

    # Each finding with the (file, template, dep) lines that would fix it.
    found: list[tuple[Finding, list[tuple[str, JsonPath, str]], bool]] = []
    grouped: dict[tuple[Rule, str, JsonPath, Mark, str, tuple[str, ...], bool], list[str]] = {}
    for dvcfile, template, item, fixable in reports:
        if item.via is None:
            finding = item.rule.at(dvcfile, item.mark, _message(template, item, fixable))
            found.append((finding, [(dvcfile, template, item.dep)], fixable))
        else:  # one finding per script that runs or imports them, listing what it reaches
            key = (item.rule, dvcfile, template, item.mark, item.via, tuple(item.stages), fixable)
            grouped.setdefault(key, []).append(item.dep)
    for (rule, dvcfile, template, mark, via, names, fixable), deps in grouped.items():
        verb = "imports" if rule is IMPORT_NOT_IN_DEPS else "runs"
        message = _reached_message(template, verb, via, list(names), deps, fixable)
        found.append(
            (rule.at(dvcfile, mark, message), [(dvcfile, template, d) for d in deps], fixable)
        )
    if not context.fix:
        yield from (finding for finding, _, _ in found)
        return
    # Fix only what the run reports: not what config or an inline comment silences.
    to_fix = [
        line
        for finding, lines, fixable in found
        if fixable
        # Another fixer rewrote the file in this run: the doc read before is stale.
        and finding.path not in context.fixed
        and project.config.is_selected(finding.code, finding.path)
        and not suppressions.hides(project, finding)
        for line in lines
    ]
    fixed, moved = _fix(context, to_fix)
    for finding, lines, _ in found:
        if not set(lines) <= fixed:
            # The fix inserted lines above it: point at where it stands now.
            line = moved.get(finding.path, {}).get(finding.line, finding.line)
            yield replace(finding, line=line)


def _cmd_mark(doc: YamlDoc, template: JsonPath, index: int, stage: Stage) -> Mark:
    """The position of the `index`-th command: the list item when `cmd` is a list."""
    if isinstance(doc.node((*template, "cmd")), yaml.SequenceNode):
        return doc.value_mark((*template, "cmd", index))
    return stage.cmd_mark


def _unparsable(doc: YamlDoc, template: JsonPath, stages: list[Stage]) -> Iterator[Finding]:
    for stage in stages:
        for n, cmd in enumerate(stage.cmds):
            if not is_parsable(cmd):
                yield UNPARSABLE_CMD.at(
                    doc.path,
                    _cmd_mark(doc, template, n, stage),
                    f"stage '{stage.name}': the command has an unbalanced quote, so the "
                    "shell will refuse it and its scripts were not checked; balance the quotes",
                )


def _missing(
    project: Project, doc: YamlDoc, template: JsonPath, stages: list[Stage]
) -> list[_Missing]:
    """The dep lines each stage of a definition lacks, merged across its members."""
    found: dict[str, _Missing] = {}
    for stage in stages:
        if stage.frozen:
            continue  # DVC never re-runs a frozen stage: a missing dep changes nothing
        if stage.always_changed or not (stage.deps or stage.outs or stage.params):
            continue  # DVC runs it every time (checked with dvc 3.67): a dep adds nothing
        if misplaced_base(project, pipeline_of(project), stage.address) is not None:
            continue  # its deps are relative to the wrong folder: DG216 says so, once
        deps = [d.path for d in stage.deps]
        outs = [o.path for o in stage.outs]
        for n, cmd in enumerate(stage.cmds):
            direct = scripts_in(cmd, stage.wdir, project)
            wanted: list[tuple[Script, str | None, Rule]] = [
                (s, None, SCRIPT_NOT_IN_DEPS) for s in direct
            ]
            for script in direct:
                wanted += [
                    (inner, script.path, NESTED_SCRIPT_NOT_IN_DEPS)
                    for inner in scripts_run_by(script, project)
                ]
            if n == 0:  # Python files listed as deps are the stage's code: their imports too
                run = {s.path for s, _, _ in wanted}
                wanted += [(s, None, SCRIPT_NOT_IN_DEPS) for s in _python_deps(stage, run, project)]
            for script, _, _ in list(wanted):
                wanted += [
                    (Script(module, "import", module), script.path, IMPORT_NOT_IN_DEPS)
                    for module in local_imports(script, project)
                ]
            for script, via, rule in wanted:
                if _covered(script, deps) or _under(script.path, outs):
                    continue
                if rule is IMPORT_NOT_IN_DEPS and _inert_package(project, script.path):
                    continue
                dep = relative_to(script.path, stage.wdir)
                item = found.get(dep)
                if item is None:  # the position only for what is reported (it walks the YAML)
                    mark = _cmd_mark(doc, template, n, stage)
                    item = found[dep] = _Missing(dep, script, mark, via, rule, n)
                if stage.name not in item.stages:
                    item.stages.append(stage.name)
    return list(found.values())


def _python_deps(stage: Stage, run: set[str], project: Project) -> list[Script]:
    """The stage's `.py` deps that its command does not run, as scripts whose imports count.

    Python finds their imports from their own folder (run as a script) or from where the
    project's own packages import (imported); both are asked.
    """
    found = []
    for dep in stage.deps:
        if dep.path.endswith(".py") and dep.path not in run and project.path(dep.path).is_file():
            folder = posixpath.dirname(dep.path) or "."
            search = tuple(dict.fromkeys([folder, *package_roots(project)]))
            found.append(Script(dep.path, "python", dep.path, search, stage.wdir))
    return found


def _templated(
    doc: YamlDoc, template: JsonPath, stages: list[Stage], members: list[str], items: list[_Missing]
) -> list[_Missing]:
    """Merge the per-member scripts of a foreach/matrix stage into one templated dep.

    `cmd: python models/${key}.py` runs models/ridge.py in one member, models/lasso.py in
    the other: when every member lacks its own, the dep to add is the template's word,
    `models/${key}.py`, which DVC resolves per member as it does the command.
    """
    by_name = {s.name: s for s in stages}
    raw_cmd = doc.data
    for step in (*template, "cmd"):
        raw_cmd = raw_cmd.get(step) if isinstance(raw_cmd, dict) else None
    by_word: dict[str, list[_Missing]] = {}
    kept: list[_Missing] = []
    for item in items:
        word = None
        if item.via is None and len(item.stages) == 1:
            stage = by_name[item.stages[0]]
            raw = raw_cmd[item.cmd_index] if isinstance(raw_cmd, list) else raw_cmd
            word = _template_word(raw, stage.cmds[item.cmd_index], item)
        if word is None:
            kept.append(item)
        else:
            by_word.setdefault(word, []).append(item)
    for word, group in by_word.items():
        if sorted(s for i in group for s in i.stages) != sorted(members):
            kept += group  # not every member: each reports its own path
            continue
        first = group[0]
        script = Script(word, first.script.kind, word)
        kept.append(replace(first, dep=word, script=script, stages=list(members)))
    return kept


def _template_word(raw: Any, resolved: str, item: _Missing) -> str | None:
    """The word of the template's command that became `item`'s script, if templated."""
    if not isinstance(raw, str) or _norm_word(item.script.token) != item.dep:
        return None  # a `cd` or an odd spelling: the dep line is not the word
    try:
        raw_words, words = shell_words(raw), shell_words(resolved)
    except ValueError:
        return None
    if len(raw_words) != len(words) or item.script.token not in words:
        return None
    word = raw_words[words.index(item.script.token)]
    return _norm_word(word) if "${" in word else None


def _norm_word(word: str) -> str:
    return posixpath.normpath(word) if word else word


def _inert_package(project: Project, path: str) -> bool:
    """Whether `path` is an `__init__.py` holding only a docstring, comments and blank
    lines: no edit of it changes what a stage computes until it gains code, and the
    commit that adds code is checked then."""
    if posixpath.basename(path) != "__init__.py":
        return False
    cache: dict[str, bool] = project.cache("inert_packages")
    if path not in cache:
        try:
            body = ast.parse(project.read_text(path)).body
        except (FileProblem, OSError, SyntaxError, ValueError):
            body = [ast.Pass()]  # unreadable: not known to be inert
        cache[path] = all(
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for node in body
        )
    return cache[path]


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(f in (".", path) or path.startswith(f + "/") for f in folders)


def _covered(script: Script, deps: Sequence[str]) -> bool:
    """A dep on the file, on a folder above it, or (for `-m pkg`) on pkg/__main__.py."""
    if _under(script.path, deps):
        return True
    return script.kind == "module" and f"{script.path}/__main__.py" in deps


def _message(template: JsonPath, item: _Missing, fixable: bool) -> str:
    script = item.script
    if script.kind == "module":
        what = f"module {script.token} ({script.path})"
    elif script.kind == "argument":
        what = f"{script.path} (named in the command)"
    else:
        what = script.path
    verb = "uses" if script.kind == "argument" else "runs"
    who, their, where = _who(template, item.stages, fixable, verb)
    return (
        f"{who} {what} but {their} deps do not cover it: DVC will not re-run "
        f"{'the stage' if their == 'its' else 'them'} when it changes; "
        f'add "- {item.dep}" to {where}'
    )


def _reached_message(
    template: JsonPath, verb: str, via: str, stages: list[str], deps: list[str], fixable: bool
) -> str:
    """What a stage imports or runs through one of its scripts, and the deps to add."""
    who, their, where = _who(template, stages, fixable, verb)
    them = "it" if len(deps) == 1 else "them"
    if len(deps) <= _LISTED_IMPORTS:
        files = ", ".join(deps)
        add = ", ".join(f'"- {d}"' for d in deps)
    else:
        shown = ", ".join(deps[:_LISTED_IMPORTS])
        what = "local modules" if verb == "imports" else "scripts"
        files = f"{len(deps)} {what} ({shown}, ...)"
        folder = posixpath.commonpath(deps)
        add = "each of them (--fix does)"
        if folder not in ("", ".") and not folder.startswith(".."):
            add += f' or their folder "- {folder}"'
    return (
        f"{who} {files} (through {via}) but {their} deps do not cover {them}: DVC will not "
        f"re-run {'the stage' if their == 'its' else 'them'} when "
        f"{'it changes' if them == 'it' else 'they change'}; add {add} to {where}"
    )


# Members named in a message before "and N more": a line must stay readable.
_LISTED_MEMBERS = 4


def _who(template: JsonPath, stages: list[str], fixable: bool, verb: str) -> tuple[str, str, str]:
    """Who is missing the dep ("stage 'train' runs"), their pronoun, where the dep goes."""
    if len(stages) == 1:
        who, their = f"stage '{stages[0]}' {verb}", "its"
    elif fixable and len(stages) > _LISTED_MEMBERS:
        # A foreach of a thousand members: the line stays readable, the count says all.
        who, their = f"all {len(stages):,} members of '{template[1]}' {verb[:-1]}", "their"
    elif fixable:
        who, their = f"every member of '{template[1]}' ({', '.join(stages)}) {verb}", "their"
    else:
        named = ", ".join(f"'{s}'" for s in stages[:_LISTED_MEMBERS])
        more = len(stages) - _LISTED_MEMBERS
        who = f"stages {named}{f' and {more:,} more' if more > 0 else ''} {verb[:-1]}"
        their = "their"
    if fixable:
        where = "the deps under 'do'" if template[-1] == "do" else f"{their} deps"
    else:
        where = (
            f"{their} deps (in the template, with ${{item}} or ${{key}} where the path "
            "differs by member; --fix leaves it)"
        )
    return who, their, where


# --- the fixer: minimal text edits, verified by parsing the result ---------------------


def _fix(
    context: CheckContext, wanted: list[tuple[str, JsonPath, str]]
) -> tuple[set[tuple[str, JsonPath, str]], dict[str, dict[int, int]]]:
    """Add each dep to its file, skipping the stages whose layout it cannot edit safely.

    Returns what was written, and per rewritten file where each old line now stands.
    """
    project = context.project
    by_file: dict[str, dict[JsonPath, list[str]]] = {}
    for dvcfile, template, dep in wanted:
        deps = by_file.setdefault(dvcfile, {}).setdefault(template, [])
        if dep not in deps:
            deps.append(dep)
    done: set[tuple[str, JsonPath, str]] = set()
    moved: dict[str, dict[int, int]] = {}
    for dvcfile, templates in by_file.items():
        doc = original = project.yaml(dvcfile)
        added: set[tuple[str, JsonPath, str]] = set()
        # One pass for every stage when that parses as wanted; else stage by stage.
        batch = add_deps_everywhere(doc, templates) if len(templates) > 1 else None
        if batch is not None:
            doc = load(batch, dvcfile)
            added |= {(dvcfile, template, d) for template, deps in templates.items() for d in deps}
        for template, deps in templates.items() if batch is None else ():
            text = add_deps(doc, template, deps)
            if text is not None:
                doc = load(text, dvcfile)
                added |= {(dvcfile, template, d) for d in deps}
        if not added:
            continue
        bom = "\ufeff" if project.read_bytes(dvcfile).startswith(b"\xef\xbb\xbf") else ""
        if not context.apply([Edit(dvcfile, bom + doc.text)], "check-dvc-deps"):
            continue  # refused (said on stderr): the findings stay, unfixed
        done |= added
        moved[dvcfile] = _line_moves(original.text, doc.text)
    return done, moved


def _line_moves(before: str, after: str) -> dict[int, int]:
    """Old line number -> new line number, for a text that only gained lines (and items
    inside a line). One pass: an old line is found at or after where the last one was,
    within the count of lines added; a line edited in place keeps its slot. (difflib's
    matcher was quadratic on the repeated lines of a big dvc.yaml.)"""
    old, new = _lines(before), _lines(after)
    moves: dict[int, int] = {}
    j = 0
    for i, line in enumerate(old):
        surplus = (len(new) - j) - (len(old) - i)
        for k in range(max(surplus, 0) + 1):
            if j + k < len(new) and new[j + k] == line:
                j += k
                break
        moves[i + 1] = j + 1
        j += 1
    return moves


def add_deps(
    doc: YamlDoc,
    mapping: JsonPath,
    deps: Sequence[str | tuple[str, str]],
    field: str = "deps",
) -> str | None:
    """`doc.text` with `deps` appended to the `field` list (`deps`, `params`) at `mapping`.

    An item is a string, or (file, key) for a `params:` entry of another file, written
    `- file: [key]`. Only new lines (or, in a flow list, new items) are inserted; every
    other byte stays. None when no edit both parses and yields exactly the wanted data.
    """
    expected = copy.deepcopy(doc.data)
    candidates = _insertions(doc, _lines(doc.text), mapping, deps, field, expected)
    for offset, inserted in candidates or ():
        text = doc.text[:offset] + inserted + doc.text[offset:]
        try:
            if load(text, doc.path).data == expected:
                return text
        except YamlProblem:
            continue
    return None


def add_deps_everywhere(
    doc: YamlDoc, wanted: dict[JsonPath, list[str]], field: str = "deps"
) -> str | None:
    """Every stage's insertion at once, checked with one parse (linear in the stages);
    None when any stage needs the careful one-at-a-time path of `add_deps`."""
    expected = copy.deepcopy(doc.data)
    lines = _lines(doc.text)
    chosen = []
    for mapping, deps in wanted.items():
        candidates = _insertions(doc, lines, mapping, deps, field, expected)
        if not candidates:
            return None
        chosen.append(candidates[0])
    text = doc.text
    for offset, inserted in sorted(chosen, key=lambda c: c[0], reverse=True):
        text = text[:offset] + inserted + text[offset:]
    try:
        return text if load(text, doc.path).data == expected else None
    except YamlProblem:
        return None


def _insertions(
    doc: YamlDoc,
    lines: list[str],
    mapping: JsonPath,
    deps: Sequence[str | tuple[str, str]],
    field: str,
    expected: Any,
) -> list[tuple[int, str]] | None:
    """Where the items could go, best first, as (offset in `doc.text`, text to insert);
    `expected` (the document's data) gets the items its `field` list will hold."""
    node = doc.node(mapping)
    if not isinstance(node, yaml.MappingNode) or node.flow_style or not deps:
        return None
    keys: dict[str, tuple[yaml.Node, yaml.Node]] = {
        str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)
    }
    newline = _LINE_BREAK.search(doc.text)
    nl = newline.group() if newline else "\n"
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    target: Any = expected
    for step in mapping:
        target = target[step]
    candidates: list[tuple[int, str]] = []
    data = [_datum(d) for d in deps]

    def whole_lines(at: int, new: str) -> tuple[int, str]:
        ends_open = at == len(lines) and lines and not _LINE_BREAK.search(lines[-1][-2:])
        return starts[at], (nl + new if ends_open else new)

    if field in keys:
        value = keys[field][1]
        if not isinstance(value, yaml.SequenceNode) or not isinstance(target[field], list):
            return None
        target[field] = [*target[field], *data]
        style = _style(value)
        if value.flow_style:
            items = ", ".join(_item(d, style, flow=True) for d in deps)
            if value.value:
                end = value.value[-1].end_mark
                candidates.append((starts[end.line] + end.column, ", " + items))
            else:
                end = value.end_mark  # just after the `]`
                candidates.append((starts[end.line] + end.column - 1, items))
        else:
            first = value.value[0].start_mark
            prefix = lines[first.line][: first.column]
            if not _ITEM_PREFIX.fullmatch(prefix):
                return None
            new = "".join(prefix + _item(d, style) + nl for d in deps)
            candidates += [whole_lines(at, new) for at in _lines_after(lines, value.value[-1])]
    else:
        if "cmd" not in keys:
            return None
        key, value = keys["cmd"]
        start = key.start_mark
        if lines[start.line][: start.column].strip():
            return None  # `cmd` does not open its line: leave such a layout alone
        indent = lines[start.line][: start.column]
        item = indent + _list_indent(keys, lines)
        new = indent + field + ":" + nl + "".join(item + _item(d, None) + nl for d in deps)
        target[field] = data
        candidates += [whole_lines(at, new) for at in _lines_after(lines, value)]
    return candidates


def _lines(text: str) -> list[str]:
    """The text's lines with their line breaks, numbered as YAML marks number them."""
    lines, start = [], 0
    for found in _LINE_BREAK.finditer(text):
        lines.append(text[start : found.end()])
        start = found.end()
    if start < len(text) or not lines:
        lines.append(text[start:])
    return lines


def _lines_after(lines: list[str], node: yaml.Node) -> list[int]:
    """Where new lines may go after `node`: right after its last text, then later."""
    # A block list or mapping ends where the next token starts (maybe a later key's
    # line): its last scalar knows where the text really ends.
    while (
        isinstance(node, (yaml.SequenceNode, yaml.MappingNode))
        and not node.flow_style
        and node.value
    ):
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    end = node.end_mark
    if end.column > 0:
        return [end.line + 1]
    # A block scalar ends at the next token: step back over the blank lines it ate.
    line = end.line
    while line - 1 > node.start_mark.line and not lines[line - 1].strip():
        line -= 1
    return list(dict.fromkeys([line, end.line]))


def _list_indent(keys: dict[str, tuple[yaml.Node, yaml.Node]], lines: list[str]) -> str:
    """How a list item sits under its key in this stage ("  - " unless shown otherwise)."""
    for name in _LIST_KEYS:
        if name not in keys:
            continue
        key, value = keys[name]
        if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
            first = value.value[0].start_mark
            prefix: str = lines[first.line][: first.column]
            column: int = key.start_mark.column
            if _ITEM_PREFIX.fullmatch(prefix) and len(prefix) >= column:
                return prefix[column:]
    return "  - "


def _datum(item: str | tuple[str, str]) -> Any:
    return item if isinstance(item, str) else {item[0]: [item[1]]}


def _item(item: str | tuple[str, str], style: str | None, flow: bool = False) -> str:
    """A list item's text: a string, or a `file: [key]` params entry."""
    if isinstance(item, str):
        return _scalar(item, style)
    text = f"{_scalar(item[0], style)}: [{_scalar(item[1], style)}]"
    return "{" + text + "}" if flow else text


def _style(sequence: yaml.SequenceNode) -> str | None:
    """The quote style of the list's first item, which new items copy."""
    first = sequence.value[0] if sequence.value else None
    if isinstance(first, yaml.ScalarNode) and first.style in ("'", '"'):
        return str(first.style)
    return None


def _scalar(text: str, style: str | None) -> str:
    """`text` as a YAML string in `style` (plain when that still reads as a string)."""
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    plain = _PLAIN_SAFE.fullmatch(text) and not _NOT_A_STRING.fullmatch(text)
    if style == '"' or not plain:
        return json.dumps(text, ensure_ascii=False)
    return text
