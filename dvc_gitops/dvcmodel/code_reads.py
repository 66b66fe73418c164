"""What each stage's code reads, against what the stage declares (DG250-DG259).

The code is scanned without running it (`params_read`); this module asks, for each stage,
which params keys and which repository files its scripts read that its `params:` and
`deps:` leave out, and which scripts its command runs that are not there.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.core.project import FileProblem
from dvc_gitops.dvcmodel.commands import (
    SOURCE_SUFFIXES,
    missing_scripts,
    relative_to,
    scripts_in,
    shell_words,
)
from dvc_gitops.dvcmodel.imports import _resolve_module, local_imports
from dvc_gitops.dvcmodel.model import LoadProblem, ParamsLoader, pipeline_of
from dvc_gitops.dvcmodel.packages import package_roots
from dvc_gitops.dvcmodel.params_read import (
    ParamsFiles,
    PathUse,
    Read,
    _Scan,
    prepare_module,
    scan_prepared,
    scan_r,
)

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project
    from dvc_gitops.core.runner import CheckContext
    from dvc_gitops.dvcmodel.stages import Stage


# ---- stages ----------------------------------------------------------------------------


@dataclass
class Undeclared:
    """A key a stage's code reads that its `params:` (and deps) do not cover."""

    read: Read
    stage: Stage
    default_file: bool  # the key lives in the stage's default params file
    strict: bool  # read through params_show(stages=...): a KeyError at run time

    @property
    def entry(self) -> str:
        """The `params:` item to add, as written in dvc.yaml."""
        if self.default_file:
            return self.read.dotted
        file = _relative(self.read.file, self.stage.wdir)
        return f"{file}: [{self.read.dotted}]"


def _relative(path: str, folder: str) -> str:

    return relative_to(path, folder)


# Keys that say where or how a run happens, not what it computes: a stage need not re-run
# when they change, so reading them undeclared is no staleness (matched on any key part).
RUNTIME_KEYS = re.compile(
    r"(?i)^(device\w*|cuda\w*|gpus?|n_?gpus?|num_workers|n_?jobs|workers|verbose|verbosity"
    r"|log_?level|logging|log_\w+|debug|mlflow\w*|wandb\w*|tracking_uri|experiment_name|run_name"
    r"|register\w*|registry\w*"
    r"|aws\w*|s3|profile|endpoint_url|account_id|credentials)$"
)
_TEMPLATE = re.compile(r"\$\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)")


def _templated_keys(raw: Any) -> set[tuple[str, ...]]:
    """Keys a stage's `${...}` templates read: their values change its cmd or paths."""
    found: set[tuple[str, ...]] = set()
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found |= {tuple(m.split(".")) for m in _TEMPLATE.findall(node)}
        elif isinstance(node, dict):
            stack.extend(node.values())
            stack.extend(k for k in node if isinstance(k, str))
        elif isinstance(node, list):
            stack.extend(node)
    return found


def covers(pattern: str, key: tuple[str, ...]) -> bool:
    """Whether a `params:` key (maybe a glob) covers `key`, a section covering its keys."""
    import fnmatch

    parts = tuple(pattern.split("."))
    if key[: len(parts)] == parts or parts[: len(key)] == key:
        return True  # a section, the key itself, or a key inside what was read
    dotted = ".".join(key)
    if any(c in pattern for c in "*?["):
        return any(
            fnmatch.fnmatchcase(".".join(key[:n]), pattern) for n in range(1, len(key) + 1)
        ) or (fnmatch.fnmatchcase(dotted, pattern))
    return pattern == dotted


