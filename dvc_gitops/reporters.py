"""Reporters: one function per output format, all printing the same findings.

A new format is one function and one entry in REPORTERS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TextIO

from .findings import Finding

Reporter = Callable[[Sequence[Finding], TextIO], None]


def text(findings: Sequence[Finding], out: TextIO) -> None:
    """`path:line:col: CODE message`, then one summary line."""
    for f in findings:
        out.write(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}\n")
    out.write(summary(findings) + "\n")


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


REPORTERS: dict[str, Reporter] = {
    "text": text,
    "json": json_report,
    "github": github,
}
