"""check-mlflow-map end to end: offline rules through `main`, online against a real server.

The online tests use the session's real `mlflow server` (tests/mlflow_server.py), and for
credentials a second one running MLflow's own basic-auth app. A loopback stdlib server that
answers 401 also records the exact Authorization header our client sends (basic and
bearer: the basic-auth app has no tokens).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from mlflow_server import AUTH_PASSWORD, MlflowServer

from dvc_gitops.cli import main as cli_main
from dvc_gitops.hooks.check_mlflow_map import main
from dvc_gitops.mlflow.rest import MlflowError, MlflowRest

REPO_FILES = {
    "dvc.yaml": "stages:\n"
    "  train:\n    cmd: python train.py\n"
    "  evaluate:\n    cmd: python evaluate.py\n"
    "  prep:\n    cmd: python prep.py\n",
    "train.py": "import mlflow\nmlflow.set_experiment('churn-train')\n",
    "evaluate.py": "from dvc_gitops.mlflow import start_run\n",
    "prep.py": "print('no tracking')\n",
}


def a_map(**experiments: str) -> str:
    lines = ["version: 1", "stages:"]
    lines += [f"  {stage}:\n    experiment: {name}" for stage, name in experiments.items()]
    return "\n".join(lines) + "\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["--format", "json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out)["findings"] if out.strip() else []


@pytest.fixture
def repo(make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]) -> Callable[[str], Path]:
    def make(map_text: str, **extra: str) -> Path:
        return in_dir(make_repo({**REPO_FILES, "mlflow-experiments.yaml": map_text, **extra}))

    return make


def test_true_map_is_clean(repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo(a_map(train="churn-train", evaluate="churn-eval"))
    assert run([], capsys) == (0, [])


def test_each_offline_rule(repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo(
        "version: 1\ntracking_uri: ./mlruns\nstages:\n"
        "  train: {experiment: churn}\n  gone: {experiment: x}\n  prep: {experimnt: y}\n"
    )
    code, findings = run([], capsys)
    assert code == 1
    assert sorted((f["code"], f["path"], f["line"]) for f in findings) == [
        ("DG601", "mlflow-experiments.yaml", 6),  # experiment missing
        ("DG601", "mlflow-experiments.yaml", 6),  # unknown key experimnt
        ("DG602", "mlflow-experiments.yaml", 5),
        ("DG603", "dvc.yaml", 4),  # evaluate uses the helper but is not mapped
        ("DG604", "train.py", 2),
        ("DG606", "mlflow-experiments.yaml", 2),
    ]


def test_select_and_ignore(repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo(a_map(train="other"))
    assert [f["code"] for f in run(["--select", "DG604"], capsys)[1]] == ["DG604"]
    assert [f["code"] for f in run(["--ignore", "DG604"], capsys)[1]] == ["DG603"]


def test_inline_suppression_in_a_script(
    repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo(
        a_map(train="other", evaluate="e"),
        **{
            "train.py": "import mlflow\n"
            "mlflow.set_experiment('churn-train')  # dvc-gitops: ignore[DG604]\n"
        },
    )
    assert run([], capsys) == (0, [])


def test_dvc_gitops_check_runs_it_offline(
    repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo(a_map(train="other", evaluate="e"))
    assert cli_main(["check", ".", "--select", "DG6"]) == 1
    assert "train.py:2:1: DG604 set_experiment() logs to experiment 'churn-train'" in (
        capsys.readouterr().out
    )


def test_no_map_and_no_mlflow_is_clean(
    make_repo: Callable[..., Path],
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_dir(make_repo({"dvc.yaml": "stages:\n  a:\n    cmd: python a.py\n", "a.py": ""}))
    assert run([], capsys) == (0, [])


def test_broken_dvc_yaml_does_not_make_entries_unknown(
    repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo(a_map(train="churn-train"), **{"dvc.yaml": "stages: [\n"})
    assert run(["--select", "DG602"], capsys) == (0, [])


def test_unreadable_map_is_dg002(
    repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo(a_map(train="churn-train"))
    (root / "mlflow-experiments.yaml").unlink()
    (root / "mlflow-experiments.yaml").mkdir()
    code, findings = run([], capsys)
    assert (code, [f["code"] for f in findings]) == (1, ["DG002"])


@pytest.mark.parametrize(
    ("argv", "config", "message"),
    [
        (["--online"], "", "--online needs an http(s) tracking server"),
        (["--timeout", "0"], "", "Invalid value for '--timeout'"),
        ([], "[tool.dvc-gitops.mlflow]\ntimeout = 'soon'\n", "'timeout' in"),
        ([], "[tool.dvc-gitops.mlflow]\nonlin = true\n", "did you mean 'online'"),
    ],
)
def test_usage_errors_exit_2(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    config: str,
    message: str,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    repo(a_map(train="churn-train"), **{"pyproject.toml": config})
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_config_online_without_a_server_stays_offline(
    repo: Callable[..., Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    repo(
        a_map(train="churn-train", evaluate="e"),
        **{"pyproject.toml": "[tool.dvc-gitops.mlflow]\nonline = true\n"},
    )
    assert run([], capsys) == (0, [])


# online, against the real server -----------------------------------------------------------
@pytest.mark.slow
def test_online_existing_missing_deleted(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_server: MlflowServer,
) -> None:
    mlflow_server.create_experiment("t-exists")
    gone = mlflow_server.create_experiment("t-deleted")
    mlflow_server.delete_experiment(gone)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    repo(a_map(train="t-exists", evaluate="t-deleted", prep="t-missing"))
    code, findings = run(["--online", "--ignore", "DG604"], capsys)
    assert code == 1
    assert [(f["code"], f["line"]) for f in findings] == [("DG609", 6), ("DG608", 8)]
    assert "'t-deleted' (stage 'evaluate') is deleted on" in findings[0]["message"]
    assert "'t-missing' (stage 'prep') does not exist on" in findings[1]["message"]


@pytest.mark.slow
def test_online_latest_run_from_another_stage(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_server: MlflowServer,
) -> None:
    shared = mlflow_server.create_experiment("t-runs")
    mlflow_server.create_run(shared, {"dvc.stage": "train"})
    mlflow_server.create_run(shared, {"note": "an untagged run is not evidence"})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    repo(a_map(train="t-runs", evaluate="t-runs"))
    assert run(["--online", "--ignore", "DG604"], capsys) == (0, [])
    mlflow_server.create_run(shared, {"dvc.stage": "prep"})  # prep is not mapped at all
    code, findings = run(["--online", "--ignore", "DG604"], capsys)
    assert (code, [f["code"] for f in findings]) == (1, ["DG610"])
    assert "logged by stage 'prep'" in findings[0]["message"]
    assert "the map lacks that stage" in findings[0]["message"]


@pytest.mark.slow
def test_online_checks_experiment_ids_the_code_picks(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_server: MlflowServer,
) -> None:
    right = mlflow_server.create_experiment("t-by-id")
    wrong = mlflow_server.create_experiment("t-by-id-other")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    script = "import mlflow\nmlflow.start_run(experiment_id='{}')\n"
    repo(a_map(train="t-by-id", evaluate="t-by-id"), **{"train.py": script.format(right)})
    assert [f["code"] for f in run([], capsys)[1]] == ["DG605"]  # offline: said, not guessed
    assert run(["--online"], capsys) == (0, [])  # online: the id is the mapped experiment
    for other, named in ((wrong, "experiment 't-by-id-other'"), ("999999", "no experiment")):
        (Path.cwd() / "train.py").write_text(script.format(other))
        code, findings = run(["--online"], capsys)
        assert (code, [(f["code"], f["path"], f["line"]) for f in findings]) == (
            1,
            [("DG604", "train.py", 2)],
        )
        assert f"picks experiment id '{other}', which is {named} on" in findings[0]["message"]


@pytest.mark.slow
def test_online_uses_the_maps_tracking_uri(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_server: MlflowServer,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow_server.create_experiment("t-from-map")
    repo(f"tracking_uri: {mlflow_server.uri}\n" + a_map(train="t-from-map", evaluate="t-from-map"))
    assert run(["--online", "--ignore", "DG604"], capsys) == (0, [])


@pytest.mark.slow
def test_config_online_with_env_server(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_server: MlflowServer,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    repo(
        a_map(train="t-config-missing", evaluate="t-config-missing"),
        **{"pyproject.toml": "[tool.dvc-gitops.mlflow]\nonline = true\n"},
    )
    assert [f["code"] for f in run(["--ignore", "DG604"], capsys)[1]] == ["DG608"]


def test_unreachable_server(
    repo: Callable[..., Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    repo(a_map(train="churn-train", evaluate="e"))
    code, findings = run(["--online"], capsys)
    assert (code, [(f["code"], f["severity"]) for f in findings]) == (1, [("DG607", "error")])
    assert "Connection refused" in findings[0]["message"]
    code, findings = run(["--online", "--offline-ok"], capsys)
    assert (code, [(f["code"], f["severity"]) for f in findings]) == (0, [("DG607", "notice")])
    Path("pyproject.toml").write_text("[tool.dvc-gitops.mlflow]\noffline-ok = true\n")
    code, findings = run(["--online"], capsys)  # the same, from the config
    assert (code, [(f["code"], f["severity"]) for f in findings]) == (0, [("DG607", "notice")])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_timeout(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    silent_server: str,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", silent_server)
    repo(a_map(train="churn-train", evaluate="e"))
    code, findings = run(["--online", "--timeout", "0.3"], capsys)
    assert (code, [f["code"] for f in findings]) == (1, ["DG607"])
    assert "did not answer within 0.3 s" in findings[0]["message"]


class _Refusing(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        _Refusing.seen.append(self.headers.get("Authorization"))
        body = b'{"error_code": "UNAUTHENTICATED", "message": "You are not authenticated."}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A loopback HTTP server that answers 401 and records the Authorization it got."""
    _Refusing.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("env", "header", "said"),
    [
        (
            {"MLFLOW_TRACKING_USERNAME": "ana", "MLFLOW_TRACKING_PASSWORD": "wrong"},
            "Basic " + base64.b64encode(b"ana:wrong").decode(),
            "basic credentials were refused",
        ),
        ({"MLFLOW_TRACKING_TOKEN": "tok"}, "Bearer tok", "bearer credentials were refused"),
        ({}, None, "no credentials were sent"),
    ],
)
def test_bad_credentials(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    refusing_server: str,
    env: dict[str, str],
    header: str | None,
    said: str,
) -> None:
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", refusing_server)
    repo(a_map(train="churn-train", evaluate="e"))
    code, findings = run(["--online", "--offline-ok"], capsys)
    assert (code, [f["code"] for f in findings]) == (1, ["DG611"])  # offline-ok: not for auth
    assert f"answered 401 Unauthorized: {said}" in findings[0]["message"]
    assert _Refusing.seen and set(_Refusing.seen) == {header}  # every request carried it


