"""dvc-dag-docs: a Mermaid picture of the pipeline, kept up to date between markers in README.md.

The picture is drawn from our pipeline model (plus the `.dvc` files of `dvc add` and
`dvc import`), not by running `dvc dag`, so the hook needs no DVC installed; it has the
same nodes and edges as `dvc dag --mermaid`, and the same text as far as the order of
the unconnected parts allows. Only the lines
between the two marker comments change; everything else in the file stays byte for byte.

    <!-- dvc-gitops:dag:start -->
    <!-- dvc-gitops:dag:end -->
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

import click

from dvc_gitops.core.files import WriteRefused, write_text
from dvc_gitops.core.project import FileProblem, Project, find_root
from dvc_gitops.core.runner import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.formats.yamldoc import YamlProblem

START = "<!-- dvc-gitops:dag:start -->"
END = "<!-- dvc-gitops:dag:end -->"
DEFAULT_FILE = "README.md"


@dataclass
class Graph:
    """What `dvc dag` draws: stages and `.dvc` files, and which feeds which."""

    nodes: list[str]  # stage addresses, then `.dvc` files, in the order they were found
    edges: list[tuple[str, str]]  # (upstream, downstream)
    problems: dict[str, str]  # file -> why its nodes are missing (DVC would refuse it)


def pipeline_graph(project: Project) -> Graph:
    """The stages of every dvc.yaml and the `.dvc` files of `dvc add`/`dvc import`, linked.

    A `.dvc` file feeds a stage when one of its outs is, is under, or is above one of the
    stage's deps: the rule DVC applies to stage outs too.
    """
    pipeline = pipeline_of(project)
    problems = dict(pipeline.problems)
    nodes, edges = list(pipeline.stages), pipeline.edges()
    for dvcfile in project.walk_files(suffixes=(".dvc",)):
        outs = _tracked_outs(project, dvcfile)
        if outs is None:
            problems[dvcfile] = "DVC cannot load this .dvc file"
            continue
        nodes.append(dvcfile)
        for stage in pipeline.stages.values():
            if any(_overlap(dep.path, out) for dep in stage.deps for out in outs):
                edges.append((dvcfile, stage.address))
    return Graph(nodes, edges, problems)


def _tracked_outs(project: Project, dvcfile: str) -> list[str] | None:
    """Repo-relative paths of the outs a `.dvc` file tracks; None when it does not load."""
    try:
        data = project.yaml(dvcfile).data
    except (YamlProblem, FileProblem):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("outs", []), list):
        return None
    base = posixpath.join(posixpath.dirname(dvcfile), str(data.get("wdir", ".")))
    return [
        posixpath.normpath(posixpath.join(base, str(out["path"])))
        for out in data.get("outs", [])
        if isinstance(out, dict) and "path" in out
    ]


def _overlap(a: str, b: str) -> bool:
    return a == b or "." in (a, b) or a.startswith(b + "/") or b.startswith(a + "/")


def mermaid(graph: Graph) -> str:
    """The graph as `dvc dag --mermaid` prints it: `flowchart TD`, nodes, then edges.

    Like DVC, each connected part of the graph is numbered in turn, its nodes sorted by
    name and its edges sorted by (upstream, downstream).
    """
    lines = ["flowchart TD"]
    number = 0
    for part in _connected_parts(graph.nodes, graph.edges):
        ids: dict[str, str] = {}
        for node in sorted(part):
            number += 1
            ids[node] = f"node{number}"
            lines.append(f'\t{ids[node]}["{_label(node)}"]')
        for upstream, downstream in sorted(e for e in graph.edges if e[0] in ids):
            lines.append(f"\t{ids[upstream]}-->{ids[downstream]}")
    return "\n".join(lines)


def markdown_block(graph: Graph) -> str:
    """The picture in a fenced mermaid block, as it stands between the markers."""
    return f"```mermaid\n{mermaid(graph)}\n```"


def _label(address: str) -> str:
    # A double quote would end Mermaid's quoted label; DVC prints it raw and breaks.
    return address.replace('"', "#quot;")


def _connected_parts(nodes: list[str], edges: list[tuple[str, str]]) -> list[set[str]]:
    """Weakly connected groups of nodes, in the order of their first node."""
    neighbours: dict[str, set[str]] = {n: set() for n in nodes}
    for upstream, downstream in edges:
        neighbours[upstream].add(downstream)
        neighbours[downstream].add(upstream)
    parts: list[set[str]] = []
    placed: set[str] = set()
    for start in nodes:
        if start in placed:
            continue
        part, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current not in part:
                part.add(current)
                todo.extend(neighbours[current] - part)
        placed |= part
        parts.append(part)
    return parts


class MarkerProblem(Exception):
    """The markers in the document are missing or out of order: one line, with the line."""


@dataclass(frozen=True)
class Update:
    """The document with a fresh picture; `changed` when it differs from the current one."""

    text: str
    changed: bool


def replace_between_markers(text: str, block: str, path: str) -> Update:
    """`text` with the lines between the START and END markers replaced by `block`."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == START]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not starts and not ends:
        raise MarkerProblem(
            f"{path}: no pipeline picture markers: add a line '{START}' and a line "
            f"'{END}' where the picture goes"
        )
    if len(starts) != 1 or len(ends) != 1:
        extra = (starts[1:] or ends[1:] or starts or ends)[0] + 1
        raise MarkerProblem(
            f"{path}:{extra}: expected one '{START}' line and one '{END}' line: "
            "keep exactly one pair"
        )
    start, end = starts[0], ends[0]
    if end < start:
        raise MarkerProblem(f"{path}:{end + 1}: '{END}' comes before '{START}': swap them")
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    fresh = "".join(line + newline for line in block.split("\n"))
    new_text = "".join(lines[: start + 1]) + fresh + "".join(lines[end:])
    return Update(new_text, new_text != text)


