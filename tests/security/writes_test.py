"""Writes (issue 15, items 11-13): atomic, inside the repository, and faithful to what
DVC reads. Failing writes are provoked for real with a file-size limit (`ulimit -f`) in
the child process; symlinks out of the repository are committed; DVC's own parser judges
the values before and after a fix.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN, git_init, write_tree
from hostile import KEY_ID, SECRET_KEY, run_tool, snapshot

REMOTES = 300
CREDENTIAL_CONFIG = f"['remote \"s\"']\n    url = s3://b/p\n    secret_access_key = {SECRET_KEY}\n"


def _many_credentials() -> tuple[str, str]:
    """A tracked config with one credential to move, and a config.local of 300 pairs."""
    tracked = "[core]\n    remote = r0\n"
    local = ""
    for n in range(REMOTES):
        tracked += f"['remote \"r{n}\"']\n    url = s3://bucket-{n}/dvc\n"
        local += (
            f"['remote \"r{n}\"']\n    access_key_id = {KEY_ID}{n:04d}\n"
            f"    secret_access_key = {SECRET_KEY}{n:04d}\n"
        )
    tracked += "['remote \"extra\"']\n    url = s3://extra/dvc\n"
    tracked += f"    secret_access_key = {SECRET_KEY}-moved\n"
    return tracked, local


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_failing_write_leaves_every_file_whole(tmp_path: Path) -> None:
    tracked, local = _many_credentials()
    root = tmp_path / "repo"
    write_tree(
        root,
        {".dvc/config": tracked, ".dvc/config.local": local, ".dvc/.gitignore": "/config.local\n"},
    )
    git_init(root)
    (root / ".dvc/config.local").chmod(0o600)
    before = snapshot(root / ".dvc")
    limit = len(local.encode()) + 10  # the new config.local is longer than this
    done = run_tool("check-dvc-config", root, "--fix", preexec=_limit_file_size(limit))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot write .dvc/config.local" in done.stderr, done.stderr
    assert snapshot(root / ".dvc") == before  # both files exactly as they were
    assert not [p for p in (root / ".dvc").iterdir() if "tmp" in p.name]  # no litter
    assert (root / ".dvc/config.local").stat().st_mode & 0o777 == 0o600
    assert SECRET_KEY not in done.stdout + done.stderr


def test_a_successful_fix_keeps_the_mode_and_moves_the_secret(tmp_path: Path) -> None:
    tracked, local = _many_credentials()
    root = tmp_path / "repo"
    write_tree(
        root,
        {".dvc/config": tracked, ".dvc/config.local": local, ".dvc/.gitignore": "/config.local\n"},
    )
    git_init(root)
    (root / ".dvc/config.local").chmod(0o600)
    done = run_tool("check-dvc-config", root, "--fix")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{SECRET_KEY}-moved" in (root / ".dvc/config.local").read_text()
    assert f"{SECRET_KEY}-moved" not in (root / ".dvc/config").read_text()
    assert (root / ".dvc/config.local").read_text().count("secret_access_key") == REMOTES + 1
    assert (root / ".dvc/config.local").stat().st_mode & 0o777 == 0o600


def test_a_new_config_local_is_private(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".dvc/config": CREDENTIAL_CONFIG,
            ".dvc/.gitignore": "/config.local\n",
        },
    )
    git_init(root)
    done = run_tool("check-dvc-config", root, "--fix")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (root / ".dvc/config.local").stat().st_mode & 0o777 == 0o600


def test_failing_write_of_a_dvc_yaml_fix_leaves_it_whole(tmp_path: Path) -> None:
    stages = "".join(
        f"  s{n}:\n    cmd: python src/s{n}.py\n    outs:\n    - out/{n}.txt\n" for n in range(50)
    )
    files = {"dvc.yaml": "stages:\n" + stages, ".dvc/config": ""}
    files.update({f"src/s{n}.py": "print(1)\n" for n in range(50)})
    root = write_tree(tmp_path / "repo", files)
    git_init(root)
    before = (root / "dvc.yaml").read_bytes()
    done = run_tool("check-dvc-deps", root, "--fix", preexec=_limit_file_size(len(before) + 10))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert (root / "dvc.yaml").read_bytes() == before


# -- item 12: never through a symlink out of the repository -----------------------------------


def _outside(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "outside",
        {
            "dvc-folder/config": CREDENTIAL_CONFIG,
            "dvc-folder/.gitignore": "/config.local\n",
            "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
            "requirements.txt": "dvc>=3\n",
            "README.md": "# x\n<!-- dvc-gitops:dag:start -->\n<!-- dvc-gitops:dag:end -->\n",
        },
    )


@pytest.mark.parametrize(
    "link, target, command",
    [
        (".dvc", "dvc-folder", ["check-dvc-config", "--fix"]),
        ("dvc.yaml", "dvc.yaml", ["check-dvc-deps", "--fix"]),
        ("requirements.txt", "requirements.txt", ["check-dvc-pinned", "--fix"]),
        ("README.md", "README.md", ["dvc-dag-docs"]),
    ],
)
def test_symlinks_out_of_the_repository_are_never_written(
    tmp_path: Path, link: str, target: str, command: list[str]
) -> None:
    outside = _outside(tmp_path)
    root = tmp_path / "repo"
    files = {
        "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
        "train.py": "print(1)\n",
        "requirements.txt": "dvc>=3\n",
        "README.md": "# x\n<!-- dvc-gitops:dag:start -->\n<!-- dvc-gitops:dag:end -->\n",
        ".dvc/config": "",
    }
    files.pop(link, None)
    write_tree(root, {k: v for k, v in files.items() if not k.startswith(link + "/")})
    (root / link).symlink_to(outside / target)
    git_init(root)
    before = snapshot(outside)
    done = run_tool(command[0], root, *command[1:])
    assert "Traceback" not in done.stderr, done.stderr
    assert snapshot(outside) == before, done.stdout + done.stderr
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr


def test_writer_refuses_symlink_out_in_one_line(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README.md").symlink_to(outside / "README.md")
    probe = (
        "import sys; from pathlib import Path\n"
        "from dvc_gitops.core.files import WriteRefused, write_text\n"
        "try:\n    write_text(Path(sys.argv[1]), 'README.md', 'x')\n"
        "except WriteRefused as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", probe, str(root)], capture_output=True, text=True
    )
    assert done.stdout.startswith("refusing to write README.md: it is a symlink to "), done
    assert done.stdout.count("\n") == 1


# -- item 13: a fix keeps every value DVC reads ------------------------------------------------


def _dvc_values(root: Path) -> set[str]:
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), "config", "--list"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.splitlines())


@pytest.mark.slow
def test_fix_keeps_what_dvc_reads(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".dvc/config": (
                "[core]\n    remote = s\n['remote \"s\"']\n    url = https://example.com/store\n"
                "    password = a, b  # the team's list\n"
                "    token = 'quoted # not a comment'  # a comment\n"
                '    custom_auth_header = "X-Token"\n'
            ),
            ".dvc/.gitignore": "/config.local\n",
        },
    )
    git_init(root)
    before = _dvc_values(root)
    done = run_tool("check-dvc-config", root, "--fix")
    assert done.returncode == 1, done.stdout + done.stderr
    assert _dvc_values(root) == before
    local = (root / ".dvc/config.local").read_text()
    assert "# the team's list" in local and "# a comment" in local
