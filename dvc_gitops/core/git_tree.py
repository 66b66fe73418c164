"""The files of one revision, read without touching the work tree.

A `GitTree` is what a commit will hold (the index, `git ls-files -s -z`) or what a
commit holds (`git ls-tree -r -z REV`); blob contents come through one long-lived
`git cat-file --batch` process, so thousands of files cost one process, not thousands.
`DiskTree` offers the same questions about the work tree. Checks ask a tree, never the
disk, so one check serves `--scope worktree`, `--scope staged` and `--rev REV`.

A git failure (not a repository, dubious ownership, a bad revision, unresolved merge
conflicts) raises `GitProblem` with git's own reason: never read it as "no files".
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import subprocess
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import IO, Protocol

_BLOB, _LINK, _GITLINK = "100644", "120000", "160000"
_MAX_LINK_HOPS = 40  # as the kernel's ELOOP limit: a longer chain is a loop


class GitProblem(Exception):
    """git could not answer; the message is one line, git's own reason included."""


class FileTree(Protocol):
    """Questions a check may ask about the files of one revision (paths repo-relative)."""

    label: str  # "the work tree", "the index", "commit 1a2b3c4"

    def is_file(self, rel: str) -> bool: ...

    def is_dir(self, rel: str) -> bool: ...

    def read_bytes(self, rel: str) -> bytes: ...

    def files_under(self, folder: str) -> list[str]: ...


def _git(root: Path, *args: str) -> bytes:
    """`git ARGS` at `root`: its standard output, or GitProblem with git's reason."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, timeout=120, check=False
        )
    except FileNotFoundError:
        raise GitProblem("git is not installed (needed to read the index or a commit)") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitProblem(f"git {args[0]} failed: {exc}") from None
    if done.returncode != 0:
        raise GitProblem(f"git {args[0]} failed: {_reason(done.stderr)}")
    return done.stdout


def _reason(stderr: bytes) -> str:
    """The line of git's error output that says why (its `fatal:` line when there is one)."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[0] if lines else "no reason given"


