"""A review as markdown (a PR comment or job summary), json (for bots) or text."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from dvc_gitops.dvcmodel.model import MISSING
from dvc_gitops.review.changes import FieldChange, StageChange
from dvc_gitops.review.metrics import relative
from dvc_gitops.review.report import Review
from dvc_gitops.review.rerun import param_label, value_text

# GitHub refuses a comment longer than this many characters.
COMMENT_LIMIT = 65_536
# The first line of every markdown review: CI finds its earlier comment by it and updates
# that one instead of adding another (see examples/ci/).
MARKER = "<!-- dvc-gitops:review -->"
# Names listed inline (stages in the dvc.lock verdict, readers of a key, ...) before the
# rest is counted.
MAX_LISTED = 20
# (rows per table, draw the picture) tried in turn until the comment fits.
_BUDGETS: tuple[tuple[int | None, bool], ...] = (
    (None, True),
    (200, True),
    (50, True),
    (15, True),
    (15, False),
    (5, False),
)


def render_json(review: Review) -> str:
    return json.dumps(review.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


# -- markdown ---------------------------------------------------------------------------


def render_markdown(review: Review, limit: int = COMMENT_LIMIT) -> str:
    """The review as GitHub-flavoured markdown, cut to fit `limit` characters."""
    text = ""
    for budget, picture in _BUDGETS:
        cut: list[int] = []
        text = _markdown(review, budget, picture, cut)
        if sum(cut) or not picture:
            text += "\n" + _cut_note(sum(cut), picture) + "\n"
        if len(text) <= limit:
            return text
    note = "\n\n" + _cut_note(-1, False) + "\n"
    return text[: limit - len(note)] + note


def _cut_note(rows: int, picture: bool) -> str:
    parts = []
    if rows > 0:
        parts.append(f"{rows} table rows")
    elif rows < 0:
        parts.append("the rest of the review")
    if not picture:
        parts.append("the pipeline picture")
    return (
        f"> **Cut to fit GitHub's {COMMENT_LIMIT:,}-character comment limit:** "
        f"{' and '.join(parts)} left out; `dvc-gitops review --format json` has everything."
    )


def _markdown(review: Review, budget: int | None, picture: bool, cut: list[int]) -> str:
    def table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
        shown = rows if budget is None else rows[:budget]
        cut.append(len(rows) - len(shown))
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in shown]
        if len(shown) < len(rows):
            lines += ["", f"_…and {len(rows) - len(shown)} more._"]
        return lines

    base, head = review.base, review.head
    out = [
        MARKER,
        f"## Pipeline review: `{base[0]}` ({base[1][:10]}) → `{head[0]}` ({head[1][:10]})",
        "",
        _headline(review),
        "",
    ]
    out += ["### Pipeline changes", ""]
    projects: dict[str, list[StageChange]] = {}
    for change in review.changes:
        projects.setdefault(change.project, []).append(change)
    for project, changes in projects.items():
        if len(projects) > 1:  # each DVC project is a pipeline of its own
            name = "the root" if project == "." else _code(project)
            out += [f"DVC project {name}:", ""]
        out += table(["Stage", "Change", "Details"], [_change_row(c) for c in changes])
        out.append("")
    if not review.changes:
        out += ["No stage was added, removed, renamed or changed.", ""]
    out += ["### Params", ""]
    if review.params:
        rows = [
            [
                _code(param_label(p.file, p.key)),
                _code(value_text(p.old)) if p.old is not MISSING else "(absent)",
                _code(value_text(p.new)) if p.new is not MISSING else "(absent)",
                _codes(p.readers) or ("(a `${}` in dvc.yaml)" if p.in_templates else "no stage"),
            ]
            for p in review.params
        ]
        out += table(["Key", "Old", "New", "Read by"], rows)
    else:
        out.append("No params value changed.")
    out += ["", "### What will re-run", ""]
    if review.rerun:
        out.append(f"{_count(len(review.rerun), 'stage')}, in the order `dvc repro` runs them:")
        out.append("")
        rows = [
            [str(i), _code(r.address), "; ".join(r.reasons)] for i, r in enumerate(review.rerun, 1)
        ]
        out += table(["#", "Stage", "Why"], rows)
    else:
        out.append("Nothing: no stage's inputs changed.")
    out += ["", "### dvc.lock at HEAD", "", _lock_line(review)]
    out += ["", "### Metrics", ""]
    if review.metrics.diff:
        rows = []
        for path, keys in review.metrics.diff.items():
            for key, values in keys.items():
                rows.append(_metric_row(path, key, values))
        out += table(["File", "Key", "Old", "New", "Change", "Relative"], rows)
    else:
        out.append("No git-tracked metrics value changed.")
    if review.metrics.not_in_git:
        missing = _codes(review.metrics.not_in_git)
        out += ["", f"Not in git at either revision (not compared): {missing}."]
    if review.experiments:
        out += ["", "### MLflow experiments of the re-running stages", ""]
        rows = [
            [_code(e.stage), _code(e.experiment), _code(e.registered_model or "")]
            for e in review.experiments
        ]
        out += table(["Stage", "Experiment", "Registered model"], rows)
    if picture:
        out += ["", "### Pipeline", "", "```mermaid", review.picture.mermaid, "```"]
    if review.problems:
        out += ["", "### Not reviewed", ""]
        out += [f"- {_inline(p)}" for p in review.problems[:MAX_LISTED]]
        if len(review.problems) > MAX_LISTED:
            out.append(
                f"- and {len(review.problems) - MAX_LISTED} more (`--format json` lists all)"
            )
    return "\n".join(out) + "\n"


def _headline(review: Review) -> str:
    rerun = len(review.rerun)
    direct = sum(1 for r in review.rerun if r.direct)
    parts = [
        f"**{_count(rerun, 'stage')} will re-run** ({direct} by their own inputs, "
        f"{rerun - direct} downstream)"
        if rerun
        else "**Nothing will re-run**",
        f"{len(review.changes)} stage change{'s' if len(review.changes) != 1 else ''}",
        f"{len(review.params)} params change{'s' if len(review.params) != 1 else ''}",
        "dvc.lock up to date" if review.lock.up_to_date else "**dvc.lock not updated**",
    ]
    count = sum(len(keys) for keys in review.metrics.diff.values())
    parts.append(f"{count} metric{'s' if count != 1 else ''} changed")
    return " · ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _change_row(change: StageChange) -> list[str]:
    details = [_field_text(f) for f in change.fields]
    if change.renamed_from:
        details.insert(0, f"from {_code(change.renamed_from)}")
    member = change.definition != change.address.rsplit(":", 1)[-1]
    if member and change.kind in ("added", "removed"):
        details.insert(0, f"member of {_code(change.definition)}")
    return [_code(change.address), change.kind, "; ".join(details)]


def _field_text(change: FieldChange) -> str:
    if change.added or change.removed:
        parts = []
        if change.added:
            parts.append(f"+ {_codes(change.added)}")
        if change.removed:
            parts.append(f"- {_codes(change.removed)}")
        return f"{change.name}: {' '.join(parts)}"
    return f"{change.name}: {_code(_short(change.old))} → {_code(_short(change.new))}"


def _lock_line(review: Review) -> str:
    lock = review.lock
    if not review.rerun:
        return "Nothing re-runs, so nothing to reproduce."
    lines = []
    if lock.stale:
        stale = _listed([f"{_code(a)} ({_inline(why)})" for a, why in lock.stale.items()])
        lines.append(f"⚠️ dvc.lock not updated for: {stale}. CI must reproduce before merge.")
    if lock.reproduced:
        lines.append(f"✅ The PR reproduced {_codes(lock.reproduced)} (dvc.lock updated).")
    if lock.always:
        lines.append(f"Note: {_codes(lock.always)} run on every `dvc repro` (no verdict).")
    return "\n\n".join(lines)


def _metric_row(path: str, key: str, change: dict[str, Any]) -> list[str]:
    diff = change.get("diff")
    rel = relative(change)
    return [
        _code(path),
        _code(key) if key else "",
        _number(change.get("old")),
        _number(change.get("new")),
        (f"+{_number(diff)}" if isinstance(diff, (int, float)) and diff > 0 else _number(diff))
        if diff is not None
        else "",
        f"{rel:+.2%}" if rel is not None else "",
    ]


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return _inline(str(value))


def _short(value: Any, limit: int = 80) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(text: Any) -> str:
    body = str(text).replace("\n", " ")
    if not body.strip():
        return ""  # an empty code span prints its backticks
    fence = "``" if "`" in body else "`"
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def _codes(items: Sequence[str], limit: int | None = None) -> str:
    """Code spans joined by commas; past `limit` (MAX_LISTED by default), a count."""
    return _listed([_code(i) for i in items], limit)


def _listed(parts: Sequence[str], limit: int | None = None) -> str:
    limit = MAX_LISTED if limit is None else limit
    rest = len(parts) - limit
    return ", ".join(parts[:limit]) + (f" and {rest} more" if rest > 0 else "")


def _inline(text: str) -> str:
    """Plain text safe inside a markdown line (no accidental emphasis or HTML)."""
    out = []
    for ch in text.replace("\n", " "):
        out.append("\\" + ch if ch in "\\*_[]<>#" else ch)
    return "".join(out)


def _cell(text: str) -> str:
    # A pipe ends a table cell even inside a code span in GFM; escape it everywhere.
    return text.replace("|", "\\|")


# -- text -------------------------------------------------------------------------------


def render_text(review: Review) -> str:
    base, head = review.base, review.head
    lines = [f"review {base[0]} ({base[1][:10]}) -> {head[0]} ({head[1][:10]})"]
    lines.append("stages:")
    for change in review.changes:
        extra = f" (from {change.renamed_from})" if change.renamed_from else ""
        lines.append(f"  {change.kind} {change.address}{extra}")
        for f in change.fields:
            if f.added or f.removed:
                if f.added:
                    lines.append(f"    {f.name} + {', '.join(f.added)}")
                if f.removed:
                    lines.append(f"    {f.name} - {', '.join(f.removed)}")
            else:
                lines.append(f"    {f.name}: {_short(f.old)} -> {_short(f.new)}")
    if not review.changes:
        lines.append("  no change")
    lines.append("params:")
    for p in review.params:
        label = param_label(p.file, p.key)
        readers = ", ".join(p.readers) or "no stage"
        lines.append(f"  {label}: {value_text(p.old)} -> {value_text(p.new)} (read by {readers})")
    if not review.params:
        lines.append("  no change")
    lines.append("will re-run, in order:")
    for r in review.rerun:
        lines.append(f"  {r.address}: {'; '.join(r.reasons)}")
    if not review.rerun:
        lines.append("  nothing")
    lock = review.lock
    if lock.stale:
        stale = ", ".join(f"{a} ({why})" for a, why in lock.stale.items())
        lines.append(f"dvc.lock not updated for: {stale} (CI must reproduce before merge)")
    if lock.reproduced:
        lines.append(f"dvc.lock: the change reproduced {', '.join(lock.reproduced)}")
    lines.append("metrics:")
    for path, keys in review.metrics.diff.items():
        for key, values in keys.items():
            row = _metric_row(path, key, values)
            lines.append(f"  {path} {key}: {row[2]} -> {row[3]} {row[4]} {row[5]}".rstrip())
    if not review.metrics.diff:
        lines.append("  no change")
    for e in review.experiments:
        lines.append(f"mlflow: {e.stage} logs to {e.experiment}")
    for problem in review.problems:
        lines.append(f"not reviewed: {problem}")
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Review], str]] = {
    "markdown": render_markdown,
    "json": render_json,
    "text": render_text,
}
