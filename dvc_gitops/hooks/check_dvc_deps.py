"""The `check-dvc-deps` hook: scripts and modules a stage's cmd runs that its deps do not list.

The rules and the logic live in `dvc_gitops.dvcmodel.deps`;
this module is what pre-commit runs.
"""

from __future__ import annotations

from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.runner import Check, hook_main
from dvc_gitops.dvcmodel.deps import check

CHECK = Check("check-dvc-deps", check, codes=prefixes("check-dvc-deps"), can_fix=True)
main = hook_main(
    CHECK,
    help="Check that every script a stage's cmd runs is among its deps (--fix adds them).",
)

if __name__ == "__main__":
    raise SystemExit(main())
