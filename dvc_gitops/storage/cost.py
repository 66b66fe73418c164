"""`dvc-gitops cost`: what the DVC remote holds for the git history, and what it costs.

Every version of every `dvc.lock` and `.dvc` file that git ever held names the objects
DVC pushed for it: a file's md5, or a folder's `.dir` listing and its files. The remote
keeps each object once, whatever number of commits name it, so the remote's size is the
sum over the distinct objects. All of it is read from git's object store (no checkout, no
DVC, no data); only a folder's listing, which git does not hold, is read from the local
DVC cache when it is there.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import yaml

from dvc_gitops.core.project import find_root

# The seed's example: S3 Standard's first tier, USD per GB-month (binary GB, as AWS bills).
DEFAULT_PRICE = 0.023
GIB = 1024**3
CANNOT_KNOW = (
    "objects pushed but never named by a commit (experiments, `dvc push` of work never "
    "committed) are not counted",
    "a remote with its own retention, versioning or lifecycle rules may hold more or less",
)
_PATHSPECS = (":(glob)**/dvc.lock", ":(glob)**/*.dvc")
_HEX = re.compile(r"[0-9a-f]{32}(\.dir)?")


class CostProblem(Exception):
    """The history cannot be read; the message says why."""


@dataclass(frozen=True)
class Version:
    """One version of one output, as a lock or .dvc file names it."""

    output: str  # repo-relative path of the output
    md5: str
    size: int | None
    time: int  # commit time (seconds) of the first commit that names it


@dataclass
class Report:
    revisions: str
    commits: int = 0
    first: int | None = None
    last: int | None = None
    objects: dict[str, int] = field(default_factory=dict)  # md5 -> bytes, each once
    first_seen: dict[str, int] = field(default_factory=dict)  # md5 -> commit time
    per_output: dict[str, set[str]] = field(default_factory=dict)  # output -> md5s
    whole_folders: set[str] = field(default_factory=set)  # listing not in the local cache
    unknown_sizes: int = 0  # objects whose size no file says

    @property
    def total(self) -> int:
        return sum(self.objects.values())

    def monthly(self) -> list[tuple[str, int, int]]:
        """(YYYY-MM, bytes new that month, bytes in all at its end), oldest first."""
        months: dict[str, int] = {}
        for md5, seen in self.first_seen.items():
            month = time.strftime("%Y-%m", time.gmtime(seen))
            months[month] = months.get(month, 0) + self.objects[md5]
        running, rows = 0, []
        for month in sorted(months):
            running += months[month]
            rows.append((month, months[month], running))
        return rows


def read_history(root: Path, revisions: str) -> Report:
    """The distinct objects every lock and .dvc file of `revisions` names."""
    if revisions.startswith("-"):
        raise CostProblem(f"{revisions!r} is not a revision range")
    blobs = _changed_blobs(root, revisions)
    report = Report(revisions)
    report.commits = len({commit for commit, _, _, _ in blobs})
    times = [t for _, t, _, _ in blobs]
    report.first, report.last = (min(times), max(times)) if times else (None, None)
    contents = _read_blobs(root, sorted({blob for _, _, _, blob in blobs}))
    seen_blob: set[str] = set()
    for commit, when, path, blob in sorted(blobs, key=lambda row: row[1]):
        if blob in seen_blob:
            continue
        seen_blob.add(blob)
        text = contents.get(blob)
        if text is None:
            continue
        wdirs, uncached = (
            _stage_layout(root, commit, path) if path.endswith("dvc.lock") else ({}, set())
        )
        for version in _versions(path, text, when, wdirs, uncached):
            _add(report, root, version)
    return report


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, input=data, capture_output=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CostProblem(f"git could not run: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CostProblem(f"git {args[0]} failed: {reason[-1] if reason else done.returncode}")
    return done.stdout


def _changed_blobs(root: Path, revisions: str) -> list[tuple[str, int, str, str]]:
    """(commit, time, path, blob) of every lock or .dvc file version a commit brought."""
    out = _git(
        root,
        "log",
        "-m",  # a merge's result against each parent: versions made while merging count
        "--no-renames",
        "--raw",
        "--no-abbrev",
        "-z",
        "--format=%x00%H %ct",
        revisions,
        "--",
        *_PATHSPECS,
    ).decode("utf-8", "replace")
    rows, commit, when = [], "", 0
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        item = fields[i].strip("\n")
        if re.fullmatch(r"[0-9a-f]{40} \d+", item):
            commit, stamp = item.split()
            when = int(stamp)
        elif item.startswith(":") and i + 1 < len(fields):
            meta, path = item.split(), fields[i + 1]
            i += 1
            blob, status = meta[3], meta[4]
            if not status.startswith("D") and set(blob) != {"0"}:
                rows.append((commit, when, path, blob))
        i += 1
    return rows


def _read_blobs(root: Path, blobs: list[str]) -> dict[str, str]:
    """Each blob's text through one `git cat-file --batch` (binary ones left out)."""
    if not blobs:
        return {}
    raw = _git(root, "cat-file", "--batch", data="".join(f"{b}\n" for b in blobs).encode())
    found, at = {}, 0
    for blob in blobs:
        header_end = raw.index(b"\n", at)
        header = raw[at:header_end].split()
        at = header_end + 1
        if len(header) < 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        body = raw[at : at + size]
        at += size + 1
        try:
            found[blob] = body.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return found


