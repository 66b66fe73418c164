"""A stage key that is a near-certain typo of a stage key (`dep:` for `deps:`).

DVC refuses the stage (DG110), and every other rule would read the stage wrongly: the
deps listed under `dep:` are not deps, so DG201 would ask to add a script that is already
listed, and its fixer would add a second `deps:`. The typo wins: the other checks leave
such a stage alone, and `check-dvc-yaml --fix` renames the key, in place, when the
stage does not already have the key it meant.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from dvc_gitops.formats.yamldoc import JsonPath, Mark, YamlDoc, YamlProblem, load


@dataclass(frozen=True)
class Typo:
    template: JsonPath  # where the stage's own keys live: ("stages", "train") or (..., "do")
    key: str  # as written: "dep"
    meant: str  # the stage key it stands for: "deps"
    mark: Mark  # where the key stands


def stage_key_typos(doc: YamlDoc) -> list[Typo]:
    """Every near-certain typo of a stage key in the stages of `doc`."""
    from dvc_gitops.dvcmodel.schema_check import ALIASES, STAGE_KEYS

    stages = doc.data.get("stages") if isinstance(doc.data, dict) else None
    if not isinstance(stages, dict):
        return []
    found = []
    for name, body in stages.items():
        template: JsonPath = ("stages", name)
        if isinstance(body, dict) and isinstance(body.get("do"), dict):
            template, body = (*template, "do"), body["do"]
        if not isinstance(body, dict):
            continue
        for key in body:
            if not isinstance(key, str) or key in STAGE_KEYS or key in ("foreach", "do"):
                continue
            meant = ALIASES.get(key)
            if meant is None:
                close = difflib.get_close_matches(key, STAGE_KEYS, n=1, cutoff=0.8)
                meant = close[0] if close else None
            if meant in STAGE_KEYS and meant not in body:
                found.append(Typo(template, key, meant, doc.key_mark((*template, key))))
    return found


def typo_templates(doc: YamlDoc) -> set[JsonPath]:
    """The stages (by where their keys live) that hold a near-certain typo."""
    return {typo.template for typo in stage_key_typos(doc)}


def renamed(doc: YamlDoc, typos: list[Typo]) -> str | None:
    """The text of `doc` with each typo's key renamed, every other byte unchanged; None
    when a key is not written plainly where it stands or the result does not parse."""
    lines = doc.text.splitlines(keepends=True)
    for typo in sorted(typos, key=lambda t: (t.mark.line, t.mark.column), reverse=True):
        index, start = typo.mark.line - 1, typo.mark.column - 1
        line = lines[index]
        after = line[start + len(typo.key) :]
        if line[start : start + len(typo.key)] != typo.key or not after.lstrip(" ").startswith(":"):
            return None  # quoted, or a flow mapping written oddly: left to the user
        lines[index] = line[:start] + typo.meant + after
    text = "".join(lines)
    try:
        fixed = load(text, doc.path)
    except YamlProblem:
        return None
    if typo_templates(fixed) & {t.template for t in typos}:
        return None
    return text


def write(root: Path, path: str, text: str) -> None:
    from dvc_gitops.core.baseline import write_atomically

    write_atomically(root / path, text)
