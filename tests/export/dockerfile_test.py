"""`dvc-gitops export dockerfile`: the project's Python, requirements and pinned DVC, in a
Dockerfile that the real hadolint finds nothing to say about."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN, write_tree

from dvc_gitops.cli import main


def export(root: Path, *args: str) -> int:
    old = Path.cwd()
    os.chdir(root)
    try:
        return main(["export", "dockerfile", *args])
    finally:
        os.chdir(old)


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


TEAM = {
    ".python-version": "3.12.4\n",
    "requirements.txt": "dvc[s3]==3.67.1\npandas==3.1.1\n",
    ".dvc/config": "[core]\n    remote = store\n['remote \"store\"']\n    url = s3://bucket/dvc\n",
    "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
}


def test_a_requirements_project_gets_its_python_its_requirements_and_dvc_with_plugins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path / "repo", TEAM)
    assert export(root, "--output", "Dockerfile") == 0
    text = (root / "Dockerfile").read_text()
    assert text == (
        "# The image `dvc repro` runs in, written by `dvc-gitops export dockerfile`.\n"
        "# Do not edit: export it again after changing the pins.\n"
        "FROM python:3.12-slim\n"
        "\n"
        "ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1\n"
        "WORKDIR /repo\n"
        "\n"
        "COPY requirements.txt /tmp/requirements.txt\n"
        'RUN pip install --no-cache-dir -r /tmp/requirements.txt "dvc[s3]==3.67.1"\n'
        "\n"
        "COPY . /repo\n"
        "RUN useradd --create-home --uid 1000 dvc && chown -R dvc /repo\n"
        "USER 1000\n"
        "\n"
        'ENTRYPOINT ["dvc"]\n'
        'CMD ["repro"]\n'
    )
    done = hadolint(root / "Dockerfile")
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_this_repository_installs_itself_with_the_demo_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(REPO, "--extra", "demo") == 0
    text = capsys.readouterr().out
    assert 'RUN pip install --no-cache-dir "/repo[demo]" "dvc==3.67.1"' in text
    (tmp_path / "Dockerfile").write_text(text)
    done = hadolint(tmp_path / "Dockerfile")
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"requirements.txt": "dvc>=3\n"}, "DVC is not pinned exactly anywhere"),
        (
            {
                "requirements.txt": "dvc==3.67.1\n",
                "pyproject.toml": '[project]\nname = "x"\n'
                'version = "1"\ndependencies = ["dvc==3.66.0"]\n',
            },
            "DVC is pinned at 3.66.0, 3.67.1",
        ),
        ({".python-version": "system\n"}, "no Python version found"),
    ],
)
def test_what_the_project_does_not_say_is_not_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], says: str
) -> None:
    root = write_tree(tmp_path / "repo", {**TEAM, **change})
    assert export(root) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.splitlines()) == 1


def test_an_extra_needs_an_installable_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_tree(tmp_path / "repo", TEAM)
    assert export(root, "--extra", "demo") == 2
    assert export(root, "--extra", "bad name;rm") == 2


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0,
    reason="no container engine runs on this machine: the Dockerfile is linted, not built",
)
def test_the_image_builds_where_an_engine_runs(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", TEAM)
    assert export(root, "--output", "Dockerfile") == 0
    done = subprocess.run(
        ["docker", "build", "-t", "dvc-gitops-test", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
