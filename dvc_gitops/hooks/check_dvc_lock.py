"""check-dvc-lock: dvc.lock against the code, params and cmd of a tree, without DVC.

The rules and the logic live in `dvc_gitops.status.lock`; this module is what pre-commit
runs.
"""

from __future__ import annotations

import click

from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.runner import Check, hook_main
from dvc_gitops.status.lock import SCOPES, check

CHECK = Check("check-dvc-lock", check, codes=prefixes("check-dvc-lock"))
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
