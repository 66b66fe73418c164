"""Secrets (issue 15, items 1, 4, 5, 6 and 17): never printed in any format, never written
to a tracked file, never on a command line, never sent where the repository says.

Each test greps the secret strings out of stdout, stderr, every report format and every
file written, and runs the real console scripts and the real `dvc`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN, git, git_init, write_tree
from hostile import (
    KEY_ID,
    PASSWORD,
    SECRET_KEY,
    TOKEN,
    USER,
    answer,
    every_file_text,
    run_tool,
    serve,
    snapshot,
)

FORMATS = ["text", "json", "github", "sarif"]
SECRETS = (PASSWORD, SECRET_KEY, TOKEN)


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked"


def leaky_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".dvc/config": (
                "[core]\n    remote = s3\n"
                f"['remote \"s3\"']\n    url = s3://{KEY_ID}:{SECRET_KEY}@bucket/dvc\n"
                f"['remote \"web\"']\n    url = https://{USER}:{PASSWORD}@dvc.example.com/store\n"
                f"['remote \"tok\"']\n    url = https://{TOKEN}@dvc.example.com/store\n"
                f"['remote \"sas\"']\n    url = azure://c/p?sv=2024&sig={TOKEN}\n"
            ),
            ".dvc/.gitignore": "/config.local\n",
            "requirements.txt": "dvc==3.67.1\n",
            "dvc.yaml": "stages:\n  train:\n    cmd: echo hi\n",
        },
    )
    return git_init(root)


# -- item 1: URL credentials never printed -----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", [["check-dvc-pinned"], ["dvc-gitops", "check"]])
def test_url_credentials_never_printed(tmp_path: Path, fmt: str, command: list[str]) -> None:
    root = leaky_repo(tmp_path)
    report = tmp_path / "report.out"
    done = run_tool(command[0], root, *command[1:], "--format", fmt, "--output-file", str(report))
    shown = run_tool(command[0], root, *command[1:], "--format", fmt)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_clean(done.stdout, done.stderr, shown.stdout, shown.stderr, report.read_text())
    assert KEY_ID not in shown.stdout  # an s3 URL's user is its access key id
    if command[0] == "check-dvc-pinned":
        assert "DG506" in shown.stdout  # the finding naming the remote is there, masked
    else:
        assert "DG706" in shown.stdout


def test_doctor_never_prints_url_credentials_and_is_not_ready(tmp_path: Path) -> None:
    root = leaky_repo(tmp_path)
    for fmt in ("text", "json"):
        done = run_tool("dvc-gitops", root, "doctor", "--offline", "--format", fmt)
        assert_clean(done.stdout, done.stderr)
        assert KEY_ID not in done.stdout
        assert done.returncode == 1, done.stdout
    text = run_tool("dvc-gitops", root, "doctor", "--offline").stdout
    assert "Ready." not in text
    assert "holds a password" in text


# -- item 17: what check-dvc-config detects ----------------------------------------------------


@pytest.mark.parametrize(
    "url, what",
    [
        (f"https://{TOKEN}@host/store", "a token"),
        (f"https://host/store?token={TOKEN}", "the query parameter 'token'"),
        (f"azure://container/p?sv=2024-01-01&sig={TOKEN}", "the query parameter 'sig'"),
        (f"https://b.s3.amazonaws.com/p?X-Amz-Signature={TOKEN}", "X-Amz-Signature"),
        (f"https://{USER}:{PASSWORD}@[::1/dvc", "a password"),
    ],
)
def test_url_secrets_detected_and_masked(tmp_path: Path, url: str, what: str) -> None:
    root = tmp_path / "repo"
    key = "account_key" if url.startswith("azure") else "password"
    write_tree(
        root,
        {
            ".dvc/config": (
                f"['remote \"r\"']\n    url = {url}\n    {key} = {PASSWORD}\n"
                "['remote \"orphan\"']\n    region = x\n"
            ),
            ".dvc/.gitignore": "/config.local\n",
        },
    )
    git_init(root)
    done = run_tool("check-dvc-config", root, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "internal error" not in done.stderr
    codes = [f["code"] for f in json.loads(done.stdout)["findings"]]
    assert "DG706" in codes and "DG701" in codes and "DG705" in codes  # nothing lost
    assert what in done.stdout
    assert_clean(done.stdout, done.stderr)


def test_db_url_password_detected(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".dvc/config": f"['db \"pg\"']\n    url = postgresql://{USER}:{PASSWORD}@db/x\n",
            ".dvc/.gitignore": "/config.local\n",
        },
    )
    git_init(root)
    done = run_tool("check-dvc-config", root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DG706" in done.stdout and "db.pg" in done.stdout
    assert_clean(done.stdout, done.stderr)


def test_dg706_advice_for_s3_never_names_the_key_id(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".dvc/config": f"['remote \"s\"']\n    url = s3://{KEY_ID}:{SECRET_KEY}@bucket/p\n",
            ".dvc/.gitignore": "/config.local\n",
        },
    )
    git_init(root)
    done = run_tool("check-dvc-config", root)
    assert "DG706" in done.stdout
    assert KEY_ID not in done.stdout and SECRET_KEY not in done.stdout
    assert "access_key_id ***" in done.stdout and "secret_access_key ***" in done.stdout


# -- items 4, 5, 6: onboard --------------------------------------------------------------------


def onboard_repo(tmp_path: Path, pyproject: str = "") -> Path:
    root = tmp_path / "clone"
    root.mkdir()
    git_init(root, commit=False)
    subprocess.run([str(VENV_BIN / "dvc"), "init", "-q"], cwd=root, check=True)
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "team")
    return root


def onboard_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVC_"))}
    env.update(DVC_NO_ANALYTICS="1", PRE_COMMIT_HOME=str(tmp_path / "pc-home"), **extra)
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "web", "--url", f"https://{USER}:{PASSWORD}@host/store"],
        ["--name", "web", "--url", f"https://{TOKEN}@host/store"],
        [
            "--name",
            "s",
            "--url",
            "s3://b/p",
            "--config",
            f"remote.s.secret_access_key={SECRET_KEY}",
        ],
        ["--name", "s", "--url", "s3://b/p", "--config", f"studio.token={TOKEN}"],
        ["--name", "s", "--url", "s3://b/p", "--option", f"endpointurl=https://u:{PASSWORD}@h"],
    ],
    ids=["url-password", "url-token", "config-secret", "studio-token", "option-url"],
)
def test_onboard_refuses_a_secret_bound_for_the_tracked_config(
    tmp_path: Path, args: list[str]
) -> None:
    root = onboard_repo(tmp_path)
    before = snapshot(root / ".dvc")
    done = run_tool(
        "dvc-gitops", root, "onboard", "--yes", "--no-check", *args, env=onboard_env(tmp_path)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Ready" not in done.stdout
    assert_clean(done.stdout, done.stderr, every_file_text(root))
    assert snapshot(root / ".dvc") == before


@pytest.mark.slow
def test_onboard_keeps_secrets_off_argv_and_private(tmp_path: Path) -> None:
    root = onboard_repo(tmp_path)
    log = tmp_path / "argv.log"
    spy = tmp_path / "dvc-spy"
    spy.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {VENV_BIN / "dvc"} "$@"\n')
    spy.chmod(0o755)
    env = onboard_env(tmp_path, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    done = run_tool(
        "dvc-gitops",
        root,
        "onboard",
        "--yes",
        "--no-check",
        "--dvc",
        str(spy),
        "--name",
        "s",
        "--url",
        "s3://bucket/dvc",
        "--credential",
        "access_key_id=AWS_ACCESS_KEY_ID",
        "--credential",
        "secret_access_key=AWS_SECRET_ACCESS_KEY",
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert log.exists(), "the spy dvc ran"
    assert SECRET_KEY not in log.read_text()  # never on a command line (`ps` shows argv)
    local = root / ".dvc/config.local"
    assert SECRET_KEY in local.read_text()
    assert local.stat().st_mode & 0o777 == 0o600
    assert_clean(done.stdout, done.stderr, (root / ".dvc/config").read_text())
    # DVC itself reads what onboard wrote.
    listed = subprocess.run(
        [str(VENV_BIN / "dvc"), "config", "--list", "--local"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"remote.s.secret_access_key={SECRET_KEY}" in listed


def test_repository_cannot_pick_the_variable_or_the_host(tmp_path: Path) -> None:
    with serve(answer("200 OK", b"")) as (base, seen):
        pyproject = (
            "[tool.dvc-gitops.remote]\n"
            f'name = "web"\nurl = "{base}/store"\n'
            'credentials = { password = "GITHUB_TOKEN" }\n'
        )
        root = onboard_repo(tmp_path, pyproject)
        env = onboard_env(tmp_path, GITHUB_TOKEN=TOKEN, USER=USER)
        done = run_tool("dvc-gitops", root, "onboard", "--yes", env=env, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "GITHUB_TOKEN" in done.stderr and "--credential" in done.stderr
    assert not seen.heads, "onboard contacted the repository's server"
    assert_clean(done.stdout, done.stderr, every_file_text(root))


def test_well_known_variables_never_go_to_a_repository_endpoint(tmp_path: Path) -> None:
    pyproject = (
        "[tool.dvc-gitops.remote]\n"
        'name = "s"\nurl = "s3://bucket/dvc"\nendpointurl = "http://127.0.0.1:9"\n'
        'credentials = { access_key_id = "AWS_ACCESS_KEY_ID", '
        'secret_access_key = "AWS_SECRET_ACCESS_KEY" }\n'
    )
    root = onboard_repo(tmp_path, pyproject)
    env = onboard_env(tmp_path, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    done = run_tool("dvc-gitops", root, "onboard", "--yes", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "127.0.0.1:9" in done.stderr and "--credential" in done.stderr
    assert_clean(done.stdout, done.stderr, every_file_text(root))
