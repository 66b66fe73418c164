"""A baseline: today's findings recorded in a file, so only new ones are reported.

An existing repository starts with dozens of findings. `dvc-gitops baseline` records them
in `.dvc-gitops-baseline.json`; `--baseline FILE` (or the `baseline` config key) then
drops every finding the file holds, and reports each entry that no longer matches a
finding (DG003), so the file shrinks as the findings are fixed.

A finding is matched by what it is about, never by its line: its code, its file, the
chain of YAML keys it stands under (`stages.train.deps`) and its message with line
numbers taken out (the message names the stage, dep, key or package). Editing above a
finding moves it without resurrecting it; renaming the stage makes it a new finding.
Entries are a multiset: two identical findings need two entries.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.files import WriteRefused, write_text
from dvc_gitops.core.findings import STALE_BASELINE_ENTRY, Finding
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.formats.yamldoc import YamlProblem

DEFAULT_FILE = ".dvc-gitops-baseline.json"
VERSION = 1

# Line and column numbers inside a message ("first defined at line 3", "dvc.yaml:12"):
# they move with every edit above the finding and say nothing about what it is.
_LINE_REFERENCE = re.compile(r"\b(lines?|column|col)\s+\d+(?:\s*-\s*\d+)?|(?<=\w):\d+(?::\d+)?\b")


@dataclass(frozen=True)
class Entry:
    """One recorded finding: what it is about, and where the file holds it."""

    code: str
    path: str
    where: str  # the YAML keys it stands under, "" outside YAML
    message: str  # with line numbers taken out
    line: int = 0  # its line in the baseline file, for DG003

    @property
    def fingerprint(self) -> str:
        key = "\0".join((self.code, self.path, self.where, self.message))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "path": self.path,
            "where": self.where,
            "message": self.message,
            "fingerprint": self.fingerprint,
        }


def entry_of(project: Project, finding: Finding) -> Entry:
    """The baseline entry that matches `finding`."""
    message = " ".join(_LINE_REFERENCE.sub(_keep_word, finding.message).split())
    return Entry(finding.code, finding.path, yaml_keys_at(project, finding), message)


def _keep_word(match: re.Match[str]) -> str:
    return match.group(1) or ""


def yaml_keys_at(project: Project, finding: Finding) -> str:
    """The mapping keys whose values hold the finding's position, joined by dots
    (`stages.train.deps`); list items add nothing, so inserting one changes nothing."""
    if not finding.path.endswith((".yaml", ".yml")) or not project.exists(finding.path):
        return ""
    try:
        root = project.yaml(finding.path).root
    except (YamlProblem, FileProblem):
        return ""
    line, column = finding.line - 1, finding.column - 1
    keys: list[str] = []
    node: yaml.Node | None = root
    while node is not None:
        inner: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if _starts_before(key, line, column) and _ends_after(value, line, column):
                    keys.append(str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
                    inner = value
                    break
        elif isinstance(node, yaml.SequenceNode):
            inner = next(
                (
                    item
                    for item in node.value
                    if _starts_before(item, line, column) and _ends_after(item, line, column)
                ),
                None,
            )
        node = inner
    return ".".join(keys)


def _starts_before(node: yaml.Node, line: int, column: int) -> bool:
    mark = node.start_mark
    return (mark.line, mark.column) <= (line, column)


def _ends_after(node: yaml.Node, line: int, column: int) -> bool:
    mark = node.end_mark
    return (mark.line, mark.column) > (line, column) or (
        isinstance(node, yaml.ScalarNode) and (mark.line, mark.column) == (line, column)
    )


def read(project: Project, name: str) -> list[Entry]:
    """The entries of the baseline file `name` (relative to the repository root);
    ConfigError (exit 2) when it is missing or not a baseline."""
    target = project.root / name
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"baseline file {name} does not exist: write it with `dvc-gitops baseline`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read the baseline: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{name}:{exc.lineno}:{exc.colno}: not a baseline (invalid JSON: {exc.msg}); "
            "write it again with `dvc-gitops baseline`"
        ) from None
    return _entries(document, name, text)


def _entries(document: Any, name: str, text: str) -> list[Entry]:
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list) or document.get("version") != VERSION:
        raise ConfigError(
            f"{name}: not a dvc-gitops baseline (version {VERSION} with a findings list); "
            "write it again with `dvc-gitops baseline`"
        )
    lines = _entry_lines(text)
    entries = []
    for index, item in enumerate(findings):
        fields = ("code", "path", "where", "message")
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in fields):
            raise ConfigError(
                f"{name}: entry {index + 1} needs the strings {', '.join(fields)}; "
                "write the file again with `dvc-gitops baseline`"
            )
        line = lines[index] if index < len(lines) else 1
        code, path, where, message = (item[k] for k in fields)
        entries.append(Entry(code, path, where, message, line=line))
    return entries


def _entry_lines(text: str) -> list[int]:
    """The line of each entry as `write` lays the file out (one entry per line)."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith('{"')]


def render(project: Project, findings: Iterable[Finding]) -> str:
    """The baseline file for `findings`: one entry per line, sorted, so a refresh diffs
    as lines removed and added."""
    entries = sorted(
        (entry_of(project, f) for f in findings if f.severity != "notice"),
        key=lambda e: (e.path, e.code, e.where, e.message),
    )
    body = ",\n".join("    " + json.dumps(e.as_dict(), ensure_ascii=False) for e in entries)
    listed = f"[\n{body}\n  ]" if entries else "[]"
    return (
        f'{{\n  "version": {VERSION},\n  "tool": "dvc-gitops baseline",\n'
        f'  "findings": {listed}\n}}\n'
    )


def write(target: Path, text: str) -> bool:
    """Write `text` to `target` atomically; False when it already held exactly that."""
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, text)
    return True


def write_atomically(target: Path, text: str) -> None:
    """Replace `target` in one step (core/files: never through a symlink that leads
    elsewhere); a refused write is a usage error of one line."""
    try:
        write_text(target.parent, target, text)
    except WriteRefused as exc:
        raise click.UsageError(str(exc)) from None


def subtract(
    project: Project,
    findings: Sequence[Finding],
    entries: Sequence[Entry],
    name: str,
    covered: Any,
) -> list[Finding]:
    """`findings` less those the baseline holds, plus a DG003 for each entry that matched
    nothing among the findings this run could have produced (`covered(entry)`: the
    run checked that code in that file, so its absence means it is gone)."""
    left = Counter(e.fingerprint for e in entries)
    kept = []
    for finding in findings:
        fingerprint = entry_of(project, finding).fingerprint
        if left[fingerprint] > 0:
            left[fingerprint] -= 1
        else:
            kept.append(finding)
    for entry in entries:
        if left[entry.fingerprint] > 0 and covered(entry):
            left[entry.fingerprint] -= 1
            kept.append(
                STALE_BASELINE_ENTRY.at(
                    name,
                    (entry.line, 5),
                    f"baseline entry {entry.code} in {entry.path} ({_short(entry.message)}) "
                    "matches no finding any more: run `dvc-gitops baseline` to drop it",
                )
            )
    return kept


def _short(message: str, limit: int = 80) -> str:
    return message if len(message) <= limit else message[: limit - 3].rstrip() + "..."