class StageReads:
    """The params reads of every stage's code, each source file scanned once per setting."""

    def __init__(self, project: Project) -> None:

        self.project = project
        self.loader = ParamsLoader(project)
        pipeline = pipeline_of(project)
        tracked = [p.file for s in pipeline.stages.values() for p in s.params]
        self.params_files = set(tracked) | set(pipeline.default_params.values())
        self.files = ParamsFiles(self._data, list(dict.fromkeys(tracked)))
        self.scans: dict[
            tuple[str, str, tuple[str, ...], tuple[str, ...]], tuple[list[Read], list[PathUse]]
        ] = {}
        self.modules: dict[tuple[str, str, tuple[str, ...]], _Scan | None] = {}
        self.prepared: dict[tuple[str, str, tuple[str, ...]], _Scan | None] = {}
        # (stage address, file) pairs DG254 reported: DG256 does not report them again
        self.passed: set[tuple[str, str]] = set()

    def _data(self, rel: str) -> Any:

        if rel not in self.params_files:
            return None
        try:
            return self.loader.load(rel)
        except LoadProblem:
            return None

    def reads(self, stage: Stage) -> list[Read]:
        """Every params read of the code the stage runs (its scripts and their imports)."""
        return [r for reads, _ in self.code(stage) for r in reads]

    def paths(self, stage: Stage) -> list[PathUse]:
        """Every repository path the code the stage runs names literally."""
        return [p for _, paths in self.code(stage) for p in paths]

    def code(self, stage: Stage) -> list[tuple[list[Read], list[PathUse]]]:
        """The scan of each source file the stage runs (its scripts and their imports)."""

        found: list[tuple[list[Read], list[PathUse]]] = []
        for cmd in stage.cmds:
            try:
                words = shell_words(cmd)
            except ValueError:
                continue
            for script in scripts_in(cmd, stage.wdir, self.project):
                if script.kind not in ("python", "module", "r") or script.cwd is None:
                    continue
                argv = _argv_after(words, script.token)
                start = script.path
                if script.kind == "module" and not start.endswith(".py"):
                    start += "/__main__.py"
                roots = (*script.search_path, *package_roots(self.project))
                found.append(self._scan(start, script.cwd, argv, roots))
                for module in local_imports(script, self.project):
                    found.append(self._scan(module, script.cwd, (), roots))
        return found

    def _module(self, dotted: str, importer: str, cwd: str, roots: tuple[str, ...]) -> _Scan | None:
        """The prepared scan of the repository module `dotted` names from `importer`."""

        name = dotted.lstrip(".")
        level = len(dotted) - len(name)
        if level:
            base = posixpath.dirname(importer) or "."
            for _ in range(level - 1):
                base = posixpath.dirname(base) or "."
            bases: tuple[str, ...] = (base,)
        else:
            bases = roots
        parts = name.split(".") if name else []
        files = _resolve_module(parts, bases, self.project)
        if not files or not parts:
            return None
        path = files[-1]
        if (
            not path.endswith((f"/{parts[-1]}.py", f"{parts[-1]}/__init__.py"))
            and path != f"{parts[-1]}.py"
        ):
            return None
        key = (path, cwd, roots)
        if key not in self.modules:
            self.modules[key] = None  # an import cycle meets itself: nothing

            try:
                text = self.project.read_text(path)
            except FileProblem:
                return None
            self.modules[key] = prepare_module(
                text, path, cwd, self.files, lambda d, i: self._module(d, i, cwd, roots)
            )
        return self.modules[key]

    def _scan(
        self, path: str, cwd: str, argv: Sequence[str], roots: tuple[str, ...]
    ) -> tuple[list[Read], list[PathUse]]:
        if path.endswith(".py"):
            # One parse per file and setting; a foreach of a thousand members passes a
            # thousand argvs, which matter only to a file that reads its arguments.
            prepared = self._prepared(path, cwd, roots)
            if prepared is None:
                return [], []
            key = (path, cwd, tuple(argv) if prepared.uses_argv else (), roots)
            if key not in self.scans:
                self.scans[key] = scan_prepared(prepared, argv)
            return self.scans[key]
        key = (path, cwd, (), roots)
        if key not in self.scans:
            text = self._text(path)
            is_r = path.lower().endswith(".r")
            self.scans[key] = (scan_r(text, path, cwd, self.files) if is_r else [], [])
        return self.scans[key]

    def _text(self, path: str) -> str:
        try:
            return self.project.read_text(path)
        except FileProblem:
            return ""

    def _prepared(self, path: str, cwd: str, roots: tuple[str, ...]) -> _Scan | None:
        key = (path, cwd, roots)
        if key not in self.prepared:
            self.prepared[key] = prepare_module(
                self._text(path), path, cwd, self.files, lambda d, i: self._module(d, i, cwd, roots)
            )
        return self.prepared[key]

    def undeclared(self, stage: Stage) -> list[Undeclared]:
        """The reads of `stage`'s code that its params and deps leave uncovered."""
        if stage.frozen:
            return []
        pipeline = pipeline_of(self.project)
        default = posixpath.normpath(posixpath.join(stage.wdir, "params.yaml"))
        templated = self._templated(stage)
        found: list[Undeclared] = []
        seen: set[tuple[str, tuple[str, ...], int]] = set()
        for read in self.reads(stage):
            if read.stages is None and any(RUNTIME_KEYS.match(part) for part in read.key):
                continue
            if read.stages is not None:
                owners = [
                    s
                    for s in pipeline.stages.values()
                    if s.name in read.stages or s.address in read.stages
                ]
                if not owners:
                    continue  # a stage of another dvc.yaml or a name we cannot find
                declared = [p for s in owners for p in s.params if p.file == read.file]
                if any(p.key is None or covers(p.key, read.key) for p in declared):
                    continue
                strict = True
            else:
                if any(
                    d.path == read.file or read.file.startswith(d.path + "/") for d in stage.deps
                ):
                    continue  # the whole file is a dep
                declared = [p for s in [stage] for p in s.params if p.file == read.file]
                if any(p.key is None or covers(p.key, read.key) for p in declared):
                    continue
                # A `${}` value (from params.yaml or vars) is in the cmd or a path: a change
                # re-runs the stage whichever file it comes from.
                if any(covers(".".join(t), read.key) for t in templated):
                    continue
                strict = False
            mark = (read.file, read.key, read.line)
            if mark in seen:
                continue
            seen.add(mark)
            found.append(Undeclared(read, stage, read.file == default, strict))
        return found

    def _templated(self, stage: Stage) -> set[tuple[str, ...]]:
        try:
            data = self.project.yaml(stage.dvcfile).data
        except Exception:
            return set()
        node: Any = data
        for step in stage.template_path or stage.json_path:
            node = node.get(step) if isinstance(node, dict) else None
        found = _templated_keys(node)
        if stage.template_path and len(stage.json_path) >= 2:
            top = data.get("stages", {}).get(stage.definition) if isinstance(data, dict) else None
            if isinstance(top, dict):
                found |= _templated_keys(
                    {k: v for k, v in top.items() if k in ("foreach", "matrix")}
                )
        return found


