"""`dvc-gitops init`: a repository set up in one command.

It writes the recommended pre-commit setup (the file examples/pre-commit-config.yaml of
this project, shipped in the package) or merges it into the repository's own
`.pre-commit-config.yaml`, keeping every other hook, comment and the order; it adds a
`[tool.dvc-gitops]` table where the project keeps its config; and, when asked, the
README markers of the pipeline picture, a first MLflow map and a baseline of today's
findings. A second run changes nothing; `--dry-run` prints the diff and writes nothing.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.findings import Finding
from dvc_gitops.core.project import Project

PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
HOME_REPO = "https://github.com/dvc-gitops/dvc-gitops"
# Other spellings of our repository's URL a user may already have.
_SAME_REPO = re.compile(r"^(https://|git@)github\.com[:/]dvc-gitops/dvc-gitops(\.git)?/?$")


@dataclass
class Change:
    """One file init writes: its text before (None: new) and after, and what it means."""

    path: str
    before: str | None
    after: str
    what: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        old = [] if self.before is None else self.before.splitlines(keepends=True)
        lines = difflib.unified_diff(
            old,
            self.after.splitlines(keepends=True),
            "/dev/null" if self.before is None else f"a/{self.path}",
            f"b/{self.path}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def recommended_text() -> str:
    """The recommended .pre-commit-config.yaml: packaged in a wheel, or examples/ in a
    checkout (an editable install maps no data-only package)."""
    name = "pre-commit-config.yaml"
    try:
        return resources.files("dvc_gitops.examples").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    return (Path(__file__).resolve().parents[2] / "examples" / name).read_text(encoding="utf-8")


def _round_trip() -> Any:
    from ruamel.yaml import YAML  # only init pays for ruamel's import

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    return yaml


def _load(yaml: Any, text: str, path: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{where}: not valid YAML ({problem}): fix it, then run init again"
        ) from None


def _indentation(text: str) -> tuple[int, int]:
    """(sequence indent, dash offset) of the `repos:` list as the user wrote it."""
    match = re.search(r"^repos:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*( *)(- +)", text, re.M)
    if match is None:
        return 4, 2
    offset = len(match.group(1))
    return offset + len(match.group(2)), offset


def _ours(entry: Any, repo: str) -> bool:
    url = str(entry.get("repo", "")) if hasattr(entry, "get") else ""
    return url == repo or bool(_SAME_REPO.match(url))


def merge_pre_commit(before: str | None, repo: str, rev: str | None, extra: list[str]) -> Change:
    """The user's pre-commit config with the recommended setup merged in.

    Our repository entry is added when missing (with the recommended rev, or `rev`);
    when present, only the hook ids it lacks are added and its rev is left alone.
    `extra` names more hook ids of ours to add (dvc-dag-docs when asked for).
    """
    yaml = _round_trip()
    recommended = _load(yaml, recommended_text(), "recommended setup")
    ours = next(e for e in recommended["repos"] if _ours(e, HOME_REPO))
    ours["repo"] = repo
    if rev:
        ours["rev"] = rev
    for hook_id in extra:
        if all(h["id"] != hook_id for h in ours["hooks"]):
            ours["hooks"].append({"id": hook_id})
    if before is None or not before.strip():
        # The recommended file itself, comments and all (changed only where asked).
        text = recommended_text() if not rev and repo == HOME_REPO and not extra else ""
        text = text or _dump(yaml, recommended, 4, 2)
        hooks = ", ".join(h["id"] for h in ours["hooks"])
        return Change(PRE_COMMIT_CONFIG, before, text, f"created with the hooks {hooks}")
    document = _load(yaml, before, PRE_COMMIT_CONFIG)
    if document is None or not hasattr(document, "get"):
        raise ConfigError(f"{PRE_COMMIT_CONFIG}: not a pre-commit config (a mapping with repos:)")
    added: list[str] = []
    types = recommended.get("default_install_hook_types")
    if types:
        present = document.get("default_install_hook_types")
        if present is None:
            document.insert(0, "default_install_hook_types", types)
            added.append("default_install_hook_types")
        elif missing := [t for t in types if t not in present]:
            present.extend(missing)
            added.append(f"default_install_hook_types {', '.join(missing)}")
    repos = document.get("repos")
    if repos is None:
        from ruamel.yaml.comments import CommentedSeq

        document["repos"] = repos = CommentedSeq()
    # Comments belong to the recommended file's layout: in the user's file ruamel would
    # hang them on the wrong neighbours, so what is merged in is copied without them.
    ours = _uncommented(ours)
    if not rev:
        ours.yaml_add_eol_comment(_PIN_COMMENT, "rev")
    mine = next((e for e in repos if _ours(e, repo)), None)
    if mine is None:
        repos.append(ours)
        added.append(f"the dvc-gitops hooks {', '.join(h['id'] for h in ours['hooks'])}")
    else:
        have = {h.get("id") for h in mine.get("hooks") or []}
        new = [h for h in ours["hooks"] if h["id"] not in have]
        if new:
            if mine.get("hooks") is None:
                mine["hooks"] = []
            mine["hooks"].extend(new)
            added.append(f"the hooks {', '.join(h['id'] for h in new)}")
    if not added:
        return Change(PRE_COMMIT_CONFIG, before, before, "up to date")
    text = _dump(yaml, document, *_indentation(before))
    return Change(PRE_COMMIT_CONFIG, before, text, "added " + "; ".join(added))


_PIN_COMMENT = "# `pre-commit autoupdate` pins it (the newest tag, else the commit)"


def _uncommented(node: Any) -> Any:
    """A copy of a round-trip node without its comments, keeping flow style."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, dict):
        copy: Any = CommentedMap((k, _uncommented(v)) for k, v in node.items())
    elif isinstance(node, list):
        copy = CommentedSeq(_uncommented(v) for v in node)
    else:
        return node
    if getattr(node, "fa", None) is not None and node.fa.flow_style():
        copy.fa.set_flow_style()
    return copy


