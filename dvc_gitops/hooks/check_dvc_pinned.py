"""The `check-dvc-pinned` hook: DVC and its remote plugins pinned with == everywhere.

The rules and the logic live in `dvc_gitops.pins.rules`;
this module is what pre-commit runs.
"""

from __future__ import annotations

from typing import Any

import click

from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.runner import Check, hook_main
from dvc_gitops.pins.rules import check


def _options() -> list[Any]:
    return [
        click.option(
            "--python",
            "python",
            type=str,
            default=None,
            help="The project's Python interpreter (default: $VIRTUAL_ENV, .venv/, this one).",
        ),
        click.option(
            "--installed/--no-installed",
            "installed",
            default=None,
            help="Compare the pins with the version installed in the project's interpreter.",
        ),
    ]


CHECK = Check("check-dvc-pinned", check, codes=prefixes("check-dvc-pinned"), can_fix=True)
main = hook_main(
    CHECK,
    help="Check DVC and its remote plugins are pinned with ==, the same everywhere, in "
    "every lock, and installed.",
    extra_options=_options(),
)

if __name__ == "__main__":
    raise SystemExit(main())
