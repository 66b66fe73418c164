"""dvc-dag-docs and `dvc-gitops dag`: the Mermaid picture, the markers, the exit codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN, write_tree

from dvc_gitops.cli import main as cli_main
from dvc_gitops.core.project import Project
from dvc_gitops.export.mermaid import (
    END,
    START,
    MarkerProblem,
    mermaid,
    pipeline_graph,
    replace_between_markers,
)
from dvc_gitops.hooks.dvc_dag_docs import main

FOUR_STAGES = """\
stages:
  fetch_data:
    cmd: python fetch.py
    outs: [data/raw.csv]
  preprocess:
    cmd: python prep.py
    deps: [data/raw.csv]
    outs: [data/prepared]
  train:
    cmd: python train.py
    deps: [data/prepared/train.parquet]
    outs: [model.pkl]
  evaluate:
    cmd: python evaluate.py
    deps: [model.pkl, data/prepared]
"""

FOUR_STAGES_PICTURE = """\
flowchart TD
\tnode1["evaluate"]
\tnode2["fetch_data"]
\tnode3["preprocess"]
\tnode4["train"]
\tnode2-->node3
\tnode3-->node1
\tnode3-->node4
\tnode4-->node1"""

# Three unconnected parts, a lone stage, foreach members, a stage in a nested dvc.yaml.
PARTS = {
    "dvc.yaml": """\
stages:
  zeta:
    cmd: a
    outs: [z]
  lonely:
    cmd: b
  alpha:
    cmd: c
    deps: [z]
  fe:
    foreach: [x, y]
    do:
      cmd: d ${item}
      outs:
        - out-${item}
""",
    "sub/dvc.yaml": """\
stages:
  use:
    cmd: e
    deps: [../out-y]
""",
}

# `.dvc` files of `dvc add` (a folder, a file in a subfolder) and `dvc import`.
TRACKED_DATA = {
    "data.dvc": "outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data\n",
    "sub/labels.csv.dvc": "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: labels.csv\n",
    "imported.dvc": (
        "deps:\n- path: https://example.com/x.csv\n"
        "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: x.csv\n"
    ),
    "dvc.yaml": """\
stages:
  prep:
    cmd: a
    deps: [data/images, sub/labels.csv]
    outs: [prepared]
  other:
    cmd: b
    deps: [.]
""",
}

README = f"""\
# project

Some text that stays.

{START}
old picture
{END}

