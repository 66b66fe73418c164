"""DVC's `${...}` templating: the context a dvc.yaml sees and what a template resolves to.

The rules follow DVC 3 (`dvc/parsing`), re-stated here so the static checks never import
DVC:
- `${a.b}`, `${a[0]}` select from the context; `\\${` escapes a template.
- A string that is exactly one template keeps the selected value's type; anything else
  becomes text (`true`/`false` for booleans, Python's `str` for numbers and None).
- A dict may only be interpolated into `cmd`, where it becomes `--key value` flags
  (nested keys joined by dots, lists as `--key a b`, `true` as a bare `--key`, `false`
  dropped). A list may not be interpolated into a string at all, except in `foreach`.
- Keys come from the `params.yaml` beside dvc.yaml, then `vars`; a key defined twice is
  an error, never an override.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

TEMPLATE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")

# Shell parameter expansions DVC mistakes for templates: ${VAR:-default}, ${#VAR},
# ${VAR/x/y}, ${VAR%.txt}. An upper-case name missing from the context is also almost
# always an environment variable meant for the shell.
_SHELL_OPERATOR = re.compile(r"^#|:[-=?+]|^[A-Za-z_][A-Za-z0-9_]*(?:[-=?+/%^,@]|:\d)")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")

PRIMITIVES = (str, int, float, bool, bytes)


class InterpolationError(Exception):
    """A template DVC cannot resolve. `kind`: syntax | missing | shell | type | redefined."""

    def __init__(self, kind: str, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.expression = expression


def templates(text: str) -> list[re.Match[str]]:
    """The `${...}` templates in `text` (escaped ones excluded)."""
    return list(TEMPLATE.finditer(text))


def has_template(value: Any) -> bool:
    """Whether a value, its keys or anything inside it holds a `${...}` template."""
    if isinstance(value, str):
        return TEMPLATE.search(value) is not None
    if isinstance(value, Mapping):
        return any(has_template(k) or has_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def looks_like_shell(inner: str) -> bool:
    """Whether `${inner}` reads as shell parameter expansion rather than a DVC key."""
    return bool(_SHELL_OPERATOR.search(inner.strip()))


def parse_expression(inner: str) -> list[str]:
    """The key parts of `a.b[0]` (["a", "b", "0"]); raises InterpolationError on bad syntax.

    DVC's grammar: a word of characters other than `.[]`, then `.word` or `[word]` steps.
    """
    return list(_parse_expression(inner))


@lru_cache(maxsize=4096)  # the same few expressions recur in every stage of a monorepo
def _parse_expression(inner: str) -> tuple[str, ...]:
    parts: list[str] = []
    i, n = 0, len(inner)

    def word(start: int) -> int:
        end = start
        while end < n and inner[end] not in ".[]":
            end += 1
        return end

    end = word(0)
    if end == 0:
        raise _syntax(inner)
    parts.append(inner[:end])
    i = end
    while i < n:
        if inner[i] == ".":
            end = word(i + 1)
            if end == i + 1:
                raise _syntax(inner)
            parts.append(inner[i + 1 : end])
            i = end
        elif inner[i] == "[":
            end = word(i + 1)
            if end == i + 1 or end >= n or inner[end] != "]":
                raise _syntax(inner)
            parts.append(inner[i + 1 : end])
            i = end + 1
        else:
            raise _syntax(inner)
    return tuple(p.strip() for p in parts)


def _syntax(inner: str) -> InterpolationError:
    if looks_like_shell(inner):
        return InterpolationError(
            "shell", f"'${{{inner}}}' is shell syntax, but DVC reads it as a template", inner
        )
    return InterpolationError(
        "syntax",
        f"'${{{inner}}}' is not a template DVC can read; name a key ('${{name}}', "
        "'${a.b}', '${list[0]}') or escape a literal '\\${'",
        inner,
    )


def to_text(value: Any, config: Mapping[str, str] | None = None) -> str:
    """A value as DVC writes it into a longer string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return dict_to_flags(value, config or {})
    return str(value)


