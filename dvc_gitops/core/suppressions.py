"""Inline `# dvc-gitops: ignore[CODE, ...]` comments.

A comment suppresses its codes on its own line. In a YAML file, a comment on a line that
opens a block (a stage's key, say) covers the whole block. A suppression that hides
nothing is itself reported (DG001), but only for codes the run actually checked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import yaml

from dvc_gitops.core.config import matches
from dvc_gitops.core.findings import UNUSED_SUPPRESSION, Finding
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.formats.yamldoc import Mark, YamlDoc, YamlProblem

_COMMENT = re.compile(r"#\s*dvc-gitops:\s*ignore\[([^\]]*)\]", re.IGNORECASE)


@dataclass
class Suppression:
    path: str
    line: int
    column: int
    codes: list[str]
    first: int  # the lines it covers
    last: int
    used: set[str] = field(default_factory=set)

    def covers(self, finding: Finding) -> str | None:
        """The code of this comment that hides `finding`, if any."""
        if finding.path != self.path or not self.first <= finding.line <= self.last:
            return None
        for code in self.codes:
            if finding.code.startswith(code):
                return code
        return None


def apply(
    project: Project,
    findings: Iterable[Finding],
    active: Callable[[str], bool],
) -> list[Finding]:
    """Drop suppressed findings; add a DG001 for each code that suppressed nothing.

    `active(code)` says whether this run checked that code, so a comment meant for
    another hook is not called unused.
    """
    findings = list(findings)
    paths = sorted({f.path for f in findings} | project.examined)
    suppressions = [s for p in paths for s in _read(project, p)]
    if not suppressions:
        return findings
    kept = []
    for finding in findings:
        hidden = False
        for suppression in suppressions:
            code = suppression.covers(finding)
            if code:
                suppression.used.add(code)
                hidden = True
        if not hidden:
            kept.append(finding)
    for suppression in suppressions:
        for code in suppression.codes:
            if code not in suppression.used and active(code):
                kept.append(
                    UNUSED_SUPPRESSION.at(
                        suppression.path,
                        (suppression.line, suppression.column),
                        f"'ignore[{code}]' suppresses nothing here: remove it",
                    )
                )
    return kept


def hides(project: Project, finding: Finding) -> bool:
    """Whether an inline comment suppresses `finding` (a fixer leaves those alone)."""
    return any(s.covers(finding) for s in _read_once(project, finding.path))


def _read_once(project: Project, path: str) -> list[Suppression]:
    """`_read`, once per version of the file: a fixer asks for each of thousands of
    findings, and re-reading the file each time was quadratic."""
    try:
        stat = os.stat(project.path(path))
        version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    cache = project.cache("suppressions")
    cached = cache.get(path)
    if version is None or cached is None or cached[0] != version:
        cached = (version, _read(project, path))
        cache[path] = cached
    found: list[Suppression] = cached[1]
    return found


def _read(project: Project, path: str) -> list[Suppression]:
    try:
        text = project.read_text(path)
    except FileProblem:
        return []
    if "dvc-gitops" not in text:
        return []
    found = []
    doc: YamlDoc | bool | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        comment = _COMMENT.search(line)
        if not comment:
            continue
        codes = [c.strip().upper() for c in comment.group(1).split(",") if c.strip()]
        last = number
        if path.endswith((".yaml", ".yml")):
            if doc is None:
                try:
                    doc = project.yaml(path)
                except (YamlProblem, FileProblem):
                    doc = False
            if isinstance(doc, YamlDoc):
                last = _block_end(doc, number)
        found.append(Suppression(path, number, comment.start() + 1, codes, number, last))
    return found


def _block_end(doc: YamlDoc, line: int) -> int:
    """The last line of the block whose key stands on `line` (or `line` itself)."""
    if doc.root is None:
        return line
    stack: list[yaml.Node] = [doc.root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.start_mark.line + 1 == line and isinstance(
                    value, (yaml.MappingNode, yaml.SequenceNode)
                ):
                    end = len(doc.text[: value.end_mark.index].rstrip())
                    return max(line, doc.text.count("\n", 0, end) + 1)
                if key.start_mark.line < line <= value.end_mark.line + 1:
                    stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return line


def is_active(codes: Iterable[str]) -> Callable[[str], bool]:
    """A predicate for `apply`: the run checked codes starting with any of `codes`."""
    prefixes = list(codes)
    return lambda code: matches(code, prefixes)


__all__ = ["Mark", "Suppression", "apply", "is_active"]
