"""The static scan of params reads (and literal paths) in Python and R source."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from dvc_gitops.dvcmodel.params_read import ParamsFiles, scan_code, scan_python, scan_r

DATA: dict[str, Any] = {
    "params.yaml": {
        "base": {"seed": 1},
        "train": {"lr": 0.1, "epochs": 3, "opt": {"name": "adam"}},
        "layers": [1, 2],
    },
    "conf/other.json": {"threshold": 0.5},
}
FILES = ParamsFiles(DATA.get, ["params.yaml", "conf/other.json"])
LOAD = 'import yaml\np = yaml.safe_load(open("params.yaml"))\n'
PATH = "import yaml\nfrom pathlib import Path\n"


def keys(source: str, argv: tuple[str, ...] = (), path: str = "src/a.py") -> list[str]:
    reads = scan_python(textwrap.dedent(source), path, ".", FILES, argv)
    return [f"{r.file}:{r.dotted}" + (f"@{','.join(r.stages)}" if r.stages else "") for r in reads]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (LOAD + 'p["train"]["lr"]', ["lr"]),
        (
            (
                'import yaml\nwith open("params.yaml") as f:\n    p = yaml.safe_load(f)\n'
                'p["base"]["seed"]'
            ),
            ["seed"],
        ),
        (
            PATH + 'p = yaml.safe_load(Path("params.yaml").read_text())\np["train"]["lr"]',
            ["lr"],
        ),
        (
            PATH
            + 'p = yaml.safe_load((Path(__file__).parent.parent / "params.yaml").read_text())\n'
            'p["base"]["seed"]',
            ["seed"],
        ),
        (
            'import yaml\np = yaml.safe_load(open("params.yaml"))["train"]\np.get("epochs", 1)',
            ["epochs"],
        ),
        (
            LOAD + 'p["train"]["opt"]["name"]',
            ["name"],
        ),
        (LOAD + 'p["layers"][0]', ["layers"]),
        ('import json\nc = json.load(open("conf/other.json"))\nc["threshold"]', ["threshold"]),
        ('import dvc.api\ndvc.api.params_show()["train"]["lr"]', ["lr"]),
        ('from dvc.api import params_show\nparams_show(stages="t")["train"]["lr"]', ["lr@t"]),
        ('from omegaconf import OmegaConf\nc = OmegaConf.load("params.yaml")\nc.train.lr', ["lr"]),
        (
            (
                "import yaml\nfrom box import ConfigBox\n"
                'c = ConfigBox(yaml.safe_load(open("params.yaml")))\nc.base.seed'
            ),
            ["seed"],
        ),
        (
            (
                'from ruamel.yaml import YAML\nyaml = YAML(typ="safe")\n'
                'p = yaml.load(open("params.yaml"))\np["base"]["seed"]'
            ),
            ["seed"],
        ),
    ],
)
def test_reads(source: str, expected: list[str]) -> None:
    found = keys(source)
    assert [k.split(":")[1].split(".")[-1] for k in found] == expected


def test_functions_arguments_and_argparse() -> None:
    source = """
    import argparse
    import yaml

    def load(path="params.yaml"):
        with open(path) as handle:
            return yaml.safe_load(handle)

    def train(cfg):
        return cfg["lr"]

    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--config", "-c")
        args = parser.parse_args()
        other = yaml.safe_load(open(args.config))
        return load()["base"]["seed"], train(other["train"])

    main()
    """
    found = keys(source, ("--config", "params.yaml"))
    assert found == ["params.yaml:train.lr", "params.yaml:base.seed"]
    # Without the option, the file is unknown: its reads are not guessed.
    assert keys(source) == ["params.yaml:base.seed"]


@pytest.mark.parametrize(
    "source",
    [
        # not a params file
        'import yaml\np = yaml.safe_load(open("config.yaml"))\np["train"]["lr"]',
        "import sys\n" + LOAD + 'p["train"][sys.argv[1]]',
        LOAD + 'p = {}\np["train"]["lr"]',  # bound twice
        LOAD + 'p.get("nothing", {}).get("x")',
        LOAD + 'p["train"] = 1',  # a write
        'import dvc.api\ndvc.api.params_show(rev="HEAD~1")["train"]["lr"]',  # another revision
        "import yaml\np = yaml.safe_load(open(undefined))\np['train']['lr']",
        "this is not python",
    ],
)
def test_what_is_not_guessed(source: str) -> None:
    assert keys(source) == []


def test_only_the_deepest_key_of_a_chain_and_each_once() -> None:
    source = """
    import yaml
    p = yaml.safe_load(open("params.yaml"))
    t = p["train"]
    a = t["lr"]
    b = p["train"]["lr"]
    """
    reads = scan_python(textwrap.dedent(source), "a.py", ".", FILES)
    assert [(r.dotted, r.line) for r in reads] == [("train.lr", 5)]


def test_hydra_main_reads_the_config_file_beside_the_script() -> None:
    source = """
    import hydra

    @hydra.main(config_path="..", config_name="params", version_base=None)
    def main(cfg):
        return cfg.train.epochs
    """
    assert keys(source, path="src/train.py") == ["params.yaml:train.epochs"]


def test_r() -> None:
    source = textwrap.dedent(
        """\
        p <- yaml::read_yaml("params.yaml")
        lr <- p$train$lr
        # p$base$seed
        s <- yaml::read_yaml("params.yaml")[["base"]][["seed"]]
        x <- p$train$nothing
        """
    )
    reads = scan_r(source, "a.R", ".", FILES)
    assert [(r.dotted, r.line) for r in reads] == [("train.lr", 2), ("base.seed", 4)]


def test_literal_paths_read_and_written() -> None:
    source = """
    import os, sys
    import pandas as pd
    from pathlib import Path
    DATA = "data/a.csv"
    pd.read_csv(DATA)
    pd.read_csv(os.path.join("data", "b.csv"))
    Path("data/c.txt").read_text()
    pd.DataFrame().to_csv("data/out.csv")
    open("data/w.txt", "w")
    if sys.argv[1:]:
        pd.read_csv("data/maybe.csv")
    print("data/printed.csv")
    Path("data/probe.csv").exists()
    """
    _, paths = scan_code(textwrap.dedent(source), "src/a.py", ".", FILES)
    assert [(p.target, p.writes) for p in paths] == [
        ("data/a.csv", False),
        ("data/b.csv", False),
        ("data/c.txt", False),
        ("data/out.csv", True),
        ("data/w.txt", True),
    ]