def _versions(
    path: str, text: str, when: int, wdirs: dict[str, str], uncached: set[str]
) -> Iterator[Version]:
    """The cached outputs a lock or .dvc file names (push: false and cache: false left out)."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return
    if not isinstance(data, dict):
        return
    folder = posixpath.dirname(path)
    if path.endswith(".dvc"):
        entries: list[Any] = [(data.get("wdir") or ".", o) for o in _list(data.get("outs"))]
    else:
        # A lock's paths are relative to the stage's wdir (`name@member`: the stage's).
        entries = [
            (wdirs.get(str(name).split("@", 1)[0], "."), out)
            for name, stage in (data.get("stages") or {}).items()
            if isinstance(stage, dict)
            for out in _list(stage.get("outs"))
        ]
    for wdir, out in entries:
        if not isinstance(out, dict) or not isinstance(out.get("path"), str):
            continue
        if out.get("cache") is False or out.get("push") is False:
            continue
        md5 = out.get("md5")
        if not isinstance(md5, str) or not _HEX.fullmatch(md5):
            continue
        output = posixpath.normpath(posixpath.join(folder, wdir, out["path"]))
        if output in uncached:
            continue
        size = out.get("size")
        yield Version(output, md5, size if isinstance(size, int) else None, when)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _stage_layout(root: Path, commit: str, lock: str) -> tuple[dict[str, str], set[str]]:
    """The dvc.yaml beside `lock` at `commit`: each stage's wdir, and the outputs it marks
    `cache: false` or `push: false` (by literal path)."""
    folder = posixpath.dirname(lock)
    spec = f"{commit}:{posixpath.join(folder, 'dvc.yaml') if folder else 'dvc.yaml'}"
    try:
        text = _git(root, "cat-file", "blob", spec).decode("utf-8")
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (CostProblem, UnicodeDecodeError, yaml.YAMLError):
        return {}, set()
    wdirs, found = {}, set()
    stages = data.get("stages") if isinstance(data, dict) else None
    for name, stage in stages.items() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        wdir = stage["wdir"] if isinstance(stage.get("wdir"), str) else "."
        wdirs[str(name)] = wdir
        for key in ("outs", "metrics", "plots"):
            for entry in _list(stage.get(key)):
                if not isinstance(entry, dict) or len(entry) != 1:
                    continue
                ((out_path, flags),) = entry.items()
                if isinstance(flags, dict) and (
                    flags.get("cache") is False or flags.get("push") is False
                ):
                    found.add(posixpath.normpath(posixpath.join(folder, wdir, str(out_path))))
    return wdirs, found


def _add(report: Report, root: Path, version: Version) -> None:
    report.per_output.setdefault(version.output, set()).add(version.md5)
    if version.md5.endswith(".dir"):
        files = _folder_files(root, version)
        if files is None:
            report.whole_folders.add(version.md5)
            _object(report, version.md5, version.size, version.time)
            return
        for md5, size in files:
            _object(report, md5, size, version.time)
        return
    _object(report, version.md5, version.size, version.time)


def _object(report: Report, md5: str, size: int | None, when: int) -> None:
    if md5 in report.objects:
        report.first_seen[md5] = min(report.first_seen[md5], when)
        return
    if size is None:
        report.unknown_sizes += 1
    report.objects[md5] = size or 0
    report.first_seen[md5] = when


def _cache_object(root: Path, output: str, md5: str) -> Path | None:
    """The object's file in the local cache of the DVC project that holds `output`."""
    folder = (root / output).parent
    while True:
        cache = folder / ".dvc" / "cache"
        for candidate in (cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]):
            if candidate.is_file():
                return candidate
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _folder_files(root: Path, version: Version) -> list[tuple[str, int | None]] | None:
    """The folder's listing object and its files with their sizes, from the local cache."""
    listing = _cache_object(root, version.output, version.md5)
    if listing is None:
        return None
    try:
        entries = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list):
        return None
    files: list[tuple[str, int | None]] = [(version.md5, listing.stat().st_size)]
    for entry in entries:
        md5 = entry.get("md5") if isinstance(entry, dict) else None
        if not isinstance(md5, str) or not _HEX.fullmatch(md5):
            return None
        found = _cache_object(root, version.output, md5)
        files.append((md5, found.stat().st_size if found else None))
    return files


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def summary(report: Report, price: float) -> dict[str, Any]:
    """The report as data: what `--format json` prints and the other formats show."""
    sizes = {
        output: sum(report.objects.get(m, 0) for m in md5s)
        for output, md5s in report.per_output.items()
    }
    per_output = [
        {"output": output, "versions": len(report.per_output[output]), "bytes": sizes[output]}
        for output in sorted(sizes, key=lambda o: (-sizes[o], o))
    ]
    months = [
        {"month": m, "new_bytes": new, "total_bytes": total, "monthly_cost": total / GIB * price}
        for m, new, total in report.monthly()
    ]
    return {
        "revisions": report.revisions,
        "commits": report.commits,
        "objects": len(report.objects),
        "total_bytes": report.total,
        "growth_per_commit_bytes": report.total // report.commits if report.commits else 0,
        "price_per_gb_month": price,
        "monthly_cost": report.total / GIB * price,
        "outputs": per_output,
        "months": months,
        "folders_counted_whole": len(report.whole_folders),
        "objects_of_unknown_size": report.unknown_sizes,
        "not_counted": list(CANNOT_KNOW),
    }


