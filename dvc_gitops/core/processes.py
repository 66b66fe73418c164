"""Running DVC (or any tool) so that a timeout ends it and everything it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ran:
    """How a command ended: its output, or why it did not start or finish."""

    returncode: int | None  # None when it could not start or was stopped
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    start_error: str | None = None  # why it could not start (the OS's words)
    timed_out: bool = False


def run_in_group(
    command: Sequence[str],
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Ran:
    """Run `command` in a process group of its own; on timeout the whole group is stopped."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return Ran(None, start_error=str(exc.strerror or exc))
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_group(process)
        return Ran(None, seconds=time.monotonic() - started, timed_out=True)
    return Ran(process.returncode, stdout, stderr, time.monotonic() - started)


def end_group(process: subprocess.Popen[str]) -> None:
    """Stop a process and its children: TERM, a short grace, then KILL; reap it."""
    if os.name == "nt":  # no process groups to signal: end the process itself
        process.kill()
        process.communicate()
        return
    for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            process.communicate(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # The leader may be gone while a child still holds the pipes: kill what is left.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    process.wait()
