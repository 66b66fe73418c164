"""Reporters: one function per output format, all printing the same findings.

A new format is one function and one entry in REPORTERS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TextIO

from dvc_gitops import __version__
from dvc_gitops.core.findings import HOME_URL, RULES, Finding

Reporter = Callable[[Sequence[Finding], TextIO], None]


def text(findings: Sequence[Finding], out: TextIO) -> None:
    """`path:line:col: CODE message`, then one summary line."""
    for f in findings:
        out.write(f"{_one_line(f.path)}:{f.line}:{f.column}: {f.code} {_one_line(f.message)}\n")
    out.write(summary(findings) + "\n")


def _one_line(text: str) -> str:
    """`text` with control and line-breaking characters escaped (`\\n`, `\\x1e`): a key or
    file name quoted in a message must not split its line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def summary(findings: Sequence[Finding]) -> str:
    if not findings:
        return "No findings."
    counts = {
        s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "notice")
    }
    parts = [f"{n} {s}{'' if n == 1 else 's'}" for s, n in counts.items() if n]
    files = len({f.path for f in findings})
    total = len(findings)
    return (
        f"Found {total} finding{'' if total == 1 else 's'} ({', '.join(parts)}) "
        f"in {files} file{'' if files == 1 else 's'}."
    )


def json_report(findings: Sequence[Finding], out: TextIO) -> None:
    json.dump({"version": 1, "findings": [f.as_dict() for f in findings]}, out, indent=2)
    out.write("\n")


def github(findings: Sequence[Finding], out: TextIO) -> None:
    """GitHub Actions workflow commands: one annotation per finding."""
    for f in findings:
        props = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={_escape_property(f'{f.code} {f.rule}')}",
            ]
        )
        out.write(f"::{f.severity} {props}::{_escape_data(f.message)}\n")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


_SARIF_LEVELS = {"error": "error", "warning": "warning", "notice": "note"}


def sarif(findings: Sequence[Finding], out: TextIO) -> None:
    """SARIF 2.1.0, as GitHub code scanning reads it: rules with help links, results."""
    codes = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = RULES.get(code)
        entry: dict[str, object] = {"id": code}
        if rule is not None:
            entry.update(
                name=rule.name,
                shortDescription={"text": rule.summary},
                helpUri=rule.help_uri,
                defaultConfiguration={"level": _SARIF_LEVELS[rule.severity]},
            )
        rules.append(entry)
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _SARIF_LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
        }
        for f in findings
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dvc-gitops",
                        "version": __version__,
                        "informationUri": HOME_URL,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    json.dump(document, out, indent=2)
    out.write("\n")


REPORTERS: dict[str, Reporter] = {
    "text": text,
    "json": json_report,
    "github": github,
    "sarif": sarif,
}
