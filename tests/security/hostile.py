"""Hostile things for the security tests: loopback servers that redirect, drip, flood and
speak garbage, a repository factory, and the runner of our console scripts.

Every server binds 127.0.0.1 on a free port, runs in a daemon thread, and records what it
was sent (request lines and headers), so a test can prove a credential never arrived.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"

USER = "alice"
PASSWORD = "Pw-s3cr3t-9f8e7d"
TOKEN = "tok-5ecret-a1b2c3"
KEY_ID = "AKIAEXAMPLEKEYID0001"
SECRET_KEY = "wJalrXUtnFEMI-SECRET-K7MDENG"
SECRETS = (PASSWORD, TOKEN, SECRET_KEY)


@dataclass
class Seen:
    """What a server was sent: one entry per request, its raw head (request line and
    headers) as text."""

    heads: list[str] = field(default_factory=list)

    def any_contains(self, text: str) -> bool:
        return any(text.lower() in head.lower() for head in self.heads)


Behaviour = Callable[[socket.socket, str, Seen], None]


class _Handler(socketserver.BaseRequestHandler):
    behaviour: Behaviour
    seen: Seen
    tls: ssl.SSLContext | None = None

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return
        head = _read_head(sock)
        self.seen.heads.append(head)
        with contextlib.suppress(OSError):  # the client hung up, as it should
            type(self).behaviour(sock, head, self.seen)


def _read_head(sock: socket.socket) -> str:
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data.decode("latin-1")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def serve(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, Seen]]:
    """A loopback server acting out `behaviour` (over TLS with `tls`); yields (base URL,
    what it was sent)."""
    seen = Seen()
    handler = type(
        "Handler",
        (_Handler,),
        {"behaviour": staticmethod(behaviour), "seen": seen, "tls": tls},
    )
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def answer(status: str, body: bytes, headers: Mapping[str, str] | None = None) -> Behaviour:
    def act(sock: socket.socket, _head: str, _seen: Seen) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    return act


def redirect(location: str, status: str = "302 Found") -> Behaviour:
    return answer(status, b"", {"Location": location})


def drip(interval: float = 1.0, total: int = 120) -> Behaviour:
    """A 200 whose body arrives one byte every `interval` seconds: each read is quick,
    the whole never ends."""

    def act(sock: socket.socket, _head: str, _seen: Seen) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(total):
            sock.sendall(b"O")
            time.sleep(interval)

    return act


def drip_head(interval: float = 1.0, total: int = 120) -> Behaviour:
    """The status line itself, one byte every `interval` seconds."""

    def act(sock: socket.socket, _head: str, _seen: Seen) -> None:
        for char in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * total:
            sock.sendall(bytes([char]))
            time.sleep(interval)

    return act


def flood(megabytes: int = 400, escape: bool = True) -> Behaviour:
    """A 200 that sends `megabytes` MB without a Content-Length (read until close), with
    terminal escape codes up front."""

    def act(sock: socket.socket, _head: str, _seen: Seen) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        if escape:
            sock.sendall(b"\x1b]0;pwned\x07\x1b[2J\x1b[31mOWNED\r")
        block = b"A" * (1024 * 1024)
        for _ in range(megabytes):
            sock.sendall(block)

    return act


def garbage(data: bytes = b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\x1b[31mnot http\r\n") -> Behaviour:
    def act(sock: socket.socket, _head: str, _seen: Seen) -> None:
        sock.sendall(data)

    return act


def run_tool(
    name: str,
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one of our console scripts (`dvc-gitops`, `check-dvc-config`...) in `cwd`."""
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full.pop("GITHUB_ACTIONS", None)
    full.pop("MLFLOW_TRACKING_URI", None) if "MLFLOW_TRACKING_URI" not in (env or {}) else None
    return subprocess.run(
        [str(VENV_BIN / name), *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec,
    )


def every_file_text(root: Path) -> str:
    """Every file below `root` (outside .git), as one text: to grep secrets out of."""
    parts = []
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts[:1] or not path.is_file():
            continue
        parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, byte for byte (to prove nothing outside changed)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
