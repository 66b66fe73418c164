"""`dvc-gitops onboard`: make a fresh clone ready for DVC work, and say what it did.

The team's remote comes from `[tool.dvc-gitops.remote]` (or flags):

    [tool.dvc-gitops.remote]
    name = "storage"
    url = "s3://team-bucket/dvc"
    region = "eu-west-1"                        # any other key: a non-secret option
    # credential key -> the environment variable that holds it (asked for when unset);
    # a repository may name only its remote type's well-known ones (else --credential)
    credentials = { secret_access_key = "AWS_SECRET_ACCESS_KEY" }
    config = { "core.autostage" = true }        # team DVC settings (`dvc config`)

Settings are written with DVC's own commands, run with the project's `dvc`: `dvc remote
add`, `dvc remote modify`, `dvc remote default`, `dvc config`. Credentials are written by
onboard itself into the git-ignored `.dvc/config.local` (mode 0600, atomically), never
passed on a command line, where every user of the machine could read them in `ps`. A
secret comes from its environment variable or a hidden prompt and is never printed; a
repository's own config may only name the well-known variables of its remote's type.
What is already in place is left alone, so a second run changes nothing; a value that
differs from the team's is replaced only with `--force`, one key at a time (never `dvc
remote add -f`, which drops the section's other options). Then the remote is probed with
a real push and pull, and `pre-commit install` runs for the hook types
`.pre-commit-config.yaml` uses.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.files import WriteRefused, write_text
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.redact import redact, safe, secrets_in_url, without_secrets
from dvc_gitops.core.runner import SECONDS
from dvc_gitops.formats.dvc_config import (
    ANY_CREDENTIAL_KEY,
    OTHER_CREDENTIAL_KEYS,
    ConfigSyntaxError,
    DvcConfig,
    credential_keys,
    parse,
    quote_value,
    remote_section,
    remote_type,
    set_option,
)
from dvc_gitops.setup.dvc_install import (
    dvc_install,
    find_pre_commit,
    git_hooks_path_set,
    hook_types,
    missing_hooks,
)
from dvc_gitops.setup.remote_probe import round_trip, run

MASK = "***"
RESERVED = ("name", "url", "credentials", "config", "default")
DEFAULT_TIMEOUT = 120.0


@dataclass
class TeamRemote:
    """The remote the team wants every clone to have."""

    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)  # non-secret, tracked
    credentials: dict[str, str] = field(default_factory=dict)  # DVC key -> env variable
    config: dict[str, str] = field(default_factory=dict)  # "core.autostage" -> "true"
    default: bool = True


def team_remote(
    project: Project,
    name: str | None,
    url: str | None,
    options: Sequence[str],
    credentials: Sequence[str],
    settings: Sequence[str],
) -> TeamRemote:
    """The config table with the flags on top; ConfigError (exit 2) when unusable."""
    table: dict[str, Any] = dict(project.config.sections.get("remote", {}))
    where = f"{project.config.source or 'pyproject.toml'} [tool.dvc-gitops.remote]"
    remote = TeamRemote(
        name=str(name or table.get("name") or ""),
        url=str(url or table.get("url") or ""),
        default=_flag(table.get("default", True), "default", where),
    )
    if not remote.name or not remote.url:
        raise ConfigError(
            "no remote to set up: give --name and --url, or name = and url = in "
            "[tool.dvc-gitops.remote] of pyproject.toml"
        )
    remote.name = remote.name.lower()  # DVC lower-cases remote names when it reads them
    for key, value in table.items():
        if key not in RESERVED:
            remote.options[key] = _text(value, key, where)
    remote.options.update(_pairs(options, "--option", "KEY=VALUE"))
    secrets = _table(table.get("credentials", {}), "credentials", where)
    chosen = _pairs(credentials, "--credential", "KEY=ENV_VAR")
    remote.credentials = {**secrets, **chosen}
    remote.config = {
        **_table(table.get("config", {}), "config", where),
        **_pairs(settings, "--config", "SECTION.KEY=VALUE"),
    }
    secret_keys = credential_keys(remote_type(remote.url))
    for key in remote.options:
        if key in secret_keys:
            raise ConfigError(
                f"'{key}' is a credential of a {remote_type(remote.url) or 'local'} remote: it "
                "must not be written in a tracked file; name its environment variable under "
                f'credentials instead ({key} = "ENV_VAR")'
            )
    for key in remote.config:
        if "." not in key.strip("."):
            raise ConfigError(f"config key '{key}' must be SECTION.KEY, like core.autostage")
    _refuse_secrets(remote)
    from_repository = {k: v for k, v in secrets.items() if k not in chosen}
    _check_repository_variables(remote, from_repository, where)
    return remote


def _refuse_secrets(remote: TeamRemote) -> None:
    """A secret given as a url, an option or a setting would land in the tracked config:
    refused in one line (secrets come from environment variables, into config.local)."""
    found = secrets_in_url(remote.url)
    if found:
        raise ConfigError(
            f"the url {redact(remote.url)} holds {found[0]}: give it without "
            f"({without_secrets(remote.url)}), and the secret as --credential KEY=ENV_VAR "
            "(written only to .dvc/config.local)"
        )
    for key, value in {**remote.options, **remote.config}.items():
        if secrets_in_url(value):
            raise ConfigError(
                f"'{key}' = {redact(value)} holds a secret: it would be written to the "
                "tracked .dvc/config; use --credential KEY=ENV_VAR"
            )
    for dotted in remote.config:
        section, _, key = dotted.lower().rpartition(".")
        kind = section.split(".", 1)[0].split(" ", 1)[0].strip("'\"")
        if (
            (kind == "remote" and key in ANY_CREDENTIAL_KEY)
            or key in OTHER_CREDENTIAL_KEYS.get(section, frozenset())
            or (kind == "db" and key == "password")
        ):
            raise ConfigError(
                f"--config {dotted}: a credential must not be written to the tracked "
                ".dvc/config; give the remote's credentials as --credential KEY=ENV_VAR "
                f"(for {dotted}: `dvc config --local {dotted} VALUE` yourself)"
            )


# The environment variables a repository's own config may name as credential sources:
# the well-known ones of each remote type, each for its own key. Anything else (say
# GITHUB_TOKEN as an http password) must be chosen by the user with --credential: a
# hostile repository would otherwise have onboard read any variable and send it to a URL
# of the repository's choosing.
WELL_KNOWN_VARIABLES: dict[str, dict[str, str]] = {
    "s3": {
        "access_key_id": "AWS_ACCESS_KEY_ID",
        "secret_access_key": "AWS_SECRET_ACCESS_KEY",
        "session_token": "AWS_SESSION_TOKEN",
    },
    "azure": {
        "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
        "account_key": "AZURE_STORAGE_KEY",
        "sas_token": "AZURE_STORAGE_SAS_TOKEN",
        "client_secret": "AZURE_CLIENT_SECRET",
    },
    "oss": {"oss_key_id": "OSS_ACCESS_KEY_ID", "oss_key_secret": "OSS_ACCESS_KEY_SECRET"},
}
# Options that point a remote of these types at another host than its provider's own.
_ENDPOINT_OPTIONS = {"s3": "endpointurl", "oss": "oss_endpoint"}


def _check_repository_variables(
    remote: TeamRemote, from_repository: dict[str, str], where: str
) -> None:
    kind = remote_type(remote.url) or ""
    known = WELL_KNOWN_VARIABLES.get(kind, {})
    endpoint = remote.options.get(_ENDPOINT_OPTIONS.get(kind, ""), "")
    for key, env in from_repository.items():
        if known.get(key) != env:
            allowed = f" (for {key}: {known[key]})" if key in known else ""
            raise ConfigError(
                f'{where}: credentials {key} = "{env}": a repository\'s config may only '
                f"name the well-known variables of a {kind or 'local'} remote{allowed}; to "
                f"read ${env}, say so yourself: --credential {key}={env}"
            )
        if endpoint and not _provider_host(kind, endpoint):
            raise ConfigError(
                f'{where}: credentials {key} = "{env}" would go to {redact(endpoint)}, not '
                f"to the provider ${env} is for; to send it there, say so yourself: "
                f"--credential {key}={env}"
            )


def _provider_host(kind: str, endpoint: str) -> bool:
    host = without_secrets(endpoint).split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    suffix = {"s3": ".amazonaws.com", "oss": ".aliyuncs.com"}.get(kind, "")
    return bool(suffix) and (host.lower().endswith(suffix))


def _flag(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: '{key}' must be true or false")
    return value


def _text(value: Any, key: str, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(f"{where}: '{key}' must be a string, a number or a boolean")


def _table(value: Any, key: str, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table like {{ key = \"value\" }}")
    return {str(k): _text(v, f"{key}.{k}", where) for k, v in value.items()}


def _pairs(values: Sequence[str], option: str, shape: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} '{item}': expected {shape}")
        pairs[key.strip()] = value.strip()
    return pairs


# -- the plan: what to change, and what is already in place ---------------------------------


@dataclass
class Change:
    """One DVC command that brings one setting to the team's value."""

    what: str  # "remote 'storage' region"
    args: list[str]  # DVC arguments (never a secret: those go to `local`)
    shown: str  # the command as printed: secrets masked
    secret: str | None = None  # a credential: written by us into config.local, never argv
    local: tuple[str, str] | None = None  # (section, key) in config.local for `secret`


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    in_place: list[str] = field(default_factory=list)  # what needs nothing
    conflicts: list[str] = field(default_factory=list)  # differing values, without --force
    problems: list[str] = field(default_factory=list)  # what cannot be set (a missing secret)


