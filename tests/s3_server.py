"""A real S3-compatible server (SeaweedFS `weed mini`) on loopback for the remote tests.

It enforces the access key and secret it was started with (a wrong secret gets 403).
Every port it opens is chosen free and bound to 127.0.0.1, telemetry is off; it runs in
its own process group and is killed by group id. A test module makes its fixture with
`running_s3_server` (one server per module).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvc_gitops.core.processes import end_group

REPO = Path(__file__).resolve().parent.parent
WEED = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "weed"
STARTUP_SECONDS = 60
BUCKET = "dvc"
ACCESS_KEY = "team-access-key"
SECRET_KEY = "team-secret-key-7f3a9c"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int) -> list[int]:
    """`count` ports that are free, and so are their gRPC twins (weed uses port + 10000)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port < 55000 and port not in ports and _free(port + 10000):
            ports.append(port)
    return ports


class S3Server:
    """A running `weed mini`: its endpoint URL, keys, and a way to stop it."""

    def __init__(self, folder: Path) -> None:
        (folder / "data").mkdir(parents=True, exist_ok=True)
        s3, master, filer, volume, admin = free_ports(5)
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.filer = f"http://127.0.0.1:{filer}"
        self.access_key, self.secret_key, self.bucket = ACCESS_KEY, SECRET_KEY, BUCKET
        self.log = folder / "weed.log"
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(WEED),
                    "mini",
                    f"-dir={folder / 'data'}",
                    "-ip=127.0.0.1",
                    "-ip.bind=127.0.0.1",
                    "-master.telemetry=false",
                    "-webdav=false",
                    "-admin.ui=false",
                    f"-s3.port={s3}",
                    f"-master.port={master}",
                    f"-filer.port={filer}",
                    f"-volume.port={volume}",
                    f"-admin.port={admin}",
                    "-s3.port.iceberg=0",
                    "-s3.port.lance=0",
                    f"-bucket={BUCKET}",
                ],
                cwd=folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: killed as one
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Until the bucket exists (the S3 port opens before the bucket is made)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.filer}/buckets/{BUCKET}/", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        tail = self.log.read_text()[-2000:]
        raise RuntimeError(f"weed not ready after {STARTUP_SECONDS} s: {tail}")

    def stop(self) -> None:
        """Stop the server and every helper process it spawned (its process group)."""
        if self.process.poll() is None:
            end_group(self.process)


def running_s3_server(factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The body of a test module's fixture: one real S3 server, stopped afterwards."""
    server = S3Server(factory.mktemp("s3-server"))
    try:
        yield server
    finally:
        server.stop()