def _argv_after(words: Sequence[str], token: str) -> list[str]:
    """The words after the script's own word, up to the end of its command."""
    if token not in words:
        return []
    argv: list[str] = []
    for word in words[list(words).index(token) + 1 :]:
        if word and all(c in "();<>|&\n" for c in word):
            break
        argv.append(word)
    return argv


# ---- rules -----------------------------------------------------------------------------

PARAM_NOT_DECLARED = Rule(
    "DG250",
    "param-read-not-declared",
    "warning",
    "A stage's code reads a params key that its `params:` does not list.",
    why="DVC re-runs a stage only when one of its deps or declared params changed. A script "
    'that reads `params["train"]["test_size"]` from params.yaml while its stage lists only '
    "`base` keeps its outputs when `train.test_size` changes: `dvc status` says the stage "
    "is up to date, `dvc repro` skips it, and the results silently come from the old "
    "value. The code is read without running it (yaml/json/toml loads of a params file, "
    "`dvc.api.params_show()`, OmegaConf and Hydra configs, R's `yaml::read_yaml`), through "
    "variables, a function that returns the params and a dict passed down one call; a key "
    "built at run time is never guessed.",
    fix="Add the key (or its whole section) to the stage's `params:`, as the message says; "
    "`check-dvc-deps --fix` adds it. A whole-file `params.yaml` dep, or the file under "
    "`params:` with no keys, covers every key.",
)
PARAMS_SHOW_NOT_DECLARED = Rule(
    "DG251",
    "params-show-key-not-declared",
    "error",
    "Code reads a key from `dvc.api.params_show(stages=...)` that the stage does not declare.",
    why='`params_show(stages="train")` returns only the params that stage lists: reading '
    "any other key raises KeyError when the script runs, inside `dvc repro`.",
    fix="Add the key to that stage's `params:` (`check-dvc-deps --fix` does), or read it "
    "from the file itself.",
)


@dataclass
class _Report:
    """A finding, and the entries that fix it: (stage, "params" | "deps", entry)."""

    finding: Finding
    edits: list[tuple[Stage, str, Any]]


