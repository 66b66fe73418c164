"""The `check-dvc-yaml` hook: dvc.yaml files against DVC 3's schema, graph and params.

The rules and the logic live in `dvc_gitops.dvcmodel.schema_check`;
this module is what pre-commit runs.
"""

from __future__ import annotations

from dvc_gitops.core.catalog import prefixes
from dvc_gitops.core.runner import Check, hook_main
from dvc_gitops.dvcmodel.schema_check import check

CHECK = Check("check-dvc-yaml", check, codes=prefixes("check-dvc-yaml"), can_fix=True)
main = hook_main(CHECK, help="Check dvc.yaml files against DVC 3's schema, graph and params.")

if __name__ == "__main__":
    raise SystemExit(main())
