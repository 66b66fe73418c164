"""YAML documents that remember where every key and value came from.

libyaml's composer (through PyYAML's CSafeLoader) gives us nodes with marks in one
fast pass; the plain data is built from those nodes, never by a second parse. Plain
scalars are typed the way DVC's loader (ruamel.yaml, YAML 1.2) types them, not the way
PyYAML's YAML 1.1 resolver would: `yes` stays a string, `0755` is 755.
"""

from __future__ import annotations

import gc
import re
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it; the pure-Python one gives the same nodes.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The tag of a plain scalar nobody tagged: typed later, as YAML 1.2 types it. PyYAML's
# YAML 1.1 resolver is skipped (it would be wrong, and it costs a regex per scalar), and
# an explicit `!!str 123` keeps its tag, so it stays text.
PLAIN_TAG = "tag:dvc-gitops,2026:plain"
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_Base):  # type: ignore[misc]
    """libyaml's composer; plain scalars tagged for `scalar_value`, `<<` as a merge key."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class attribute

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return MERGE_TAG if value == "<<" else PLAIN_TAG
        return super().resolve(kind, value, implicit)


_TOO_DEEP = "the document nests too deeply to read (hundreds of levels): flatten it"

# A document may expand aliases to at most this many nodes: "billion laughs" stops here.
MAX_EXPANDED_NODES = 1_000_000

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Mark:
    """A 1-based line and column."""

    line: int
    column: int


class YamlProblem(Exception):
    """The text is not a YAML document DVC could load; carries where and why."""

    def __init__(self, mark: Mark, message: str, kind: str = "syntax") -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.kind = kind  # syntax | duplicate-key | merge-conflict | encoding | too-large


# The node trees asked for last stay alive: positions are asked in runs (a file's
# findings, the stages of one file), and composing again costs more than keeping a few.
_RECENT_TREES: deque[yaml.Node] = deque(maxlen=4)


@dataclass
class YamlDoc:
    """A parsed YAML file: its plain data plus the marks of every key and value.

    The node tree that holds the marks is not kept with the data: it weighs several
    times the data (a node and two marks per value), and most runs ask for few
    positions. `root` composes it again from `text` when asked, and it lives while a
    caller holds it (or among the few asked for last).
    """

    path: str
    text: str
    data: Any
    # Non-fatal problems DVC still refuses (duplicate keys): reported, data kept.
    problems: list[YamlProblem] = field(default_factory=list)
    # Answers derived from the data that several checks ask for (the schema's verdict).
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # The tree while someone holds it; None for an empty document (there is no tree).
    _tree: weakref.ref[yaml.Node] | None = field(default=None, repr=False, compare=False)

    @property
    def root(self) -> yaml.Node | None:
        """The composed node tree, None for an empty document."""
        if self._tree is None:
            return None
        tree = self._tree()
        if tree is None:
            # It composed once already, into a tree: the same text gives the same tree.
            with gc_paused():
                tree = yaml.compose(self.text, Loader=_Loader)
            assert tree is not None
            self._tree = weakref.ref(tree)
        if tree not in _RECENT_TREES:
            _RECENT_TREES.append(tree)
        return tree

    def node(self, path: JsonPath) -> yaml.Node | None:
        """The value node at `path`, or None when the path leads nowhere."""
        found = self._walk(path)
        return found[1] if found else None

    def value_mark(self, path: JsonPath) -> Mark:
        """Where the value at `path` starts; the nearest existing ancestor otherwise."""
        for depth in range(len(path), -1, -1):
            found = self._walk(path[:depth])
            if found:
                return _mark(found[1])
        return Mark(1, 1)

    def key_mark(self, path: JsonPath) -> Mark:
        """Where the mapping key that ends `path` stands (list items: the item)."""
        for depth in range(len(path), -1, -1):
            found = self._walk(path[:depth])
            if found:
                key_node, value_node = found
                return _mark(key_node if key_node is not None else value_node)
        return Mark(1, 1)

    def end_line(self, path: JsonPath) -> int:
        """The last line the value at `path` covers (block values span many)."""
        found = self._walk(path)
        if not found:
            return self.value_mark(path).line
        # A block ends where the next token starts: step back over blank lines.
        end = len(self.text[: found[1].end_mark.index].rstrip())
        return self.text.count("\n", 0, end) + 1

    def _walk(self, path: JsonPath) -> tuple[yaml.Node | None, yaml.Node] | None:
        root = self.root
        if root is None:
            return None
        key_node: yaml.Node | None = None
        node: yaml.Node = root
        for step in path:
            if isinstance(node, yaml.MappingNode):
                pair = _pair(node, step)
                if pair is None:
                    return None
                key_node, node = pair
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    return None
                key_node, node = None, node.value[step]
            else:
                return None
        return key_node, node


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for work that allocates many objects that
    all stay alive (or die by reference counting), like composing and building a tree.

    Each collection of the oldest generation walks every live object, and such work
    triggers one each time the heap grows by a quarter: at 5,000 stages, about 0.2 s
    of CPU spent finding no garbage. The allocations are counted on: the first
    collection after the block sees them once.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load(text: str, path: str) -> YamlDoc:
    """Parse `text`; raise YamlProblem with a position when DVC could not load it."""
    with gc_paused():
        return _load(text, path)


def _load(text: str, path: str) -> YamlDoc:
    _refuse_merge_conflicts(text)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise YamlProblem(Mark(line, 1), "the file holds a NUL byte: not a text file", "encoding")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.composer.ComposerError as exc:
        if "more than one document" in str(exc) or "expected a single document" in str(exc):
            raise YamlProblem(
                _problem_mark(exc),
                "more than one YAML document in the file: DVC reads one; merge them "
                "or delete the second `---` and what follows",
            ) from None
        raise YamlProblem(_problem_mark(exc, text), _problem_text(exc, text)) from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml stops at 1,000 levels
            raise YamlProblem(
                _problem_mark(exc),
                _TOO_DEEP,
                "too-large",
            ) from None
        raise YamlProblem(_problem_mark(exc, text), _problem_text(exc, text)) from None
    except RecursionError:
        raise YamlProblem(
            Mark(1, 1),
            _TOO_DEEP,
            "too-large",
        ) from None
    if "\t" in text:
        _refuse_tabs_like_ruamel(text)
    doc = YamlDoc(path=path, text=text, data=None)
    if root is not None:
        doc._tree = weakref.ref(root)
        _RECENT_TREES.append(root)
        builder = _Builder(doc)
        if "*" in text:  # only aliases can make a document bigger than its text
            builder.size(root)
        try:
            doc.data = builder.build(root)
        except RecursionError:
            raise YamlProblem(
                _mark(root),
                _TOO_DEEP,
                "too-large",
            ) from None
    return doc


def _refuse_tabs_like_ruamel(text: str) -> None:
    """Refuse the tabs DVC's loader refuses and libyaml lets pass.

    libyaml accepts a tab after a value (`- train.py<TAB>`); ruamel.yaml, which DVC
    uses, stops with "found character '\\t' that cannot start any token". Tabs are rare
    in dvc.yaml, so only then do we pay for ruamel's pure-Python scanner.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    try:
        for _event in YAML(typ="safe", pure=True).parse(text):
            pass
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark is not None else Mark(1, 1)
        problem = " ".join(str(exc.problem or exc).split()).replace("character '\\t'", "a tab")
        raise YamlProblem(
            where, f"invalid YAML: {problem}: DVC's YAML reader refuses a tab here, use spaces"
        ) from None


