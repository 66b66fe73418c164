"""Exit codes, output selection and suppressions, through a hook's real `main`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dvc_gitops.cli import main as cli_main
from dvc_gitops.core.findings import RULES, Finding, Rule
from dvc_gitops.core.runner import Check, CheckContext, hook_main
from dvc_gitops.hooks.check_dvc_yaml import main as check_dvc_yaml

DUPLICATE = "stages:\n  train:\n    cmd: a\n    cmd: b\n"
CLEAN = "stages:\n  train:\n    cmd: python train.py\n"


def test_clean_repo_exits_0(make_repo: Callable[..., Path], in_dir, capsys) -> None:
    in_dir(make_repo({"dvc.yaml": CLEAN}))
    assert check_dvc_yaml([]) == 0
    assert capsys.readouterr().out == "No findings.\n"


def test_findings_exit_1_and_warn_only_exits_0(make_repo, in_dir, capsys) -> None:
    root = in_dir(make_repo({"dvc.yaml": DUPLICATE}))
    assert check_dvc_yaml(["dvc.yaml"]) == 1
    (root / "pyproject.toml").write_text('[tool.dvc-gitops]\nwarn-only = ["DG102"]\n')
    assert check_dvc_yaml(["dvc.yaml"]) == 0
    assert "DG102" in capsys.readouterr().out


def test_usage_errors_exit_2_in_one_line(make_repo, in_dir, capsys) -> None:
    root = in_dir(make_repo({"dvc.yaml": CLEAN}))
    assert check_dvc_yaml(["--format", "xml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("check-dvc-yaml: error: Invalid value for '--format'")
    assert err.count("\n") == 1
    (root / "pyproject.toml").write_text("[tool.dvc-gitops]\nignore = 3\n")
    assert cli_main(["check", "."]) == 2
    assert capsys.readouterr().err == (
        "dvc-gitops: error: pyproject.toml: 'ignore' must be a list of rule codes like \"DG201\"\n"
    )


BOOM = Rule("DG099", "test-only", "error", "Only for the runner tests.")
del RULES[BOOM.code]  # a rule of this test alone: not one `dvc-gitops rules` lists


def exploding(_context: CheckContext) -> Iterator[Finding]:
    raise KeyError("surprise")
    yield  # pragma: no cover


def test_internal_error_exits_3_without_traceback(make_repo, in_dir, capsys) -> None:
    in_dir(make_repo({"dvc.yaml": CLEAN}))
    main = hook_main(Check("exploding", exploding, codes=("DG099",)), help="test")
    assert main([]) == 3
    err = capsys.readouterr().err
    assert err == (
        "exploding: internal error: KeyError: 'surprise' "
        "(run again with --debug for the traceback)\n"
    )
    assert main(["--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_notices_never_fail(make_repo, in_dir, capsys) -> None:
    in_dir(make_repo({"dvc.yaml": CLEAN}))

    def noting(context: CheckContext) -> Iterator[Finding]:
        yield BOOM.at("dvc.yaml", (1, 1), "just so you know", severity="notice")

    main = hook_main(Check("noting", noting, codes=("DG099",)), help="test")
    assert main([]) == 0
    assert "DG099 just so you know" in capsys.readouterr().out


def test_output_file_and_github_default(make_repo, in_dir, capsys, monkeypatch) -> None:
    root = in_dir(make_repo({"dvc.yaml": DUPLICATE}))
    assert check_dvc_yaml(["--format", "json", "--output-file", "report.json"]) == 1
    assert capsys.readouterr().out == ""
    report = json.loads((root / "report.json").read_text())
    assert [f["code"] for f in report["findings"]] == ["DG102"]
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert check_dvc_yaml([]) == 1
    assert capsys.readouterr().out.startswith("::error file=dvc.yaml,line=4,col=5,title=DG102")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # On the offending line.
        ("stages:\n  train:\n    cmd: a\n    cmd: b  # dvc-gitops: ignore[DG102]\n", []),
        # On the stage's key line: the whole stage.
        ("stages:\n  train:  # dvc-gitops: ignore[DG102]\n    cmd: a\n    cmd: b\n", []),
        # On another stage: does not cover this one, and is itself unused.
        (
            "stages:\n  other:  # dvc-gitops: ignore[DG102]\n    cmd: x\n"
            "  train:\n    cmd: a\n    cmd: b\n",
            ["dvc.yaml:2:11: DG001", "dvc.yaml:6:5: DG102"],
        ),
        # A code of a family this hook does not check is not called unused.
        ("stages:\n  train:  # dvc-gitops: ignore[DG401]\n    cmd: a\n", []),
    ],
)
def test_suppressions(make_repo, in_dir, capsys, text: str, expected: list[str]) -> None:
    in_dir(make_repo({"dvc.yaml": text}))
    check_dvc_yaml(["dvc.yaml"])
    lines = capsys.readouterr().out.splitlines()[:-1]
    assert [line.split(" ", 2)[0] + " " + line.split(" ", 2)[1] for line in lines] == expected


def test_select_and_ignore_options(make_repo, in_dir, capsys) -> None:
    in_dir(make_repo({"dvc.yaml": DUPLICATE}))
    assert check_dvc_yaml(["--ignore", "DG1"]) == 0
    assert check_dvc_yaml(["--select", "DG101,DG102"]) == 1
    capsys.readouterr()


def test_check_takes_one_folder_or_files(make_repo, in_dir, capsys) -> None:
    root = make_repo({"a/dvc.yaml": DUPLICATE, "b/dvc.yaml": CLEAN})
    assert cli_main(["check", "--select", "DG1", str(root)]) == 1
    assert capsys.readouterr().out.startswith("a/dvc.yaml:4:5: DG102")
    in_dir(root)
    assert cli_main(["check", "--select", "DG1", "b/dvc.yaml"]) == 0
    assert cli_main(["check", "a", "b/dvc.yaml"]) == 2
    assert "give one repository folder, or files, not both" in capsys.readouterr().err


def test_check_loads_only_selectable_checks(make_repo, in_dir, capsys) -> None:
    """`check --select` never imports a check whose codes are all deselected."""
    import subprocess
    import sys

    in_dir(make_repo({"dvc.yaml": DUPLICATE}))
    code = (
        "import sys\n"
        "from dvc_gitops.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(sorted(m for m in sys.modules if m.startswith('dvc_gitops.hooks.')), code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "check", "--select", "DG10", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "['dvc_gitops.hooks.check_dvc_yaml'] 1"


def test_offline_checks_report_the_codes_of_their_catalog_row() -> None:
    import importlib

    from dvc_gitops.core.catalog import offline_hooks

    for hook in offline_hooks():
        check = importlib.import_module(hook.module).CHECK
        assert (check.hook_id, check.codes) == (hook.id, hook.prefixes)


def test_excluded_files_are_skipped_even_when_named(make_repo, in_dir, capsys) -> None:
    root = make_repo(
        {
            "pyproject.toml": '[tool.dvc-gitops]\nexclude = ["fixtures"]\n',
            "fixtures/dvc.yaml": DUPLICATE,
            "dvc.yaml": CLEAN,
        }
    )
    assert cli_main(["check", "--select", "DG1", str(root)]) == 0
    in_dir(root)
    assert check_dvc_yaml(["fixtures/dvc.yaml"]) == 0
    assert capsys.readouterr().out == "No findings.\nNo findings.\n"