# add_deps(doc, mapping, entries, field=...) -> text | None, and old -> new line numbers
# of an edited text: check-dvc-deps' fixer (dvcmodel.deps) hands its own to check_reads.
AddEntries = Callable[..., "str | None"]
LineMoves = Callable[[str, str], dict[int, int]]


def check_reads(
    context: CheckContext, add_entries: AddEntries, line_moves: LineMoves
) -> Iterator[Finding]:
    """DG250-DG256 for what the stages' code reads or runs beyond what they declare.

    With `context.fix`, the missing params and deps entries are written first (through
    `add_entries`) and only what is left is reported.
    """
    project = context.project
    wanted = None if context.files is None else set(context.files)
    code = StageReads(project)
    stages = [
        s
        for s in pipeline_of(project).stages.values()
        if not s.frozen and (wanted is None or s.dvcfile in wanted or _touches(code, s, wanted))
    ]
    reports = [
        *_params_reports(code, stages),
        *_script_reports(project, stages),
        *_argument_reports(code, stages),
        *_output_reports(code, stages),
    ]
    if not context.fix:
        yield from (r.finding for r in reports)
        return
    done = _fix(context, reports, add_entries)
    moved = _moves(project, {r.finding.path for r in reports} & set(context.fixed), line_moves)
    for report in reports:
        if report.edits and all(id(e) in done for e in report.edits):
            continue
        finding = report.finding
        line = moved.get(finding.path, {}).get(finding.line, finding.line)
        yield replace(finding, line=line)


def _moves(
    project: Project, rewritten: set[str], line_moves: LineMoves
) -> dict[str, dict[int, int]]:
    """Per rewritten dvc.yaml, where each line read at the start of the run stands now."""
    moves: dict[str, dict[int, int]] = {}
    for path in rewritten:
        try:
            before = project.yaml(path).text  # as the run first read it
            after = project.path(path).read_bytes().decode("utf-8-sig")
        except Exception:  # unreadable now: positions stay as they were
            continue
        moves[path] = line_moves(before, after)
    return moves


def _touches(code: StageReads, stage: Stage, files: set[str]) -> bool:
    """Whether a file given on the command line is one the stage's code is made of."""
    return any(r.path in files or r.file in files for r in code.reads(stage))


def _who(names: list[str], verb: str) -> tuple[str, str, str]:
    """("stage 'a' reads" | "stages 'a', 'b' read", "its" | "their", "the stage" | "them")."""
    if len(names) == 1:
        return f"stage '{names[0]}' {verb}", "its", "the stage"
    plural = verb[:-2] if verb.endswith("sses") else verb[:-1]
    shown = ", ".join(f"'{n}'" for n in names[:3])
    if len(names) > 4:  # a foreach of fifty members: the finding stays one line
        shown += f" and {len(names) - 3} more"
    else:
        shown = ", ".join(f"'{n}'" for n in names)
    return f"stages {shown} {plural}", "their", "them"


def _params_reports(code: StageReads, stages: list[Stage]) -> Iterator[_Report]:
    by_place: dict[tuple[str, int, int, str, str, bool], list[Undeclared]] = {}
    for stage in stages:
        for item in code.undeclared(stage):
            read = item.read
            place = (read.path, read.line, read.column, read.file, read.dotted, item.strict)
            by_place.setdefault(place, []).append(item)
    pipeline = pipeline_of(code.project)
    for (path, line, column, file, dotted, strict), items in by_place.items():
        first = items[0]
        if strict:
            owners = [
                s
                for s in pipeline.stages.values()
                if s.name in (first.read.stages or ()) or s.address in (first.read.stages or ())
            ]
            shown = ", ".join(f"'{s}'" for s in first.read.stages or ())
            message = (
                f"reads {file} key {dotted} from dvc.api.params_show(stages={shown}), but "
                f"that stage does not list it: KeyError when it runs; add "
                f'"- {first.entry}" to its params'
            )
            edits = []
            if len(owners) == 1:
                edits = [(owners[0], "params", _param_entry(first.read, owners[0]))]
            yield _Report(PARAMS_SHOW_NOT_DECLARED.at(path, (line, column), message), edits)
            continue
        names = list(dict.fromkeys(i.stage.name for i in items))
        who, their, them = _who(names, "reads")
        message = (
            f"{who} {file} key {dotted} here, but {their} params do not list it: "
            f'changing it will not re-run {them}; add "- {first.entry}" to {their} params'
        )
        edits = [(i.stage, "params", _param_entry(i.read, i.stage)) for i in items]
        yield _Report(PARAM_NOT_DECLARED.at(path, (line, column), message), edits)