class GitTree:
    """The index or a commit: every path's mode and object id, contents on demand."""

    def __init__(self, root: Path, entries: dict[str, tuple[str, str]], label: str) -> None:
        self.root = root
        self.entries = entries  # repo-relative path -> (mode, object id)
        self.label = label
        self._batch: subprocess.Popen[bytes] | None = None

    @classmethod
    def staged(cls, root: Path) -> GitTree:
        """What the next commit will hold: the git index."""
        entries: dict[str, tuple[str, str]] = {}
        conflicted: list[str] = []
        for record in _git(root, "ls-files", "-s", "-z", "--full-name").split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, oid, stage = meta.decode().split()
            path = raw_path.decode("utf-8", "surrogateescape")
            if stage != "0":
                conflicted.append(path)
                continue
            entries[path] = (mode, oid)
        if conflicted:
            raise GitProblem(
                f"the index holds unresolved merge conflicts ({conflicted[0]}): "
                "resolve them before checking what is staged"
            )
        return cls(root, entries, "the index")

    @classmethod
    def at_rev(cls, root: Path, rev: str) -> GitTree:
        """What commit `rev` (any name git accepts) holds."""
        if rev.startswith("-"):
            raise GitProblem(f"'{rev}' is not a revision")
        commit = _git(root, "rev-parse", "--verify", "--end-of-options", rev + "^{commit}")
        oid = commit.decode().strip()
        entries: dict[str, tuple[str, str]] = {}
        for record in _git(root, "ls-tree", "-r", "-z", "--full-tree", oid).split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, _kind, obj = meta.decode().split()
            entries[raw_path.decode("utf-8", "surrogateescape")] = (mode, obj)
        # Named as the user named it: a message stays the same whatever the commit's id.
        return cls(root, entries, f"commit {rev}")

    # -- the tree's shape ---------------------------------------------------------------

    @cached_property
    def _dirs(self) -> dict[str, list[str]]:
        """Each folder ("" is the root) -> the sorted files anywhere below it."""
        below: dict[str, list[str]] = {"": []}
        for path in sorted(self.entries):
            below[""].append(path)
            folder = posixpath.dirname(path)
            while folder:
                below.setdefault(folder, []).append(path)
                folder = posixpath.dirname(folder)
        return below

    def resolve(self, rel: str) -> str | None:
        """The path `rel` names once symlinks inside the tree are followed; None when it
        leads outside the repository; OSError(ELOOP) for a loop, as the disk says it."""
        path = posixpath.normpath(rel)
        for _ in range(_MAX_LINK_HOPS):
            if path == "." or path.startswith("../") or path == ".." or path.startswith("/"):
                return None if path != "." else ""
            link = self._first_link(path)
            if link is None:
                return path
            target = self.read_blob(self.entries[link][1]).decode("utf-8", "surrogateescape")
            if target.startswith("/"):
                return None
            rest = path[len(link) :]
            path = posixpath.normpath(posixpath.join(posixpath.dirname(link), target) + rest)
        raise OSError(errno.ELOOP, "symlink loop", rel)

    def _first_link(self, path: str) -> str | None:
        """The first component of `path` (itself included) that is a symlink."""
        entry = self.entries.get(path)
        if entry is not None:
            return path if entry[0] == _LINK else None
        if path in self._dirs:
            return None
        parts = path.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            entry = self.entries.get(prefix)
            if entry is not None:
                return prefix if entry[0] == _LINK else None
        return None

    def _resolved(self, rel: str) -> str | None:
        try:
            return self.resolve(rel)
        except OSError:
            return None  # a loop is neither a file nor a folder, as os.path says

    def is_file(self, rel: str) -> bool:
        path = self._resolved(rel)
        entry = self.entries.get(path) if path is not None else None
        return entry is not None and entry[0] not in (_LINK, _GITLINK)

    def is_dir(self, rel: str) -> bool:
        path = self._resolved(rel)
        return path is not None and (path == "" or path in self._dirs)

    def exists(self, rel: str) -> bool:
        return self.is_file(rel) or self.is_dir(rel)

    def oid(self, rel: str) -> str | None:
        """The blob id of file `rel`, None when the tree holds no such file; OSError
        (ELOOP) for a symlink loop."""
        path = self.resolve(rel)
        entry = self.entries.get(path) if path is not None else None
        return entry[1] if entry is not None and entry[0] not in (_LINK, _GITLINK) else None

    def files_under(self, folder: str) -> list[str]:
        """Every file below `folder` (repo-relative, sorted) as DVC walks it: symlinked
        folders are left out, symlinked files kept (read through)."""
        path = self.resolve(folder)
        if path is None:
            return []
        found = []
        for p in self._dirs.get(path, []):
            mode = self.entries[p][0]
            if mode == _GITLINK or (mode == _LINK and self._links_to_folder(p)):
                continue  # DVC does not enter a symlinked folder (nor a submodule)
            found.append(p)
        return found

    def _links_to_folder(self, link: str) -> bool:
        try:
            target = self.resolve(link)
        except OSError:
            return False  # a loop: listed, and reading it fails as on disk
        return target is not None and target in self._dirs

    def paths(self) -> Iterator[str]:
        return iter(self.entries)

    # -- contents -----------------------------------------------------------------------

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes; FileNotFoundError / IsADirectoryError as the disk would say."""
        oid = self.oid(rel)
        if oid is None:
            if self.is_dir(rel):
                raise IsADirectoryError(rel)
            raise FileNotFoundError(rel)
        return self.read_blob(oid)

    def read_blob(self, oid: str) -> bytes:
        """One object's contents through the long-lived `git cat-file --batch`."""
        batch = self._cat_file()
        stdin, stdout = batch.stdin, batch.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(oid.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
        except OSError as exc:
            raise GitProblem(f"git cat-file failed: {exc}") from None
        if len(header) != 3:
            raise GitProblem(f"git cat-file cannot read object {oid}: {b' '.join(header).decode()}")
        size = int(header[2])
        data = _read_exactly(stdout, size + 1)  # the contents, then a newline
        return data[:size]

    def _cat_file(self) -> subprocess.Popen[bytes]:
        if self._batch is None:
            try:
                self._batch = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    cwd=self.root,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                raise GitProblem(f"git cat-file could not start: {exc}") from None
        return self._batch

    def close(self) -> None:
        """End the `cat-file` process (also done when the tree is collected)."""
        batch, self._batch = self._batch, None
        if batch is not None:
            if batch.stdin is not None:
                batch.stdin.close()
            batch.wait(timeout=10)
            if batch.stdout is not None:
                batch.stdout.close()

    def __enter__(self) -> GitTree:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to tell
            self.close()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            raise GitProblem("git cat-file ended early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class DiskTree:
    """The work tree, asked the same questions as a GitTree."""

    label = "the work tree"

    def __init__(self, root: Path) -> None:
        self.root = root

    def is_file(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def files_under(self, folder: str) -> list[str]:
        """Every file below `folder` (sorted, repo-relative) as DVC walks it: symlinked
        folders are not entered, symlinked files are listed (and read through)."""
        found: list[str] = []
        for dirpath, _dirs, files in os.walk(self.root / folder):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            found.extend(f"{rel_dir}/{name}" for name in files)
        return sorted(found)


def open_tree(root: Path, scope: str, rev: str | None = None) -> FileTree:
    """The tree a check reads: `worktree`, `staged` or, with `rev`, that commit."""
    if rev is not None:
        return GitTree.at_rev(root, rev)
    if scope == "staged":
        return GitTree.staged(root)
    if scope == "worktree":
        return DiskTree(root)
    raise GitProblem(f"unknown scope '{scope}' (worktree, staged)")
