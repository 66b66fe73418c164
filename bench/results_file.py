"""bench/RESULTS.md: each benchmark script owns one section and rewrites only that one."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(section: str, text: str, keep_from: str | None = None) -> None:
    """Replace (or add) `<!-- section: SECTION -->` of RESULTS.md with `text`.

    With `keep_from`, the part of the old section from that line on (a hand-written
    reading of the figures) is kept after the new text. A new section goes at the end.
    """
    start, end = f"<!-- section: {section} -->", f"<!-- end section: {section} -->"
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    found = pattern.search(old)
    kept = ""
    if found and keep_from:
        kept = found.group(0).partition(keep_from)[2].rpartition(end)[0]
    written = f"{text.rstrip()}\n\n{keep_from}{kept}" if kept else text
    block = f"{start}\n{written.rstrip()}\n{end}\n"
    if found:
        RESULTS.write_text(pattern.sub(lambda _m: block, old))
    else:
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + block)
