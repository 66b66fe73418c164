"""The two sides of a review: a revision's files, read from git objects, and its pipeline."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dvc_gitops.core.git_tree import GitProblem, GitTree
from dvc_gitops.core.project import Project

if TYPE_CHECKING:
    from dvc_gitops.dvcmodel.model import Pipeline


class RevisionProblem(Exception):
    """A revision cannot be read: one line saying why and what to do."""


@dataclass
class Side:
    """One revision: what the user called it, its commit, its files and its pipeline."""

    name: str  # as given on the command line ("main", "HEAD~1")
    commit: str  # the full commit id
    tree: GitTree
    project: Project
    _blob_cache: dict[str, bytes] = field(default_factory=dict)

    @cached_property
    def pipeline(self) -> Pipeline:
        from dvc_gitops.dvcmodel.model import pipeline_of

        return pipeline_of(self.project)  # built once: the lock check asks for it too

    @property
    def short(self) -> str:
        return self.commit[:10]

    def oid(self, rel: str) -> str | None:
        """The blob id of file `rel` in this revision; None when git holds no such file."""
        try:
            return self.tree.oid(rel)
        except OSError:
            return None

    def blobs_under(self, path: str) -> dict[str, str]:
        """Every file git holds at `path` (a file, or a folder's files): path -> blob id."""
        own = self.oid(path)
        if own is not None:
            return {path: own}
        found: dict[str, str] = {}
        for rel in self.tree.files_under(path):
            oid = self.oid(rel)
            if oid is not None:
                found[rel] = oid
        return found

    def read(self, rel: str) -> bytes | None:
        """The file's bytes in this revision, None when git holds no such file."""
        if rel not in self._blob_cache:
            oid = self.oid(rel)
            if oid is None:
                return None
            self._blob_cache[rel] = self.tree.read_blob(oid)
        return self._blob_cache[rel]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )


def resolve_commit(root: Path, rev: str, role: str) -> str:
    """The full commit id `rev` names; RevisionProblem with a way out when it names none."""
    if not rev or rev.startswith("-"):
        raise RevisionProblem(f"{role} '{rev}' is not a revision")
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}")
    if done.returncode == 0:
        return done.stdout.strip()
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        reason = (inside.stderr.strip().splitlines() or ["git failed"])[-1]
        raise RevisionProblem(f"not a git repository ({reason})")
    shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    if shallow:
        raise RevisionProblem(
            f"{role} '{rev}' is not in this shallow clone: fetch the history "
            "(actions/checkout with `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`, "
            "or `git fetch --unshallow`)"
        )
    raise RevisionProblem(
        f"{role} '{rev}' is not a commit of this repository (a branch, tag or commit id; "
        "`git fetch` it first if it lives on a remote)"
    )


def open_side(root: Path, rev: str, role: str, project: Project | None = None) -> Side:
    """The revision `rev` read from git objects; RevisionProblem when it cannot be."""
    commit = resolve_commit(root, rev, role)
    try:
        tree = GitTree.at_rev(root, commit)
    except GitProblem as exc:
        raise RevisionProblem(f"{role} '{rev}': {exc}") from None
    config = project.config if project is not None else None
    return Side(rev, commit, tree, Project(root, config=config, tree=tree))
