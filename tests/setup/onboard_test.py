"""`dvc-gitops onboard` against the real `dvc`, `pre-commit`, and a real S3 server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import VENV_BIN, git, git_init, venv_tool, write_tree
from s3_server import S3Server, running_s3_server

from dvc_gitops.core.project import Project
from dvc_gitops.formats.dvc_config import parse
from dvc_gitops.setup.dvc_install import hook_types
from dvc_gitops.setup.onboard import Plan, TeamRemote, onboard_command, plan_changes, same_url

DVC = str(VENV_BIN / "dvc")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 server (SeaweedFS on loopback) for this module."""
    yield from running_s3_server(tmp_path_factory)


PRE_COMMIT_CONFIG = """\
default_install_hook_types: [pre-commit]
repos:
  - repo: local
    hooks:
      - id: say-hello
        name: say hello
        entry: "true"
        language: system
        stages: [pre-commit, pre-push]
"""


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a teammate's shell: no AWS keys unless given, no analytics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVC_"))}
    env.update(
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(tmp_path / "dvc-site-cache"),
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def dvc_repo(root: Path, files: Mapping[str, str]) -> Path:
    """A committed git + DVC repository with `files`, as a teammate clones it."""
    root.mkdir(parents=True)
    git_init(root, commit=False)
    subprocess.run([DVC, "init", "-q"], cwd=root, check=True, env=clean_env(root.parent))
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "team repository")
    return root


def onboard(root: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return venv_tool("dvc-gitops", root, "onboard", *args, env=env)


def dvc(root: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DVC, *args], cwd=root, env=dict(env), capture_output=True, text=True, check=False
    )


def push_and_pull(root: Path, env: Mapping[str, str], content: str) -> None:
    """A teammate's day: track a file, push it, lose the cache, pull it back."""
    (root / "data.csv").write_text(content)
    assert dvc(root, env, "add", "data.csv").returncode == 0
    pushed = dvc(root, env, "push")
    assert pushed.returncode == 0, pushed.stderr
    (root / "data.csv").unlink()
    subprocess.run(["rm", "-rf", str(root / ".dvc" / "cache")], check=True)
    pulled = dvc(root, env, "pull")
    assert pulled.returncode == 0, pulled.stderr
    assert (root / "data.csv").read_text() == content


def snapshot(root: Path) -> dict[str, bytes]:
    files = [".dvc/config", ".dvc/config.local", ".git/hooks/pre-commit", ".git/hooks/pre-push"]
    return {f: (root / f).read_bytes() for f in files if (root / f).exists()}


# -- a local directory remote -----------------------------------------------------------------