def _param_entry(read: Read, stage: Stage) -> Any:
    """The `params:` item for `read` in `stage`: a key, or (file, key) for another file."""
    if read.file == posixpath.normpath(posixpath.join(stage.wdir, "params.yaml")):
        return read.dotted
    return (_relative(read.file, stage.wdir), read.dotted)


def _fix(context: CheckContext, reports: list[_Report], add_entries: AddEntries) -> set[int]:
    """Write the missing entries; the ids of the edits written.

    A foreach/matrix template gets an entry only when every member of it needs the same.
    """
    from dvc_gitops.core import suppressions
    from dvc_gitops.formats.yamldoc import YamlProblem, load

    project = context.project
    pipeline = pipeline_of(project)
    wanted: dict[tuple[str, tuple[Any, ...], str], dict[Any, list[tuple[Stage, str, Any]]]] = {}
    for report in reports:
        finding = report.finding
        if not project.config.is_selected(finding.code, finding.path):
            continue
        if suppressions.hides(project, finding):
            continue
        for edit in report.edits:
            stage, key, entry = edit
            template = stage.template_path or stage.json_path
            place = (stage.dvcfile, template, key)
            wanted.setdefault(place, {}).setdefault(entry, []).append(edit)
    done: set[int] = set()
    by_file: dict[str, list[tuple[tuple[Any, ...], str, list[Any], list[Any]]]] = {}
    for (dvcfile, template, key), entries in wanted.items():
        members = {
            s.name
            for s in pipeline.stages.values()
            if s.dvcfile == dvcfile
            and (s.template_path or s.json_path) == template
            and not s.frozen
        }
        ok = [e for e, some in entries.items() if {s.name for s, _, _ in some} >= members]
        edits = [edit for e in ok for edit in entries[e]]
        by_file.setdefault(dvcfile, []).append((template, key, ok, edits))
    for dvcfile, changes in by_file.items():
        try:
            raw = project.path(dvcfile).read_bytes()
            doc = load(raw.decode("utf-8-sig"), dvcfile)
        except (OSError, UnicodeDecodeError, YamlProblem):
            continue
        written: set[int] = set()
        for template, key, items, edits in changes:
            new = add_entries(doc, template, items, field=key) if items else None
            if new is not None:
                doc = load(new, dvcfile)
                written |= {id(e) for e in edits}
        if not written:
            continue
        bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
        try:
            project.path(dvcfile).write_bytes((bom + doc.text).encode("utf-8"))
        except OSError:
            continue
        done |= written
        context.fixed.append(dvcfile)
    return done


# ---- scripts that are not there -------------------------------------------------------

