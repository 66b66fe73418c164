"""Write a realistic DVC monorepo of FILES dvc.yaml files and STAGES stages in all.

    .venv/bin/python bench/generate.py OUT --files 10 --stages 500 [--git]

Each dvc.yaml lives in its own project folder (at the root when there is one file) with:
a `params.yaml` and a custom params file (`conf/train.yaml`) read through `vars` and
`params`; a chain of plain stages, each depending on the previous stage's output and on
the script it runs (so the graph is real and `check-dvc-deps` is satisfied); every fifth
stage runs from `wdir: src`; every seventh writes an uncached metrics file; one `foreach`
over a params list (3 members) and one `matrix` (2 x 2 members) when there is room; and
the first stage of each project depends on the last output of the project before it.
STAGES counts what `dvc stage list` prints, foreach/matrix members included.

With `--git`, the folder becomes a git repository with `dvc init` run and the files
committed, as the harness needs for `dvc stage list` and `dvc status`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import metadata
from pathlib import Path

BIN = Path(sys.executable).parent
MODELS = ["ridge", "lasso", "forest"]
TEMPLATED = len(MODELS) + 2 * 2  # members of the foreach and the matrix of each file


def split(stages: int, files: int) -> list[int]:
    """Stages of each file: as even as possible, every file at least one."""
    if files < 1 or stages < files:
        raise ValueError(f"need at least one stage per file ({files} files, {stages} stages)")
    return [stages // files + (1 if i < stages % files else 0) for i in range(files)]


def project_folder(index: int, files: int) -> str:
    return "." if files == 1 else f"projects/p{index:03d}"


def dvc_yaml(index: int, count: int, previous: str | None) -> tuple[str, str]:
    """The dvc.yaml text of project `index` with `count` stages, and its last output."""
    templated = count >= 12
    plain = count - TEMPLATED if templated else count
    lines = ["vars:", "  - conf/train.yaml", "", "stages:"]
    last = previous
    for s in range(plain):
        dep = last or "data/raw.csv"
        out = f"out/s{s:04d}.csv"
        in_src = s % 5 == 4
        up = "../" if in_src else ""
        lines += [f"  s{s:04d}:"]
        if in_src:
            lines += ["    wdir: src", f"    cmd: python step.py --in {up}{dep} --out {up}{out}"]
        else:
            lines += [f"    cmd: python src/step.py --lr ${{train.lr}} --in {dep} --out {out}"]
        script = "step.py" if in_src else "src/step.py"
        lines += ["    deps:", f"      - {script}", f"      - {up}{dep}", "    params:"]
        if in_src:
            lines += [f"      - {up}params.yaml:", "          - train.lr"]
        else:
            lines += ["      - train", "      - conf/train.yaml:"]
            lines += ["          - batch", "          - optimizer"]
        lines += ["    outs:", f"      - {up}{out}"]
        if s % 7 == 6:
            lines += ["    metrics:", f"      - {up}metrics/s{s:04d}.json:"]
            lines += ["          cache: false"]
        last = out
        # Only the first stage takes the previous project's output.
        previous = None
    assert last is not None
    if templated:
        lines += [
            "  featurize:",
            "    foreach: ${models}",
            "    do:",
            "      cmd: python src/featurize.py ${item} " + last,
            "      deps:",
            "        - src/featurize.py",
            f"        - {last}",
            "      params:",
            "        - train.lr",
            "      outs:",
            "        - features/${item}.parquet",
            "  tune:",
            "    matrix:",
            "      model: [ridge, lasso]",
            "      seed: ${seeds}",
            "    cmd: python src/featurize.py ${item.model} --seed ${item.seed}",
            "    deps:",
            "      - src/featurize.py",
            "      - features/${item.model}.parquet",
            "    outs:",
            "      - tuned/${item.model}-${item.seed}.pkl",
        ]
    return "\n".join(lines) + "\n", last


def write_repo(root: Path, files: int, stages: int) -> list[str]:
    """Write the tree below `root`; returns the repo-relative dvc.yaml paths."""
    written = []
    # A pinned DVC, as check-dvc-pinned asks of every DVC project.
    (root / "requirements.txt").write_text(f"dvc=={metadata.version('dvc')}\n")
    previous_out: str | None = None  # repo-relative
    for index, count in enumerate(split(stages, files)):
        folder = project_folder(index, files)
        base = root / folder
        for sub in ("src", "conf", "data"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "src" / "step.py").write_text(
            "import argparse\n\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--in')\nparser.add_argument('--out')\n"
            "parser.add_argument('--lr', type=float)\nparser.parse_known_args()\n"
        )
        (base / "src" / "featurize.py").write_text("import sys\n\nprint(sys.argv[1:])\n")
        (base / "data" / "raw.csv").write_text("x,y\n1,2\n")
        (base / "params.yaml").write_text(
            f"train:\n  lr: 0.01\n  epochs: 10\nmodels: [{', '.join(MODELS)}]\nseeds: [1, 2]\n"
        )
        (base / "conf" / "train.yaml").write_text("batch: 64\noptimizer: adam\n")
        upstream = None
        if previous_out is not None:
            depth = folder.count("/") + 1
            upstream = "../" * depth + previous_out
        text, last = dvc_yaml(index, count, upstream)
        (base / "dvc.yaml").write_text(text)
        previous_out = last if folder == "." else f"{folder}/{last}"
        written.append("dvc.yaml" if folder == "." else f"{folder}/dvc.yaml")
    return written


def make_git_dvc_repo(root: Path) -> None:
    """`git init` + `dvc init` + one commit of everything below `root`."""

    def run(*argv: str) -> None:
        subprocess.run(argv, cwd=root, check=True, capture_output=True)

    run("git", "init", "-q", "-b", "main")
    run(str(BIN / "dvc"), "init", "-q")
    run("git", "add", "-A")
    run("git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qm", "gen")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (created; must be empty)")
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--stages", type=int, default=500)
    parser.add_argument("--git", action="store_true", help="git init, dvc init, commit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    written = write_repo(args.out, args.files, args.stages)
    if args.git:
        make_git_dvc_repo(args.out)
    print(f"{args.out}: {len(written)} dvc.yaml files, {args.stages} stages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
