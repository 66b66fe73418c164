"""dvc.lock read fast: the block YAML DVC writes, parsed line by line.

A 2,600-stage monorepo holds 1.4 MB of dvc.lock; composing it with PyYAML costs seconds,
more than the rest of the check. DVC writes its locks through ruamel.yaml in one plain
shape (block mappings and sequences, one scalar per line, `-` items at their parent's
indentation), so `parse` reads that shape with a few string operations and types plain
scalars as YAML 1.2 does (`yamldoc.scalar_value`). Anything outside the shape (flow
collections, multi-line or escaped scalars, anchors, tags, comments, tabs) returns None
and the caller parses the file with the full YAML loader instead: the fast path never
decides what a document means, it only declines.
"""

from __future__ import annotations

from typing import Any

import yaml

from dvc_gitops.formats.yamldoc import PLAIN_TAG, scalar_value

_TYPED_STARTS = frozenset("0123456789+-.~nNtTfF")
_REFUSED_STARTS = frozenset("[{&*!|>%@`#,?:")


class _Decline(Exception):
    """The text is outside the shape this parser reads."""


def parse(text: str) -> Any | None:
    """The document's data, or None when it is not in the plain block shape."""
    if "\t" in text or ("#" in text and _has_comment(text)):
        return None
    lines: list[tuple[int, str]] = []
    blank = False
    for raw in text.split("\n"):
        stripped = raw.rstrip(" \r")
        if not stripped or stripped == "---":
            blank = bool(lines)
            continue
        content = stripped.lstrip(" ")
        if blank and lines and len(stripped) - len(content) > lines[-1][0]:
            return None  # a blank line inside a folded scalar means a newline: the loader's
        blank = False
        lines.append((len(stripped) - len(content), content))
    if not lines:
        return None
    try:
        value, end = _block(lines, 0, lines[0][0])
    except (_Decline, IndexError, ValueError):
        return None
    return value if end == len(lines) else None


def _has_comment(text: str) -> bool:
    # A `#` after a space (or at a line's start) starts a comment; inside a value it is text.
    return any(line.lstrip().startswith("#") or " #" in line for line in text.split("\n"))


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1].startswith("- ") or lines[i][1] == "-":
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        content = lines[i][1]
        if content.startswith("- ") or content == "-":
            break
        key, rest = _split_key(content)
        if key in found:
            raise _Decline  # DVC refuses duplicate keys: let the full loader say so
        i += 1
        if rest:
            found[key], i = _folded(lines, i, indent, rest)
        elif i < len(lines) and lines[i][0] > indent:
            found[key], i = _block(lines, i, lines[i][0])
        elif i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            found[key], i = _sequence(lines, i, indent)  # `key:` then `- item` at its level
        else:
            found[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise _Decline
    return found, i


def _sequence(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while i < len(lines) and lines[i][0] == indent:
        content = lines[i][1]
        if not (content.startswith("- ") or content == "-"):
            break
        rest = content[2:].lstrip(" ")
        inner = indent + len(content) - len(rest)
        if not rest:
            i += 1
            if i < len(lines) and lines[i][0] > indent:
                item, i = _block(lines, i, lines[i][0])
                items.append(item)
            else:
                items.append(None)
            continue
        if rest.startswith("- "):
            raise _Decline  # a sequence directly in a sequence: rare, left to the loader
        if _is_key(rest):
            lines[i] = (inner, rest)  # the item's mapping starts on the dash's line
            item, i = _mapping(lines, i, inner)
            items.append(item)
        else:
            item, i = _folded(lines, i + 1, indent, rest)
            items.append(item)
    return items, i


def _folded(lines: list[tuple[int, str]], i: int, indent: int, first: str) -> tuple[Any, int]:
    """A scalar and its continuation lines (deeper than `indent`; ruamel folds long plain
    scalars at 80 columns): joined by one space, as YAML folds a plain scalar."""
    parts = [first]
    while i < len(lines) and lines[i][0] > indent:
        content = lines[i][1]
        if first[0] in "'\"" or content[0] in _REFUSED_STARTS or content.startswith("- "):
            raise _Decline
        if ": " in content or content.endswith(":"):
            raise _Decline
        parts.append(content)
        i += 1
    if len(parts) == 1:
        return _scalar(first), i
    value = _scalar(" ".join(parts))
    if not isinstance(value, str):
        raise _Decline
    return value, i


def _is_key(content: str) -> bool:
    if content[0] in "'\"":
        close = _quote_end(content)
        return content[close + 1 : close + 3] in (": ", ":") and (
            len(content) == close + 2 or content[close + 2] == " "
        )
    return ": " in content or content.endswith(":")


def _split_key(content: str) -> tuple[str, str]:
    if content[0] in "'\"":
        close = _quote_end(content)
        key = _scalar(content[: close + 1])
        rest = content[close + 1 :]
        if not (rest == ":" or rest.startswith(": ")):
            raise _Decline
        return str(key), rest[1:].strip(" ")
    if content.endswith(":"):
        key, rest = content[:-1], ""
    else:
        key, sep, rest = content.partition(": ")
        if not sep:
            raise _Decline
    if not key or key[0] in _REFUSED_STARTS or key[:2] == "- ":
        raise _Decline
    if ": " in key or key.endswith(":"):
        raise _Decline
    value = _scalar(key)
    if not isinstance(value, str):
        raise _Decline  # a number or null as a key: the loader knows best
    return value, rest.strip(" ")


def _quote_end(content: str) -> int:
    if content[0] == "'":
        at = 1
        while True:
            at = content.index("'", at)
            if content[at + 1 : at + 2] == "'":
                at += 2
                continue
            return at
    at = content.index('"', 1)
    if "\\" in content[:at]:
        raise _Decline  # escapes: the loader decodes them
    return at


def _scalar(text: str) -> Any:
    first = text[0]
    if first == "'":
        if not text.endswith("'") or len(text) < 2:
            raise _Decline
        body = text[1:-1]
        if "'" in body.replace("''", ""):
            raise _Decline
        return body.replace("''", "'")
    if first == '"':
        if not text.endswith('"') or len(text) < 2 or "\\" in text or '"' in text[1:-1]:
            raise _Decline
        return text[1:-1]
    if first in _REFUSED_STARTS or ": " in text or text.endswith(":"):
        if text in ("[]", "{}"):
            return [] if text == "[]" else {}
        raise _Decline
    if first in _TYPED_STARTS:
        return scalar_value(yaml.ScalarNode(PLAIN_TAG, text))
    return text
