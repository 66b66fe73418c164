"""Graph rules (DG210-DG239): what `dvc dag` and `dvc repro` refuse, found at commit time.

DVC loads a pipeline whose stages share an output, nest outputs, or depend on
themselves; it refuses them only when it builds the graph. Every finding points at the
offending dep or out in its dvc.yaml. Run by check-dvc-yaml.
"""

from __future__ import annotations

import heapq
import posixpath
import subprocess
from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.core.project import FileProblem
from dvc_gitops.dvcmodel.model import Out, Pipeline, Ref, Stage, join_path, pipeline_of
from dvc_gitops.formats.yamldoc import Mark

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project
    from dvc_gitops.core.runner import CheckContext

DUPLICATE_OUTPUT = Rule(
    "DG210",
    "duplicate-output",
    "error",
    "One output path is declared by two stages (or twice in one stage).",
    why="`dvc dag`, `dvc repro` and `dvc status` stop with 'output ... is specified in "
    "stages': DVC cannot tell which stage owns the file.",
    fix="Keep the output in the one stage that writes it; if both write it, split the path "
    "(`data/train.csv`, `data/test.csv`) or merge the stages.",
)
OVERLAPPING_OUTPUTS = Rule(
    "DG211",
    "overlapping-outputs",
    "error",
    "An output lies inside another output's directory.",
    why="DVC tracks a directory output as one unit; a second output inside it would be "
    "cached twice, so DVC refuses the pipeline ('The output paths ... overlap').",
    fix="Declare the files individually, or track only the directory in one stage.",
)
CYCLE = Rule(
    "DG212",
    "cycle",
    "error",
    "Stages depend on each other in a circle.",
    why="A pipeline is a DAG: DVC cannot order stages that wait on each other and refuses "
    "every `dvc repro`.",
    fix="Break the circle: one of the deps named is not really an input of its stage, or "
    "its stage should write a different path.",
)
DEP_IS_OWN_OUTPUT = Rule(
    "DG213",
    "dep-is-own-output",
    "error",
    "A stage's dep is (inside) one of its own outputs.",
    why="DVC removes outputs before running a stage, so the stage would read what it just "
    "deleted; DVC refuses it as a cycle.",
    fix="Write the result to a new path, or drop the dep: a stage that updates a file in "
    "place can declare it `persist: true` as an output only.",
)
OUTPUT_IS_DVC_FILE = Rule(
    "DG214",
    "output-is-dvc-file",
    "error",
    "An output is a dvc.yaml or a .dvc file.",
    why="DVC's own files describe the pipeline; DVC refuses to treat one as data.",
    fix="Write the output under another name.",
)
DVC_YAML_INSIDE_OUTPUT = Rule(
    "DG215",
    "dvc-yaml-inside-output",
    "error",
    "A dvc.yaml with stages lies inside another stage's output directory.",
    why="DVC deletes and restores outputs as a whole. Walking the repository, it does not "
    "even look inside an output folder, so the stages there silently vanish from `dvc "
    "repro` and `dvc status`; when it met the dvc.yaml first, it refuses the pipeline ('is "
    "within an output ... of another stage').",
    fix="Move the dvc.yaml out of the output directory, or make the output a narrower path.",
)
MISSING_DEP = Rule(
    "DG216",
    "missing-dep",
    "error",
    "A dep exists nowhere: not on disk, not an output of a stage, not tracked by git or a "
    ".dvc file.",
    why="`dvc repro` fails on the stage ('missing dependencies'), usually because of a typo "
    "or a path written relative to the wrong folder (deps are relative to the stage's wdir).",
    fix="Fix the path, add the stage that produces it, or `dvc add` the data. When most "
    "deps of a stage exist relative to a folder above its wdir, the wdir is what is wrong: "
    "one finding per dvc.yaml says so. A git-ignored dep (data each clone supplies) is a "
    "warning.",
)
OUTPUT_TRACKED_BY_GIT = Rule(
    "DG217",
    "output-tracked-by-git",
    "error",
    "A cached output is also committed to git.",
    why="`dvc repro` runs the command and then refuses to save the result ('output ... is "
    "already tracked by SCM'); two tools would version the same file.",
    fix="`git rm -r --cached PATH` and commit (DVC adds it to .gitignore), or mark the "
    "output `cache: false` if git should keep it.",
)
STAGE_ORDER = Rule(
    "DG218",
    "stage-order",
    "warning",
    "A stage is declared before the stage that produces its dep.",
    why="DVC orders stages by their deps, so it runs; but readers of dvc.yaml read top to "
    "bottom, and a file in run order shows the pipeline at a glance.",
    fix="Reorder the stages in dvc.yaml in the order given in the message. Off by default "
    "(a style choice: DVC ignores the order, and generated dvc.yaml files sort their "
    'stages by name); turn it on with `extend-select = ["DG218"]`.',
    off_by_default=True,
)
AT_IN_STAGE_NAME = Rule(
    "DG219",
    "at-in-stage-name",
    "error",
    "A stage name (not a foreach or matrix stage) holds '@'.",
    why="DVC addresses foreach members as `stage@member` and splits every name at its last "
    "'@', so it never finds a plain stage named `train@v2`: every command on the "
    "dvc.yaml fails with 'Stage not found'.",
    fix="Rename the stage without '@' (`train-v2`), or make it a foreach stage.",
)
OUTPUT_IGNORED = Rule(
    "DG220",
    "output-ignored",
    "error",
    "An output DVC ignores: inside `.dvc/` or `.git/`, or matched by a `.dvcignore`.",
    why="DVC cannot track a path it is told to ignore: it refuses the pipeline ('Path ... "
    "is ignored by .dvcignore').",
    fix="Write the output elsewhere, or narrow the `.dvcignore` pattern that matches it.",
)
NO_DVC_PROJECT = Rule(
    "DG239",
    "no-dvc-project",
    "warning",
    "A dvc.yaml with no `.dvc/` folder above it, up to the git root.",
    why="DVC runs a pipeline only inside a DVC project: the nearest folder above holding "
    "`.dvc/`. Without one, every `dvc repro`, `dvc status` or `dvc dag` on a clone stops "
    "with 'you are not inside of a DVC repository'. The file itself may be fine.",
    fix="Run `dvc init` at the git root (or `dvc init --subdir` in the pipeline's folder) "
    "and commit `.dvc/config` and `.dvc/.gitignore`; or delete the dvc.yaml if it is not "
    "used.",
)
MISSING_WDIR = Rule(
    "DG221",
    "missing-wdir",
    "error",
    "A stage's `wdir` does not exist and no stage writes into it.",
    why="`dvc repro` runs the command in that folder and fails ('No such file or "
    "directory') after the stages before it have run; `dvc dag` and `dvc status` pass.",
    fix="Fix the path (it is relative to the dvc.yaml's folder), or create the folder and "
    "commit a file in it.",
)


