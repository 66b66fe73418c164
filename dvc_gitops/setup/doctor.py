"""`dvc-gitops doctor`: one screen that says whether this clone is ready for work.

Each line is one check with its verdict and, when it fails, the command that fixes it:
DVC installed and equal to the pin, the default remote answering a real push and pull,
its credentials present locally (their names only, never their values), the git hooks
pre-commit should have installed, the MLflow tracking server answering, and the
pipeline's status. `--format json` for scripts; exit 0 when every check passes, else 1.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import click

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.redact import safe, secrets_in_url
from dvc_gitops.core.runner import SECONDS
from dvc_gitops.formats.dvc_config import (
    ConfigSyntaxError,
    DvcConfig,
    credential_keys,
    parse,
    remote_type,
)
from dvc_gitops.setup.dvc_install import DvcInstall, dvc_install, hook_types, missing_hooks
from dvc_gitops.setup.remote_probe import round_trip

Status = Literal["ok", "fail", "skipped"]
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Verdict:
    """One line of the screen."""

    check: str  # "dvc", "remote", "credentials", "git hooks", "mlflow", "pipeline"
    status: Status
    detail: str
    fix: str = ""  # the command (or step) that fixes it, when it failed


@dataclass
class Doctor:
    project: Project
    dvc: str | None
    timeout: float
    offline: bool
    install: DvcInstall | None = None

    def verdicts(self) -> list[Verdict]:
        checks: list[Callable[[], Verdict]] = [
            self.dvc_check,
            self.remote_check,
            self.credentials_check,
            self.hooks_check,
            self.mlflow_check,
            self.pipeline_check,
        ]
        return [check() for check in checks]

    # -- DVC ------------------------------------------------------------------------------
    def dvc_check(self) -> Verdict:
        self.install = install = dvc_install(self.project, self.dvc, self.timeout)
        if not install.command:
            return Verdict("dvc", "fail", safe(str(install.problem)), "pip install dvc")
        if not install.ok:
            detail, _, fix = (install.problem or "").rpartition(": ")
            return Verdict("dvc", "fail", detail, fix)
        pin = f" = the pin {install.pinned}" if install.pinned else " (no exact pin found)"
        return Verdict("dvc", "ok", f"DVC {install.version}{pin}")

    # -- the default remote -----------------------------------------------------------------
    def configs(self) -> tuple[DvcConfig, DvcConfig] | str:
        found = []
        for rel in (".dvc/config", ".dvc/config.local"):
            try:
                text = self.project.read_text(rel) if self.project.exists(rel) else ""
                found.append(parse(text, rel))
            except ConfigSyntaxError as exc:
                return f"{rel}:{exc.mark.line}: DVC cannot load it: {exc.message}"
        return found[0], found[1]

    def default_remote(self) -> tuple[str | None, str | None, str]:
        """(name, url, problem): the default remote as DVC merges the two files."""
        if not self.project.is_dvc_repo:
            return None, None, "not a DVC project (no .dvc folder)"
        configs = self.configs()
        if isinstance(configs, str):
            return None, None, configs
        tracked, local = configs
        name = None
        for config in configs:
            if config.default_remote is not None:
                name = config.default_remote.value.lower()
        if name is None:
            return None, None, "no default remote is set"
        url = None
        for config in (tracked, local):
            section = config.remotes.get(name)
            if section and "url" in section.options:
                url = section.options["url"].value
        if url is None:
            return name, None, f"default remote '{name}' has no url"
        return name, url, ""

    def remote_check(self) -> Verdict:
        name, url, problem = self.default_remote()
        if name is None or url is None:
            # Outside a DVC project, onboard would only say to run `dvc init`: say it here.
            fix = "dvc init, then commit .dvc/" if not self.project.is_dvc_repo else ""
            return Verdict("remote", "fail", safe(problem), fix or "dvc-gitops onboard")
        url = safe(url)  # every line below names it: never with its credentials
        if self.offline:
            return Verdict("remote", "skipped", f"'{name}' ({url}) not probed: --offline")
        if self.install is None or not self.install.command:
            return Verdict("remote", "skipped", f"'{name}' ({url}) not probed: no DVC")
        probe = round_trip(self.project, self.install.command, name, self.timeout)
        if probe.ok:
            return Verdict("remote", "ok", f"'{name}' ({url}) answers: {probe.detail}")
        return Verdict(
            "remote",
            "fail",
            f"'{name}' ({url}) does not answer: {probe.detail}",
            f"check the url and credentials: dvc remote modify --local {shlex.quote(name)} "
            "KEY *** (or dvc-gitops onboard --force)",
        )

    def credentials_check(self) -> Verdict:
        name, url, problem = self.default_remote()
        if name is None or url is None:
            return Verdict("credentials", "skipped", f"no usable default remote ({problem})")
        configs = self.configs()
        assert not isinstance(configs, str)
        tracked, local = configs
        kind = remote_type(url)
        tracked_url = tracked.remotes.get(name)
        in_url = secrets_in_url(url)
        if in_url and tracked_url is not None and "url" in tracked_url.options:
            return Verdict(
                "credentials",
                "fail",
                f"the url of '{name}' in the tracked .dvc/config holds {in_url[0]}",
                "dvc-gitops check --select DG7 (it prints the commands that move it); then "
                "rotate it",
            )
        if kind == "":
            return Verdict("credentials", "ok", f"'{name}' is a local folder: none needed")
        # The team's table names the keys every clone needs in config.local (its env
        # variables feed `onboard`; DVC itself never reads them).
        table = self.project.config.sections.get("remote", {})
        team = table.get("credentials", {}) if str(table.get("name", "")).lower() == name else {}
        expected = sorted(team) if isinstance(team, dict) else []
        keys = credential_keys(kind)
        section = local.remotes.get(name)
        in_local = sorted(k for k in (section.options if section else {}) if k in keys)
        tracked_section = tracked.remotes.get(name)
        leaked = sorted(
            k for k in (tracked_section.options if tracked_section else {}) if k in keys
        )
        if leaked:
            return Verdict(
                "credentials",
                "fail",
                f"{', '.join(leaked)} of '{name}' sit in the tracked .dvc/config",
                "dvc-gitops check --select DG701 (it prints the commands that move them)",
            )
        missing = [k for k in expected if k not in in_local]
        if missing:
            return Verdict(
                "credentials",
                "fail",
                f"{', '.join(missing)} of '{name}' not in .dvc/config.local",
                "dvc-gitops onboard",
            )
        if not in_local:
            return Verdict(
                "credentials",
                "ok",
                f"none in .dvc/config.local for '{name}': DVC uses the {kind} defaults "
                "(environment, profiles)",
            )
        return Verdict("credentials", "ok", f"'{name}': {', '.join(in_local)} in .dvc/config.local")

    # -- git hooks ------------------------------------------------------------------------
    def hooks_check(self) -> Verdict:
        types, problem = hook_types(self.project)
        if problem:
            return Verdict("git hooks", "fail", problem, "fix .pre-commit-config.yaml")
        if not types:
            return Verdict("git hooks", "skipped", "no .pre-commit-config.yaml")
        missing = missing_hooks(self.project, types)
        if missing:
            flags = " ".join(f"--hook-type {t}" for t in missing)
            return Verdict(
                "git hooks",
                "fail",
                f"not installed: {', '.join(missing)}",
                f"pre-commit install {flags}",
            )
        return Verdict("git hooks", "ok", f"installed: {', '.join(types)}")

    # -- MLflow ---------------------------------------------------------------------------
    def mlflow_check(self) -> Verdict:
        from dvc_gitops.mlflow.map import DEFAULT_TRACKING_URI, load_map
        from dvc_gitops.mlflow.rest import MlflowRest, is_server_uri

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        source = "MLFLOW_TRACKING_URI"
        if not uri and not self.uses_mlflow():
            return Verdict(
                "mlflow",
                "skipped",
                "not used here: no MLflow map, no MLFLOW_TRACKING_URI, no stage script "
                "imports mlflow",
            )
        if not uri:
            try:
                emap = load_map(self.project)
            except ConfigError as exc:
                return Verdict("mlflow", "fail", str(exc), "fix [tool.dvc-gitops.mlflow]")
            uri = emap.tracking_uri or DEFAULT_TRACKING_URI
            source = emap.path if emap.tracking_uri else "MLflow's default"
        shown = safe(uri)
        if not is_server_uri(uri):
            if "://" in uri and uri.split("://", 1)[0].lower() in ("http", "https"):
                return Verdict("mlflow", "fail", f"{shown} ({source}) is not a usable URL")
            return Verdict("mlflow", "ok", f"{shown} ({source}): a local store, nothing to reach")
        if self.offline:
            return Verdict("mlflow", "skipped", f"{shown} ({source}) not probed: --offline")
        ok, detail = MlflowRest(uri, self.timeout).health()
        if ok:
            return Verdict("mlflow", "ok", f"{shown} ({source}) answers /health")
        return Verdict(
            "mlflow",
            "fail",
            f"{shown} ({source}) does not answer: {detail}",
            "start the server, or set MLFLOW_TRACKING_URI to the team's",
        )

    def uses_mlflow(self) -> bool:
        """Whether this project tracks with MLflow: a map, its config, or a stage's script."""
        from dvc_gitops.mlflow.map import map_path
        from dvc_gitops.mlflow.scan import proposed_entries

        try:
            if self.project.exists(map_path(self.project)):
                return True
        except ConfigError:
            return True  # a broken [tool.dvc-gitops.mlflow]: the check reports it
        if "mlflow" in self.project.config.sections:
            return True
        return self.project.is_dvc_repo and bool(proposed_entries(self.project))

    # -- the pipeline -------------------------------------------------------------------------
    def pipeline_check(self) -> Verdict:
        from dvc_gitops.status.dvc_status import explain, run_dvc_status

        if not self.project.is_dvc_repo:
            return Verdict("pipeline", "skipped", "not a DVC project")
        if self.install is None or not self.install.command:
            return Verdict("pipeline", "skipped", "no DVC to ask")
        result = run_dvc_status(self.project, self.dvc, self.timeout)
        if not result.ok:
            return Verdict("pipeline", "fail", safe(str(result.error)), "dvc status")
        # The status hook's own reading: stages DVC always lists are not stale.
        findings = list(explain(self.project, result))
        if not findings:
            return Verdict("pipeline", "ok", "up to date (dvc status is clean)")
        where = ", ".join(f"{f.path}:{f.line}" for f in findings[:5])
        more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
        return Verdict(
            "pipeline",
            "fail",
            f"{len(findings)} stage{'s' if len(findings) != 1 else ''} stale or missing "
            f"outputs ({where}{more})",
            "dvc-gitops status (why), then dvc repro or dvc pull",
        )