def load_bytes(raw: bytes, path: str) -> YamlDoc:
    """Decode as DVC does (UTF-8, an optional BOM) and parse."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlProblem(
            Mark(1, 1), "the file is UTF-16; DVC reads UTF-8: save it as UTF-8", "encoding"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            Mark(line, column),
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}): DVC reads UTF-8; save the file "
            "as UTF-8",
            "encoding",
        ) from None
    return load(text, path)


_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})(?: |$)", re.MULTILINE)


def _refuse_merge_conflicts(text: str) -> None:
    found = _CONFLICT.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise YamlProblem(
            Mark(line, 1),
            f"merge conflict marker '{found.group(1)}': resolve the conflict, then commit",
            "merge-conflict",
        )


def _problem_mark(exc: yaml.YAMLError, text: str = "") -> Mark:
    """Where to point: the problem, or where the construct opened when the problem is at
    the end of the file (an unclosed `[`, a key without `:` on the last line)."""
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    mark = problem or context
    at_end = problem is not None and problem.index >= len(text.rstrip())
    if at_end and text:
        opener = _unclosed_flow(text)
        if opener is not None:
            return opener
        if context is not None:
            mark = context
    if mark is None:
        return Mark(1, 1)
    return Mark(mark.line + 1, mark.column + 1)


def _unclosed_flow(text: str) -> Mark | None:
    """The `[` or `{` that is never closed, if any: where an 'end of file' error began."""
    stack: list[Mark] = []
    for number, line in enumerate(text.splitlines(), 1):
        quote = ""
        for column, char in enumerate(line, 1):
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == "#" and (column == 1 or line[column - 2] in " \t"):
                break
            elif char in "[{":
                stack.append(Mark(number, column))
            elif char in "]}" and stack:
                stack.pop()
    return stack[0] if stack else None


# What usually causes libyaml's complaint, and what to do: (words in it, the hint).
_HINTS = (
    ("expected ',' or ']'", "close the `[` with `]`"),
    ("expected ',' or '}'", "close the `{` with `}`"),
    ("could not find expected ':'", "a key needs `: ` after it, a list item `- ` with a space"),
    ("did not find expected key", "check this line's indentation against the lines above"),
    ("expected <block end>", "check this line's indentation against the lines above"),
    ("did not find expected '-' indicator", "check this line's indentation"),
    ("mapping values are not allowed", 'quote a value that holds `: ` (`cmd: "a: b"`)'),
    ("undefined alias", "define the anchor (`&name`) before its first `*name`"),
    ("while scanning a quoted scalar", "close the quote"),
    ("cannot start any token", "quote the value"),
)


def _problem_text(exc: yaml.YAMLError, text: str = "") -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None and text:
        line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and mark.column <= len(indent):
            # A tab where the indentation is: quoting would not help, spaces do.
            return (
                "invalid YAML: a tab in the indentation (YAML indents with spaces only): "
                "indent with spaces"
            )
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = " ".join((f"{problem} ({context})" if context else str(problem)).split())
    hint = next((h for words, h in _HINTS if words in text), None)
    return f"invalid YAML: {text}" + (f": {hint}" if hint else "")


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


# Big mappings (a `stages:` of thousands) -> {key value: its first (key, value) pair}: a
# path lookup per stage would otherwise scan every key, quadratic over a whole file.
_PAIRS: weakref.WeakKeyDictionary[yaml.MappingNode, dict[Any, tuple[yaml.Node, yaml.Node]]] = (
    weakref.WeakKeyDictionary()
)


def _pair(node: yaml.MappingNode, step: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """The first (key, value) of `node` whose key is `step`, merge keys included."""
    if len(node.value) < 16:
        for k, v in _merged_pairs(node):
            if isinstance(k, yaml.ScalarNode) and _key_matches(k, step):
                return k, v
        return None
    index = _PAIRS.get(node)
    if index is None:
        index = {}
        for k, v in _merged_pairs(node):
            if isinstance(k, yaml.ScalarNode):  # scalar values are hashable
                index.setdefault(scalar_value(k), (k, v))
        _PAIRS[node] = index
    return index.get(step)


def _key_matches(key_node: yaml.ScalarNode, step: str | int) -> bool:
    return bool(scalar_value(key_node) == step)


def _merged_pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """Mapping pairs with `<<` merge keys spliced in; explicit keys come first."""
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag == MERGE_TAG:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    merged.extend(_merged_pairs(source))
        else:
            yield key, value
    yield from merged


# YAML 1.2 plain scalars as ruamel.yaml types them (checked against it in the tests).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
    r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # one-digit parts need a time
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$"
)
_TIMESTAMP_CONSTRUCTOR = yaml.SafeLoader("")


# Every null, bool, number and date starts with one of these; other text stays text.
_TYPED_STARTS = frozenset("0123456789+-.~nNtTfF")


def scalar_value(node: yaml.ScalarNode) -> Any:
    """The Python value of a scalar node, typed as DVC's YAML 1.2 loader types it."""
    text: str = node.value
    if node.style:  # quoted and block scalars are always strings
        return text
    if node.tag != PLAIN_TAG:  # explicit tags like !!str, !!int, and `<<`
        return _explicit(node)
    if text and text[0] not in _TYPED_STARTS:  # most values: paths, commands, names
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return _to_int(text)
    if _FLOAT.match(text):
        return _to_float(text)
    if _DATE.match(text) or _TIMESTAMP.match(text):
        try:
            return _TIMESTAMP_CONSTRUCTOR.construct_yaml_timestamp(node)
        except ValueError:
            return text
    return text


