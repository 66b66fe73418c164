"""The `check-dvc-config` hook: no credentials in the tracked .dvc/config, remotes DVC can use.

The rules and the logic live in `dvc_gitops.setup.config_rules`;
this module is what pre-commit runs.
"""

from __future__ import annotations

from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.runner import Check, hook_main
from dvc_gitops.setup.config_rules import check

CHECK = Check("check-dvc-config", check, codes=prefixes("check-dvc-config"), can_fix=True)
main = hook_main(
    CHECK,
    help="Check DVC config files: no credentials in the tracked .dvc/config, config.local "
    "ignored by git, remotes DVC can use.",
)

if __name__ == "__main__":
    raise SystemExit(main())
