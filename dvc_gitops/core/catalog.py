"""The one table of hooks and commands: every other list of them is derived from it.

A hook's row says which module pre-commit runs, which code prefixes it reports, which
modules declare its rules, and whether `dvc-gitops check` runs it (the offline checks).
The manifest, the console scripts, the rule pages and `check` are held to this table by
tests, so adding a hook means adding one row here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hook:
    id: str  # the pre-commit hook id and console script
    prefixes: tuple[str, ...]  # the codes it reports, by prefix ("DG1", "DG21")
    rule_modules: tuple[str, ...]  # where those rules are declared, beside their logic
    offline: bool  # one of the checks `dvc-gitops check` runs
    # The module whose `main` the hook's console script runs, when it is not hooks/<id>.py.
    entry_module: str | None = None
    all_offline: bool = False  # runs every offline check (the one-process hook)

    @property
    def module(self) -> str:
        return self.entry_module or "dvc_gitops.hooks." + self.id.replace("-", "_")


_MODEL = "dvc_gitops.dvcmodel."

HOOKS = (
    Hook(
        "check-dvc-yaml",
        ("DG1", "DG21", "DG22", "DG23", "DG3"),
        (_MODEL + "schema_check", _MODEL + "graph", _MODEL + "params"),
        offline=True,
    ),
    Hook(
        "check-dvc-deps", ("DG20", "DG25"), (_MODEL + "deps", _MODEL + "code_reads"), offline=True
    ),
    Hook("dvc-status", ("DG40",), ("dvc_gitops.status.dvc_status",), offline=False),
    Hook("check-dvc-pinned", ("DG5",), ("dvc_gitops.pins.rules",), offline=True),
    Hook("check-mlflow-map", ("DG6",), ("dvc_gitops.mlflow.rules",), offline=True),
    Hook("check-dvc-config", ("DG7",), ("dvc_gitops.setup.config_rules",), offline=True),
    Hook("dvc-dag-docs", (), (), offline=False),
    Hook("check-airflow-export", ("DG801",), ("dvc_gitops.export.stale",), offline=True),
    Hook("check-kubeflow-export", ("DG802",), ("dvc_gitops.export.stale",), offline=True),
    Hook("check-dvc-lock", ("DG41", "DG42"), ("dvc_gitops.status.lock",), offline=True),
    # Entry `dvc-gitops check`: every offline check above in one process, like ruff's hook.
    Hook(
        "dvc-gitops",
        (),
        (),
        offline=False,
        entry_module="dvc_gitops.cli",
        all_offline=True,
    ),
)

# Codes any hook may report: unreadable files, unused suppressions (core.findings).
SHARED_PREFIX = "DG0"

# `dvc-gitops NAME` -> "module:attribute" of its click command, imported on first use.
COMMANDS = {
    "status": "dvc_gitops.status.dvc_status:status_command",
    "onboard": "dvc_gitops.setup.onboard:onboard_command",
    "doctor": "dvc_gitops.setup.doctor:doctor_command",
    "dag": "dvc_gitops.export.mermaid:dag_command",
    "map": "dvc_gitops.mlflow.map:map_group",
    "rules": "dvc_gitops.rules_docs:rules_command",
    "export": "dvc_gitops.export.group:export_group",
    "cost": "dvc_gitops.storage.cost:cost_command",
    "review": "dvc_gitops.review.command:review_command",
    "baseline": "dvc_gitops.cli:baseline_command",
    "init": "dvc_gitops.cli:init_command",
}


def hook(hook_id: str) -> Hook:
    return next(h for h in HOOKS if h.id == hook_id)


def prefixes(hook_id: str) -> tuple[str, ...]:
    """The code prefixes a hook reports (its `Check.codes`)."""
    return hook(hook_id).prefixes


def offline_hooks() -> list[Hook]:
    return [h for h in HOOKS if h.offline]


def rule_modules() -> list[str]:
    """Every module that declares rules; importing them fills the registry."""
    return [m for h in HOOKS for m in h.rule_modules]


def hook_of(code: str) -> str:
    """The hook that reports `code` (the longest matching prefix wins)."""
    if code.startswith(SHARED_PREFIX):
        return "every hook"
    owners = [(p, h.id) for h in HOOKS for p in h.prefixes if code.startswith(p)]
    return max(owners, key=lambda owner: len(owner[0]))[1] if owners else "no hook"


def unknown_code(code: str) -> str | None:
    """Why `code` (a rule code or prefix from --select/--ignore) selects nothing, with the
    nearest real code; None when it can select a rule. Rule modules are imported only for
    a full code, and only those of the hooks owning its prefix, to ask the registry."""
    import importlib

    from dvc_gitops.core.findings import RULES

    owners = [SHARED_PREFIX, *(p for h in HOOKS for p in h.prefixes)]
    where = "`dvc-gitops rules` lists them"
    if code == "ALL" or "DG".startswith(code):
        return None
    if len(code) < len("DG101"):
        if any(code.startswith(p) or p.startswith(code) for p in owners):
            return None
        families = sorted({p[:3] for p in owners})
        span = f"{families[0]}-{families[-1]}"
        return f"no rule code starts with '{code}' (the families are {span}): {where}"
    for h in HOOKS:
        if any(code.startswith(p) for p in h.prefixes):
            for module in h.rule_modules:
                importlib.import_module(module)
    if any(c.startswith(code) for c in RULES):
        return None
    for module in rule_modules():  # an error now: the whole registry, for the hint
        importlib.import_module(module)
    # The usual slips: a letter O for a zero, an I or l for a one.
    guess = code[:2] + code[2:].replace("O", "0").replace("I", "1").replace("L", "1")
    if guess not in RULES:
        import difflib

        close = difflib.get_close_matches(code, sorted(RULES), n=1, cutoff=0.6)
        guess = close[0] if close else ""
    hint = f" (did you mean {guess}?)" if guess else ""
    return f"no rule {code}{hint}: {where}"
