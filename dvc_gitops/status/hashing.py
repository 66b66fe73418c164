"""Content hashes exactly as DVC 3 writes them into dvc.lock, without importing DVC.

- A file: the md5 of its bytes (`hash: md5`). Entries written by DVC 2 carry no `hash`
  key; DVC 3 still checks them with "md5-dos2unix": each 1 MiB chunk whose first 512
  bytes look like text (no NUL, at most 30% non-text bytes) is hashed with CRLF turned
  into LF, a chunk that does not is hashed as it is.
- A folder: the md5 of `json.dumps(sorted [{"md5", "relpath"}], sort_keys=True)` over
  its files (relpath `/`-separated, sorted by it), followed by `.dir`. DVC walks it
  without following symlinked folders (symlinked files are read through), leaves out
  what `.dvcignore` hides, and refuses a folder holding a `.dvcignore`.

tests/status/hashing_test.py holds each fact against the installed DVC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator

CHUNK = 2**20  # DVC's read size: the dos2unix text test is made per chunk
TEXT_PROBE = 512
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"

MD5 = "md5"
LEGACY = "md5-dos2unix"


def is_text_block(block: bytes) -> bool:
    """DVC's guess that a block is text: empty, or no NUL and at most 30% non-text bytes."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    return len(block.translate(None, _TEXT_CHARS)) / len(block) <= 0.30


def chunks_md5(chunks: Iterable[bytes], name: str = MD5) -> str:
    """The md5 of a file read as `chunks` of CHUNK bytes (the last may be shorter)."""
    hasher = hashlib.md5(usedforsecurity=False)
    for chunk in chunks:
        if name == LEGACY and is_text_block(chunk[:TEXT_PROBE]):
            chunk = chunk.replace(b"\r\n", b"\n")
        hasher.update(chunk)
    return hasher.hexdigest()


def bytes_md5(data: bytes, name: str = MD5) -> str:
    if name == MD5:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    return chunks_md5((data[i : i + CHUNK] for i in range(0, len(data), CHUNK)), name)


def read_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def folder_md5(files: Iterable[tuple[str, str]]) -> str:
    """A folder's `.dir` hash from its (relpath, md5) pairs, in any order."""
    listing = sorted(({"md5": md5, "relpath": rel} for rel, md5 in files), key=_relpath)
    text = json.dumps(listing, sort_keys=True)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest() + ".dir"


def _relpath(entry: dict[str, str]) -> str:
    return entry["relpath"]


def hash_name(lock_item: dict[str, object]) -> str:
    """The hash a lock entry's md5 was made with: `hash: md5` (DVC 3) or DVC 2's."""
    return MD5 if lock_item.get("hash") == MD5 else LEGACY


Hasher = Callable[[str, str], str]  # (repo-relative file, hash name) -> md5