def update_document(
    project: Project, path: str, write: bool, optional: bool = False
) -> tuple[int, str]:
    """Bring the picture in `path` up to date (or only compare); the exit code and a line.

    With `optional` (the default README.md, not a file the user named), a document
    without markers, or no document at all, passes with a line saying how to start one:
    a new project's first commit must not fail on a picture nobody asked for.
    """
    if optional:
        hint = _how_to_start(project, path)
        if hint:
            return EXIT_CLEAN, hint
    graph = pipeline_graph(project)
    broken = sorted(graph.problems.items())
    if broken:
        file, why = broken[0]
        hint = " (check-dvc-yaml shows what to fix)" if file.endswith("dvc.yaml") else ""
        return EXIT_FINDINGS, (
            f"{file}: {why}: the pipeline picture in {path} is left as it is{hint}"
        )
    try:
        text = project.read_text(path)
    except FileProblem as exc:
        return EXIT_USAGE, f"{path}: {exc.message}"
    try:
        update = replace_between_markers(text, markdown_block(graph), path)
    except MarkerProblem as exc:
        return EXIT_FINDINGS, str(exc)
    if not update.changed:
        return EXIT_CLEAN, ""
    if not write:
        return EXIT_FINDINGS, (
            f"{path}: the pipeline picture is out of date: run `dvc-gitops dag --write` "
            "(or the dvc-dag-docs hook) to redraw it"
        )
    try:
        write_text(project.root, path, update.text)
    except WriteRefused as exc:  # a read-only tree, a symlink out: report, as --check would
        return (
            EXIT_FINDINGS,
            f"{path}: the pipeline picture is out of date and cannot be redrawn: {exc}",
        )
    return EXIT_FINDINGS, f"{path}: pipeline picture redrawn"


def _how_to_start(project: Project, path: str) -> str:
    """A line saying how to start a picture when `path` has none (or is not there)."""
    try:
        text = project.read_text(path)
    except FileProblem:
        text = None
    if text is not None and (START in text or END in text):
        return ""
    where = "is not there" if text is None else "has no pipeline picture"
    return (
        f"{path} {where}: nothing to keep current. For one, add a line '{START}' and a "
        f"line '{END}' where it goes, or run `dvc-gitops init --dag-docs`"
    )


def document_option(fn: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--file",
        "document",
        default=DEFAULT_FILE,
        show_default=True,
        help="The Markdown file (relative to the repository root) that holds the markers.",
    )(fn)


def finish(code: int, message: str) -> None:
    if message:
        click.echo(message, err=code == EXIT_USAGE)
    raise click.exceptions.Exit(code)


@click.command("dag")
@click.option("--md", is_flag=True, help="Wrap the picture in a mermaid code fence.")
@click.option("--check", is_flag=True, help="Exit 1 when the picture in --file is out of date.")
@click.option("--write", is_flag=True, help="Redraw the picture in --file (exit 1 if it changed).")
@document_option
def dag_command(md: bool, check: bool, write: bool, document: str) -> None:
    """Print the pipeline as a Mermaid flowchart, or keep it up to date in README.md."""
    if check and write:
        raise click.UsageError("give --check or --write, not both")
    project = Project(find_root(Path.cwd()))
    if check or write:
        finish(*update_document(project, document, write=write))
    graph = pipeline_graph(project)
    if not graph.nodes and not graph.problems:
        # An empty `flowchart TD` reads as a picture of nothing gone wrong.
        raise click.UsageError(
            f"no pipeline to draw: no dvc.yaml and no .dvc file under {project.root} "
            "(`dvc stage add` writes the first stage)"
        )
    for dvcfile, why in sorted(graph.problems.items()):
        click.echo(f"{dvcfile}: {why}: it is missing from the picture", err=True)
    click.echo(markdown_block(graph) if md else mermaid(graph))