def plan_changes(
    remote: TeamRemote,
    tracked: DvcConfig,
    local: DvcConfig,
    *,
    root: Path,
    force: bool,
    secret_for: Any,
) -> Plan:
    """Compare the configs with the team's remote; `secret_for(key, env)` -> str | None."""
    plan = Plan()
    name, quoted = remote.name, shlex.quote(remote.name)
    section = tracked.remotes.get(name)

    def want(what: str, current: str | None, value: str, args: list[str], where: str) -> None:
        if current == value or (_is_bool(value) and (current or "").lower() == value.lower()):
            plan.in_place.append(f"{what} is {value}")
            return
        shown = "dvc " + " ".join(shlex.quote(a) for a in args)
        if current is not None and not force:
            plan.conflicts.append(
                f"{what} is {current} in {where}, the team's is {value}: rerun with --force "
                f"to set it (`{shown}`)"
            )
            return
        plan.changes.append(Change(what, args, shown))

    if section is None:
        add = ["remote", "add", name, remote.url]
        shown = "dvc " + " ".join(shlex.quote(a) for a in add)
        plan.changes.append(Change(f"remote '{name}'", add, shown))
        current_options: dict[str, str] = {}
    else:
        current_url = section.options["url"].value if "url" in section.options else None
        if current_url is not None and same_url(current_url, remote.url, root):
            current_url = remote.url
        want(
            f"remote '{name}' url",
            current_url,
            remote.url,
            ["remote", "modify", name, "url", remote.url],
            tracked.path,
        )
        current_options = {k: o.value for k, o in section.options.items()}
    for key, value in remote.options.items():
        want(
            f"remote '{name}' {key}",
            current_options.get(key),
            value,
            ["remote", "modify", name, key, value],
            tracked.path,
        )
    if remote.default:
        option = tracked.default_remote
        current = option.value.lower() if option else None
        want("default remote", current, name, ["remote", "default", name], tracked.path)
    local_section = local.remotes.get(name)
    for key, env in remote.credentials.items():
        what = f"credential '{key}' of remote '{name}'"
        current_secret = (
            local_section.options[key].value
            if local_section and key in local_section.options
            else None
        )
        secret = secret_for(key, env, current_secret is not None)
        if secret is None:
            if current_secret is not None:
                plan.in_place.append(f"{what} is set in {local.path}")
            else:
                plan.problems.append(
                    f"{what}: environment variable {env} is not set; export it, or run "
                    "without --yes to type it"
                )
            continue
        args: list[str] = []  # written by us, never through argv (`ps` shows argv)
        shown = f"dvc remote modify --local {quoted} {key} {MASK}"
        if current_secret == secret:
            plan.in_place.append(f"{what} is set in {local.path}")
        elif current_secret is not None and not force:
            plan.conflicts.append(
                f"{what} in {local.path} differs from ${env}: rerun with --force to replace it"
            )
        else:
            plan.changes.append(
                Change(what, args, shown, secret=secret, local=(remote_section(name), key))
            )
    for dotted, value in remote.config.items():
        section_name, _, key = dotted.rpartition(".")
        current_setting = tracked.option(section_name.lower(), key.lower())
        want(
            f"setting {dotted}",
            current_setting.value if current_setting else None,
            value,
            ["config", dotted, value],
            tracked.path,
        )
    return plan