UNKNOWN_REMOTE_DEP = Rule(
    "DG222",
    "unknown-remote-dep",
    "warning",
    "A `remote://NAME/...` dep or output names a remote the project's config does not define.",
    why="DVC fails the stage with \"config file error: remote 'NAME' doesn't exist\" "
    "(checked with dvc 3.67) on every machine whose config lacks it. It is a warning, "
    "not an error: the remote may be in a teammate's global or system config, which a "
    "commit-time check cannot see.",
    fix="Add the remote (`dvc remote add NAME URL`) to `.dvc/config`, or fix the name.",
)
DVC_YAML_IGNORED = Rule(
    "DG223",
    "dvc-yaml-git-ignored",
    "error",
    "A dvc.yaml that git ignores.",
    why="`dvc repro` and `dvc stage list` refuse it (\"bad DVC file name 'dvc.yaml' is "
    'git-ignored"), even when the file is committed.',
    fix="Remove the .gitignore pattern that matches it (or add `!dvc.yaml` after it) and "
    "commit the file.",
)


# Errors DVC raises only when `dvc repro` runs the stage (a dep or wdir that is not
# there): `dvc stage list` and `dvc dag` pass, so a load-time verdict cannot judge them.
RUN_TIME_CODES = frozenset({MISSING_DEP.code, MISSING_WDIR.code})


def check(context: CheckContext) -> Iterator[Finding]:
    """Graph findings for the whole pipeline of the project."""
    project = context.project
    pipeline = pipeline_of(project)
    for issue in pipeline.issues:
        if issue.kind == "at-in-name":
            yield AT_IN_STAGE_NAME.at(issue.file, issue.mark, issue.message)
    yield from _outside_projects(project)
    yield from _ignored_dvc_yamls(project)
    found: list[Finding] = []
    for part in pipeline.parts():  # DVC loads each project's pipeline on its own
        found += [
            *_output_findings(part),
            *_dvc_yaml_inside_output(project, part),
            *_self_deps(part),
            *_cycles(part),
            *_missing_deps(project, part),
            *_outputs_tracked_by_dvc_files(project, part),
            *_unknown_remotes(project, part),
            *_git_tracked_outputs(project, part),
            *_ignored_outputs(project, part),
            *_missing_wdirs(project, part),
            *_stage_order(part),
        ]
    yield from _once_per_entry(found)