def dict_to_flags(value: Mapping[str, Any], config: Mapping[str, str]) -> str:
    """A dict interpolated into `cmd`: `--key value` flags, as DVC renders them.

    `config` is DVC's `[parsing]` section: `bool` (store_true | boolean_optional) and
    `list` (nargs | append).
    """
    words: list[str] = []
    for name, item in _flatten(value):
        if isinstance(item, bool):
            if item:
                words.append(f"--{name}")
            elif config.get("bool", "store_true") == "boolean_optional":
                words.append(f"--no-{name}")
        elif isinstance(item, str):
            words.append(f"--{name} {shlex.quote(item)}")
        elif isinstance(item, list):
            for index, element in enumerate(item):
                if isinstance(element, (list, dict)):
                    raise InterpolationError(
                        "type", f"cannot interpolate the nested list or dict in '{name}'"
                    )
                text = shlex.quote(element) if isinstance(element, str) else str(element)
                if config.get("list", "nargs") == "append" or index == 0:
                    words.append(f"--{name} {text}")
                else:
                    words.append(text)
        else:
            words.append(f"--{name} {item}")
    return " ".join(words)


def _flatten(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, item in value.items():
        full = f"{prefix}{name}"
        if isinstance(item, Mapping) and item:
            yield from _flatten(item, full + ".")
        else:
            yield full, item


@dataclass
class Context:
    """The keys a dvc.yaml's templates may use, and where each one came from.

    `sources` maps each leaf's key path to its source: a params file (repo-relative) or
    a label like `vars[1]` for inline vars. `used` collects (source, key path) pairs
    that a template selected from a file, so unused params can be found.
    """

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[tuple[str, ...], str] = field(default_factory=dict)
    # params/vars files loaded: path -> selected keys, or None for the whole file.
    imports: dict[str, list[str] | None] = field(default_factory=dict)
    reserved: frozenset[str] = frozenset()
    used: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    files: set[str] = field(default_factory=set)  # sources that are files

    def copy(self) -> Context:
        """A context that can take more keys without changing this one."""
        return Context(
            data=_copy_tree(self.data),
            sources=dict(self.sources),
            imports={k: (None if v is None else list(v)) for k, v in self.imports.items()},
            reserved=self.reserved,
            used=self.used,  # shared: usage anywhere counts for the file
            files=self.files,
        )

    def merge(self, data: Mapping[Any, Any], source: str, is_file: bool) -> None:
        """Add `data`'s keys; raises InterpolationError("redefined") on a clash."""
        if is_file:
            self.files.add(source)
        clash = [k for k in data if isinstance(k, str) and k in self.reserved]
        if clash:
            raise InterpolationError(
                "reserved",
                f"'{clash[0]}' is reserved in foreach and matrix stages: DVC refuses to "
                "define it in vars; rename it",
                clash[0],
            )
        self._merge(self.data, data, (), source)

    def _merge(
        self, into: dict[str, Any], data: Mapping[Any, Any], path: tuple[str, ...], source: str
    ) -> None:
        for key, value in data.items():
            if not isinstance(key, str):  # DVC's context keeps only string keys
                continue
            here = (*path, key)
            if isinstance(into.get(key), dict) and isinstance(value, Mapping):
                self._merge(into[key], value, here, source)
                continue
            if key in into:
                first = self._source_under(here)
                raise InterpolationError(
                    "redefined",
                    f"'{'.'.join(here)}' from '{source}' is already defined in '{first}': "
                    "DVC never overrides a key, rename or remove one",
                    ".".join(here),
                )
            into[key] = _copy_tree(value)
            self._record(here, into[key], source)

    def _record(self, path: tuple[str, ...], value: Any, source: str) -> None:
        self.sources[path] = source
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    self._record((*path, key), item, source)

    def source_of(self, path: tuple[str, ...]) -> str | None:
        """Where the key at `path` (or the mapping holding it) was defined."""
        for depth in range(len(path), 0, -1):
            source = self.sources.get(path[:depth])
            if source is not None:
                return source
        return None

    def _source_under(self, path: tuple[str, ...]) -> str:
        if path in self.sources:
            return self.sources[path]
        for known, source in self.sources.items():
            if known[: len(path)] == path:
                return source
        return "?"

    def select(self, inner: str) -> Any:
        """The value `${inner}` names; raises InterpolationError when it is not there."""
        parts = parse_expression(inner)
        node: Any = self.data
        walked: list[str] = []
        for part in parts:
            found, node = _step(node, part)
            if not found:
                shown = inner.strip()
                if looks_like_shell(inner) or (
                    len(parts) == 1 and _ENV_NAME.match(shown) and shown not in self.data
                ):
                    raise InterpolationError(
                        "shell",
                        f"'${{{shown}}}' is shell syntax, but DVC reads it as a template "
                        "and cannot find the key",
                        shown,
                    )
                raise InterpolationError("missing", f"could not find '{shown}'", shown)
            walked.append(part)
        self._mark_used(tuple(walked))
        return node

    def _mark_used(self, path: tuple[str, ...]) -> None:
        # Only keys of dict nodes carry sources; a list index stays on its list.
        for depth in range(len(path), 0, -1):
            source = self.sources.get(path[:depth])
            if source is not None:
                if source in self.files:
                    self.used.add((source, path[:depth]))
                return

    def resolve_text(
        self, text: str, key: str | None, config: Mapping[str, str] | None = None
    ) -> Any:
        """`text` with its templates filled in, typed as DVC types it."""
        if "${" not in text:
            return text
        found = templates(text)
        if not found:
            return text.replace("\\${", "${")
        if len(found) == 1 and found[0].group(0) == text:
            value = self.select(found[0]["inner"])
            _check_type(value, key, found[0]["inner"])
            return value
        pieces: list[str] = []
        index = 0
        for match in found:
            value = self.select(match["inner"])
            _check_type(value, key, match["inner"])
            pieces.append(text[index : match.start()])
            pieces.append(to_text(value, config))
            index = match.end()
        pieces.append(text[index:])
        return "".join(pieces).replace("\\${", "${")


def _step(node: Any, part: str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        if part in node:
            return True, node[part]
        return False, None
    if isinstance(node, list):
        try:
            return True, node[int(part)]
        except (ValueError, IndexError):
            return False, None
    return False, None


def _check_type(value: Any, key: str | None, inner: str) -> None:
    if value is None or isinstance(value, PRIMITIVES):
        return
    if key is None or "foreach" in key:
        return
    if isinstance(value, Mapping) and key == "cmd":
        return
    name = inner.strip()
    if isinstance(value, Mapping):
        first = next((k for k in value if isinstance(k, str)), "key")
        raise InterpolationError(
            "type",
            f"'${{{name}}}' is a dict: DVC interpolates a dict only into `cmd` (as --key "
            f"value flags), not into '{key}'; select one value, like '${{{name}.{first}}}'",
            name,
        )
    raise InterpolationError(
        "type",
        f"'${{{name}}}' is a {type(value).__name__}: DVC cannot put it into '{key}'; "
        f"select one item ('${{{name}[0]}}') or iterate over it with foreach",
        name,
    )


def _copy_tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy_tree(v) for k, v in value.items() if isinstance(k, str)}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def with_iteration(context: Context, values: Mapping[str, Any]) -> Context:
    """`context` plus foreach/matrix `item`/`key`, reserved so vars cannot redefine them."""
    return Context(
        data={**context.data, **values},
        sources=context.sources,
        imports=context.imports,
        reserved=context.reserved | frozenset(values),
        used=context.used,
        files=context.files,
    )