def _is_bool(value: str) -> bool:
    return value.lower() in ("true", "false")


def same_url(stored: str, wanted: str, root: Path) -> bool:
    """Whether the url DVC stored is the team's: DVC rewrites a relative local path
    relative to the .dvc folder, the team writes it relative to the repository root."""
    if remote_type(stored) != "" or remote_type(wanted) != "":
        return stored == wanted
    here = os.path.normpath(root / ".dvc" / os.path.expanduser(stored))
    there = os.path.normpath(root / os.path.expanduser(wanted))
    return here == there


# -- output -----------------------------------------------------------------------------------

TAGS = {
    "ok": "[ok]     ",
    "set": "[set]    ",
    "todo": "[to do]  ",
    "fail": "[FAILED] ",
    "skip": "[skipped]",
}


class Progress:
    """Step-by-step lines, counted for the summary."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(TAGS, 0)

    def line(self, tag: str, text: str) -> None:
        self.counts[tag] += 1
        click.echo(f"{TAGS[tag]} {text}")


# -- the command ------------------------------------------------------------------------------


@click.command("onboard")
@click.option("--name", help="Remote name (default: [tool.dvc-gitops.remote] name).")
@click.option("--url", help="Remote URL (default: [tool.dvc-gitops.remote] url).")
@click.option(
    "--option", "options", multiple=True, metavar="KEY=VALUE", help="A non-secret remote option."
)
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    metavar="KEY=ENV_VAR",
    help="A credential key and the environment variable holding its value.",
)
@click.option(
    "--config", "settings", multiple=True, metavar="SECTION.KEY=VALUE", help="A team DVC setting."
)
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Never ask: no confirmation, no prompts (CI).")
@click.option("--force", is_flag=True, help="Replace values that differ from the team's.")
@click.option("--no-check", is_flag=True, help="Skip the push/pull round trip to the remote.")
@click.option("--dvc", "dvc", metavar="PATH", help="The DVC executable (default: the project's).")
@click.option(
    "--timeout",
    type=SECONDS,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds per DVC command.",
)
def onboard_command(
    name: str | None,
    url: str | None,
    options: tuple[str, ...],
    credentials: tuple[str, ...],
    settings: tuple[str, ...],
    dry_run: bool,
    yes: bool,
    force: bool,
    no_check: bool,
    dvc: str | None,
    timeout: float,
) -> None:
    """Set up this clone for DVC: the team's remote, your credentials, checks, git hooks."""
    project = Project(find_root(Path.cwd()))
    remote = team_remote(project, name, url, options, credentials, settings)
    progress = Progress()
    tracked = project.root / ".dvc" / "config"
    before = tracked.read_bytes() if tracked.is_file() else None
    click.echo(
        f"Onboarding {project.root.name}: remote '{remote.name}' ({safe(remote.url)})"
        + (" [dry run: nothing will change]" if dry_run else "")
    )
    code = _onboard(
        project,
        remote,
        progress,
        dry_run=dry_run,
        yes=yes,
        force=force,
        check=not no_check,
        dvc=dvc,
        timeout=timeout,
    )
    _summary(progress, dry_run)
    after = tracked.read_bytes() if tracked.is_file() else None
    if after != before and code == 0:
        # The team's remote lives in the tracked config: until it is committed, every
        # other clone still has to be onboarded by hand.
        click.echo(
            "Commit .dvc/config, so every clone gets the remote: "
            f'`git add .dvc/config && git commit -m "DVC remote {remote.name}"`'
        )
    raise click.exceptions.Exit(code)