TAGS = {"ok": "[ok]     ", "fail": "[FAILED] ", "skipped": "[skipped]"}


@click.command("doctor")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format."
)
@click.option("--offline", is_flag=True, help="Skip the network checks (remote, MLflow).")
@click.option("--dvc", "dvc", metavar="PATH", help="The DVC executable (default: the project's).")
@click.option(
    "--timeout",
    type=SECONDS,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds per check.",
)
def doctor_command(fmt: str, offline: bool, dvc: str | None, timeout: float) -> None:
    """Check this clone is ready: DVC, remote, credentials, git hooks, MLflow, pipeline."""
    project = Project(find_root(Path.cwd()))
    verdicts = Doctor(project, dvc, timeout, offline).verdicts()
    failed = sum(v.status == "fail" for v in verdicts)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"version": 1, "ok": not failed, "checks": [asdict(v) for v in verdicts]},
                indent=2,
            )
        )
    else:
        width = max(len(v.check) for v in verdicts)
        for v in verdicts:
            fix = f"  -> fix: {v.fix}" if v.status == "fail" and v.fix else ""
            click.echo(f"{TAGS[v.status]} {v.check:<{width}}  {v.detail}{fix}")
        click.echo(
            f"Not ready: {failed} check{'s' if failed != 1 else ''} failed." if failed else "Ready."
        )
    raise click.exceptions.Exit(1 if failed else 0)
