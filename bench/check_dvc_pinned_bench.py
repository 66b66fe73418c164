"""Time check-dvc-pinned on a generated monorepo: many dependency files, locks, data files.

The repository holds `projects` sub-projects, each with a dvc.yaml (an s3:// external
out), a pyproject.toml with a range governed by its uv.lock (`lock_packages` entries), a
requirements.txt pinned with hashes and including a shared constraints file, and
`data_files` small files the walk must step over. Usage:

    python bench/check_dvc_pinned_bench.py [projects] [lock_packages] [data_files]
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HOOK = Path(sys.executable).parent / "check-dvc-pinned"


def make_repo(root: Path, projects: int, lock_packages: int, data_files: int) -> None:
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config").write_text("['remote \"s\"']\n    url = s3://bucket/dvc\n")
    (root / "constraints.txt").write_text("dvc==3.67.1\ndvc-s3==3.3.0\n")
    lock = ['version = 1\nrequires-python = ">=3.10"\n']
    for index in range(lock_packages):
        lock.append(
            f'\n[[package]]\nname = "pkg-{index}"\nversion = "1.{index}.0"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
            f'wheels = [{{ url = "https://example.invalid/pkg-{index}.whl", hash = "sha256:0" }}]\n'
        )
    lock.append('\n[[package]]\nname = "dvc"\nversion = "3.67.1"\n')
    lock.append('\n[[package]]\nname = "dvc-s3"\nversion = "3.3.0"\n')
    for number in range(projects):
        project = root / f"project{number:03d}"
        (project / "data").mkdir(parents=True)
        (project / "dvc.yaml").write_text(
            "stages:\n  train:\n    cmd: python train.py\n    outs:\n"
            f"    - s3://bucket/project{number}/model.pkl:\n        cache: false\n"
        )
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "p{number}"\nversion = "1.0"\n'
            'dependencies = ["dvc[s3]>=3.60", "pandas>=2"]\n'
        )
        (project / "uv.lock").write_text("".join(lock))
        (project / "requirements.txt").write_text(
            "-c ../constraints.txt\ndvc[s3]==3.67.1 \\\n    --hash=sha256:00\n"
        )
        for index in range(data_files // max(projects, 1)):
            (project / "data" / f"part-{index}.csv").write_text("a,b\n1,2\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)


def timed(root: Path, *args: str) -> tuple[float, str]:
    """CPU seconds (user + system) of one hook run, and its summary line.

    CPU time, not wall time: the machine is shared, and wall time measures the others.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([str(HOOK), *args], cwd=root, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout.splitlines()[-1]


def main() -> None:
    projects, lock_packages, data_files = (
        int(a) for a in [*sys.argv[1:], "40", "300", "20000"][:3]
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        make_repo(root, projects, lock_packages, data_files)
        for args in (("--no-installed",), ()):
            runs = [timed(root, *args) for _ in range(5)]
            median = statistics.median(t for t, _ in runs)
            print(
                f"{' '.join(args) or '(installed check on)'}: median {median:.2f} CPU s "
                f"over 5 runs; {runs[0][1]}"
            )


if __name__ == "__main__":
    main()
