"""The DVC projects of a git repository, as DVC itself sees them.

A DVC project is a folder holding a `.dvc/` directory (with the `config` or `.gitignore`
that `dvc init` writes there; DVC's scratch alone makes none): the git root after `dvc
init`, a subfolder after `dvc init --subdir`, and any number of them side by side or one
inside another. Each is a repository of its own for DVC: run anywhere below its folder, `dvc`
walks up to the nearest `.dvc/` and loads only the dvc.yaml files from there down,
skipping what that project's `.dvcignore` files hide and every folder holding another
`.dvc/` (a nested project is never part of its parent's pipeline). Paths here stay
relative to the git root (what pre-commit passes and findings print); `DvcProject`
translates to and from the project's own paths (what `dvc status` prints).

A dvc.yaml with no `.dvc/` above it up to the git root belongs to no project: DVC
cannot run it until someone runs `dvc init` (`orphans`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class Project(Protocol):
    """What is read of `core.project.Project` (which asks this module for its dvc.yaml
    files, so this module does not import it)."""

    root: Path

    @property
    def folders(self) -> list[tuple[str, list[str], bool]]: ...

    def cache(self, key: str) -> dict[str, Any]: ...

    def is_file(self, rel: str) -> bool: ...

    def read_text(self, rel: str) -> str: ...

    def walk_files(
        self, *names: str, suffixes: tuple[str, ...] = (), dvcignore: bool = True
    ) -> Iterator[str]: ...


DVC_DIR = ".dvc"


@dataclass(frozen=True, order=True)
class DvcProject:
    """One folder holding `.dvc/`: `root` is git-root-relative, "." for the git root."""

    root: str

    @property
    def prefix(self) -> str:
        """What a project-relative path is prefixed with: "" at the git root, else "sub/"."""
        return "" if self.root == "." else self.root + "/"

    @property
    def config(self) -> str:
        """The tracked `.dvc/config`, git-root-relative."""
        return f"{self.prefix}{DVC_DIR}/config"

    @property
    def config_local(self) -> str:
        return f"{self.prefix}{DVC_DIR}/config.local"

    def contains(self, path: str) -> bool:
        """Whether the git-root-relative `path` lies in this project's folder."""
        return self.root == "." or path == self.root or path.startswith(self.prefix)

    def outer(self, project_relative: str) -> str:
        """A path as the project writes it (its `dvc status` output) -> git-root-relative."""
        if self.root == ".":
            return posixpath.normpath(project_relative)
        return posixpath.normpath(posixpath.join(self.root, project_relative))

    def inner(self, path: str) -> str:
        """A git-root-relative path -> relative to the project's folder (DVC's view)."""
        if self.root == ".":
            return path
        return posixpath.relpath(path, self.root)

    def address(self, project_address: str) -> str:
        """A stage address as DVC prints it from the project's folder (`train`,
        `sub/dvc.yaml:train`) -> the address from the git root (`proj/dvc.yaml:train`)."""
        if self.root == ".":
            return project_address
        dvcfile, sep, name = project_address.rpartition(":")
        if not sep:  # a stage of the project's own dvc.yaml, or a `.dvc` file
            if project_address.endswith(".dvc"):
                return self.outer(project_address)
            return f"{self.prefix}dvc.yaml:{project_address}"
        return f"{self.outer(dvcfile)}:{name}"

    def inner_address(self, address: str) -> str:
        """A git-root address or file target (`sub/dvc.yaml:train`, `sub/data.dvc`) ->
        as DVC takes it from the project's folder (`dvc.yaml:train`, `data.dvc`)."""
        if self.root == ".":
            return address
        dvcfile, sep, name = address.rpartition(":")
        if not sep:
            return self.inner(address)
        inner = self.inner(dvcfile)
        return name if inner == "dvc.yaml" else f"{inner}:{name}"

    def label(self) -> str:
        """How messages name the project."""
        return (
            "the DVC project at the git root" if self.root == "." else f"DVC project '{self.root}'"
        )