def _explicit(node: yaml.ScalarNode) -> Any:
    tag = node.tag.rsplit(":", 1)[-1]
    text = node.value
    try:
        if tag == "int":
            return _to_int(text)
        if tag == "float":
            return _to_float(text)
        if tag == "bool":
            return _BOOL.get(text, text)
        if tag == "null":
            return None
    except ValueError:
        pass
    return text


def _to_int(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").replace("_", "")
    if digits.startswith("0b"):
        return sign * int(digits[2:] or "0", 2)
    if digits.startswith("0o"):
        return sign * int(digits[2:] or "0", 8)
    if digits.startswith("0x"):
        return sign * int(digits[2:] or "0", 16)
    return sign * int(digits)


def _to_float(text: str) -> float:
    lowered = text.replace("_", "").lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered.endswith(".nan"):
        return float("nan")
    return float(lowered)


# The tags ruamel.yaml's safe loader (DVC's) can construct; any other tag fails there.
_STANDARD_TAGS = ("str", "int", "float", "bool", "null", "timestamp", "binary", "set", "omap")
_KNOWN_TAGS = frozenset(
    [
        PLAIN_TAG,
        *(f"tag:yaml.org,2002:{t}" for t in (*_STANDARD_TAGS, "pairs", "seq", "map", "merge")),
    ]
)


class _Builder:
    """Turns composed nodes into plain data; aliases share one object."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.built: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}

    def size(self, root: yaml.Node) -> int:
        """Count the nodes the document expands to, refusing alias bombs."""
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        open_nodes: set[int] = set()  # on the path from the root: met again = a cycle
        while stack:
            node, children_done = stack.pop()
            if id(node) in self.sizes:
                continue
            if not children_done and id(node) in open_nodes:
                raise YamlProblem(
                    _mark(node),
                    "an alias refers to a node that contains it, so the document never "
                    "ends: write the values out",
                    "too-large",
                )
            children = _children(node)
            if children_done or not children:
                open_nodes.discard(id(node))
                total = 1 + sum(self.sizes.get(id(c), 0) for c in children)
                if total > MAX_EXPANDED_NODES:
                    raise YamlProblem(
                        _mark(node),
                        f"the document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                        "through aliases (a YAML bomb?): write the values out",
                        "too-large",
                    )
                self.sizes[id(node)] = total
            else:
                open_nodes.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in children if id(c) not in self.sizes)
        return self.sizes[id(root)]

    def build(self, node: yaml.Node) -> Any:
        known = self.built.get(id(node))
        if known is not None or id(node) in self.built:
            return known
        if node.tag not in _KNOWN_TAGS:
            raise YamlProblem(
                _mark(node),
                f"invalid YAML for DVC: its reader has no constructor for the tag "
                f"'{node.tag.replace('tag:yaml.org,2002:', '!!')}': remove the tag",
            )
        if isinstance(node, yaml.ScalarNode):
            value = scalar_value(node)
        elif isinstance(node, yaml.SequenceNode):
            value = []
            self.built[id(node)] = value
            value.extend(self.build(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            value = self._mapping(node)
        else:  # pragma: no cover - the composer makes only these three
            raise YamlProblem(_mark(node), f"unexpected YAML node {type(node).__name__}")
        self.built[id(node)] = value
        return value

    def _mapping(self, node: yaml.MappingNode) -> dict[Any, Any]:
        value: dict[Any, Any] = {}
        self.built[id(node)] = value
        seen: dict[Any, yaml.Node] = {}
        explicit: list[tuple[yaml.Node, yaml.Node]] = []
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merges.append(value_node)
            else:
                explicit.append((key_node, value_node))
        for source in merges:  # merged keys first, so explicit keys override them
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for one in sources:
                merged = self.build(one)
                if isinstance(merged, dict):
                    for k, v in merged.items():
                        value.setdefault(k, v)
        for key_node, value_node in explicit:
            key = self.build(key_node)
            if isinstance(key, (dict, list)):
                self.doc.problems.append(
                    YamlProblem(_mark(key_node), "a mapping key must be a plain value")
                )
                continue
            if key in seen:
                first = _mark(seen[key])
                self.doc.problems.append(
                    YamlProblem(
                        _mark(key_node),
                        f"duplicate key '{key}' (first defined at line {first.line}): "
                        "DVC refuses the file; keep one",
                        "duplicate-key",
                    )
                )
            seen[key] = key_node
            value[key] = self.build(value_node)
        return value


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


__all__ = ["JsonPath", "Mark", "YamlDoc", "YamlProblem", "load", "load_bytes", "scalar_value"]
