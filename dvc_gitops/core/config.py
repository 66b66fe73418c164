"""`[tool.dvc-gitops]` from pyproject.toml, or the top level of `.dvc-gitops.toml`.

The common keys (select, ignore, per-file-ignores, warn-only, exclude) are read here; each hook
reads and validates its own table (`[tool.dvc-gitops.status]`, ...) via `section()`.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


class ConfigError(Exception):
    """The user's configuration or command line is wrong: exit 2 with this one line."""


COMMON_KEYS = (
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "warn-only",
    "exclude",
    "baseline",
    "fail-on",
)
# The lowest severity that fails a run (`fail-on`): notices never do.
FAIL_ON = ("warning", "error")
# The hooks' own tables; each hook validates the keys of its table when it runs.
SECTIONS = ("status", "pinned", "mlflow", "remote", "lock")


@dataclass
class Config:
    source: str | None = None  # the file it came from, for messages
    select: list[str] = field(default_factory=list)
    # Codes of rules that are off by default, turned on without narrowing `select`.
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    warn_only: list[str] = field(default_factory=list)
    # Globs of paths the checks never read (fixtures, vendored code); a folder that
    # matches hides everything below it.
    exclude: list[str] = field(default_factory=list)
    # The baseline file every run subtracts (repo-relative), so hooks need no argument.
    baseline: str | None = None
    # The lowest severity that fails a run: "warning" (the default) or "error".
    fail_on: str = "warning"
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str, schema: Mapping[str, type | tuple[type, ...]]) -> dict[str, Any]:
        """A hook's own table, checked against `schema` (key -> accepted types)."""
        table = self.sections.get(name, {})
        where = f"[tool.dvc-gitops.{name}]"
        for key, value in table.items():
            if key not in schema:
                raise ConfigError(
                    f"{self.source}: unknown key '{key}' in {where}{_hint(key, schema)}"
                )
            expected = schema[key]
            if not isinstance(value, expected) or (
                isinstance(value, bool) and bool not in _as_tuple(expected)
            ):
                names = " or ".join(t.__name__ for t in _as_tuple(expected))
                raise ConfigError(f"{self.source}: '{key}' in {where} must be {names}")
        return dict(table)

    def is_selected(self, code: str, path: str | None = None) -> bool:
        """Whether findings of `code` (in `path`) are reported at all."""
        if self.select and not matches(code, self.select):
            return False
        if _off_by_default(code) and not self.names(code):
            return False
        if matches(code, self.ignore):
            return False
        if path is not None:
            for pattern, codes in self.per_file_ignores.items():
                if fnmatch.fnmatch(path, pattern) and matches(code, codes):
                    return False
        return True

    def names(self, code: str) -> bool:
        """Whether `select` or `extend-select` names `code` itself (not a prefix, not ALL):
        what turns on a rule that is off by default."""
        return code in self.select or code in self.extend_select

    def narrow(self, select: Sequence[str], ignore: Sequence[str]) -> None:
        """Apply the command line's --select (over the file's) and --ignore (added);
        applying the same twice changes nothing."""
        if select:
            self.select = list(select)
        self.ignore = [*self.ignore, *(code for code in ignore if code not in self.ignore)]

    def may_select(self, prefix: str) -> bool:
        """Whether some code starting with `prefix` could be reported (a check whose
        every prefix fails this need not run at all)."""
        if self.select and not any(
            s == "ALL" or s.startswith(prefix) or prefix.startswith(s) for s in self.select
        ):
            return False
        return not matches(prefix, self.ignore)

    def is_warn_only(self, code: str) -> bool:
        return matches(code, self.warn_only)

    def excludes(self, path: str) -> bool:
        """Whether `path` (repo-relative, `/`-separated) or a folder above it is excluded."""
        parts = path.split("/")
        return any(self.excludes_itself("/".join(parts[:n])) for n in range(1, len(parts) + 1))

    def excludes_itself(self, path: str) -> bool:
        """Whether `path` matches an `exclude` glob (its folders not considered)."""
        return bool(self.exclude) and _globs_pattern(tuple(self.exclude)).match(path) is not None


@functools.cache
def _globs_pattern(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for the globs: the walk asks it of every folder and file."""
    return re.compile("|".join(fnmatch.translate(glob) for glob in globs))


def _off_by_default(code: str) -> bool:
    from dvc_gitops.core.findings import RULES  # the registry, filled as the checks' modules load

    rule = RULES.get(code)
    return rule is not None and rule.off_by_default


def matches(code: str, patterns: Iterable[str]) -> bool:
    """Codes match by prefix, as in ruff: `DG2` selects DG201, `ALL` everything."""
    return any(p == "ALL" or code.startswith(p) for p in patterns)


def load_config(root: Path) -> Config:
    """The project's configuration; defaults when it has none."""
    dedicated = root / ".dvc-gitops.toml"
    if dedicated.is_file():
        return _from_table(_read_toml(dedicated), dedicated.name)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("dvc-gitops")
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError("pyproject.toml: [tool.dvc-gitops] must be a table")
            return _from_table(table, "pyproject.toml")
    return Config()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        table: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return table
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}") from None


def _from_table(table: dict[str, Any], source: str) -> Config:
    config = Config(source=source)
    for key, value in table.items():
        if isinstance(value, dict) and key != "per-file-ignores":
            if key not in SECTIONS:
                raise ConfigError(
                    f"{source}: unknown table [tool.dvc-gitops.{key}]{_hint(key, SECTIONS)}"
                )
            config.sections[key] = value
        elif key not in COMMON_KEYS:
            raise ConfigError(
                f"{source}: unknown key '{key}' in [tool.dvc-gitops]{_hint(key, COMMON_KEYS)}"
            )
    config.select = _codes(table, "select", source)
    config.extend_select = _codes(table, "extend-select", source)
    config.ignore = _codes(table, "ignore", source)
    config.warn_only = _codes(table, "warn-only", source)
    config.exclude = _globs(table, "exclude", source)
    baseline = table.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
        raise ConfigError(
            f"{source}: 'baseline' must be a file name like \".dvc-gitops-baseline.json\""
        )
    config.baseline = baseline.strip() if isinstance(baseline, str) else None
    fail_on = table.get("fail-on", "warning")
    if fail_on not in FAIL_ON:
        raise ConfigError(f'{source}: \'fail-on\' must be "warning" (the default) or "error"')
    config.fail_on = fail_on
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{source}: 'per-file-ignores' must be a table of glob = [codes]")
    config.per_file_ignores = {pattern: _codes(per_file, pattern, source) for pattern in per_file}
    return config


def _globs(table: Mapping[str, Any], key: str, source: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of path globs like \"tests/fixtures\"")
    return [v.strip().strip("/") for v in value]


def _codes(table: Mapping[str, Any], key: str, source: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of rule codes like \"DG201\"")
    return [v.strip().upper() for v in value]


def _hint(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)