class DvcProjects:
    """Every DVC project under a git root, and which one a path belongs to."""

    def __init__(self, roots: list[str]) -> None:
        self.projects = [DvcProject(r) for r in sorted(set(roots), key=_depth_key)]
        self._by_root = {p.root: p for p in self.projects}

    def __iter__(self) -> Iterator[DvcProject]:
        return iter(self.projects)

    def __len__(self) -> int:
        return len(self.projects)

    def get(self, root: str) -> DvcProject | None:
        return self._by_root.get(root)

    def of(self, path: str) -> DvcProject | None:
        """The project DVC uses for a git-root-relative path: the deepest `.dvc/` above
        it (or at it, for a folder); None when there is none up to the git root."""
        folder = path.strip("/") or "."
        while True:
            found = self._by_root.get(folder)
            if found is not None:
                return found
            if folder == ".":
                return None
            folder = posixpath.dirname(folder) or "."

    def nested_in(self, project: DvcProject) -> DvcProject | None:
        """The project whose folder holds `project`'s folder (None at the top)."""
        if project.root == ".":
            return None
        return self.of(posixpath.dirname(project.root) or ".")

    def children(self, project: DvcProject) -> list[DvcProject]:
        """Projects directly nested in `project` (their folders are not its own)."""
        return [p for p in self.projects if p != project and self.nested_in(p) == project]


def _depth_key(root: str) -> tuple[str, ...]:
    return () if root == "." else tuple(root.split("/"))


def dvc_projects(project: Project) -> DvcProjects:
    """The DVC projects below `project.root` (found once per run, from the same walk of
    the tree every check shares: folders skipped there hold no project we check)."""
    store = project.cache("dvc_projects")
    found = store.get("all")
    if found is None:
        roots = [
            folder
            for folder, _files, _hidden in project.folders
            if _is_dvc_dir(project, DvcProject(folder).prefix + DVC_DIR)
        ]
        found = store["all"] = DvcProjects(roots)
    assert isinstance(found, DvcProjects)
    return found


def _is_dvc_dir(project: Project, rel: str) -> bool:
    """A `.dvc/` that `dvc init` made: it writes `config` and `.gitignore`, and a clone has
    them. A `.dvc/` holding only DVC's scratch (`tmp/`, `cache/`, both git-ignored), left
    where someone once ran DVC, is no project on a clone. Asked of the project's files:
    the work tree, or the index or commit it reads."""
    return project.is_file(f"{rel}/config") or project.is_file(f"{rel}/.gitignore")


class _IgnoreFiles:
    """`.dvcignore` files read once each; a project reads those in its own folders only."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.specs: dict[str, Any] = {}

    def spec(self, folder: str) -> Any:
        if folder not in self.specs:
            spec = None
            rel = ".dvcignore" if folder == "." else f"{folder}/.dvcignore"
            if self.project.is_file(rel):
                try:
                    lines = self.project.read_text(rel).splitlines()
                except Exception:  # FileProblem: core.project imports this module
                    lines = []
                if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
                    import pathspec  # DVC's own matcher; loaded only when there is a pattern

                    try:
                        spec = pathspec.GitIgnoreSpec.from_lines(lines)
                    except ValueError:
                        spec = None
            self.specs[folder] = spec
        return self.specs[folder]

    def hiding(self, path: str, top: str) -> str | None:
        """The `.dvcignore` (from folder `top` down to `path`'s folder) that hides the
        git-root-relative `path`, or None."""
        parts = path.split("/")
        start = 0 if top == "." else len(top.split("/"))
        for depth in range(start, len(parts)):
            folder = "/".join(parts[:depth]) or "."
            spec = self.spec(folder)
            if spec is not None and spec.match_file("/".join(parts[depth:])):
                return ".dvcignore" if folder == "." else f"{folder}/.dvcignore"
        return None


def dvcignored_by(project: Project, path: str) -> str | None:
    """The `.dvcignore` file that hides `path` from the DVC project it belongs to (only
    that project's own `.dvcignore` files count), or None. A path in no project is
    read as if the git root were one (what `dvc init` there would make)."""
    store = project.cache("dvc_projects")
    ignores = store.get("ignores")
    if ignores is None:
        ignores = store["ignores"] = _IgnoreFiles(project)
    owner = dvc_projects(project).of(path)
    assert isinstance(ignores, _IgnoreFiles)
    return ignores.hiding(path, owner.root if owner else ".")


def dvc_yaml_files(project: Project) -> list[str]:
    """Every dvc.yaml DVC loads in some project (or would, for one in no project):
    sorted, git-root-relative, without those their own project's `.dvcignore` hides."""
    return sorted(
        f
        for f in project.walk_files("dvc.yaml", dvcignore=False)
        if dvcignored_by(project, f) is None
    )


def orphans(project: Project, files: list[str]) -> list[str]:
    """Those of `files` with no `.dvc/` above them up to the git root."""
    projects = dvc_projects(project)
    return [f for f in files if projects.of(posixpath.dirname(f) or ".") is None]
