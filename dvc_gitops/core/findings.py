"""Findings and the rules that produce them.

Every rule is declared once, where its check lives, as a module-level `Rule(...)`. The
declaration registers it: `dvc-gitops rules`, the docs and the SARIF driver all read
the same registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlDoc

Severity = Literal["error", "warning", "notice"]

# Where a finding's docs live once published; SARIF and `rules` point here.
HOME_URL = "https://github.com/dvc-gitops/dvc-gitops"
DOCS_URL = HOME_URL + "/blob/main/docs/rules/{code}.md"


@dataclass(frozen=True, order=True)
class Finding:
    """One thing wrong at one place. Sorted by path, line, column, code."""

    path: str
    line: int
    column: int
    code: str
    rule: str
    severity: Severity
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


RULES: dict[str, Rule] = {}


@dataclass(frozen=True)
class Rule:
    """A stable code, a slug, a default severity, and the text of its doc page."""

    code: str  # DG101: family digit, then two
    name: str  # unknown-key
    severity: Severity
    summary: str  # one line: what it finds
    why: str = ""  # a paragraph: why it matters
    fix: str = ""  # a paragraph: what to write instead
    fixable: bool = False  # its hook's `--fix` removes it (the page says so)
    options: tuple[str, ...] = ()  # its hook's options that change what it reports
    # On only when `select` or `extend-select` names the code: rules whose findings are
    # often right but not certain enough to speak to everyone (the trial in docs/trial.md).
    off_by_default: bool = False

    def __post_init__(self) -> None:
        if self.code in RULES and RULES[self.code] != self:
            raise ValueError(f"rule code {self.code} is declared twice")
        RULES[self.code] = self

    @property
    def help_uri(self) -> str:
        return DOCS_URL.format(code=self.code)

    def at(
        self,
        path: str,
        mark: Mark | tuple[int, int],
        message: str,
        severity: Severity | None = None,
    ) -> Finding:
        line, column = (mark.line, mark.column) if isinstance(mark, Mark) else mark
        return Finding(
            path=path,
            line=line,
            column=column,
            code=self.code,
            rule=self.name,
            severity=severity or self.severity,
            message=message,
        )

    def at_key(self, doc: YamlDoc, path: JsonPath, message: str) -> Finding:
        """A finding at the key that ends `path` (an unknown key, a misplaced one)."""
        return self.at(doc.path, doc.key_mark(path), message)

    def at_value(self, doc: YamlDoc, path: JsonPath, message: str) -> Finding:
        """A finding at the value of `path` (a wrong type, a bad reference)."""
        return self.at(doc.path, doc.value_mark(path), message)


# The tool's own findings, about suppressions and files it could not read.
UNUSED_SUPPRESSION = Rule(
    "DG001",
    "unused-suppression",
    "warning",
    "An inline `# dvc-gitops: ignore[...]` comment that suppresses nothing.",
    why="A suppression outlives the problem it hid; left in place it will silently hide "
    "the next, different problem on that line.",
    fix="Delete the comment, or the codes in it that no longer match a finding.",
)
UNREADABLE_FILE = Rule(
    "DG002",
    "unreadable-file",
    "error",
    "A file the check needs cannot be read (permissions, a dangling link, a directory).",
    why="A check that cannot read its input cannot vouch for it; passing silently would "
    "hide exactly the files nobody looked at.",
    fix="Make the file readable, or exclude it from the hook's `files`.",
)
STALE_BASELINE_ENTRY = Rule(
    "DG003",
    "stale-baseline-entry",
    "warning",
    "A baseline entry that no longer matches a finding: the problem was fixed, or what it "
    "is about was renamed.",
    why="A baseline is a list of known problems to fix one day; an entry whose problem is "
    "gone would silently hide the next problem that happens to look the same.",
    fix="Run `dvc-gitops baseline` to write the file again from today's findings, and "
    "commit it: it only shrinks.",
)