SCRIPT_MISSING = Rule(
    "DG252",
    "script-missing",
    "error",
    "A script a stage's `cmd` runs does not exist: not on disk, not in git, not any "
    "stage's output.",
    why="DVC runs `cmd` from the stage's folder (`wdir`, by default the folder of its "
    "dvc.yaml): `python src/train.py` in `src/dvc.yaml` runs `src/src/train.py`. When that "
    "file is nowhere, `dvc repro` fails on every clone, after removing the stage's outputs.",
    fix="Fix the path as seen from the stage's folder, or set `wdir:` to the folder the "
    "command was written for; the message says which file exists.",
)
SCRIPT_GIT_IGNORED = Rule(
    "DG253",
    "script-git-ignored",
    "warning",
    "A script a stage runs (or imports) exists only in this work tree: git ignores it.",
    why="A clone has no copy of an ignored file, so the stage cannot run anywhere but here "
    "(CI, a colleague, `dvc exp run --queue` in a temporary copy).",
    fix="Commit the script (un-ignore it with a `!path` line in .gitignore), or make it an "
    "output of the stage that generates it.",
)
ARGUMENT_NOT_IN_DEPS = Rule(
    "DG254",
    "argument-file-not-in-deps",
    "warning",
    "A file git tracks is passed to a stage's command (`--data data/coco.yaml`) but is not "
    "among its deps.",
    why="A config or a small data file committed to git changes what the stage computes "
    "as much as its code, but DVC only watches the deps: after the file changes, `dvc "
    "status` says the stage is up to date and `dvc repro` skips it.",
    fix="Add the file (or its folder) to the stage's `deps`, as the message says; "
    "`check-dvc-deps --fix` adds it.",
)
OUTPUT_READ_NOT_IN_DEPS = Rule(
    "DG255",
    "output-read-not-in-deps",
    "warning",
    "A stage's code reads another stage's output by a literal path, without a dep on it.",
    why="DVC orders and re-runs stages from their deps: a script that opens "
    "`data/features.csv` (written by `featurize`) while its stage lists only "
    "`data/train.csv` never re-runs when the features change, `dvc dag` shows no edge, and "
    "`dvc repro` may even run it before `featurize`. Paths are read when the code writes "
    'them as literals or joins of literals (`os.path.join("data", "x.csv")`, '
    '`Path(__file__).parent / "x.csv"`); a path built at run time is never guessed.',
    fix="Add the output to the stage's `deps`, as the message says; `check-dvc-deps --fix` "
    "adds it.",
)
TRACKED_FILE_READ_NOT_IN_DEPS = Rule(
    "DG256",
    "tracked-file-read-not-in-deps",
    "warning",
    "A stage's code reads a data or config file git tracks by a literal path, without a dep on it.",
    why="The file changes what the stage computes, but DVC only watches the deps: after a "
    "commit changes it, `dvc status` says the stage is up to date.",
    fix="Add the file to the stage's `deps`, as the message says; `check-dvc-deps --fix` adds it.",
)

# Files that say how DVC or git work, never a stage's input.
_CONTROL_FILES = re.compile(r"(^|/)(dvc\.yaml|dvc\.lock|\.gitignore|\.dvcignore)$|\.dvc$")
# Options whose value a command writes, not reads.
_OUTPUT_OPTION = re.compile(
    r"(?i)^--?(o|out\w*|output\w*|save\w*|dest\w*|write\w*|log\w*|report\w*|export\w*"
    r"|result\w*|target|to|dump\w*|model[_-]?out\w*)$"
)
# A command that runs its program in a container or elsewhere: its paths are not ours.
_CONTAINER_WORD = re.compile(
    r"(^|[\s;&|(])(docker|docker-compose|podman|ssh|kubectl|singularity|apptainer)\s"
)
# Programs whose last argument is where they write.
_COPIERS = frozenset({"cp", "mv", "rsync", "ln", "install", "scp"})


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(f in (".", path) or path.startswith(f + "/") for f in folders)


def _produced(pipeline_outs: dict[str, str], path: str) -> str | None:
    """The stage whose output is `path` or a folder above it."""
    out = _output_of(pipeline_outs, path)
    return None if out is None else pipeline_outs[out]


def _output_of(pipeline_outs: dict[str, str], path: str) -> str | None:
    """The output that is `path` or a folder above it."""
    current = path
    while current not in ("", "."):
        if current in pipeline_outs:
            return current
        current = posixpath.dirname(current)
    return None


def _dvc_tracked(project: Project, path: str) -> bool:
    current = path
    while current not in ("", "."):
        if project.exists(current + ".dvc"):
            return True
        current = posixpath.dirname(current)
    return False


def _outs(project: Project) -> dict[str, str]:
    known = project.cache("code_reads.outs")
    if "outs" not in known:
        known["outs"] = {
            o.path: s.name for s in pipeline_of(project).stages.values() for o in s.outs
        }
    outs: dict[str, str] = known["outs"]
    return outs