More text.
"""


def picture_of(root: Path) -> str:
    return mermaid(pipeline_graph(Project(root)))


def test_four_stages_drawn_as_dvc_draws_them(make_repo: Callable[..., Path]) -> None:
    # A dep under an out (data/prepared/train.parquet) is an edge, as in DVC.
    assert picture_of(make_repo({"dvc.yaml": FOUR_STAGES})) == FOUR_STAGES_PICTURE


def test_each_connected_part_numbered_in_turn(make_repo: Callable[..., Path]) -> None:
    root = make_repo(PARTS)
    assert picture_of(root) == (
        "flowchart TD\n"
        '\tnode1["alpha"]\n'
        '\tnode2["zeta"]\n'
        "\tnode2-->node1\n"
        '\tnode3["lonely"]\n'
        '\tnode4["fe@x"]\n'
        '\tnode5["fe@y"]\n'
        '\tnode6["sub/dvc.yaml:use"]\n'
        "\tnode5-->node6"
    )


def test_dvc_files_are_nodes_linked_to_the_stages_that_read_them(
    make_repo: Callable[..., Path],
) -> None:
    assert picture_of(make_repo(TRACKED_DATA)) == (
        "flowchart TD\n"
        '\tnode1["data.dvc"]\n'
        '\tnode2["imported.dvc"]\n'
        '\tnode3["other"]\n'
        '\tnode4["prep"]\n'
        '\tnode5["sub/labels.csv.dvc"]\n'
        "\tnode1-->node3\n"
        "\tnode1-->node4\n"
        "\tnode2-->node3\n"
        "\tnode4-->node3\n"
        "\tnode5-->node3\n"
        "\tnode5-->node4"
    )


def test_unloadable_dvc_file_is_a_problem(make_repo: Callable[..., Path]) -> None:
    graph = pipeline_graph(Project(make_repo({**TRACKED_DATA, "data.dvc": "outs: [\n"})))
    assert graph.problems == {"data.dvc": "DVC cannot load this .dvc file"}
    assert "data.dvc" not in graph.nodes


def test_hook_leaves_the_picture_when_a_dvc_file_is_broken(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "data.dvc").write_text("outs: [\n")
    assert main([]) == 1
    assert capsys.readouterr().out == (
        "data.dvc: DVC cannot load this .dvc file: the pipeline picture in README.md is "
        "left as it is\n"
    )
    assert (repo / "README.md").read_text() == README


def test_quote_in_a_stage_name_does_not_break_the_label(make_repo: Callable[..., Path]) -> None:
    root = make_repo({"dvc.yaml": 'stages:\n  say "hi":\n    cmd: echo\n'})
    assert picture_of(root) == 'flowchart TD\n\tnode1["say #quot;hi#quot;"]'


def test_empty_pipeline_is_just_the_header(make_repo: Callable[..., Path]) -> None:
    assert picture_of(make_repo({"README.md": "x\n"})) == "flowchart TD"


def test_dvcignored_dvc_yaml_is_not_part_of_the_pipeline(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: a\n",
            "examples/dvc.yaml": "stages:\n  b:\n    cmd: b\n",
            "examples/data.dvc": "outs:\n- path: data\n",
            ".dvcignore": "# examples are inputs of tests\n/examples/\n",
        }
    )
    assert picture_of(root) == 'flowchart TD\n\tnode1["a"]'


# ---- the markers ------------------------------------------------------------------


def test_only_the_lines_between_the_markers_change() -> None:
    update = replace_between_markers(README, "new\npicture", "README.md")
    assert update.changed
    assert update.text == README.replace("old picture\n", "new\npicture\n")
    again = replace_between_markers(update.text, "new\npicture", "README.md")
    assert not again.changed and again.text == update.text


def test_windows_line_endings_are_kept() -> None:
    text = README.replace("\n", "\r\n")
    update = replace_between_markers(text, "a\nb", "README.md")
    assert update.text == text.replace("old picture\r\n", "a\r\nb\r\n")


def test_empty_block_between_adjacent_markers_is_filled() -> None:
    update = replace_between_markers(f"{START}\n{END}\n", "p", "README.md")
    assert update.text == f"{START}\np\n{END}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# nothing here\n", f"README.md: no pipeline picture markers: add a line '{START}'"),
        (f"{START}\nx\n", "README.md:1: expected one"),
        (f"{START}\n{END}\n{START}\n{END}\n", "README.md:3: expected one"),
        (f"{END}\n{START}\n", f"README.md:1: '{END}' comes before '{START}': swap them"),
    ],
)
def test_marker_problems_are_one_line_with_the_fix(text: str, message: str) -> None:
    with pytest.raises(MarkerProblem) as raised:
        replace_between_markers(text, "p", "README.md")
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


# ---- the hook and the command -----------------------------------------------------


@pytest.fixture
def repo(make_repo: Callable[..., Path], in_dir: Callable[[Path], Path]) -> Path:
    return in_dir(make_repo({"dvc.yaml": FOUR_STAGES, "README.md": README}, git=True))


def fenced(picture: str) -> str:
    return f"```mermaid\n{picture}\n```\n"


def test_hook_redraws_then_is_quiet(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    assert capsys.readouterr().out == "README.md: pipeline picture redrawn\n"
    expected = README.replace("old picture\n", fenced(FOUR_STAGES_PICTURE))
    assert (repo / "README.md").read_text() == expected
    assert main([]) == 0
    assert capsys.readouterr().out == ""
    assert (repo / "README.md").read_text() == expected


def test_hook_follows_a_changed_pipeline(repo: Path) -> None:
    assert main([]) == 1
    unlinked = FOUR_STAGES.replace("    deps: [model.pkl, data/prepared]\n", "")
    (repo / "dvc.yaml").write_text(unlinked)
    assert main([]) == 1
    assert (repo / "README.md").read_text() == README.replace(
        "old picture\n",
        fenced(
            "flowchart TD\n"
            '\tnode1["fetch_data"]\n'
            '\tnode2["preprocess"]\n'
            '\tnode3["train"]\n'
            "\tnode1-->node2\n"
            "\tnode2-->node3\n"
            '\tnode4["evaluate"]'
        ),
    )


def test_hook_check_mode_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 1
    assert "README.md: the pipeline picture is out of date" in capsys.readouterr().out
    assert (repo / "README.md").read_text() == README


def test_hook_ignores_file_names_and_takes_another_document(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "docs").mkdir()
    (repo / "docs" / "pipeline.md").write_text(f"{START}\n{END}\n")
    assert main(["--file", "docs/pipeline.md", "dvc.yaml", "README.md"]) == 1
    assert (repo / "docs" / "pipeline.md").read_text() == f"{START}\n" + fenced(
        FOUR_STAGES_PICTURE
    ) + f"{END}\n"
    assert (repo / "README.md").read_text() == README


def test_hook_leaves_the_picture_when_a_dvc_yaml_is_broken(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "dvc.yaml").write_text("stages: [\n")
    assert main([]) == 1
    out = capsys.readouterr().out
    assert out.startswith("dvc.yaml: ") and "left as it is" in out
    assert (repo / "README.md").read_text() == README


def test_hook_without_markers_says_how_to_add_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "README.md").write_text("# no markers\n")
    assert main([]) == 0  # a new project's first commit is not blocked
    assert capsys.readouterr().out == (
        f"README.md has no pipeline picture: nothing to keep current. For one, add a line "
        f"'{START}' and a line '{END}' where it goes, or run `dvc-gitops init --dag-docs`\n"
    )
    assert (repo / "README.md").read_text() == "# no markers\n"
    (repo / "README.md").unlink()
    assert main([]) == 0
    assert capsys.readouterr().out.startswith("README.md is not there: nothing to keep current.")
    assert not (repo / "README.md").exists()
    # Asked for explicitly, the picture must be there.
    assert cli_main(["dag", "--check"]) == 2


def test_hook_missing_document_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--file", "NOPE.md"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("NOPE.md: cannot read") and captured.out == ""


def test_dag_command_prints_checks_and_writes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["dag"]) == 0
    assert capsys.readouterr().out == FOUR_STAGES_PICTURE + "\n"
    assert cli_main(["dag", "--md"]) == 0
    assert capsys.readouterr().out == fenced(FOUR_STAGES_PICTURE)
    assert cli_main(["dag", "--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert cli_main(["dag", "--write"]) == 1
    assert cli_main(["dag", "--check"]) == 0
    assert cli_main(["dag", "--check", "--write"]) == 2
    assert "give --check or --write, not both" in capsys.readouterr().err


def test_dag_command_names_broken_files_on_stderr(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "dvc.yaml").write_text("stages:\n  a: [\n")
    assert cli_main(["dag"]) == 0
    captured = capsys.readouterr()
    assert captured.out == FOUR_STAGES_PICTURE + "\n"
    assert captured.err.startswith("sub/dvc.yaml: ")
    assert "missing from the picture" in captured.err


def test_this_repository_readme_shows_its_own_pipeline() -> None:
    """The README's picture is up to date with the demo's dvc.yaml (the hook's own job)."""
    old = Path.cwd()
    os.chdir(REPO)
    try:
        assert main(["--check"]) == 0
    finally:
        os.chdir(old)


# ---- against the real DVC ---------------------------------------------------------


def dvc_mermaid(root: Path) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "dvc"), "dag", "--mermaid"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    return done.stdout.rstrip("\n")