def _onboard(
    project: Project,
    remote: TeamRemote,
    progress: Progress,
    *,
    dry_run: bool,
    yes: bool,
    force: bool,
    check: bool,
    dvc: str | None,
    timeout: float,
) -> int:
    failed = False
    install = dvc_install(project, dvc, timeout)
    if not install.command:
        progress.line("fail", f"DVC: {install.problem}")
        return 1
    pin = f" = the pin {install.pinned}" if install.pinned else " (no exact pin found)"
    if install.ok:
        progress.line("ok", f"DVC {install.version} ({install.command[-1]}){pin}")
    else:
        progress.line("fail", f"DVC: {install.problem}")
        failed = True
    if not project.is_dvc_repo:
        progress.line("fail", "not a DVC project (no .dvc folder): run `dvc init` and commit .dvc/")
        return 1
    configs = []
    for rel in (".dvc/config", ".dvc/config.local"):
        try:
            text = project.read_text(rel) if project.exists(rel) else ""
            configs.append(parse(text, rel))
        except ConfigSyntaxError as exc:
            progress.line("fail", f"{rel}:{exc.mark.line}: DVC cannot load it: {exc.message}")
            return 1
    tracked, local = configs

    def secret_for(key: str, env: str, have: bool) -> str | None:
        value = os.environ.get(env)
        if value:
            return value
        if yes or dry_run or have:
            return None  # keep what config.local holds; a dry run never asks
        typed: str = click.prompt(
            f"{key} for remote '{remote.name}' (${env} is not set; input hidden)",
            hide_input=True,  # click asks again on an empty answer
        )
        return typed

    plan = plan_changes(
        remote, tracked, local, root=project.root, force=force, secret_for=secret_for
    )
    if any(change.secret for change in plan.changes):
        # A secret must never land in a file git would commit.
        from dvc_gitops.setup.config_rules import config_local_in_git

        for finding in config_local_in_git(project, "", tracked):
            plan.problems.append(f"credentials not written: {finding.message}")
    for text in plan.in_place:
        progress.line("ok", text)
    for text in plan.conflicts + plan.problems:
        progress.line("fail", text)
    if plan.conflicts or plan.problems:
        click.echo("Nothing was written: settle the lines above first.")
        return 1
    if plan.changes and dry_run:
        for change in plan.changes:
            progress.line("todo", f"{change.what}: would run `{change.shown}`")
    elif plan.changes:
        if not yes:
            for change in plan.changes:
                click.echo(f"  will run `{change.shown}`")
            click.confirm(f"Apply these {len(plan.changes)} changes?", abort=True)
        secrets = [c.secret for c in plan.changes if c.secret]
        for change in plan.changes:
            if change.local is not None:
                continue
            done = run([*install.command, *change.args], project.root, timeout)
            if not done.ok:
                error = done.error_line()
                for secret in secrets:
                    error = error.replace(secret, MASK)
                progress.line("fail", f"{change.what}: `{change.shown}` failed: {error}")
                return 1
            progress.line("set", f"{change.what}: `{change.shown}`")
        local_changes = [c for c in plan.changes if c.local is not None]
        if local_changes:
            problem = write_local_secrets(project, local_changes)
            if problem:
                progress.line("fail", f"credentials not written: {problem}")
                return 1
            for change in local_changes:
                progress.line("set", f"{change.what}: `{change.shown}`")
    if dry_run or not check:
        progress.line(
            "skip",
            f"remote '{remote.name}' round trip" + (" (dry run)" if dry_run else " (--no-check)"),
        )
    else:
        probe = round_trip(project, install.command, remote.name, timeout)
        if probe.ok:
            progress.line("ok", f"remote '{remote.name}' answers: {probe.detail}")
        else:
            keys = ", ".join(remote.credentials) or "the credentials"
            progress.line(
                "fail",
                f"remote '{remote.name}' does not answer: {probe.detail}; check its url and "
                f"{keys} (`dvc remote modify --local {shlex.quote(remote.name)} KEY {MASK}`)",
            )
            failed = True
    failed |= not _install_hooks(project, progress, dry_run=dry_run, timeout=timeout)
    # What is on disk now, not what was read before anything was written.
    try:
        tracked_text = project.path(".dvc/config").read_text(encoding="utf-8-sig")
        tracked = parse(tracked_text, ".dvc/config")
    except (OSError, ConfigSyntaxError) as exc:
        progress.line("fail", f".dvc/config cannot be read back: {safe(str(exc))}")
        return 1
    leaked = tracked.remotes.get(remote.name)
    secret_keys = credential_keys(remote_type(remote.url))
    in_tracked = sorted(k for k in (leaked.options if leaked else {}) if k in secret_keys)
    url_option = leaked.options.get("url") if leaked else None
    if url_option is not None and secrets_in_url(url_option.value):
        in_tracked.append("the url's credentials")
    given = [c.secret for c in plan.changes if c.secret]
    if any(secret in tracked_text for secret in given if len(secret) >= 4):
        in_tracked.append("a credential given to onboard")
    if in_tracked:
        progress.line(
            "fail",
            f"{', '.join(in_tracked)} of remote '{remote.name}' sit in the tracked "
            f"{tracked.path}: `dvc-gitops check --select DG701` prints the commands that move "
            "them; then rotate them",
        )
        failed = True
    return 1 if failed else 0