def _dump(yaml: Any, document: Any, sequence: int, offset: int) -> str:
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


# What init writes into a new config table: every key commented out but `baseline`, so the
# defaults stay in force and the user sees what can be set.
_CONFIG_COMMENTS = (
    '# select = ["DG"]            # codes or prefixes to report (default: all)\n'
    '# ignore = ["DG218"]         # codes never reported\n'
    '# warn-only = ["DG2"]        # reported, but never fail the commit\n'
    '# exclude = ["tests/fixtures"]\n'
)


def merge_config(project: Project, baseline: str | None) -> Change | None:
    """The `[tool.dvc-gitops]` table where the project keeps config: `.dvc-gitops.toml`
    when it has one, else `pyproject.toml` when it has one (a table at its end), else a
    new `.dvc-gitops.toml` (a pyproject.toml would make the folder a Python project)."""
    dedicated, pyproject = project.root / ".dvc-gitops.toml", project.root / "pyproject.toml"
    baseline_line = f'baseline = "{baseline}"\n' if baseline else ""
    if dedicated.is_file() or not pyproject.is_file():
        before = _read(dedicated)
        if before is None:
            text = "# dvc-gitops settings (`dvc-gitops init` wrote this file).\n"
            return Change(dedicated.name, None, text + baseline_line + _CONFIG_COMMENTS, "created")
        return _with_baseline(dedicated.name, before, baseline_line, header=None)
    before = _read(pyproject) or ""
    if re.search(r"^\[tool\.dvc-gitops\]", before, re.M) is None:
        separator = "" if not before or before.endswith("\n\n") else "\n"
        separator = separator if before.endswith("\n") or not before else "\n\n"
        table = "[tool.dvc-gitops]\n" + baseline_line + _CONFIG_COMMENTS
        return Change(pyproject.name, before, before + separator + table, "added [tool.dvc-gitops]")
    return _with_baseline(pyproject.name, before, baseline_line, header="[tool.dvc-gitops]")


