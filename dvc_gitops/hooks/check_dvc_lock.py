"""check-dvc-lock: dvc.lock against the code, params and cmd of a tree, without DVC."""

from __future__ import annotations

import click

from ..runner import Check, hook_main
from ..status.lock import SCOPES, check

CHECK = Check("check-dvc-lock", check, codes=("DG41", "DG42"))
main = hook_main(
    CHECK,
    help="Check each stage's dvc.lock entry against its command, deps and params in the "
    "work tree, the git index (--scope staged, the default under pre-commit) or any commit "
    "(--rev REV), without DVC and without the data.",
    extra_options=[
        click.option(
            "--scope",
            type=click.Choice(SCOPES),
            default=None,
            help="Files on disk (worktree) or what the commit will hold (staged).",
        ),
        click.option("--rev", default=None, help="Check this commit (read from git, no checkout)."),
    ],
)

if __name__ == "__main__":
    raise SystemExit(main())
