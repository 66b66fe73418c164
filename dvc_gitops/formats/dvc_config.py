"""DVC's config files (`.dvc/config`, `.dvc/config.local`) read with every key's position.

DVC reads these files with `configobj`, whose grammar is not the one of Python's
`configparser`: values may be quoted ('x' or "x", quotes removed), `#` starts an inline
comment, an unquoted value with commas is a list, indentation means nothing, a repeated
key or section is an error. This module reads the same grammar line by line, so that a
finding can point at the exact key, and never imports DVC (a static check must not).

Section names keep DVC's spelling: `remote "storage"`, `core`, `studio`. Like DVC, keys
and section names are compared lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dvc_gitops.formats.yamldoc import Mark

# `[name]`, `['remote "x"']`, with an optional trailing comment. Nested `[[x]]` sections
# are configobj syntax that DVC never writes and its schema refuses.
_SECTION = re.compile(
    r"""^(?P<indent>\s*)(?P<open>(?:\[\s*)+)
        (?P<name>"\s*\S.*?\s*"|'\s*\S.*?\s*'|[^'"\s].*?)
        (?P<close>(?:\s*\])+)\s*(?:\#.*)?$""",
    re.VERBOSE,
)
# `key = value`: a key is quoted, or runs up to the first `=`.
_KEYWORD = re.compile(
    r"""^(?P<indent>\s*)(?P<key>".*?"|'.*?'|[^'"=].*?)\s*=\s*(?P<value>.*)$""",
    re.VERBOSE,
)
# One value: list items ending in commas, then a last item, then an optional comment.
_VALUE = re.compile(
    r"""^(?:(?P<items>(?:(?:".*?"|'.*?'|[^'",\#][^,\#]*?)\s*,\s*)*)
        (?P<last>".*?"|'.*?'|[^'",\#\s][^,]*?|(?<!,))?
        |(?P<empty>,))
        \s*(?:\#.*)?$""",
    re.VERBOSE,
)
_ITEM = re.compile(r"""(".*?"|'.*?'|[^'",\#]?.*?)\s*,\s*""")
_NAMED = re.compile(r'^\s*(remote|machine|db)\s*"(.*)"\s*$')


class ConfigSyntaxError(Exception):
    """The file is not a config DVC can load: where, and why in one line."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


@dataclass(frozen=True)
class Option:
    """One `key = value` line."""

    key: str  # lower-cased, as DVC reads it
    value: str  # unquoted; a list value joined with ", "
    mark: Mark  # the key
    value_mark: Mark


@dataclass
class Section:
    """One `[...]` block and its options, in file order."""

    name: str  # as DVC reads it: 'remote "storage"' or 'core' (lower-cased)
    mark: Mark
    options: dict[str, Option] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """'remote', 'machine', 'db' for named sections, else the section name."""
        named = _NAMED.match(self.name)
        return named.group(1) if named else self.name

    @property
    def label(self) -> str | None:
        """The name inside the quotes of a named section (`storage`), else None."""
        named = _NAMED.match(self.name)
        return named.group(2) if named else None


@dataclass
class DvcConfig:
    """One config file: its sections by name, in file order."""

    path: str
    sections: dict[str, Section] = field(default_factory=dict)
    top_level: dict[str, Option] = field(default_factory=dict)  # keys before any section

    @property
    def remotes(self) -> dict[str, Section]:
        """Remote name -> its section."""
        return {s.label: s for s in self.sections.values() if s.kind == "remote" and s.label}

    def option(self, section: str, key: str) -> Option | None:
        found = self.sections.get(section)
        return found.options.get(key) if found else None

    @property
    def default_remote(self) -> Option | None:
        """The `core.remote` option, if set."""
        return self.option("core", "remote")


def remote_section(name: str) -> str:
    return f'remote "{name}"'


def remote_type(url: str | None) -> str | None:
    """The remote type DVC picks for `url` (its scheme; '' for a local path), or None."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # `https://u:p@[::1/dvc`: the scheme is still plain to read
        scheme, sep, rest = url.partition("://")
        return scheme.lower() if sep and rest else ""
    return parts.scheme.lower() if parts.netloc else ""


def parse(text: str, path: str) -> DvcConfig:
    """The config in `text`; raises ConfigSyntaxError where DVC's loader would fail."""
    config = DvcConfig(path)
    current: dict[str, Option] = config.top_level
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        number = index + 1
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        section = _SECTION.match(line)
        if section:
            depth = section.group("open").count("[")
            if depth != section.group("close").count("]"):
                raise ConfigSyntaxError(Mark(number, 1), "unbalanced brackets in section name")
            if depth != 1:
                raise ConfigSyntaxError(
                    Mark(number, 1), "nested section ([[...]]): DVC config has one level"
                )
            name = _unquote(section.group("name")).lower()
            if name in config.sections:
                first = config.sections[name].mark.line
                raise ConfigSyntaxError(
                    Mark(number, section.start("name") + 1),
                    f"section [{name}] repeats line {first}: merge the two",
                )
            column = section.start("name") + 1
            config.sections[name] = Section(name, Mark(number, column))
            current = config.sections[name].options
            continue
        keyword = _KEYWORD.match(line)
        if keyword is None:
            raise ConfigSyntaxError(
                Mark(number, len(line) - len(line.lstrip()) + 1),
                "neither a [section] nor a key = value line",
            )
        raw_value = keyword.group("value")
        value_column = keyword.start("value") + 1
        if raw_value[:3] in ('"""', "'''"):
            value, index = _multiline(raw_value, lines, index, number)
        else:
            parsed = _value(raw_value)
            if parsed is None:
                raise ConfigSyntaxError(Mark(number, value_column), "badly quoted value or list")
            value = parsed
        key = _unquote(keyword.group("key")).lower()
        if key in current:
            raise ConfigSyntaxError(
                Mark(number, keyword.start("key") + 1),
                f"key '{key}' repeats line {current[key].mark.line}: keep one",
            )
        current[key] = Option(
            key, value, Mark(number, keyword.start("key") + 1), Mark(number, value_column)
        )
    return config


def quote_value(value: str) -> str | None:
    """`value` as configobj writes it (quoted when it must be), or None when it cannot be
    written on one line (both quote characters, or a line break)."""
    if "\n" in value or "\r" in value:
        return None
    plain = value and value == value.strip() and not any(c in value for c in "#,'\"")
    if plain:
        return value
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return None


def section_header(name: str) -> str:
    """How DVC writes a section's header line: `['remote "x"']` or `[core]`."""
    return f"['{name}']" if '"' in name else f"[{name}]"


def set_option(text: str, section: str, key: str, raw: str) -> str:
    """`text` with `key = raw` in `[section]`: the key's line replaced, else added at the
    end of the section, else a new section at the end. `raw` is already quoted."""
    config = parse(text, "")
    lines = text.splitlines()
    found = config.sections.get(section)
    option = found.options.get(key) if found else None
    if option is not None:
        lines[option.mark.line - 1] = f"    {key} = {raw}"
    elif found is not None:
        last = max([found.mark.line, *(o.mark.line for o in found.options.values())])
        lines.insert(last, f"    {key} = {raw}")
    else:
        lines += [section_header(section), f"    {key} = {raw}"]
    return "\n".join(lines) + "\n"


def remove_lines(text: str, numbers: set[int]) -> str:
    """`text` without the lines numbered (1-based) in `numbers`, line endings kept."""
    kept = [ln for i, ln in enumerate(text.splitlines(keepends=True), 1) if i not in numbers]
    return "".join(kept)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _value(raw: str) -> str | None:
    match = _VALUE.match(raw)
    if match is None:
        return None
    if match.group("empty") is not None:
        return ""
    items, last = match.group("items") or "", match.group("last")
    if items == "" and last is None:
        return None  # configobj refuses an empty value written as nothing at all
    raw_items = _ITEM.findall(items)
    if "" in raw_items:
        return None  # an empty list item (`a, , b`): configobj refuses the line
    members = [_unquote(item) for item in raw_items]
    if last:
        members.append(_unquote(last))
    elif not items:
        members.append("")
    return ", ".join(members)


def _multiline(raw: str, lines: list[str], index: int, number: int) -> tuple[str, int]:
    """A triple-quoted value and the index of the line after it."""
    quote, rest = raw[:3], raw[3:]
    if quote in rest:
        return rest[: rest.index(quote)], index
    parts = [rest]
    while index < len(lines):
        line = lines[index]
        index += 1
        if quote in line:
            parts.append(line[: line.index(quote)])
            return "\n".join(parts), index
        parts.append(line)
    raise ConfigSyntaxError(Mark(number, 1), "triple-quoted value is never closed")


# Keys that hold a credential, by remote type (DVC 3's config schema). A remote of unknown
# type, or a local path (which takes none: DVC refuses them), is checked against all.
CREDENTIAL_KEYS: dict[str, frozenset[str]] = {
    "s3": frozenset({"access_key_id", "secret_access_key", "session_token", "sse_customer_key"}),
    "azure": frozenset({"connection_string", "sas_token", "account_key", "client_secret"}),
    "ssh": frozenset({"password", "passphrase", "keyfile"}),
    "http": frozenset({"user", "password", "token", "custom_auth_header"}),
    "https": frozenset({"user", "password", "token", "custom_auth_header"}),
    "webdav": frozenset({"user", "password", "token", "custom_auth_header"}),
    "webdavs": frozenset({"user", "password", "token", "custom_auth_header"}),
    "webhdfs": frozenset({"token", "password"}),
    "oss": frozenset({"oss_key_id", "oss_key_secret"}),
    "gdrive": frozenset(
        {
            "gdrive_client_secret",
            "gdrive_user_credentials_file",
            "gdrive_service_account_json_file_path",
        }
    ),
}
ANY_CREDENTIAL_KEY = frozenset().union(*CREDENTIAL_KEYS.values())
# Credentials outside remote sections: section -> keys.
OTHER_CREDENTIAL_KEYS = {"studio": frozenset({"token"})}


def credential_keys(kind: str | None) -> frozenset[str]:
    """The credential keys of a remote of this type (all of them when unknown)."""
    if kind is None:
        return ANY_CREDENTIAL_KEY
    return CREDENTIAL_KEYS.get(kind or "", ANY_CREDENTIAL_KEY)