def _script_reports(project: Project, stages: list[Stage]) -> Iterator[_Report]:

    git = project.git_files
    outs = _outs(project)
    missing: dict[tuple[str, int, int, str], tuple[Stage, Any, list[str]]] = {}
    unversioned: dict[tuple[str, int, int, str], tuple[Stage, str, list[str]]] = {}
    for stage in stages:
        for cmd in stage.cmds:
            if _CONTAINER_WORD.search(cmd):
                missing_here = []  # inside a container, paths are the image's
            else:
                missing_here = missing_scripts(cmd, stage.wdir, project)
            for script in missing_here:
                if _produced(outs, script.path) or _dvc_tracked(project, script.path):
                    continue
                if git is not None and script.path in git:
                    continue
                place = (stage.dvcfile, stage.cmd_mark.line, stage.cmd_mark.column, script.path)
                missing.setdefault(place, (stage, script, []))[2].append(stage.name)
            if git is None:
                continue
            for script in scripts_in(cmd, stage.wdir, project):
                for path in [script.path, *local_imports(script, project)]:
                    if path in git or (script.kind == "module" and path == script.path):
                        continue
                    if _produced(outs, path) or _dvc_tracked(project, path):
                        continue
                    place = (stage.dvcfile, stage.cmd_mark.line, stage.cmd_mark.column, path)
                    via = "" if path == script.path else script.path
                    unversioned.setdefault(place, (stage, via, []))[2].append(stage.name)
    for (dvcfile, line, column, path), (stage, script, names) in missing.items():
        who, _, _ = _who(list(dict.fromkeys(names)), "runs")
        hint = ""
        token = posixpath.normpath(script.token) if script.kind != "module" else ""
        if token and stage.wdir != "." and project.path(token).is_file():
            hint = (
                f"; {token} exists from the repository root: write "
                f'"{relative_to(token, stage.wdir)}" or set the stage\'s wdir'
            )
        elif not hint:
            hint = "; fix the path or create the file"
        where = "" if stage.wdir == "." else f" (the command runs in {stage.wdir}/)"
        what = path + where
        if script.kind == "module":
            what = f"module {script.token} ({path}), which its package {script.token.split('.')[0]}"
            hint = "; fix the module's name or create it"
            message = f"{who} {what} does not hold: `dvc repro` will fail{hint}"
        else:
            message = (
                f"{who} {what}, which does not exist, nor is it any stage's output: "
                f"`dvc repro` will fail{hint}"
            )
        yield _Report(SCRIPT_MISSING.at(dvcfile, (line, column), message), [])
    candidates = sorted({place[3] for place in unversioned})
    ignored = _ignored(project, candidates)
    for (dvcfile, line, column, path), (_stage, via, names) in unversioned.items():
        if path not in ignored:
            continue  # untracked but not ignored: it is about to be committed
        verb = "imports" if via else "runs"
        who, _, _ = _who(list(dict.fromkeys(names)), verb)
        through = f" (through {via})" if via else ""
        message = (
            f"{who} {path}{through}, which git ignores: a clone has no copy, so the stage "
            "cannot run there; commit it (un-ignore it) or make it a stage's output"
        )
        yield _Report(SCRIPT_GIT_IGNORED.at(dvcfile, (line, column), message), [])


def _ignored(project: Project, paths: list[str]) -> set[str]:
    """Which of `paths` git ignores (none when git cannot tell)."""
    found: set[str] = set()
    for start in range(0, len(paths), 200):
        out = project.git("check-ignore", "--no-index", "--", *paths[start : start + 200])
        if out:
            found |= {line for line in out.splitlines() if line}
    return found


# ---- files passed to or read by the code -------------------------------------------------


def _argument_files(project: Project, code: StageReads, stage: Stage) -> list[str]:
    """Files git tracks that the stage's command passes as arguments, in order."""

    git = project.git_files or frozenset()
    found: list[str] = []
    for cmd in stage.cmds:
        try:
            words = shell_words(cmd)
        except ValueError:
            continue
        if "cd" in words or "pushd" in words:
            continue  # where the later words point is not the stage's folder
        scripts = {s.path for s in scripts_in(cmd, stage.wdir, project)}
        command: list[str] = []
        for word in [*words, ";"]:
            if word and all(c in "();|&\n" for c in word):
                found += _command_files(command, stage.wdir, git, scripts, SOURCE_SUFFIXES, code)
                command = []
            else:
                command.append(word)
    return list(dict.fromkeys(found))


