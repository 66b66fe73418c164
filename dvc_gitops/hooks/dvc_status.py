"""The `dvc-status` hook: stale stages from the project's own `dvc status`, explained.

The same command as `dvc-gitops status` (`dvc_gitops.status.dvc_status`), with the hook's name.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dvc_gitops.core.runner import guarded
from dvc_gitops.status.dvc_status import CHECK, status_command

__all__ = ["CHECK", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """The `dvc-status` hook: the same command as `dvc-gitops status`."""
    args = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        # Not hook_main: this hook takes no file names, and it needs its own exit codes
        # (2, 4), which click hands back as the return value of a non-standalone main.
        code = status_command.main(args=args, prog_name="dvc-status", standalone_mode=False)
        return int(code or 0)

    return guarded("dvc-status", "--debug" in args, body)


if __name__ == "__main__":
    sys.exit(main())
