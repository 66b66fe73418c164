"""The repository under check: its root, its config, its files, read once each."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dvc_gitops.core.config import Config, ConfigError, load_config
from dvc_gitops.formats import yamldoc
from dvc_gitops.formats.yamldoc import Mark, YamlDoc, YamlProblem

if TYPE_CHECKING:
    import pathspec

    from dvc_gitops.core.git_tree import FileTree


# Folders never searched for dvc.yaml files: VCS and DVC internals, environments, caches.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".dvc",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "site-packages",
        "mlruns",
    }
)

# A file larger than this is refused before parsing: no real dvc.yaml comes near it.
MAX_FILE_BYTES = 32 * 1024 * 1024


def find_root(start: Path) -> Path:
    """The git work tree holding `start` (hooks run there), else `start` itself."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _posix(folder: str, name: str) -> str:
    """`name` inside the repo-relative, `/`-separated `folder` ("." is the root)."""
    return name if folder == "." else f"{folder}/{name}"


class FileProblem(Exception):
    """A file could not be read; `mark` says where when the content is at fault."""

    def __init__(self, path: str, message: str, mark: Mark | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.mark = mark or Mark(1, 1)


class Project:
    """A repository root with lazy, cached access to everything the checks read."""

    def __init__(
        self, root: Path, config: Config | None = None, tree: FileTree | None = None
    ) -> None:
        self.root = root.resolve()
        self.config = config if config is not None else load_config(self.root)
        # Where dvc.yaml, params and lock files are read from: None for the work tree,
        # else the index or a commit (`core.git_tree`); the config stays the work tree's.
        self.tree = tree
        self.examined: set[str] = set()  # repo-relative paths read by any check
        self._yaml: dict[str, YamlDoc | YamlProblem | FileProblem] = {}

    def rel(self, path: str | os.PathLike[str]) -> str:
        """A repo-relative, `/`-separated path (as findings print it)."""
        absolute = Path(path) if Path(path).is_absolute() else self.root / path
        try:
            return absolute.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return Path(os.path.relpath(absolute, self.root)).as_posix()

    def inside(self, rel: str) -> bool:
        """Whether `rel` resolves (through `..` and symlinks) to a path inside the root:
        nothing outside it is ever read, whatever a committed file names."""
        real = os.path.realpath(self.root / rel)
        root = str(self.root)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        if self.tree is not None:
            return self.tree.is_file(rel) or self.tree.is_dir(rel)
        return (self.root / rel).exists()

    def is_file(self, rel: str) -> bool:
        return self.tree.is_file(rel) if self.tree is not None else (self.root / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return self.tree.is_dir(rel) if self.tree is not None else (self.root / rel).is_dir()

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes; FileProblem with a one-line reason when unreadable."""
        self.examined.add(rel)
        if self.tree is not None:
            return self._tree_bytes(self.tree, rel)
        target = self.root / rel
        if not self.inside(rel):
            raise FileProblem(rel, "lies outside the repository: not read")
        try:
            if target.is_dir():
                raise FileProblem(rel, "is a directory, not a file")
            if target.stat().st_size > MAX_FILE_BYTES:
                raise FileProblem(rel, f"larger than {MAX_FILE_BYTES // 2**20} MiB: not checked")
            return target.read_bytes()
        except FileProblem:
            raise
        except OSError as exc:
            raise FileProblem(rel, f"cannot read: {exc.strerror or exc}") from None

    @staticmethod
    def _tree_bytes(tree: FileTree, rel: str) -> bytes:
        from dvc_gitops.core.git_tree import GitProblem

        try:
            data = tree.read_bytes(rel)
        except IsADirectoryError:
            raise FileProblem(rel, "is a directory, not a file") from None
        except FileNotFoundError:
            raise FileProblem(rel, f"cannot read: not in {tree.label}") from None
        except (OSError, GitProblem) as exc:
            raise FileProblem(rel, f"cannot read: {exc}") from None
        if len(data) > MAX_FILE_BYTES:
            raise FileProblem(rel, f"larger than {MAX_FILE_BYTES // 2**20} MiB: not checked")
        return data

    def read_text(self, rel: str) -> str:
        raw = self.read_bytes(rel)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise FileProblem(rel, "not valid UTF-8", Mark(line, 1)) from None

    def yaml(self, rel: str) -> YamlDoc:
        """The parsed YAML file, cached; raises YamlProblem or FileProblem."""
        cached = self._yaml.get(rel)
        if cached is None:
            try:
                cached = yamldoc.load_bytes(self.read_bytes(rel), rel)
            except (YamlProblem, FileProblem) as exc:
                cached = exc
            self._yaml[rel] = cached
        if isinstance(cached, Exception):
            raise cached
        return cached

    @cached_property
    def dvc_yaml_files(self) -> list[str]:
        """Every dvc.yaml below the root that DVC would load, in whichever DVC project
        holds it (see `core.dvc_projects`: each project reads its own `.dvcignore`)."""
        from dvc_gitops.core.dvc_projects import dvc_yaml_files

        return dvc_yaml_files(self)

    def dvcignored(self, rel: str) -> bool:
        """Whether the root `.dvcignore` (gitignore syntax, as DVC reads it) hides `rel`."""
        spec = self._dvcignore
        return spec is not None and spec.match_file(rel)

    @cached_property
    def _dvcignore(self) -> pathspec.GitIgnoreSpec | None:
        try:
            if self.tree is not None:
                text = self.tree.read_bytes(".dvcignore").decode("utf-8")
            else:
                text = (self.root / ".dvcignore").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        lines = text.splitlines()
        if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            return None  # `dvc init` writes one of comments only: nothing to load pathspec for
        import pathspec  # DVC's own matcher for .dvcignore; loaded only when there is one

        return pathspec.GitIgnoreSpec.from_lines(lines)

    def excluded(self, rel: str) -> bool:
        """Whether the config's `exclude` hides `rel` from every check."""
        return self.config.excludes(rel)

    def walk_files(
        self, *names: str, suffixes: tuple[str, ...] = (), dvcignore: bool = True
    ) -> Iterator[str]:
        """Repo-relative paths of files called one of `names` (or ending with one of
        `suffixes`), in a sorted depth-first order. With `dvcignore`, only where DVC
        looks: not what the root `.dvcignore` hides (dependency files are not DVC's)."""
        wanted = set(names)
        for folder, files, hidden in self.folders:
            if hidden and dvcignore:
                continue
            for name in files:
                if name in wanted or (suffixes and name.endswith(suffixes)):
                    rel = _posix(folder, name)
                    if not (dvcignore and self.dvcignored(rel)):
                        yield rel

    @cached_property
    def folders(self) -> list[tuple[str, list[str], bool]]:
        """Each searched folder, walked once per run: (repo-relative path, sorted file
        names, hidden by `.dvcignore`). Skipped: SKIPPED_DIRS, virtual environments and
        what the config excludes."""
        tree: list[tuple[str, list[str], bool]] = []
        hidden_folders: set[str] = set()
        walk = os.walk(self.root, onerror=lambda _e: None) if self.tree is None else None
        for folder, dirs, files in walk or _walk_tree(self.root, self.tree):
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            hidden = rel in hidden_folders
            kept = []
            for name in sorted(dirs):
                child = _posix(rel, name)
                if (
                    name in SKIPPED_DIRS
                    or self._is_venv(folder, child)
                    or self.config.excludes_itself(child)  # its parents passed already
                ):
                    continue
                kept.append(name)
                if hidden or self.dvcignored(child + "/"):
                    hidden_folders.add(child)
            dirs[:] = kept
            if self.config.exclude:
                files = [f for f in files if not self.config.excludes_itself(_posix(rel, f))]
            tree.append((rel, sorted(files), hidden))
        return tree

    def _is_venv(self, folder: str, child: str) -> bool:
        if self.tree is not None:
            return self.tree.is_file(child + "/pyvenv.cfg")
        return os.path.exists(os.path.join(folder, child.rsplit("/", 1)[-1], "pyvenv.cfg"))

    @cached_property
    def is_dvc_repo(self) -> bool:
        return self.is_dir(".dvc")

    @cached_property
    def git_files(self) -> frozenset[str] | None:
        """Files git tracks (index), or None outside a git work tree."""
        try:
            done = subprocess.run(
                ["git", "ls-files", "-z"],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            if not self._in_git_tree():
                return None
            raise ConfigError(f"git cannot list the tracked files: {exc}") from None
        if done.returncode == 0:
            return frozenset(p for p in done.stdout.split("\0") if p)
        if not self._in_git_tree():
            return None  # no repository at all: nothing can be committed
        # A repository git refuses (dubious ownership, a broken .git) must never read as
        # "nothing is tracked": that would pass what it should check.
        reason = " ".join(
            line.removeprefix("fatal: ").strip()
            for line in done.stderr.splitlines()
            if line.strip() and not line.startswith(("\t", "hint:"))
        )
        raise ConfigError(
            f"git refuses this repository: {reason[:300] or 'exit ' + str(done.returncode)}"
        )

    def _in_git_tree(self) -> bool:
        """Whether a `.git` at the root or above says this is meant to be a git work tree."""
        return any((folder / ".git").exists() for folder in (self.root, *self.root.parents))

    def git(self, *args: str) -> str | None:
        """`git ARGS` at the root; None when git is missing or fails."""
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def cache(self, key: str) -> dict[str, Any]:
        """A per-run scratch space for checks that share expensive work."""
        store: dict[str, dict[str, Any]] = self.__dict__.setdefault("_scratch", {})
        return store.setdefault(key, {})


def _walk_tree(root: Path, tree: FileTree | None) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk(root)` over the paths of a git tree (top-down; `dirs` may be pruned)."""
    from dvc_gitops.core.git_tree import GitTree

    assert isinstance(tree, GitTree)
    children: dict[str, tuple[set[str], list[str]]] = {"": (set(), [])}
    for path in tree.paths():
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent, name = "/".join(parts[: depth - 1]), parts[depth - 1]
            children.setdefault(parent, (set(), []))[0].add(name)
            children.setdefault("/".join(parts[:depth]), (set(), []))
        children["/".join(parts[:-1])][1].append(parts[-1])
    pending = [""]
    while pending:
        rel = pending.pop()
        subdirs, files = children[rel]
        dirs = sorted(subdirs)
        yield (os.path.join(root, rel) if rel else str(root)), dirs, files
        # `dirs` as the caller pruned it, like os.walk
        pending.extend(f"{rel}/{d}" if rel else d for d in reversed(dirs))
