"""TOML documents that remember where every key and string value was written.

`tomllib` gives the data but no positions. The scanner here walks the same (already
validated) text once and records, for each key path as tomllib would index it, where the
key and where a string value's contents stand, so a finding can point at the exact
requirement and a fixer can rewrite just its characters.
"""

from __future__ import annotations

import bisect
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from dvc_gitops.formats.yamldoc import Mark

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

TomlPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ERROR_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_BLANK = re.compile(r"[ \t]*(?:#[^\n]*)?")
_BLANK_LINES = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
# A number, boolean, or date (with an optional time after a space).
_SCALAR = re.compile(r"[^,\]}\s#]+(?: [0-9:.+Z-]+)?")


class TomlProblem(Exception):
    """The text is not valid TOML; carries where and why."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


@dataclass(frozen=True)
class Span:
    """Where a string's contents stand: 1-based mark, 0-based offsets in the text."""

    mark: Mark
    start: int  # first character inside the quotes
    end: int  # the closing quote
    raw: str  # the characters between the quotes, escapes not applied


@dataclass
class TomlDoc:
    """A parsed TOML file: plain data plus the marks of keys and string values."""

    path: str
    text: str
    data: dict[str, Any]
    keys: dict[TomlPath, Mark] = field(default_factory=dict)
    strings: dict[TomlPath, Span] = field(default_factory=dict)

    def key_mark(self, path: TomlPath) -> Mark:
        """Where the key ending `path` stands; the nearest recorded ancestor otherwise."""
        for depth in range(len(path), 0, -1):
            if path[:depth] in self.keys:
                return self.keys[path[:depth]]
        return Mark(1, 1)

    def value_mark(self, path: TomlPath) -> Mark:
        """Where the contents of the string at `path` start, else where its key stands."""
        span = self.strings.get(path)
        return span.mark if span is not None else self.key_mark(path)


def parse(text: str) -> dict[str, Any]:
    """The data only (no positions); raises TomlProblem with tomllib's line and column."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _ERROR_AT.search(message)
        mark = Mark(int(found[1]), int(found[2])) if found else Mark(1, 1)
        raise TomlProblem(mark, _ERROR_AT.sub("", message).strip()) from None


def load(text: str, path: str) -> TomlDoc:
    """Parse `text` and record positions; raises TomlProblem like `parse`."""
    doc = TomlDoc(path, text, parse(text))
    _Scanner(doc).scan()
    return doc


class _Scanner:
    """A single pass over valid TOML, recording positions by tomllib's key paths."""

    def __init__(self, doc: TomlDoc) -> None:
        self.doc = doc
        self.text = doc.text
        self.pos = 0
        self.table: TomlPath = ()
        self.array_tables: dict[TomlPath, int] = {}  # [[a.b]] -> index of the last one
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", self.text)]

    def mark(self, offset: int) -> Mark:
        line = bisect.bisect_right(self.line_starts, offset)
        return Mark(line, offset - self.line_starts[line - 1] + 1)

    def scan(self) -> None:
        text = self.text
        while True:
            self.skip(newlines=True)
            if self.pos >= len(text):
                return
            if text.startswith("[[", self.pos):
                self.pos += 2
                start = self.pos
                keys = self.key()
                self.skip()
                self.pos += 2  # ]]
                resolved = (*self.resolve(keys[:-1]), keys[-1])
                index = self.array_tables.get(resolved, -1) + 1
                self.array_tables[resolved] = index
                self.table = (*resolved, index)
                self.doc.keys.setdefault(resolved, self.mark(start))
                self.doc.keys[self.table] = self.mark(start)
            elif text[self.pos] == "[":
                self.pos += 1
                start = self.pos
                self.table = self.resolve(self.key())
                self.skip()
                self.pos += 1  # ]
                self.doc.keys[self.table] = self.mark(start)
            else:
                self.pair(self.table)

    def resolve(self, keys: TomlPath) -> TomlPath:
        """A header's path with the index of each enclosing array of tables inserted."""
        path: TomlPath = ()
        for key in keys:
            path = (*path, key)
            if path in self.array_tables:
                path = (*path, self.array_tables[path])
        return path

    def pair(self, base: TomlPath) -> None:
        start = self.pos
        keys = self.key()
        path = (*base, *keys)
        self.doc.keys[path] = self.mark(start)
        self.skip()
        self.pos += 1  # =
        self.skip()
        self.value(path)

    def key(self) -> TomlPath:
        parts: list[str | int] = []
        while True:
            self.skip()
            char = self.text[self.pos]
            if char in "\"'":
                span = self.string()
                parts.append(tomllib.loads(f"k = {self.text[span.start - 1 : span.end + 1]}")["k"])
            else:
                found = _BARE_KEY.match(self.text, self.pos)
                assert found, "the scanner runs only on text tomllib accepted"
                parts.append(found[0])
                self.pos = found.end()
            self.skip()
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                continue
            return tuple(parts)

    def value(self, path: TomlPath) -> None:
        char = self.text[self.pos]
        if char in "\"'":
            self.doc.strings[path] = self.string()
        elif char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if self.text[self.pos] == "]":
                    self.pos += 1
                    return
                self.value((*path, index))
                index += 1
                self.skip(newlines=True)
                if self.text[self.pos] == ",":
                    self.pos += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.skip(newlines=True)
                if self.text[self.pos] == "}":
                    self.pos += 1
                    return
                self.pair(path)
                self.skip(newlines=True)
                if self.text[self.pos] == ",":
                    self.pos += 1
        else:  # a number, boolean or date: runs to the next delimiter
            found = _SCALAR.match(self.text, self.pos)
            self.pos = found.end() if found else self.pos + 1

    def string(self) -> Span:
        text, start = self.text, self.pos
        quote = text[start]
        delimiter = quote * 3 if text.startswith(quote * 3, start) else quote
        body = start + len(delimiter)
        if delimiter == '"""' and text.startswith("\n", body):
            body += 1
        elif delimiter == '"""' and text.startswith("\r\n", body):
            body += 2
        index = body
        while True:
            if quote == '"' and text[index] == "\\":
                index += 2
                continue
            if text.startswith(delimiter, index):
                # A multi-line string may end in up to two extra quotes before the delimiter.
                while text.startswith(delimiter, index + 1) and len(delimiter) == 3:
                    index += 1
                break
            index += 1
        self.pos = index + len(delimiter)
        return Span(self.mark(body), body, index, text[body:index])

    def skip(self, newlines: bool = False) -> None:
        """Past spaces and comments (and newlines when `newlines`)."""
        pattern = _BLANK_LINES if newlines else _BLANK
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