def _outside_projects(project: Project) -> Iterator[Finding]:
    """dvc.yaml files in no DVC project, in a git repository (a clone has no `.dvc/`
    that is not committed; outside git, where the root is only the folder checked, the
    project may be above it)."""
    if project.git_files is None:
        return
    from dvc_gitops.core.dvc_projects import dvc_projects, orphans

    if not (orphaned := orphans(project, project.dvc_yaml_files)):
        return
    elsewhere = [p.root for p in dvc_projects(project)]
    for dvcfile in orphaned:
        folder = posixpath.dirname(dvcfile) or "."
        hint = f"run `dvc init --subdir` in {folder}/" if folder != "." else "run `dvc init` here"
        if elsewhere:
            hint += f" (the DVC projects here are {', '.join(elsewhere[:3])}"
            hint += ", ...)" if len(elsewhere) > 3 else ")"
        yield NO_DVC_PROJECT.at(
            dvcfile,
            Mark(1, 1),
            f"'{dvcfile}' is in no DVC project (no .dvc/ folder above it up to the git "
            f"root): DVC cannot run it on a clone; {hint} and commit .dvc/config",
        )


def _once_per_entry(found: list[Finding]) -> Iterator[Finding]:
    """One finding per code at each YAML entry: foreach/matrix members share theirs."""
    groups: dict[tuple[str, int, int, str], list[Finding]] = {}
    for finding in found:
        key = (finding.path, finding.line, finding.column, finding.code)
        groups.setdefault(key, []).append(finding)
    for same in groups.values():
        first = same[0]
        if len(same) == 1:
            yield first
            continue
        more = f" (and {len(same) - 1} more from the same entry)"
        what, sep, advice = first.message.partition("; ")
        yield Finding(
            first.path,
            first.line,
            first.column,
            first.code,
            first.rule,
            first.severity,
            what + more + sep + advice,
        )


def _where(out: Ref) -> str:
    return f"{out.file}:{out.mark.line}"


def _output_findings(pipeline: Pipeline) -> Iterator[Finding]:
    """Duplicate, overlapping and dvc-file outputs (one pass, a dict of paths)."""
    owner: dict[str, tuple[Stage, Out]] = {}
    reported: set[tuple[str, Mark]] = set()
    for stage in pipeline.stages.values():
        for out in stage.outs:
            if _is_dvc_file(out.path):
                if (out.file, out.mark) in reported:
                    continue
                reported.add((out.file, out.mark))
                yield OUTPUT_IS_DVC_FILE.at(
                    out.file,
                    out.mark,
                    f"output '{out.raw}' of stage '{stage.address}' is a DVC file: DVC "
                    "refuses it; write the output under another name",
                )
                continue
            first = owner.get(out.path)
            if first is None:
                owner[out.path] = (stage, out)
                continue
            other_stage, other = first
            if (out.file, out.mark) in reported:
                continue
            reported.add((out.file, out.mark))
            if other.mark == out.mark and other.file == out.file and stage.member is not None:
                members = [
                    s.address
                    for s in pipeline.stages.values()
                    if s.dvcfile == stage.dvcfile and s.definition == stage.definition
                ]
                shown = ", ".join(members[:3]) + (", ..." if len(members) > 3 else "")
                message = (
                    f"output '{out.raw}' is the same path for every member of "
                    f"'{stage.definition}' ({shown}): DVC refuses it; put ${{item}} (or "
                    "${key}) in the path"
                )
            elif other_stage.address == stage.address:
                message = (
                    f"output '{out.raw}' is declared twice in stage '{stage.address}' "
                    f"(also {_where(other)}): DVC refuses it; keep one"
                )
            else:
                message = (
                    f"output '{out.raw}' is also declared by stage '{other_stage.address}' "
                    f"({_where(other)}): DVC refuses two stages writing one path; keep it "
                    "in the stage that writes it"
                )
            yield DUPLICATE_OUTPUT.at(out.file, out.mark, message)
    # An output is inside another when one of its parent folders is an output too:
    # one dict lookup per path component, never a pairwise comparison. Members of one
    # foreach/matrix share a template entry: one finding there, naming how many.
    inside: dict[tuple[str, Mark], list[tuple[Stage, Out, Stage, Out]]] = {}
    dot = owner.get(".")
    for path, (stage, out) in owner.items():
        if "://" in path or path.startswith("/") or path == ".":
            continue
        parent = path
        found = None
        while "/" in parent and found is None:
            parent = parent.rsplit("/", 1)[0]
            found = owner.get(parent)
        if found is None and not path.startswith("../"):
            found = dot
        if found is not None:
            inside.setdefault((out.file, out.mark), []).append((stage, out, *found))
    for (file, mark), cases in inside.items():
        stage, out, outer_stage, outer = cases[0]
        same = outer_stage.address == stage.address
        more = f" (and {len(cases) - 1} more like it)" if len(cases) > 1 else ""
        yield OVERLAPPING_OUTPUTS.at(
            file,
            mark,
            f"output '{out.raw}'{more} is inside output '{outer.raw}' of "
            f"{'the same stage' if same else f'stage {outer_stage.address!r}'} "
            f"({_where(outer)}): DVC refuses overlapping outputs; declare the "
            "files individually or keep only the directory",
        )


