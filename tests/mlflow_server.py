"""A real `mlflow server` on loopback for the tests and the bench, started once per session.

The server gets a fresh SQLite database and artifact folder, runs in its own process
group (it spawns workers), and is killed by group id. `seed()` sets up the server state a
test needs (experiments, deleted ones, runs with tags) through the REST API.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from dvc_gitops.core.processes import end_group
from dvc_gitops.mlflow.rest import MlflowRest

REPO = Path(__file__).resolve().parent.parent
MLFLOW = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "mlflow"
STARTUP_SECONDS = 120
AUTH_PASSWORD = "dvc-gitops-Test-pw1"


def server_env() -> dict[str, str]:
    """The environment of the server: no background job runners, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MlflowServer:
    """A running tracking server: its URI, a REST client, and a way to stop it."""

    def __init__(self, folder: Path, admin_password: str | None = None) -> None:
        """`admin_password`: run MLflow's basic-auth app, with user `admin` (needs Flask-WTF)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        env = server_env()
        app: list[str] = []
        client_env: dict[str, str] = {}
        if admin_password is not None:
            config = folder / "basic_auth.ini"
            config.write_text(
                "[mlflow]\ndefault_permission = READ\n"
                f"database_uri = sqlite:///{(folder / 'auth.db').resolve()}\n"
                "admin_username = admin\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
            env["MLFLOW_AUTH_ADMIN_PASSWORD"] = admin_password
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "dvc-gitops-tests-only"
            app = ["--app-name", "basic-auth"]
            client_env = {"MLFLOW_TRACKING_USERNAME": "admin"}
            client_env["MLFLOW_TRACKING_PASSWORD"] = admin_password
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(MLFLOW),
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{(folder / 'mlflow.db').resolve()}",
                    "--default-artifact-root",
                    str((folder / "artifacts").resolve()),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                    *app,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own process group: killed as one
            )
        self.rest = MlflowRest(self.uri, timeout=10, env=client_env)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log.read_text()[-2000:]}")
            if self.rest.health()[0]:
                return
            time.sleep(0.5)
        raise RuntimeError(f"mlflow server not healthy after {STARTUP_SECONDS} s")

    def stop(self) -> None:
        """Stop the server and every helper process it spawned (its process group)."""
        if self.process.poll() is None:
            end_group(self.process)

    # server state ----------------------------------------------------------------------
    def create_experiment(self, name: str) -> str:
        answer = self.rest.call("POST", "experiments/create", body={"name": name})
        return str(answer["experiment_id"])

    def delete_experiment(self, experiment_id: str) -> None:
        self.rest.call("POST", "experiments/delete", body={"experiment_id": experiment_id})

    def create_run(self, experiment_id: str, tags: Mapping[str, str]) -> str:
        answer = self.rest.call(
            "POST",
            "runs/create",
            body={
                "experiment_id": experiment_id,
                "start_time": int(time.time() * 1000),
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            },
        )
        return str(answer["run"]["info"]["run_id"])

    def seed(self, spec: Mapping[str, Any]) -> None:
        """`{"experiments": [{"name", "deleted"?, "runs"?: [{"tags": {...}}]}]}`."""
        for experiment in spec.get("experiments", []):
            experiment_id = self.create_experiment(experiment["name"])
            for run in experiment.get("runs", []):
                self.create_run(experiment_id, run.get("tags", {}))
                time.sleep(0.01)  # distinct start times: "latest" is well defined
            if experiment.get("deleted"):
                self.delete_experiment(experiment_id)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real tracking server for the whole test session."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real tracking server running MLflow's basic-auth app (user admin), once a session."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-auth-server"), AUTH_PASSWORD)
    try:
        yield server
    finally:
        server.stop()
