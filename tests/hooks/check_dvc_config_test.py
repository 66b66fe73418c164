"""check-dvc-config: the config reader against configobj, secrets never printed, and DVC's
own verdict on the golden cases."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOLDEN, VENV_BIN, git_init
from hypothesis import given, settings
from hypothesis import strategies as st

from dvc_gitops.core.redact import redact
from dvc_gitops.formats.dvc_config import ConfigSyntaxError, parse, remote_type
from dvc_gitops.hooks.check_dvc_config import main

CASES = sorted(p for p in GOLDEN.glob("DG7*") if p.is_dir())
SECRET = re.compile(r"[A-Za-z_]*SECRET\d{3}[A-Za-z.]*|s3cr3t/value\+with#hash")


def copy_case(case: Path, work: Path) -> Path:
    shutil.copytree(
        case,
        work,
        # Not the rule page's corrected files (instead/): they are not the case's input.
        ignore=lambda folder, names: [
            n for n in names if n.endswith(".txt") or (n == "instead" and Path(folder) == case)
        ],
    )
    if (case / ".golden-git").exists():
        git_init(work)
    return work


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_output_format_shows_a_secret(
    case: Path,
    fmt: str,
    tmp_path: Path,
    in_dir: Callable[[Path], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets = {
        s
        for f in (case / ".dvc").glob("config*")
        for s in SECRET.findall(f.read_text(encoding="utf-8"))
    }
    in_dir(copy_case(case, tmp_path / "work"))
    code = main(["--format", fmt])
    out, err = capsys.readouterr()
    assert code == 1
    for secret in secrets:
        assert secret not in out + err
    if secrets and case.name.startswith("DG701"):
        assert "***" in out


def test_every_rule_has_a_golden_case() -> None:
    codes = {c.name.split("-")[0] for c in CASES}
    assert codes == {f"DG70{n}" for n in range(1, 8)}


# --- the reader agrees with configobj, which DVC uses -----------------------------------

configobj = pytest.importorskip("configobj")

KEYS = st.sampled_from(["url", "region", "Password", "access_key_id", "remote"])
VALUES = st.one_of(
    st.from_regex(r"[A-Za-z0-9/:.@_+-]{1,12}", fullmatch=True),
    st.from_regex(r'"[A-Za-z0-9 #,;=/]{0,10}"', fullmatch=True),
    st.from_regex(r"'[A-Za-z0-9 #,;=/]{0,10}'", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{1,5}, ?[A-Za-z0-9]{1,5}", fullmatch=True),
)
LINES = st.one_of(
    st.builds(lambda k, v, c: f"    {k} = {v}{c}", KEYS, VALUES, st.sampled_from(["", " # x"])),
    st.sampled_from(
        ["[core]", "['remote \"s3\"']", '[remote "b"]', "# comment", "", "[core", "junk"]
    ),
)


def as_data(text: str) -> dict[str, object] | None:
    """What configobj makes of `text` (lists joined like our reader), or None on error."""
    try:
        raw = configobj.ConfigObj(text.splitlines()).dict()
    except configobj.ConfigObjError:
        return None

    def flat(value: object) -> object:
        if isinstance(value, dict):
            return {k.lower(): flat(v) for k, v in value.items()}
        return ", ".join(value) if isinstance(value, list) else value

    result = flat(raw)
    assert isinstance(result, dict)
    return result


@settings(max_examples=200, deadline=None)
@given(st.lists(LINES, max_size=8))
def test_reader_agrees_with_configobj(lines: list[str]) -> None:
    assert_agrees(lines)


def assert_agrees(lines: list[str]) -> None:
    """Our reader and configobj make the same data of `lines`, or both refuse them."""
    text = "\n".join(lines) + "\n"
    expected = as_data(text)
    if expected is not None and any(k != k.lower() for k in expected):
        return  # configobj keeps [Core] and [core] apart; DVC then merges them
    if expected is not None and any(
        isinstance(v, dict) and any(isinstance(x, dict) for x in v.values())
        for v in expected.values()
    ):
        return  # nested [[sections]]: configobj reads them, DVC's schema refuses them
    try:
        config = parse(text, ".dvc/config")
    except ConfigSyntaxError:
        assert expected is None
        return
    ours: dict[str, object] = {k: o.value for k, o in config.top_level.items()}
    ours |= {n: {k: o.value for k, o in s.options.items()} for n, s in config.sections.items()}
    assert ours == expected


# Lines of punctuation soup: quoting, comments, lists and brackets in every order. 20,000
# examples agreed with configobj when this was written; a run checks a sample.
SOUP = st.lists(
    st.lists(st.sampled_from(list("ab =#,'\"[]\t\\x1:/")), max_size=14).map("".join),
    max_size=4,
)


@settings(max_examples=500, deadline=None)
@given(SOUP)
def test_reader_agrees_with_configobj_on_any_text(lines: list[str]) -> None:
    assert_agrees(lines)


def test_positions_point_at_keys() -> None:
    config = parse("[core]\n  remote = s\n['remote \"s\"']\n\turl = 'x' # c\n", "c")
    assert config.default_remote is not None
    assert (config.default_remote.mark.line, config.default_remote.mark.column) == (2, 3)
    url = config.remotes["s"].options["url"]
    assert (url.mark.line, url.mark.column, url.value_mark.column, url.value) == (4, 2, 8, "x")


@pytest.mark.parametrize(
    ("url", "kind"),
    [("s3://b/p", "s3"), ("/mnt/x", ""), ("C:/x", ""), ("azure://c/p", "azure"), (None, None)],
)
def test_remote_type(url: str | None, kind: str | None) -> None:
    assert remote_type(url) == kind


def test_redact_url() -> None:
    assert redact("https://u:p%40ss@h:8/x?y") == "https://***@h:8/x?y"
    assert redact("ssh://u@h/x") == "ssh://u@h/x"


def test_files_outside_dvc_config_are_not_this_hooks_business(
    tmp_path: Path, in_dir: Callable[[Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = in_dir(copy_case(GOLDEN / "DG701-aws-s3-keys", tmp_path / "w"))
    (root / "dvc.yaml").write_text("stages: {}\n")  # named files exist (pre-commit's)
    assert main(["dvc.yaml"]) == 0
    assert main([".dvc/config"]) == 1
    assert "DG701" in capsys.readouterr().out


def test_subdir_dvc_project(
    tmp_path: Path, in_dir: Callable[[Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "mono"
    (root / "proj" / ".dvc").mkdir(parents=True)
    (root / "proj/.dvc/config").write_text("[core]\n    remote = gone\n")
    (root / "proj/.dvc/.gitignore").write_text("/config.local\n")
    git_init(root)
    in_dir(root)
    assert main([]) == 1
    assert capsys.readouterr().out.startswith("proj/.dvc/config:2:14: DG704 ")


# --- DVC's own verdict on the cases that claim DVC fails --------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "command", "clone", "error"),
    [
        ("DG705-local-options-without-url", "status", False, "expected 'url'"),
        ("DG707-unclosed-section", "status", False, "Invalid line"),
        ("DG707-duplicate-key", "status", False, "Duplicate keyword name"),
        ("DG707-bad-quote-local", "status", False, "Parse error in value"),
        ("DG704-unknown-default-remote", "push", False, "remote 'storage' doesn't exist"),
        # Fine for its author; a clone has no config.local, and then DVC fails.
        ("DG701-url-only-in-local", "status", False, None),
        ("DG701-url-only-in-local", "status", True, "expected 'url'"),
        ("DG704-default-only-in-local", "push", False, None),
        ("DG704-default-only-in-local", "push", True, "remote 'mine' doesn't exist"),
        ("clean-dvc-config", "status", False, None),
    ],
)
def test_dvc_agrees(
    case: str, command: str, clone: bool, error: str | None, tmp_path: Path
) -> None:
    """DVC itself fails exactly where the findings say it will."""
    work = copy_case(GOLDEN / case, tmp_path / "work")
    if clone:
        (work / ".dvc" / "config.local").unlink()
    if not (work / ".git").exists():
        git_init(work, commit=False)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(tmp_path / "s")}
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), command],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if error is None:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0
        assert error in done.stderr


@pytest.mark.slow
def test_fix_changes_nothing_dvc_reads(
    tmp_path: Path, in_dir: Callable[[Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every value is still there for DVC, only moved from .dvc/config to config.local."""
    work = in_dir(copy_case(GOLDEN / "DG701-fix-moves-to-local", tmp_path / "work"))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(tmp_path / "s")}

    def dvc_config_list() -> list[str]:
        done = subprocess.run(
            [str(VENV_BIN / "dvc"), "config", "--list", "--show-origin"],
            cwd=work,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return sorted(ln.split(None, 1)[1] for ln in done.stdout.splitlines())

    before = dvc_config_list()
    assert main(["--fix"]) == 1
    assert dvc_config_list() == before
    tracked = (work / ".dvc/config").read_text()
    assert "AKIAFIXSECRET001" not in tracked and "isat_FIXSECRET005" not in tracked
    assert "FIXSECRET003" in tracked  # config.local holds a different session_token
    out = capsys.readouterr().out
    assert "FIXSECRET" not in out
    assert main([]) == 1  # the one it could not move is still reported


def test_fix_refuses_while_git_would_commit_config_local(
    tmp_path: Path, in_dir: Callable[[Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    copy_case(GOLDEN / "DG701-fix-moves-to-local", work)
    (work / ".dvc/.gitignore").write_text("/tmp\n")
    in_dir(work)
    before = (work / ".dvc/config").read_bytes()
    assert main(["--fix"]) == 1
    assert (work / ".dvc/config").read_bytes() == before
    out = capsys.readouterr().out
    assert "fixed" not in out and "DG703" in out
