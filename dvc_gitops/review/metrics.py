"""Git-tracked metrics files compared between two revisions, as `dvc metrics diff` does.

DVC reads each metrics file of each revision (stage `metrics:` outputs and the top-level
`metrics:` list of every dvc.yaml; folders expanded to their files), keeps numbers and
strings of nested mappings, flattens them to dotted keys and reports each key whose value
differs as `{"old", "new", "diff"}` (`diff` only when both are numbers). We do the same
from git objects, so the result is DVC's own for every metrics file git holds; a file git
holds at neither revision (`cache: true` metrics live in DVC's cache) is named, not read.
"""

from __future__ import annotations

import json
import posixpath
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc_gitops.review.revisions import Side


class _Unreadable(Exception):
    """A metrics file DVC cannot load: one line saying why."""


@dataclass
class MetricsDiff:
    """`dvc metrics diff --json` for git-tracked files, plus what could not be compared."""

    diff: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    not_in_git: list[str] = field(default_factory=list)  # metrics DVC keeps in its cache
    problems: list[str] = field(default_factory=list)  # one line each: file, side, why


def metrics_files(side: Side) -> list[str]:
    """Every metrics file of a revision's pipeline (repo-relative), folders expanded."""
    found: list[str] = []
    for stage in side.pipeline.stages.values():
        found += [out.path for out in stage.outs if out.kind == "metrics"]
    for dvcfile in side.pipeline.definitions:
        try:
            data = side.project.yaml(dvcfile).data
        except Exception:
            continue  # the review reports the file as unreadable already
        listed = data.get("metrics") if isinstance(data, dict) else None
        folder = posixpath.dirname(dvcfile)
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, str) and "${" not in entry:
                found.append(posixpath.normpath(posixpath.join(folder, entry)))
    expanded: list[str] = []
    for path in dict.fromkeys(found):
        under = side.blobs_under(path)
        expanded += sorted(under) if under and path not in under else [path]
    return list(dict.fromkeys(expanded))


def metrics_diff(base: Side, head: Side) -> MetricsDiff:
    """What changed in the git-tracked metrics files between BASE and HEAD."""
    result = MetricsDiff()
    files = list(dict.fromkeys([*metrics_files(base), *metrics_files(head)]))
    for path in sorted(files):
        if base.oid(path) is None and head.oid(path) is None:
            result.not_in_git.append(path)
            continue
        old = _read(base, path, result.problems)
        new = _read(head, path, result.problems)
        changed = _diff_file(old, new)
        if changed:
            result.diff[path] = changed
    return result


def _read(side: Side, path: str, problems: list[str]) -> Any:
    raw = side.read(path)
    if raw is None:
        return {}  # DVC: an error for that revision, and no data
    try:
        return extract(load_metrics(path, raw)) or {}
    except _Unreadable as exc:
        problems.append(f"{path} at {side.name}: {exc}: not compared")
        return {}


def load_metrics(path: str, raw: bytes) -> Any:
    """The file's data, read by its suffix as DVC does (YAML unless .json/.toml/.py)."""
    if b"\0" in raw:
        raise _Unreadable("a binary file, not JSON, YAML or TOML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable("not UTF-8 text") from None
    suffix = posixpath.splitext(path)[1].lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
            return tomllib.loads(text)
        if suffix == ".py":
            raise _Unreadable("a Python metrics file (never executed by dvc-gitops)")
        from dvc_gitops.formats.yamldoc import load

        return load(text, path).data
    except _Unreadable:
        raise
    except Exception as exc:
        line = str(exc).strip().splitlines()
        raise _Unreadable(f"cannot parse: {line[0] if line else type(exc).__name__}") from None


def extract(value: Any) -> Any:
    """Numbers and strings of nested mappings; lists, nulls and empty mappings dropped."""
    if isinstance(value, (int, float, str)):
        return value
    if not isinstance(value, dict):
        return None
    kept: dict[Any, Any] = {}
    for key, item in value.items():
        found = extract(item)
        if found not in (None, {}):
            kept[key] = found
    return kept


def _flatten(value: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict):
            flat.update(_flatten(item, name))
        else:
            flat[name] = item
    return flat


def _diff_value(old: Any, new: Any) -> dict[str, Any]:
    if old == new:
        return {}
    found = {"old": old, "new": new}
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        found["diff"] = new - old
    return found


def _diff_file(old: Any, new: Any) -> dict[str, dict[str, Any]]:
    if isinstance(old, dict) or isinstance(new, dict):
        before = _flatten(old) if isinstance(old, dict) else {}
        after = _flatten(new) if isinstance(new, dict) else {}
        # DVC's stand-in for a side that holds a value but not a mapping of them.
        was = None if isinstance(old, dict) or not old else "unable to parse"
        now = None if isinstance(new, dict) or not new else "unable to parse"
        changed: dict[str, dict[str, Any]] = {}
        for key in sorted({*before, *after}):
            found = _diff_value(before.get(key, was), after.get(key, now))
            if found:
                changed[key] = found
        return changed
    found = _diff_value(old, new)
    return {"": found} if found else {}


def relative(change: dict[str, Any]) -> float | None:
    """The relative change of a numeric key (diff / |old|); None when it has none."""
    old, diff = change.get("old"), change.get("diff")
    if diff is None or not isinstance(old, (int, float)) or old == 0:
        return None
    return float(diff) / abs(float(old))