def graph_of(picture: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Node labels and (upstream, downstream) label pairs of a Mermaid flowchart."""
    labels = dict(re.findall(r'^\t(node\d+)\["(.*)"\]$', picture, re.M))
    edges = re.findall(r"^\t(node\d+)-->(node\d+)$", picture, re.M)
    return set(labels.values()), {(labels[a], labels[b]) for a, b in edges}


def real_dvc_repo(root: Path) -> Path:
    subprocess.run([str(VENV_BIN / "dvc"), "init", "--no-scm", "-q"], cwd=root, check=True)
    return root


@pytest.mark.slow
def test_same_picture_as_dvc_for_the_demo_and_examples(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, demo / name)
    examples = [
        real_dvc_repo(demo),
        real_dvc_repo(make_repo({"dvc.yaml": FOUR_STAGES})),
        real_dvc_repo(write_tree(tmp_path / "parts", PARTS)),
        real_dvc_repo(write_tree(tmp_path / "tracked", TRACKED_DATA)),
    ]
    for root in examples:
        ours, theirs = picture_of(root), dvc_mermaid(root)
        assert graph_of(ours) == graph_of(theirs)
        assert ours == theirs  # the same text, numbering included


def test_dag_without_a_pipeline_is_a_usage_error(
    make_repo: Callable[..., Path], in_dir: Callable[[Path], Path], capsys
) -> None:
    root = in_dir(make_repo({"notes.md": "# hi\n"}, git=True))
    assert cli_main(["dag"]) == 2
    assert capsys.readouterr().err == (
        f"dvc-gitops: error: no pipeline to draw: no dvc.yaml and no .dvc file under {root} "
        "(`dvc stage add` writes the first stage)\n"
    )
