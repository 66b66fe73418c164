"""Every file we write, written one way: atomically, inside the repository, never through
a symlink that leaves it.

A fixer never opens a file for writing itself: it returns `Edit`s (a path and its new
text) and `apply` writes them. Each write goes to a temporary file in the same folder,
is flushed and fsync'ed, and replaces the original with `os.replace`, so a full disk, a
file-size limit or a crash leaves the old file whole, never a file cut mid-key. The
original's permission bits are kept (`config.local` stays 0600).

A path is refused, in one line, when it or any folder above it resolves outside the
repository root: a committed `dvc.yaml -> /home/you/.bashrc` symlink is not a way to
make a hook rewrite your files.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class WriteRefused(Exception):
    """A file was not written; the message is one line that says which and why."""


@dataclass(frozen=True)
class Edit:
    """A fixer's result: the whole new text of one file (`path` relative to the root)."""

    path: str
    text: str
    new_mode: int | None = None  # permission bits if the file is created (0o600: secrets)


def checked_target(root: Path, path: str | Path) -> Path:
    """The real path `path` (relative to `root`, or absolute) names, following symlinks
    that stay inside the repository; WriteRefused when it would leave it."""
    real_root = Path(os.path.realpath(root))
    given = Path(path)
    candidate = given if given.is_absolute() else Path(root) / given
    shown = _shown(root, candidate)
    real = Path(os.path.realpath(candidate))
    if not _inside(real, real_root):
        if os.path.islink(candidate):
            why = f"it is a symlink to {os.readlink(candidate)}, outside the repository"
        else:
            why = "it resolves outside the repository"
        raise WriteRefused(f"refusing to write {shown}: {why}")
    if real.exists() and not real.is_file():
        raise WriteRefused(f"refusing to write {shown}: it is not a regular file")
    return real


def write_text(root: Path, path: str | Path, text: str, *, new_mode: int | None = None) -> None:
    """Write `text` (UTF-8) to `path` atomically; WriteRefused (one line) on any failure."""
    write_bytes(root, path, text.encode("utf-8"), new_mode=new_mode)


def write_bytes(root: Path, path: str | Path, data: bytes, *, new_mode: int | None = None) -> None:
    """Write `data` to `path` atomically, keeping an existing file's mode."""
    target = checked_target(root, path)
    shown = _shown(root, Path(root) / path if not Path(path).is_absolute() else Path(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = new_mode if new_mode is not None else 0o666 & ~_umask()
    except OSError as exc:
        raise WriteRefused(f"cannot write {shown}: {exc.strerror or exc}") from None
    folder = target.parent
    try:
        import tempfile  # only when writing: it costs start-up every hook pays

        handle, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{target.name}.", suffix=".dvc-gitops-tmp"
        )
    except OSError as exc:
        raise WriteRefused(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        _discard(temporary)
        raise WriteRefused(f"cannot write {shown}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(temporary)
        raise
    _sync_folder(folder)


def write_output(root: Path, path: str | Path, text: str) -> None:
    """A file named on the command line (`--output`): inside the repository, the same
    rules as any write (no symlink out); elsewhere, where the user said. Atomically."""
    absolute = Path(path).absolute()
    rel = os.path.relpath(absolute, root)
    outside = rel == os.pardir or rel.startswith(os.pardir + os.sep)
    write_text(absolute.parent if outside else root, absolute, text)


def apply(root: Path, edits: Iterable[Edit]) -> list[str]:
    """Write every edit whose text differs from the file's; the paths written. Every
    target is checked before the first write, so a refused path writes nothing."""
    pending = []
    for edit in edits:
        target = checked_target(root, edit.path)
        try:
            current = target.read_text(encoding="utf-8") if target.exists() else None
        except (OSError, UnicodeDecodeError):
            current = None
        if current != edit.text:
            pending.append(edit)
    for edit in pending:
        write_text(root, edit.path, edit.text, new_mode=edit.new_mode)
    return [edit.path for edit in pending]


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _shown(root: Path, path: Path) -> str:
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return str(path)


def _umask() -> int:
    # os.umask can only be read by setting it; a process-wide flip back is immediate.
    current = os.umask(0o022)
    os.umask(current)
    return current


def _discard(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename itself survives a crash (best effort: not every
    file system lets a folder be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