def render_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['revisions']}: {data['commits']} commits name {data['objects']} distinct "
        f"objects, {human(data['total_bytes'])} in the remote",
        f"monthly cost at ${data['price_per_gb_month']:g} per GB-month: "
        f"${data['monthly_cost']:.2f}; growth per commit: {human(data['growth_per_commit_bytes'])}",
        "",
        "per output (versions, bytes):",
        *(
            f"  {row['output']}  {row['versions']}  {human(row['bytes'])}"
            for row in data["outputs"]
        ),
        "",
        "per month (new, in all, monthly cost at the end of the month):",
        *(
            f"  {row['month']}  +{human(row['new_bytes'])}  {human(row['total_bytes'])}  "
            f"${row['monthly_cost']:.2f}"
            for row in data["months"]
        ),
    ]
    lines += ["", *(f"note: {note}" for note in _notes(data))]
    return "\n".join(lines) + "\n"


def render_markdown(data: dict[str, Any]) -> str:
    lines = [
        "### What the DVC remote holds",
        "",
        f"`{data['revisions']}`: {data['commits']} commits name {data['objects']} distinct "
        f"objects, **{human(data['total_bytes'])}**; at ${data['price_per_gb_month']:g} per "
        f"GB-month that is **${data['monthly_cost']:.2f} a month**.",
        "",
        "| output | versions | bytes |",
        "| --- | ---: | ---: |",
        *(
            f"| `{row['output']}` | {row['versions']} | {human(row['bytes'])} |"
            for row in data["outputs"]
        ),
        "",
        "| month | new | in all | monthly cost |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {row['month']} | {human(row['new_bytes'])} | {human(row['total_bytes'])} | "
            f"${row['monthly_cost']:.2f} |"
            for row in data["months"]
        ),
        "",
        *(f"- {note}" for note in _notes(data)),
    ]
    return "\n".join(lines) + "\n"


def _notes(data: dict[str, Any]) -> list[str]:
    notes = list(data["not_counted"])
    if data["folders_counted_whole"]:
        notes.append(
            f"{data['folders_counted_whole']} folder version(s) counted whole: their listing "
            "is not in the local cache, so files they share may be counted more than once "
            "(`dvc fetch` them to count exactly)"
        )
    if data["objects_of_unknown_size"]:
        notes.append(f"{data['objects_of_unknown_size']} object(s) of unknown size count as 0")
    return notes


@click.command("cost")
@click.argument("revisions", default="HEAD")
@click.option(
    "--price",
    type=click.FloatRange(min=0),
    default=DEFAULT_PRICE,
    show_default=True,
    help="Storage price per GB-month (the default is S3 Standard's first tier, an example).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
def cost_command(revisions: str, price: float, fmt: str) -> None:
    """What the DVC remote holds for the history REVISIONS (default HEAD; `A..B` a range)."""
    if not math.isfinite(price):
        raise click.BadParameter("give a number of dollars (or any currency) per GB-month")
    try:
        report = read_history(find_root(Path.cwd()), revisions)
    except CostProblem as exc:
        raise click.UsageError(str(exc)) from exc
    data = summary(report, price)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(render_markdown(data) if fmt == "markdown" else render_text(data), nl=False)