@pytest.mark.slow
def test_onboard_local_remote_then_nothing_to_change(tmp_path: Path) -> None:
    root = dvc_repo(
        tmp_path / "clone",
        {
            "pyproject.toml": '[tool.dvc-gitops.remote]\nname = "shared"\n'
            f'url = "{tmp_path / "remote-store"}"\nconfig = {{ "core.autostage" = true }}\n',
            ".pre-commit-config.yaml": PRE_COMMIT_CONFIG,
        },
    )
    env = clean_env(tmp_path)
    first = onboard(root, env, "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("Onboarding clone: remote 'shared'")
    store = tmp_path / "remote-store"
    assert f"[set]     remote 'shared': `dvc remote add shared {store}`" in lines
    assert "[set]     default remote: `dvc remote default shared`" in lines
    assert "[set]     setting core.autostage: `dvc config core.autostage true`" in lines
    answers = "[ok]      remote 'shared' answers: pushed and pulled back a 40-byte probe in "
    assert any(ln.startswith(answers) for ln in lines)
    assert (
        "[set]     git hooks pre-commit, pre-push: "
        "`pre-commit install --hook-type pre-commit --hook-type pre-push`"
    ) in lines
    assert lines[-2].startswith("Ready: 4 changes made")
    assert lines[-1] == (
        "Commit .dvc/config, so every clone gets the remote: "
        '`git add .dvc/config && git commit -m "DVC remote shared"`'
    )
    config = (root / ".dvc/config").read_text()
    assert "remote = shared" in config and "autostage = true" in config
    for hook in ("pre-commit", "pre-push"):
        assert "File generated by pre-commit" in (root / ".git/hooks" / hook).read_text()

    before = snapshot(root)
    second = onboard(root, env, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "[set]" not in second.stdout
    assert second.stdout.splitlines()[-1].startswith(
        "Ready: nothing to change, this clone was already onboarded"
    )
    assert snapshot(root) == before
    push_and_pull(root, env, "a,b\n1,2\n")


@pytest.mark.slow
def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = dvc_repo(tmp_path / "clone", {".pre-commit-config.yaml": PRE_COMMIT_CONFIG})
    before = snapshot(root)
    done = onboard(root, clean_env(tmp_path), "--dry-run", "--name", "r", "--url", "/srv/dvc")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[to do]   remote 'r': would run `dvc remote add r /srv/dvc`" in done.stdout
    assert "would run `pre-commit install --hook-type pre-commit --hook-type pre-push`" in (
        done.stdout
    )
    assert "[skipped] remote 'r' round trip (dry run)" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("Dry run: 3 changes would be made")
    assert snapshot(root) == before


@pytest.mark.slow
def test_differing_remote_needs_force_and_keeps_other_options(tmp_path: Path) -> None:
    root = dvc_repo(
        tmp_path / "clone",
        {
            ".dvc/config": "[core]\n    remote = store\n['remote \"store\"']\n"
            "    url = /old/place\n    jobs = 4\n",
        },
    )
    env = clean_env(tmp_path)
    new_url = str(tmp_path / "new-place")
    refused = onboard(root, env, "--yes", "--no-check", "--name", "store", "--url", new_url)
    assert refused.returncode == 1
    assert (
        f"[FAILED]  remote 'store' url is /old/place in .dvc/config, the team's is {new_url}: "
        f"rerun with --force to set it (`dvc remote modify store url {new_url}`)"
    ) in refused.stdout
    assert "Nothing was written" in refused.stdout
    assert "/old/place" in (root / ".dvc/config").read_text()

    forced = onboard(root, env, "--yes", "--force", "--name", "store", "--url", new_url)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    config = (root / ".dvc/config").read_text()
    assert new_url in config and "jobs = 4" in config  # `remote add -f` would drop jobs


def test_a_secret_in_tracked_options_is_refused(tmp_path: Path) -> None:
    root = dvc_repo(
        tmp_path / "clone",
        {
            "pyproject.toml": '[tool.dvc-gitops.remote]\nname = "s"\nurl = "s3://b/p"\n'
            'secret_access_key = "oops"\n'
        },
    )
    done = onboard(root, clean_env(tmp_path), "--yes")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(
        "dvc-gitops: error: 'secret_access_key' is a credential of a s3 remote"
    )
    assert "oops" not in done.stderr


def test_no_remote_configured_is_a_usage_error(tmp_path: Path) -> None:
    root = dvc_repo(tmp_path / "clone", {})
    done = onboard(root, clean_env(tmp_path), "--yes")
    assert done.returncode == 2
    assert "give --name and --url" in done.stderr


def test_hook_types_from_pre_commit_config(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".pre-commit-config.yaml": "default_stages: [commit]\nrepos:\n- repo: local\n"
            "  hooks:\n  - {id: a, entry: x, language: system, stages: [push, manual]}\n"
            "  - {id: b, entry: x, language: system, stages: [commit-msg]}\n"
        },
    )
    assert hook_types(Project(tmp_path)) == (["pre-commit", "pre-push", "commit-msg"], None)
    (tmp_path / ".pre-commit-config.yaml").write_text("default_install_hook_types: [pre-push]\n")
    assert hook_types(Project(tmp_path)) == (["pre-push"], None)
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: [\n")
    types, problem = hook_types(Project(tmp_path))
    assert types == [] and problem is not None and problem.startswith(".pre-commit-config.yaml")


# -- a real S3 server ---------------------------------------------------------------------------


def s3_project(tmp_path: Path, server: S3Server, prefix: str) -> Path:
    return dvc_repo(
        tmp_path / "clone",
        {
            "pyproject.toml": f"""\
[tool.dvc-gitops.remote]
name = "team"
url = "s3://{server.bucket}/{prefix}"
endpointurl = "{server.endpoint}"
region = "us-east-1"
credentials = {{ access_key_id = "TEAM_KEY_ID", secret_access_key = "TEAM_SECRET" }}
""",
        },
    )


# A repository's config may only name AWS's own variables, and only for AWS itself: a
# team's own names, with the endpoint of a loopback server, are the user's to choose.
TEAM_VARIABLES = (
    "--credential",
    "access_key_id=TEAM_KEY_ID",
    "--credential",
    "secret_access_key=TEAM_SECRET",
)


@pytest.mark.slow
def test_onboard_s3_keeps_secrets_local(tmp_path: Path, s3: S3Server) -> None:
    root = s3_project(tmp_path, s3, "onboard")
    env = clean_env(tmp_path, TEAM_KEY_ID=s3.access_key, TEAM_SECRET=s3.secret_key)
    first = onboard(root, env, "--yes", *TEAM_VARIABLES)
    assert first.returncode == 0, first.stdout + first.stderr
    assert s3.secret_key not in first.stdout + first.stderr
    assert (
        "[set]     credential 'secret_access_key' of remote 'team': "
        "`dvc remote modify --local team secret_access_key ***`"
    ) in first.stdout.splitlines()
    tracked = (root / ".dvc/config").read_text()
    assert s3.secret_key not in tracked and s3.access_key not in tracked
    assert f"endpointurl = {s3.endpoint}" in tracked
    local = (root / ".dvc/config.local").read_text()
    assert f"secret_access_key = {s3.secret_key}" in local
    assert git(root, "status", "--porcelain", "--ignored", ".dvc/config.local").startswith("!!")

    before = snapshot(root)
    second = onboard(root, env, "--yes", *TEAM_VARIABLES)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "[set]" not in second.stdout and "nothing to change" in second.stdout
    assert snapshot(root) == before
    # No AWS_* variables in env: DVC can only have used the --local credentials.
    push_and_pull(root, clean_env(tmp_path), "x,y\n3,4\n")


@pytest.mark.slow
def test_wrong_secret_is_a_clear_failure(tmp_path: Path, s3: S3Server) -> None:
    root = s3_project(tmp_path, s3, "wrong")
    wrong = "not-the-secret-0000"
    env = clean_env(tmp_path, TEAM_KEY_ID=s3.access_key, TEAM_SECRET=wrong)
    done = onboard(root, env, "--yes", *TEAM_VARIABLES)
    assert done.returncode == 1
    failed = [ln for ln in done.stdout.splitlines() if ln.startswith("[FAILED]")]
    assert len(failed) == 1, done.stdout
    assert failed[0].startswith(
        "[FAILED]  remote 'team' does not answer: push to remote 'team' failed: "
    )
    assert "403" in failed[0] or "Forbidden" in failed[0]
    assert failed[0].endswith(
        "check its url and access_key_id, secret_access_key "
        "(`dvc remote modify --local team KEY ***`)"
    )
    assert wrong not in done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("Not ready: 1 step failed")


@pytest.mark.slow
def test_secret_typed_at_a_hidden_prompt(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = s3_project(tmp_path, s3, "prompt")
    for key, value in clean_env(tmp_path, TEAM_KEY_ID=s3.access_key).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_") or k == "TEAM_SECRET"]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(root)
    typed = f"{s3.secret_key}\ny\n"  # the secret, then yes to the confirmation
    result = CliRunner().invoke(onboard_command, ["--no-check", *TEAM_VARIABLES], input=typed)
    assert result.exit_code == 0, result.output
    assert "secret_access_key for remote 'team' ($TEAM_SECRET is not set; input hidden)" in (
        result.output
    )
    assert s3.secret_key not in result.output
    assert s3.secret_key in (root / ".dvc/config.local").read_text()
    assert s3.secret_key not in (root / ".dvc/config").read_text()


@pytest.mark.slow
def test_credentials_are_never_written_where_git_would_commit_them(tmp_path: Path) -> None:
    root = dvc_repo(tmp_path / "clone", {".dvc/.gitignore": "/tmp\n/cache\n"})
    env = clean_env(tmp_path, TEAM_SECRET="do-not-commit-me")
    done = onboard(
        root,
        env,
        "--yes",
        "--name",
        "web",
        "--url",
        "https://dvc.example.com/store",
        "--credential",
        "password=TEAM_SECRET",
    )
    assert done.returncode == 1
    assert (
        "[FAILED]  credentials not written: git does not ignore .dvc/config.local: add the "
        "line `/config.local` to .dvc/.gitignore"
    ) in done.stdout.splitlines()
    assert "Nothing was written" in done.stdout
    assert not (root / ".dvc/config.local").exists()
    assert "web" not in (root / ".dvc/config").read_text()
    assert "do-not-commit-me" not in done.stdout + done.stderr


@pytest.mark.slow
def test_a_secret_already_in_the_tracked_config_is_reported(tmp_path: Path) -> None:
    root = dvc_repo(
        tmp_path / "clone",
        {
            ".dvc/config": "[core]\n    remote = web\n['remote \"web\"']\n"
            "    url = https://dvc.example.com/store\n    password = leaked-in-git\n",
        },
    )
    done = onboard(
        root,
        clean_env(tmp_path),
        "--yes",
        "--no-check",
        "--name",
        "web",
        "--url",
        "https://dvc.example.com/store",
    )
    assert done.returncode == 1
    assert (
        "[FAILED]  password of remote 'web' sit in the tracked .dvc/config: `dvc-gitops check "
        "--select DG701` prints the commands that move them; then rotate them"
    ) in done.stdout.splitlines()
    assert "leaked-in-git" not in done.stdout + done.stderr


# -- the plan, without running DVC ------------------------------------------------------------


def plan_for(tracked: str, local: str = "", force: bool = False, **secrets: str) -> Plan:
    remote = TeamRemote(
        "storage",
        "s3://bucket/dvc",
        options={"region": "eu-west-1"},
        credentials={"secret_access_key": "TEAM_SECRET"},
        config={"core.autostage": "true"},
    )
    return plan_changes(
        remote,
        parse(tracked, ".dvc/config"),
        parse(local, ".dvc/config.local"),
        root=Path("/repo"),
        force=force,
        secret_for=lambda key, env, have: secrets.get(key),
    )


def test_plan_for_a_fresh_clone() -> None:
    plan = plan_for("", secret_access_key="s3cr3t")
    assert [c.shown for c in plan.changes] == [
        "dvc remote add storage s3://bucket/dvc",
        "dvc remote modify storage region eu-west-1",
        "dvc remote default storage",
        "dvc remote modify --local storage secret_access_key ***",
        "dvc config core.autostage true",
    ]
    # The secret is never a DVC argument (`ps` shows argv): onboard writes it itself.
    assert plan.changes[3].args == [] and plan.changes[3].secret == "s3cr3t"
    assert plan.changes[3].local == ('remote "storage"', "secret_access_key")
    assert not plan.conflicts and not plan.problems


ONBOARDED = (
    "[core]\n    remote = storage\n    autostage = True\n['remote \"storage\"']\n"
    "    url = s3://bucket/dvc\n    region = eu-west-1\n"
)


def test_plan_when_everything_is_in_place() -> None:
    local = "['remote \"storage\"']\n    secret_access_key = s3cr3t\n"
    plan = plan_for(ONBOARDED, local, secret_access_key="s3cr3t")
    assert plan.changes == [] and plan.conflicts == [] and plan.problems == []
    assert "setting core.autostage is true" in plan.in_place  # True == true for DVC
    # Without the variable, what config.local holds is kept.
    assert plan_for(ONBOARDED, local).changes == []


def test_plan_conflicts_need_force() -> None:
    tracked = ONBOARDED.replace("eu-west-1", "us-east-1")
    local = "['remote \"storage\"']\n    secret_access_key = old\n"
    plan = plan_for(tracked, local, secret_access_key="new")
    assert plan.changes == []
    assert plan.conflicts == [
        "remote 'storage' region is us-east-1 in .dvc/config, the team's is eu-west-1: rerun "
        "with --force to set it (`dvc remote modify storage region eu-west-1`)",
        "credential 'secret_access_key' of remote 'storage' in .dvc/config.local differs from "
        "$TEAM_SECRET: rerun with --force to replace it",
    ]
    forced = plan_for(tracked, local, force=True, secret_access_key="new")
    assert [c.what for c in forced.changes] == [
        "remote 'storage' region",
        "credential 'secret_access_key' of remote 'storage'",
    ]


def test_plan_reports_a_missing_secret() -> None:
    plan = plan_for(ONBOARDED)
    assert plan.problems == [
        "credential 'secret_access_key' of remote 'storage': environment variable TEAM_SECRET "
        "is not set; export it, or run without --yes to type it"
    ]


@pytest.mark.parametrize(
    ("stored", "wanted", "same"),
    [
        ("../../store", "../store", True),  # DVC rewrites relative to .dvc/
        ("/abs/store", "/abs/store", True),
        ("../store", "../store", False),
        ("s3://b/p", "s3://b/p", True),
        ("s3://b/p", "s3://b/q", False),
    ],
)
def test_same_url(stored: str, wanted: str, same: bool) -> None:
    assert same_url(stored, wanted, Path("/work/repo")) is same