def _with_baseline(path: str, before: str, line: str, header: str | None) -> Change:
    key = re.compile(r"^baseline\s*=", re.M)
    if not line:
        return Change(path, before, before, "up to date")
    if header is None:
        # Top-level keys must come before the first table of the file.
        table = re.search(r"^\[", before, re.M)
        at = table.start() if table else len(before)
        if key.search(before[:at]):
            return Change(path, before, before, "up to date (it names a baseline)")
        head = before[:at] if before[:at].endswith("\n") or not at else before[:at] + "\n"
        return Change(path, before, head + line + before[at:], "added baseline")
    start = before.index(header) + len(header)
    start = before.index("\n", start) + 1 if "\n" in before[start:] else len(before)
    following = re.search(r"^\[", before[start:], re.M)
    end = start + following.start() if following else len(before)
    if key.search(before[start:end]):
        return Change(path, before, before, "up to date (it names a baseline)")
    prefix = before[:start] if before[:start].endswith("\n") else before[:start] + "\n"
    return Change(path, before, prefix + line + before[start:], "added baseline")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc}") from None


DAG_SECTION = "\n## Pipeline\n\n<!-- dvc-gitops:dag:start -->\n<!-- dvc-gitops:dag:end -->\n"


def readme_with_markers(project: Project, name: str = "README.md") -> Change:
    """README.md with the pipeline picture's markers (a section at its end when it has
    none; a new README when there is none), the picture drawn between them."""
    from dvc_gitops.export.mermaid import (
        END,
        START,
        MarkerProblem,
        markdown_block,
        pipeline_graph,
        replace_between_markers,
    )

    before = _read(project.root / name)
    text = before if before is not None else f"# {project.root.name}\n"
    if START not in text and END not in text:
        text = text + ("" if text.endswith("\n") else "\n") + DAG_SECTION
        what = "added the pipeline picture's markers"
    else:
        what = "up to date"
    try:
        text = replace_between_markers(text, markdown_block(pipeline_graph(project)), name).text
    except MarkerProblem as exc:
        raise ConfigError(str(exc)) from None
    if what == "up to date" and text != before:
        what = "drew the pipeline picture"
    return Change(name, before, text, what if before is not None else "created, with the picture")


def mlflow_map(project: Project) -> Change:
    from dvc_gitops.mlflow.map import dump_map, map_path
    from dvc_gitops.mlflow.scan import proposed_entries

    rel = map_path(project)
    before = _read(project.root / rel)
    if before is not None:
        return Change(rel, before, before, "kept (it exists)")
    entries = proposed_entries(project)
    what = (
        f"mapped {len(entries)} stage(s) that use MLflow" if entries else "no stage uses MLflow yet"
    )
    return Change(rel, None, dump_map(entries, None), what)


def baseline_file(project: Project, name: str, findings: list[Finding]) -> Change:
    from dvc_gitops.core import baseline as baselines

    text = baselines.render(project, findings)
    count = text.count('"fingerprint"')
    return Change(name, _read(project.root / name), text, f"{count} finding(s) recorded")


def plan(
    project: Project,
    *,
    repo: str,
    rev: str | None,
    dag_docs: bool,
    mlflow: bool,
    baseline: Callable[[Project], list[Finding]] | None,
) -> list[Change]:
    """Every file init would write, in the order it writes them. `baseline`, when given,
    gives today's findings to record (the offline checks: the command line's to run)."""
    if mlflow and not project.dvc_yaml_files and not (project.root / ".dvc").is_dir():
        raise ConfigError(
            f"{project.root} is not a DVC project: run `dvc init` first, then "
            "`dvc-gitops init --mlflow-map`"
        )
    extra = ["dvc-dag-docs"] if dag_docs else []
    changes = [merge_pre_commit(_read(project.root / PRE_COMMIT_CONFIG), repo, rev, extra)]
    from dvc_gitops.core.baseline import DEFAULT_FILE

    baseline_name = (project.config.baseline or DEFAULT_FILE) if baseline else None
    config = merge_config(project, baseline_name)
    if config is not None:
        changes.append(config)
    if dag_docs:
        changes.append(readme_with_markers(project))
    if mlflow:
        changes.append(mlflow_map(project))
    if baseline is not None and baseline_name:
        changes.append(baseline_file(project, baseline_name, baseline(project)))
    return changes


def apply(project: Project, changes: list[Change], write: Callable[[Path, str], None]) -> None:
    for change in changes:
        if change.changed:
            target = project.root / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            write(target, change.after)


NEXT_STEPS = (
    "Next: `pre-commit autoupdate` (pins rev:), `pre-commit install` (the commit and the "
    "push hook), then `dvc-gitops check` for the first findings."
)
