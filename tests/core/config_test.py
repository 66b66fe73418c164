from __future__ import annotations

from pathlib import Path

import pytest

from dvc_gitops.core.config import Config, ConfigError, load_config, matches


def write(root: Path, name: str, text: str) -> Path:
    (root / name).write_text(text)
    return root


def test_defaults_when_no_config(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.source is None
    assert config.is_selected("DG201")
    assert not config.is_warn_only("DG201")


def test_pyproject_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.dvc-gitops]\nselect = ["DG2", "DG3"]\nignore = ["dg205"]\n'
        'warn-only = ["DG4"]\nper-file-ignores = { "legacy/*" = ["DG3"] }\n'
        "[tool.dvc-gitops.status]\nfail = true\n",
    )
    config = load_config(tmp_path)
    assert config.is_selected("DG201")
    assert not config.is_selected("DG101")
    assert not config.is_selected("DG205")  # codes are case-insensitive
    assert not config.is_selected("DG301", "legacy/dvc.yaml")
    assert config.is_selected("DG301", "dvc.yaml")
    assert config.is_warn_only("DG401")
    assert config.section("status", {"fail": bool}) == {"fail": True}


def test_dedicated_file_wins(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.dvc-gitops]\nignore = ["DG1"]\n')
    write(tmp_path, ".dvc-gitops.toml", 'ignore = ["DG2"]\n')
    assert load_config(tmp_path).ignore == ["DG2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[tool.dvc-gitops]\nselct = []\n",
            "unknown key 'selct' in [tool.dvc-gitops] (did you mean 'select'?)",
        ),
        ("[tool.dvc-gitops]\nignore = [1]\n", "'ignore' must be a list of rule codes"),
        ("[tool.dvc-gitops\n", "invalid TOML"),
        ("[tool]\ndvc-gitops = 3\n", "[tool.dvc-gitops] must be a table"),
        ('[tool.dvc-gitops]\nper-file-ignores = "x"\n', "'per-file-ignores' must be a table"),
        (
            "[tool.dvc-gitops.statu]\nfail = true\n",
            "unknown table [tool.dvc-gitops.statu] (did you mean 'status'?)",
        ),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "pyproject.toml", text)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_section_validates_keys_and_types() -> None:
    config = Config(source="pyproject.toml", sections={"status": {"timout": 3}})
    with pytest.raises(ConfigError, match=r"unknown key 'timout'.*did you mean 'timeout'"):
        config.section("status", {"timeout": (int, float)})
    config = Config(source="pyproject.toml", sections={"status": {"fail": "yes"}})
    with pytest.raises(ConfigError, match=r"'fail' in \[tool.dvc-gitops.status\] must be bool"):
        config.section("status", {"fail": bool})
    config = Config(source="pyproject.toml", sections={"status": {"timeout": True}})
    with pytest.raises(ConfigError, match="must be int or float"):
        config.section("status", {"timeout": (int, float)})


def test_prefix_matching() -> None:
    assert matches("DG201", ["DG2"])
    assert matches("DG201", ["ALL"])
    assert not matches("DG201", ["DG3", "DG21"])


def test_exclude_hides_matching_paths_and_all_below(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.dvc-gitops]\nexclude = ["tests/fixtures/", "*.tmp"]\n')
    config = load_config(tmp_path)
    assert config.exclude == ["tests/fixtures", "*.tmp"]
    assert config.excludes("tests/fixtures")
    assert config.excludes("tests/fixtures/broken/dvc.yaml")
    assert config.excludes("a/b.tmp")
    assert not config.excludes("tests/fixtures.py")
    assert not config.excludes("tests/dvc.yaml")
    assert not config.excludes_itself("tests/fixtures/broken")  # only its folder matches


@pytest.mark.parametrize("value", ["[1]", '[""]', "3"])
def test_exclude_must_be_path_globs(tmp_path: Path, value: str) -> None:
    write(tmp_path, "pyproject.toml", f"[tool.dvc-gitops]\nexclude = {value}\n")
    with pytest.raises(ConfigError, match="'exclude' must be a list of path globs"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("select", "ignore", "selectable", "not_selectable"),
    [
        ([], [], ["DG1", "DG5", "DG0"], []),
        (["DG1"], [], ["DG1", "DG"], ["DG5", "DG21"]),
        (["DG101"], [], ["DG1"], ["DG2", "DG20"]),
        (["ALL"], ["DG5"], ["DG1"], ["DG5", "DG50"]),
        ([], ["DG2"], ["DG1", "DG3"], ["DG20", "DG21"]),
    ],
)
def test_may_select_says_whether_a_prefix_can_report(
    select: list[str], ignore: list[str], selectable: list[str], not_selectable: list[str]
) -> None:
    config = Config(select=select, ignore=ignore)
    assert [p for p in selectable if not config.may_select(p)] == []
    assert [p for p in not_selectable if config.may_select(p)] == []


def test_narrow_applies_the_command_line_once() -> None:
    config = Config(select=["DG1"], ignore=["DG2"])
    config.narrow(["DG3"], ["DG4"])
    config.narrow(["DG3"], ["DG4"])
    assert (config.select, config.ignore) == (["DG3"], ["DG2", "DG4"])
    config.narrow([], [])
    assert config.select == ["DG3"]