def write_local_secrets(project: Project, changes: Sequence[Change]) -> str | None:
    """Write the credentials of `changes` into .dvc/config.local ourselves (never through
    a command line, which every user of the machine can read in `ps`), atomically, mode
    0600; None, or why not."""
    rel = ".dvc/config.local"
    target = project.path(rel)
    try:
        text = target.read_text(encoding="utf-8-sig") if target.exists() else ""
    except OSError as exc:
        return f"cannot read {rel}: {exc.strerror}"
    for change in changes:
        assert change.local is not None and change.secret is not None
        raw = quote_value(change.secret)
        if raw is None:
            return f"{change.what}: the value cannot be written in DVC's config format"
        text = set_option(text, change.local[0], change.local[1], raw)
    try:
        parse(text, rel)
    except ConfigSyntaxError as exc:
        return f"{rel} would not load: {exc.message}"
    try:
        if target.exists() and os.stat(target).st_mode & 0o077:
            os.chmod(target, 0o600)  # secrets: readable by their owner only
        write_text(project.root, rel, text, new_mode=0o600)
    except WriteRefused as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot write {rel}: {exc.strerror}"
    return None


def _install_hooks(project: Project, progress: Progress, *, dry_run: bool, timeout: float) -> bool:
    types, problem = hook_types(project)
    if problem:
        progress.line("fail", f"git hooks: {problem}")
        return False
    if not types:
        progress.line("skip", "git hooks: no .pre-commit-config.yaml in this repository")
        return True
    missing = missing_hooks(project, types)
    if not missing:
        progress.line("ok", f"git hooks installed by pre-commit: {', '.join(types)}")
        return True
    flags = " ".join(f"--hook-type {t}" for t in missing)
    if dry_run:
        progress.line(
            "todo", f"git hooks {', '.join(missing)}: would run `pre-commit install {flags}`"
        )
        return True
    hooks_path = git_hooks_path_set(project)
    if hooks_path:
        progress.line(
            "fail",
            f"git hooks: core.hooksPath is set ({hooks_path}) and pre-commit will not install "
            "there: `git config --unset core.hooksPath`, then rerun",
        )
        return False
    pre_commit = find_pre_commit(project)
    if pre_commit is None:
        progress.line("fail", "git hooks: pre-commit is not installed: pip install pre-commit")
        return False
    args = [pre_commit, "install", *(a for t in missing for a in ("--hook-type", t))]
    done = run(args, project.root, timeout)
    if not done.ok:
        progress.line(
            "fail", f"git hooks: `pre-commit install {flags}` failed: {done.error_line()}"
        )
        return False
    progress.line("set", f"git hooks {', '.join(missing)}: `pre-commit install {flags}`")
    return True


def _summary(progress: Progress, dry_run: bool) -> None:
    counts = progress.counts
    if counts["fail"]:
        head = f"Not ready: {counts['fail']} step{'s' if counts['fail'] != 1 else ''} failed"
    elif dry_run:
        head = (
            f"Dry run: {counts['todo']} change{'s' if counts['todo'] != 1 else ''} would be made"
            if counts["todo"]
            else "Dry run: nothing to change"
        )
    elif counts["set"]:
        head = f"Ready: {counts['set']} change{'s' if counts['set'] != 1 else ''} made"
    else:
        head = "Ready: nothing to change, this clone was already onboarded"
    others = counts["ok"]
    click.echo(f"{head} ({others} other step{'s' if others != 1 else ''} already fine).")


__all__ = ["TeamRemote", "onboard_command", "plan_changes", "team_remote"]