@pytest.mark.slow
@pytest.mark.parametrize(
    ("user", "password", "outcome"),
    [
        ("admin", AUTH_PASSWORD, None),
        ("admin", "wrong", "answered 401 Unauthorized: basic credentials were refused"),
        ("nobody", AUTH_PASSWORD, "answered 401 Unauthorized: basic credentials were refused"),
        (None, None, "answered 401 Unauthorized: no credentials were sent"),
    ],
)
def test_credentials_against_mlflows_basic_auth_app(
    repo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mlflow_auth_server: MlflowServer,
    user: str | None,
    password: str | None,
    outcome: str | None,
) -> None:
    if mlflow_auth_server.rest.experiment_by_name("t-auth") is None:
        mlflow_auth_server.create_experiment("t-auth")
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if user and password:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_auth_server.uri)
    repo(a_map(train="t-auth", evaluate="t-auth"))
    code, findings = run(["--online", "--ignore", "DG604"], capsys)
    if outcome is None:
        assert (code, findings) == (0, [])
    else:
        assert (code, [f["code"] for f in findings]) == (1, ["DG611"])
        assert outcome in findings[0]["message"]


@pytest.mark.slow
def test_rest_client_against_the_real_server(mlflow_server: MlflowServer) -> None:
    client = MlflowRest(mlflow_server.uri, timeout=5, env={})
    assert client.health() == (True, "OK")
    assert client.experiment_by_name("Default")["experiment_id"] == "0"  # type: ignore[index]
    assert client.experiment_by_name("t-never-created") is None
    with pytest.raises(MlflowError) as caught:
        client.call("GET", "experiments/get-by-name")
    assert (caught.value.kind, caught.value.status) == ("http", 400)
    assert "experiment_name" in caught.value.message


def test_rest_client_refuses_non_http_uris() -> None:
    with pytest.raises(ValueError, match="not an http"):
        MlflowRest("sqlite:///mlflow.db")


@pytest.mark.parametrize(
    ("env", "authorization", "verifies"),
    [
        ({}, None, True),
        ({"MLFLOW_TRACKING_USERNAME": "u"}, "Basic " + base64.b64encode(b"u:").decode(), True),
        ({"MLFLOW_TRACKING_TOKEN": "t", "MLFLOW_TRACKING_USERNAME": "u"}, "Bearer t", True),
        ({"MLFLOW_TRACKING_INSECURE_TLS": "true"}, None, False),
    ],
)
def test_rest_client_reads_mlflows_environment(
    env: dict[str, str], authorization: str | None, verifies: bool
) -> None:
    client = MlflowRest("https://mlflow.example.invalid/", env=env)
    assert client.uri == "https://mlflow.example.invalid"
    assert client.headers.get("Authorization") == authorization
    assert (client.context is None) is verifies