def _is_dvc_file(path: str) -> bool:
    return path.endswith(".dvc") or posixpath.basename(path) == "dvc.yaml"


def _dvc_yaml_inside_output(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    """dvc.yaml files with stages inside an output folder.

    DVC skips folders that are outputs of stages it loaded earlier in its walk, so their
    stages silently vanish; when the output's stage comes later in the walk, DVC refuses
    the pipeline instead. Both are reported at the output.
    """
    owner: dict[str, tuple[Stage, Out]] = {}
    for stage in pipeline.stages.values():
        for out in stage.outs:
            owner.setdefault(out.path, (stage, out))
    loaded = dict.fromkeys(s.dvcfile for s in pipeline.stages.values())
    hidden = [f for f, why in pipeline.ignored.items() if why in pipeline.stages]
    for dvcfile in [*loaded, *hidden]:
        if dvcfile in pipeline.ignored and not _has_stages(project, dvcfile):
            continue
        folder = posixpath.dirname(dvcfile)
        probes = ["."]
        while folder:
            probes.append(folder)
            folder = posixpath.dirname(folder)
        for probe in probes:
            found = owner.get(probe)
            if found is None:
                continue
            stage, out = found
            effect = (
                "DVC never loads its stages"
                if dvcfile in pipeline.ignored
                else "DVC refuses a pipeline file inside an output"
            )
            yield DVC_YAML_INSIDE_OUTPUT.at(
                out.file,
                out.mark,
                f"output '{out.raw}' of stage '{stage.address}' contains '{dvcfile}': "
                f"{effect}; move the dvc.yaml or narrow the output",
            )
            break


def _has_stages(project: Project, dvcfile: str) -> bool:
    try:
        data = project.yaml(dvcfile).data
    except Exception:
        return False
    return isinstance(data, dict) and bool(data.get("stages"))


def _overlaps(a: str, b: str) -> bool:
    return a == b or a == "." or b == "." or a.startswith(b + "/") or b.startswith(a + "/")


def _self_deps(pipeline: Pipeline) -> Iterator[Finding]:
    for stage in pipeline.stages.values():
        for dep in stage.deps:
            for out in stage.outs:
                if _overlaps(dep.path, out.path):
                    if dep.path == out.path:
                        relation = "is also its output"
                    elif dep.path.startswith(out.path + "/") or out.path == ".":
                        relation = f"is inside its output '{out.raw}'"
                    else:
                        relation = f"contains its output '{out.raw}'"
                    yield DEP_IS_OWN_OUTPUT.at(
                        dep.file,
                        dep.mark,
                        f"dep '{dep.raw}' of stage '{stage.address}' {relation}: DVC refuses "
                        "the cycle; write the result to a new path",
                    )
                    break


def _cycles(pipeline: Pipeline) -> Iterator[Finding]:
    """One finding per cycle of two or more stages, at the dep that closes it."""
    edges = pipeline.edges()
    children: dict[str, list[str]] = {a: [] for a in pipeline.stages}
    for up, down in edges:
        children[up].append(down)
    position = {a: i for i, a in enumerate(pipeline.stages)}
    for component in _strongly_connected(list(pipeline.stages), children):
        if len(component) < 2:
            continue
        members = set(component)
        start = min(component, key=position.__getitem__)
        cycle = _cycle_from(start, children, members)
        # The dep of the first stage that reads the last stage's output closes the loop.
        first, last = pipeline.stages[cycle[0]], pipeline.stages[cycle[-1]]
        dep = next(
            (d for d in first.deps if any(_overlaps(d.path, o.path) for o in last.outs)),
            first.deps[0] if first.deps else None,
        )
        names = " -> ".join([*cycle, cycle[0]])
        mark = dep.mark if dep else first.mark
        yield CYCLE.at(
            first.dvcfile,
            mark,
            f"stages form a cycle: {names}; DVC refuses it; remove the dep that is not a "
            "real input",
        )


def _cycle_from(start: str, children: dict[str, list[str]], members: set[str]) -> list[str]:
    """A shortest cycle through `start` inside its component (breadth-first)."""
    parent: dict[str, str] = {}
    queue = [start]
    seen = {start}
    while queue:
        current = queue.pop(0)
        for child in children[current]:
            if child not in members:
                continue
            if child == start:
                path = [current]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return list(reversed(path))
            if child not in seen:
                seen.add(child)
                parent[child] = current
                queue.append(child)
    return [start]


def _strongly_connected(nodes: list[str], children: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (pipelines of thousands of stages)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for i in range(position, len(children[node])):
                child = children[node][i]
                if child not in index:
                    work.append((node, i + 1))
                    work.append((child, 0))
                    recurse = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if recurse:
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _tracked_paths(project: Project) -> set[str]:
    """Paths DVC tracks through .dvc files (their outs), repo-relative."""
    return set(_tracked_by(project))


def _tracked_by(project: Project) -> dict[str, str]:
    """Each path a .dvc file tracks (repo-relative) -> that .dvc file."""
    cache = project.cache("dvc_files")
    if "tracked" not in cache:
        cache["tracked"] = _read_tracked(project)
    tracked: dict[str, str] = cache["tracked"]
    return tracked


def _read_tracked(project: Project) -> dict[str, str]:
    tracked: dict[str, str] = {}
    for dvc_file in project.walk_files(suffixes=(".dvc",)):
        try:
            data = project.yaml(dvc_file).data
        except Exception:
            continue
        outs = data.get("outs") if isinstance(data, dict) else None
        folder = posixpath.dirname(dvc_file) or "."
        for out in outs if isinstance(outs, list) else []:
            if isinstance(out, dict) and isinstance(out.get("path"), str):
                path = posixpath.normpath(posixpath.join(folder, out["path"]))
                tracked.setdefault(path, dvc_file)
    return tracked


def _outputs_tracked_by_dvc_files(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    """A stage output a .dvc file already tracks, or one inside (or around) such a path:
    `dvc dag` and `dvc repro` refuse both ("output 'foo' is specified in: s, foo.dvc";
    "the paths overlap"). The common case: `dvc add foo`, then a stage made to write it."""
    tracked = _tracked_by(project)
    if not tracked:
        return
    tracked_dirs = {posixpath.dirname(p) for p in tracked}
    for stage in pipeline.stages.values():
        if stage.dvcfile in pipeline.problems:
            continue
        for out in stage.outs:
            path = out.path
            if "://" in path or path.startswith("/"):
                continue
            if path in tracked:
                yield DUPLICATE_OUTPUT.at(
                    out.file,
                    out.mark,
                    f"output '{out.raw}' of stage '{stage.address}' is also tracked by "
                    f"{tracked[path]}: DVC refuses one path in two places; if the stage "
                    f"makes it now, `dvc remove {tracked[path]}`, else drop the output",
                )
                continue
            outer = next((p for p in _parents(path) if p in tracked), None)
            inner = None
            if outer is None and any(d == path or d.startswith(path + "/") for d in tracked_dirs):
                inner = next((p for p in tracked if p.startswith(path + "/")), None)
            if outer is not None:
                what = f"is inside '{outer}', which {tracked[outer]} tracks"
            elif inner is not None:
                what = f"holds '{inner}', which {tracked[inner]} tracks"
            else:
                continue
            yield OVERLAPPING_OUTPUTS.at(
                out.file,
                out.mark,
                f"output '{out.raw}' of stage '{stage.address}' {what}: DVC refuses "
                "overlapping outputs; let one of them own the path",
            )


def _unknown_remotes(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    """`remote://NAME/path` deps and outs whose NAME no config of the project defines."""
    known: dict[str, set[str] | None] = {}  # the .dvc folder -> remote names in its config
    for stage in pipeline.stages.values():
        for ref in (*stage.deps, *stage.outs):
            if not ref.raw.startswith("remote://"):
                continue
            name = ref.raw[len("remote://") :].split("/", 1)[0]
            folder = _dvc_folder(project, stage.dvcfile)
            if folder not in known:
                known[folder] = _remote_names(project, folder)
            names = known[folder]
            if names is None or name in names:
                continue  # no config to read, or it is defined
            yield UNKNOWN_REMOTE_DEP.at(
                ref.file,
                ref.mark,
                f"'{ref.raw}' of stage '{stage.address}' names remote '{name}', which "
                f"{folder}/config and config.local do not define: DVC fails the stage unless "
                f"a global or system config does; `dvc remote add {name} URL` or fix the name",
            )


def _dvc_folder(project: Project, dvcfile: str) -> str:
    """The `.dvc` folder of the DVC project holding `dvcfile` (nearest above it)."""
    folder = posixpath.dirname(dvcfile)
    while folder:
        if project.path(f"{folder}/.dvc").is_dir():
            return f"{folder}/.dvc"
        folder = posixpath.dirname(folder)
    return ".dvc"


def _remote_names(project: Project, folder: str) -> set[str] | None:
    """Remote names in a project's config and config.local; None when neither reads."""
    from dvc_gitops.formats.dvc_config import ConfigSyntaxError, parse

    names: set[str] = set()
    readable = False
    for name in ("config", "config.local"):
        path = f"{folder}/{name}"
        if not project.exists(path):
            continue
        try:
            names.update(parse(project.read_text(path), path).remotes)
        except (ConfigSyntaxError, FileProblem):
            return None  # another rule says why; nothing certain here
        readable = True
    return names if readable else None


def _ignored_dvc_yamls(project: Project) -> Iterator[Finding]:
    files = list(project.dvc_yaml_files)
    for path in sorted(_git_ignored(project, files)):
        yield DVC_YAML_IGNORED.at(
            path,
            (1, 1),
            f'git ignores {path}: `dvc repro` and `dvc stage list` refuse it ("bad DVC '
            'file name ... is git-ignored"); remove the .gitignore pattern that matches it, '
            "or add `!dvc.yaml` after it",
        )


def _parents(path: str) -> Iterator[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


def _missing_deps(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    missing = missing_deps(project, pipeline)
    ignored = _git_ignored(project, [dep.path for deps in missing.values() for dep in deps])
    bases = {address: misplaced_base(project, pipeline, address) for address in missing}
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for address, deps in missing.items():
        stage = pipeline.stages[address]
        base = bases[address]
        if base is not None:  # one cause, one finding per dvc.yaml: the wdir
            grouped.setdefault((stage.dvcfile, stage.wdir, base), []).append(address)
            continue
        for dep in deps:
            local = dep.path in ignored  # git-ignored: each clone is meant to supply it
            yield MISSING_DEP.at(
                dep.file,
                dep.mark,
                f"dep '{dep.raw}' of stage '{stage.address}' exists nowhere ('{dep.path}' is "
                "not on disk, not an output of any stage, not tracked by git or a .dvc "
                f"file{'; git ignores it' if local else ''}): `dvc repro` will fail on it; "
                "fix the path (relative to the stage's wdir) or add its producer",
                severity="warning" if local else "error",
            )
    for (dvcfile, wdir, base), addresses in grouped.items():
        yield _misplaced_finding(pipeline, dvcfile, wdir, base, addresses, missing)


def _misplaced_finding(
    pipeline: Pipeline,
    dvcfile: str,
    wdir: str,
    base: str,
    addresses: list[str],
    missing: dict[str, list[Ref]],
) -> Finding:
    first = pipeline.stages[addresses[0]]
    deps = [dep for address in addresses for dep in missing[address]]
    examples = ", ".join(dict.fromkeys(dep.raw for dep in deps[:3]))
    names = [pipeline.stages[a].name for a in addresses]
    who = (
        f"stage '{names[0]}'"
        if len(names) == 1
        else f"{len(names)} stages ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
    )
    folder = posixpath.dirname(dvcfile) or "."
    want = posixpath.relpath(base, folder)
    one = len(names) == 1
    fix = "remove its `wdir`" if want == "." and one else f"set `wdir: {want}`"
    fix += f" on {'the stage' if one else 'these stages'} (the command then runs there too)"
    if len(deps) == 1:
        message = (
            f"dep '{deps[0].raw}' of stage '{names[0]}' exists nowhere under its wdir "
            f"'{wdir}' but does under '{base}': `dvc repro` will fail on it; {fix} or fix "
            "the path"
        )
    else:
        message = (
            f"the deps of {who} are written relative to '{base}', not to the wdir '{wdir}': "
            f"{len(deps)} exist nowhere under '{wdir}', most of them under '{base}' ({examples}"
            f"{', ...' if len(deps) > 3 else ''}); `dvc repro` will fail on them: {fix} or "
            "fix the paths"
        )
    return MISSING_DEP.at(dvcfile, first.mark, message, severity="error")


def missing_deps(project: Project, pipeline: Pipeline) -> dict[str, list[Ref]]:
    """Per stage address, its deps that exist nowhere (not on disk, not an output, not
    tracked by git or a .dvc file): `dvc repro` fails on each."""
    cache: dict[str, dict[str, list[Ref]]] = project.cache("graph_checks")
    key = f"missing {id(pipeline)}"  # per pipeline: each DVC project's part, or the whole
    if key in cache:
        return cache[key]
    tracked = _tracked_paths(project)
    git_files = project.git_files or frozenset()
    git_dirs = _git_dirs(project)
    found: dict[str, list[Ref]] = {}
    for stage in pipeline.stages.values():
        if stage.dvcfile in pipeline.problems:
            continue  # DVC refuses the file first; half-resolved, its stages mislead
        for dep in stage.deps:
            path = dep.path
            if "://" in path or path == ".":
                continue
            if path in git_files or path in git_dirs or pipeline.producers_of(path):
                continue  # (outputs asked before the disk: no stat for each)
            if project.exists(path):
                continue
            if _covered(path, tracked):
                continue
            found.setdefault(stage.address, []).append(dep)
    cache[key] = found
    return found


def misplaced_base(project: Project, pipeline: Pipeline, address: str) -> str | None:
    """The folder above a stage's wdir its missing deps are written relative to, when the
    stages of its dvc.yaml with that wdir miss most of their deps and most of those exist
    there (the wdir is wrong, not each path); else None."""
    stage = pipeline.stages[address]
    if address not in missing_deps(project, pipeline):
        return None
    cache = project.cache("misplaced_base")  # "pipeline dvcfile\0wdir" -> base
    key = f"{id(pipeline)} {stage.dvcfile}\0{stage.wdir}"
    if key not in cache:
        cache[key] = _group_base(project, pipeline, stage.dvcfile, stage.wdir)
    base: str | None = cache[key]
    return base


def _group_base(project: Project, pipeline: Pipeline, dvcfile: str, wdir: str) -> str | None:
    if wdir == "." or "://" in wdir:
        return None
    missing = missing_deps(project, pipeline)
    group = [s for s in pipeline.stages.values() if (s.dvcfile, s.wdir) == (dvcfile, wdir)]
    deps = [dep for s in group for dep in missing.get(s.address, [])]
    if 2 * len(deps) <= sum(len(s.deps) for s in group):
        return None  # most deps are right where they are: the wdir is not what is wrong
    best: tuple[int, str] | None = None
    folder = wdir
    while folder != ".":
        folder = posixpath.dirname(folder) or "."
        hits = sum(
            1
            for dep in deps
            if not dep.raw.startswith("/") and project.exists(join_path(folder, dep.raw))
        )
        if best is None or hits > best[0]:
            best = (hits, folder)
    if best is None or best[0] == 0 or 3 * best[0] < 2 * len(deps):  # most, not some
        return None
    return best[1]


def _git_ignored(project: Project, paths: list[str]) -> set[str]:
    """Which of `paths` git ignores (none when git cannot say)."""
    if not paths:
        return set()
    try:
        done = subprocess.run(
            # --no-index: the patterns alone, as DVC reads them (tracked files too)
            ["git", "-C", str(project.root), "check-ignore", "--no-index", "--stdin", "-z"],
            input="\0".join(paths) + "\0",
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    if done.returncode not in (0, 1):
        return set()
    return {p for p in done.stdout.split("\0") if p}


def _git_dirs(project: Project) -> set[str]:
    """Folders holding files git tracks (a fresh clone has exactly these)."""
    dirs: set[str] = set()
    for path in project.git_files or ():
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in dirs:
                break
            dirs.add(path)
    return dirs


def _missing_wdirs(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    git_dirs: set[str] | None = None
    for stage in pipeline.stages.values():
        folder = posixpath.dirname(stage.dvcfile) or "."
        wdir = stage.wdir
        if wdir == folder or "://" in wdir or project.path(wdir).is_dir():
            continue
        if git_dirs is None:
            git_dirs = _git_dirs(project)
        writers = [a for a in pipeline.producers_of(wdir) if a != stage.address]
        if writers or wdir in git_dirs:  # (its own outputs come too late to make it)
            continue
        try:
            doc = project.yaml(stage.dvcfile)
        except Exception:
            continue
        mark = doc.value_mark((*stage.template_path, "wdir"))
        state = "is a file, not a folder," if project.exists(wdir) else "does not exist"
        yield MISSING_WDIR.at(
            stage.dvcfile,
            mark,
            f"wdir '{wdir}' of stage '{stage.address}' {state} and no stage writes "
            "into it: `dvc repro` will fail to run the command there; fix the path "
            "(relative to the dvc.yaml's folder) or create the folder",
        )


def _covered(path: str, tracked: set[str]) -> bool:
    probe = path
    while True:
        if probe in tracked:
            return True
        if "/" not in probe:
            return False
        probe = probe.rsplit("/", 1)[0]


def _git_tracked_outputs(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    git_files = project.git_files
    if not git_files:
        return
    ordered = sorted(git_files)

    for stage in pipeline.stages.values():
        for out in stage.outs:
            if not out.cache or "://" in out.path:
                continue
            hit = out.path if out.path in git_files else None
            if hit is None:
                prefix = out.path + "/"
                i = bisect_left(ordered, prefix)
                if i < len(ordered) and ordered[i].startswith(prefix):
                    hit = ordered[i]
            if hit is None:
                continue
            yield OUTPUT_TRACKED_BY_GIT.at(
                out.file,
                out.mark,
                f"output '{out.raw}' of stage '{stage.address}' is committed to git "
                f"('{hit}'): `dvc repro` will refuse to save it; run `git rm -r --cached "
                f"{out.path}` or mark it `cache: false`",
            )


def _ignored_outputs(project: Project, pipeline: Pipeline) -> Iterator[Finding]:
    ignores = _DvcIgnores(project)
    for stage in pipeline.stages.values():
        for out in stage.outs:
            if "://" in out.path or out.path.startswith(("/", "../")) or out.path == ".":
                continue
            why = ignores.why(out.path, stage.project)
            if why is None:
                continue
            if why.endswith(".dvcignore"):
                message = f"is ignored by {why}: DVC refuses to track it; write it elsewhere "
                message += "or narrow the pattern"
            else:
                message = f"is inside {why}/, which DVC never tracks: write it elsewhere"
            yield OUTPUT_IGNORED.at(
                out.file, out.mark, f"output '{out.raw}' of stage '{stage.address}' {message}"
            )


class _DvcIgnores:
    """`.dvcignore` files (any folder, gitignore syntax relative to it), read once each."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.specs: dict[str, Any] = {}

    def spec(self, folder: str) -> Any:
        if folder not in self.specs:
            import pathspec

            path = self.project.root / folder / ".dvcignore"
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
                self.specs[folder] = pathspec.GitIgnoreSpec.from_lines(lines)
            except (OSError, UnicodeDecodeError, ValueError):
                self.specs[folder] = None
        return self.specs[folder]

    def why(self, path: str, top: str = ".") -> str | None:
        """What hides `path` from the DVC project at `top`, or None: that project reads
        its own `.dvcignore` files only, from its folder down."""
        parts = path.split("/")
        start = 0 if top == "." else top.count("/") + 1
        if start and parts[:start] != top.split("/"):
            return None  # outside the project's folder: none of its `.dvcignore` files
        if parts[start] in (".dvc", ".git"):
            return "/".join(parts[: start + 1])
        for depth in range(start, len(parts)):
            folder = "/".join(parts[:depth])
            spec = self.spec(folder)
            if spec is not None and spec.match_file("/".join(parts[depth:])):
                return f"{folder}/.dvcignore" if folder else ".dvcignore"
        return None


def _stage_order(pipeline: Pipeline) -> Iterator[Finding]:
    """Within one dvc.yaml, deps produced by a stage declared further down."""
    position = {
        (dvcfile, name): i
        for dvcfile, names in pipeline.definitions.items()
        for i, name in enumerate(names)
    }
    late: dict[str, list[tuple[Stage, Ref, Stage]]] = {}
    for stage in pipeline.stages.values():
        mine = position.get((stage.dvcfile, stage.definition), -1)
        for dep in stage.deps:
            for address in pipeline.producers_of(dep.path):
                producer = pipeline.stages[address]
                if producer.dvcfile != stage.dvcfile or producer.definition == stage.definition:
                    continue
                if position.get((producer.dvcfile, producer.definition), -1) > mine:
                    late.setdefault(stage.dvcfile, []).append((stage, dep, producer))
                    break
    # Definition-level links inside each file, grouped once for every file.
    links: dict[str, list[tuple[str, str]]] = {}
    if late:
        for up, down in pipeline.edges():
            a, b = pipeline.stages[up], pipeline.stages[down]
            if a.dvcfile == b.dvcfile and a.definition != b.definition:
                links.setdefault(a.dvcfile, []).append((a.definition, b.definition))
    for dvcfile, cases in late.items():
        order = _definition_order(pipeline, dvcfile, links.get(dvcfile, []))
        if order is None:
            continue  # a cycle: DG212 says it
        seen: set[tuple[str, int, int]] = set()
        for stage, dep, producer in cases:
            key = (dep.file, dep.mark.line, dep.mark.column)
            if key in seen:
                continue
            seen.add(key)
            if len(order) <= 8:
                advice = f"declare the stages in run order: {', '.join(order)}"
            else:  # a long file: the one move, and where the order starts
                advice = (
                    f"move '{producer.definition}' above '{stage.definition}' (run order: "
                    f"{', '.join(order[:5])}, ...)"
                )
            yield STAGE_ORDER.at(
                dep.file,
                dep.mark,
                f"stage '{stage.definition}' reads '{dep.raw}' from stage "
                f"'{producer.definition}', declared below it; {advice}",
            )


def _definition_order(
    pipeline: Pipeline, dvcfile: str, links: list[tuple[str, str]]
) -> list[str] | None:
    """The file's stage definitions in run order (declaration order breaks ties)."""
    names = pipeline.definitions.get(dvcfile, [])
    index = {n: i for i, n in enumerate(names)}
    after: dict[str, set[str]] = {n: set() for n in names}
    for up, down in links:
        if up in after and down in after:
            after[up].add(down)
    waiting = {n: 0 for n in names}
    for targets in after.values():
        for t in targets:
            waiting[t] += 1
    ready = [(index[n], n) for n in names if waiting[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for t in after[name]:
            waiting[t] -= 1
            if waiting[t] == 0:
                heapq.heappush(ready, (index[t], t))
    return order if len(order) == len(names) else None
