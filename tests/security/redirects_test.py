"""The MLflow client against hostile servers (issue 15, items 2, 3 and 15).

Real loopback servers: one redirects to another host (which must never see our
credentials), one redirects https -> http, one drips a byte at a time, one floods 400 MB
with terminal escapes, one speaks SSH instead of HTTP. Each is met by the real console
scripts (`check-mlflow-map --online`, `dvc-gitops doctor`) in a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import git_init, write_tree
from hostile import (
    PASSWORD,
    TOKEN,
    USER,
    VENV_BIN,
    answer,
    drip,
    drip_head,
    flood,
    garbage,
    redirect,
    run_tool,
    serve,
)

MAP = "version: 1\nstages:\n  train:\n    experiment: exp-train\n"
DVC_YAML = "stages:\n  train:\n    cmd: echo train\n"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
FOUND = json.dumps(
    {"experiment": {"experiment_id": "1", "name": "exp-train", "lifecycle_stage": "active"}}
).encode()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_tree(root, {"mlflow-experiments.yaml": MAP, "dvc.yaml": DVC_YAML})
    return git_init(root)


def online(project: Path, uri: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_tool(
        "check-mlflow-map", project, "--online", *args, env={"MLFLOW_TRACKING_URI": uri, **env}
    )


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (PASSWORD, TOKEN, BASIC):
            assert secret not in text


# -- item 2: a tracking URI with user:password is never printed -------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_tracking_uri_password_masked_in_every_format(project: Path, fmt: str) -> None:
    with serve(answer("404 Not Found", b'{"error_code": "RESOURCE_DOES_NOT_EXIST"}')) as (
        base,
        seen,
    ):
        uri = base.replace("://", f"://{USER}:{PASSWORD}@")
        report = project / "report.out"
        done = online(project, uri, "--format", fmt, "--output-file", str(report))
        printed = online(project, uri, "--format", fmt)
    assert done.returncode == 1, done.stderr
    assert "exp-train" in report.read_text()  # the finding is there...
    assert_no_secret(done.stdout, done.stderr, printed.stdout, printed.stderr, report.read_text())
    assert "on http://127.0.0.1:" in printed.stdout  # ...naming the server, no userinfo
    assert seen.any_contains(f"Authorization: Basic {BASIC}")  # sent as a header, once


def test_unparseable_tracking_uri_is_masked_and_exit_2(project: Path) -> None:
    done = online(project, f"http://{USER}:{PASSWORD}@[::1/x")
    assert done.returncode == 2, done.stderr
    assert_no_secret(done.stdout, done.stderr)


# -- item 3: credentials never follow a redirect to another host ------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        {"MLFLOW_TRACKING_TOKEN": TOKEN},
        {"MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": PASSWORD},
    ],
    ids=["bearer", "basic"],
)
@pytest.mark.parametrize(
    "status", ["302 Found", "307 Temporary Redirect", "308 Permanent Redirect"]
)
def test_redirect_to_another_host_gets_no_credentials(
    project: Path, auth: dict[str, str], status: str
) -> None:
    with (
        serve(answer("200 OK", FOUND)) as (elsewhere, stolen),
        serve(redirect(elsewhere + "/steal", status)) as (base, seen),
    ):
        done = online(project, base, **auth)
    assert stolen.heads, "the redirect was followed"
    assert seen.any_contains("Authorization:")  # the configured host does get them
    assert not stolen.any_contains("Authorization")
    assert_no_secret(*stolen.heads, done.stdout, done.stderr)


def test_doctor_sends_no_credentials_across_a_redirect(project: Path) -> None:
    with (
        serve(answer("200 OK", b"OK")) as (elsewhere, stolen),
        serve(redirect(elsewhere + "/health")) as (base, _seen),
    ):
        uri = base.replace("://", f"://{USER}:{PASSWORD}@")
        done = run_tool(
            "dvc-gitops",
            project,
            "doctor",
            "--timeout",
            "10",
            env={"MLFLOW_TRACKING_URI": uri, "MLFLOW_TRACKING_TOKEN": TOKEN},
        )
    assert stolen.heads
    assert not stolen.any_contains("Authorization")
    assert_no_secret(done.stdout, done.stderr)


def _tls_context(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_https_to_http_downgrade_refused(project: Path, tmp_path: Path) -> None:
    context, cert = _tls_context(tmp_path)
    with (
        serve(answer("200 OK", FOUND)) as (plain, stolen),
        serve(redirect(plain + "/x"), tls=context) as (base, seen),
    ):
        done = online(
            project,
            base,
            MLFLOW_TRACKING_SERVER_CERT_PATH=str(cert),
            MLFLOW_TRACKING_TOKEN=TOKEN,
        )
    assert seen.heads, done.stderr  # the TLS exchange itself worked
    assert not stolen.heads  # the downgrade was not followed at all
    assert done.returncode == 1, done.stderr
    assert "https to http" in done.stdout
    assert_no_secret(done.stdout, done.stderr)


# -- item 15: one deadline, a capped body, garbage is a finding -------------------------------


@pytest.mark.parametrize("behaviour", [drip, drip_head], ids=["body", "status-line"])
def test_drip_server_cannot_outlast_the_timeout(project: Path, behaviour: object) -> None:
    with serve(behaviour(interval=0.5)) as (base, _seen):  # type: ignore[operator]
        started = time.monotonic()
        done = online(project, base, "--timeout", "3")
        took = time.monotonic() - started
    assert took < 3 + 5, f"took {took:.1f} s"  # 3 s of patience, start-up on top
    assert done.returncode == 1, done.stderr
    assert "did not answer within 3 s" in done.stdout


def _peak_rss_mb(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str, int]:
    """Run `args` in a child, return its peak memory (MB), its output and exit code."""
    probe = (
        "import resource, subprocess, sys, json\n"
        "done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps([peak, done.stdout + done.stderr, done.returncode]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    peak, text, code = json.loads(out)
    return peak, text, code


@pytest.mark.parametrize("command", ["map", "doctor"])
def test_flood_is_capped_and_escapes_never_printed(project: Path, command: str) -> None:
    with serve(flood(400)) as (base, _seen):
        args = (
            [str(VENV_BIN / "check-mlflow-map"), "--online", "--timeout", "30"]
            if command == "map"
            else [str(VENV_BIN / "dvc-gitops"), "doctor", "--timeout", "30"]
        )
        peak, text, code = _peak_rss_mb(args, project, {"MLFLOW_TRACKING_URI": base})
    assert peak < 250, f"{peak:.0f} MB"
    assert code in (1,), text
    assert "\x1b" not in text and "\x07" not in text
    assert len(text) < 5000
    if command == "doctor":
        assert "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" * 10 not in text


def test_server_error_excerpt_is_short_and_escaped(project: Path) -> None:
    body = json.dumps(
        {"error_code": "INTERNAL_ERROR", "message": "\x1b[2J\x1b]0;x\x07boom " + "B" * 5000}
    ).encode()
    with serve(answer("500 Internal Server Error", body)) as (base, _seen):
        done = online(project, base)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "B" * 300 not in done.stdout
    assert "boom" in done.stdout


@pytest.mark.parametrize("offline_ok, code", [(False, 1), (True, 0)])
def test_non_http_reply_is_a_finding_not_a_crash(
    project: Path, offline_ok: bool, code: int
) -> None:
    with serve(garbage()) as (base, _seen):
        done = online(project, base, *(["--offline-ok"] if offline_ok else []))
    assert done.returncode == code, done.stdout + done.stderr
    assert "internal error" not in done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "DG6" in done.stdout


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_timeout_nan_is_a_usage_error(project: Path, value: str) -> None:
    done = online(project, "http://127.0.0.1:9", "--timeout", value)
    assert done.returncode == 2, done.stdout + done.stderr
    doctor = run_tool("dvc-gitops", project, "doctor", "--timeout", value)
    assert doctor.returncode == 2, doctor.stdout + doctor.stderr