def _command_files(
    words: list[str],
    wdir: str,
    git: frozenset[str],
    scripts: set[str],
    suffixes: frozenset[str],
    code: StageReads,
) -> list[str]:
    if not words:
        return []
    program = words[0].rsplit("/", 1)[-1]
    if program in ("dvc", "echo", "printf", "mkdir", "rm", "rmdir", "touch", "git"):
        return []
    found: list[str] = []
    last = len(words) - 1 if program in _COPIERS else None
    previous = ""
    for n, word in enumerate(words):
        value = word
        if word.startswith("-") and "=" in word:
            option, value = word.split("=", 1)
            if _OUTPUT_OPTION.match(option):
                value = ""
        elif word.startswith("-") or _OUTPUT_OPTION.match(previous) or ">" in previous:
            value = ""
        previous = word
        if not value or n == last or "$" in value or "://" in value or value.startswith("/"):
            continue
        path = posixpath.normpath(posixpath.join(wdir, value))
        if path.startswith("..") or path not in git or path in scripts:
            continue
        if posixpath.splitext(path)[1].lower() in suffixes or _CONTROL_FILES.search(path):
            continue
        if path in code.params_files:
            continue  # its keys are DG250's business
        found.append(path)
    return found


def _argument_reports(code: StageReads, stages: list[Stage]) -> Iterator[_Report]:

    project = code.project
    outs = _outs(project)
    by_place: dict[tuple[str, int, int, str], list[Stage]] = {}
    for stage in stages:
        deps = [d.path for d in stage.deps]
        for path in _argument_files(project, code, stage):
            if _under(path, deps) or _produced(outs, path):
                continue
            code.passed.add((stage.address, path))
            place = (stage.dvcfile, stage.cmd_mark.line, stage.cmd_mark.column, path)
            by_place.setdefault(place, []).append(stage)
    for (dvcfile, line, column, path), members in by_place.items():
        who, their, them = _who(list(dict.fromkeys(s.name for s in members)), "passes")
        dep = relative_to(path, members[0].wdir)
        message = (
            f"{who} {path} (a file git tracks) to {their} command, but {their} deps do not "
            f'cover it: changing it will not re-run {them}; add "- {dep}" to {their} deps'
        )
        edits = [(s, "deps", relative_to(path, s.wdir)) for s in members]
        yield _Report(ARGUMENT_NOT_IN_DEPS.at(dvcfile, (line, column), message), edits)


def _output_reports(code: StageReads, stages: list[Stage]) -> Iterator[_Report]:

    project = code.project
    git = project.git_files or frozenset()
    outs = _outs(project)
    by_place: dict[tuple[str, int, int, str, str], list[Stage]] = {}
    for stage in stages:
        deps = [d.path for d in stage.deps]
        own = [o.path for o in stage.outs]
        for use in code.paths(stage):
            target = use.target
            if use.writes or _under(target, own) or (stage.address, target) in code.passed:
                continue
            if _under(target, deps) or any(d.startswith(target + "/") for d in deps):
                continue
            if target in code.params_files:
                continue  # its keys are DG250's business
            producer = _produced(outs, target)
            if producer is None:
                if target not in git:
                    continue
                if posixpath.splitext(target)[1].lower() in SOURCE_SUFFIXES:
                    continue  # code: the import rules' business
                if _CONTROL_FILES.search(target):
                    continue
                producer = ""
            place = (use.path, use.line, use.column, target, producer)
            by_place.setdefault(place, []).append(stage)
    for (path, line, column, target, producer), members in by_place.items():
        who, their, them = _who(list(dict.fromkeys(s.name for s in members)), "reads")
        # A file inside another stage's output folder: the dep is that output.
        needed = (_output_of(outs, target) or target) if producer else target
        dep = relative_to(needed, members[0].wdir)
        edits = [(s, "deps", relative_to(needed, s.wdir)) for s in members]
        if producer:
            what = "an output" if needed == target else f"inside {needed}, an output"
            message = (
                f"{who} {target} here, {what} of stage '{producer}', but {their} deps do "
                f"not cover it: {them} will not re-run when it changes and `dvc dag` shows "
                f'no edge; add "- {dep}" to {their} deps'
            )
            finding = OUTPUT_READ_NOT_IN_DEPS.at(path, (line, column), message)
        else:
            message = (
                f"{who} {target} here (a file git tracks), but {their} deps do not cover it: "
                f'changing it will not re-run {them}; add "- {dep}" to {their} deps'
            )
            finding = TRACKED_FILE_READ_NOT_IN_DEPS.at(path, (line, column), message)
        yield _Report(finding, edits)
