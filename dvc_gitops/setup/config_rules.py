"""check-dvc-config: no credentials in the tracked `.dvc/config`, `config.local` kept out
of git, and remotes DVC can actually use.

No message ever holds a credential's value: a secret prints as `***` in every format.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator

from dvc_gitops.core import suppressions
from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.files import Edit
from dvc_gitops.core.findings import UNREADABLE_FILE, Finding, Rule
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.core.redact import redact, secrets_in_url, without_secrets
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.formats.dvc_config import (
    OTHER_CREDENTIAL_KEYS,
    ConfigSyntaxError,
    DvcConfig,
    Option,
    Section,
    credential_keys,
    parse,
    quote_value,
    remote_type,
    remove_lines,
    set_option,
)
from dvc_gitops.formats.yamldoc import Mark

CREDENTIAL_IN_CONFIG = Rule(
    "DG701",
    "credential-in-config",
    "error",
    "A credential (a secret key, password or token) sits in the tracked `.dvc/config`.",
    why="`.dvc/config` is committed and pushed with the code, so everyone who can read the "
    "repository, now or in its history, gets the secret. `dvc remote modify` without "
    "`--local` writes it there without a word.",
    fix="Move it to the git-ignored `.dvc/config.local` with the `dvc remote modify --local` "
    "command the message gives and remove it from `.dvc/config` with `--unset`, or let "
    "`check-dvc-config --fix` move every reported one (same section, same value; only while "
    "git ignores config.local). Then rotate the secret: it is in the git history already.",
    fixable=True,
)
CONFIG_LOCAL_TRACKED = Rule(
    "DG702",
    "config-local-tracked",
    "error",
    "`.dvc/config.local` is tracked by git.",
    why="`config.local` is where each developer keeps their own credentials; committed, "
    "it publishes them and overwrites teammates' settings on checkout.",
    fix="`git rm --cached .dvc/config.local`, make sure `.dvc/.gitignore` lists "
    "`/config.local`, and rotate the credentials it held.",
)
CONFIG_LOCAL_NOT_IGNORED = Rule(
    "DG703",
    "config-local-not-ignored",
    "warning",
    "Git does not ignore `.dvc/config.local`.",
    why="The next `git add -A` or `git commit -a` commits everyone's credentials. "
    "`dvc init` writes `/config.local` into `.dvc/.gitignore`; it was removed or lost.",
    fix="Add the line `/config.local` to `.dvc/.gitignore`.",
)
UNKNOWN_DEFAULT_REMOTE = Rule(
    "DG704",
    "unknown-default-remote",
    "error",
    "`core.remote` names a remote that is not defined.",
    why='`dvc push`, `pull` and `fetch` fail with "remote doesn\'t exist". A default remote '
    "defined only in your `config.local` works for you and fails for every teammate.",
    fix="Define the remote in `.dvc/config` (`dvc remote add NAME URL`), or point the "
    "default at one that exists (`dvc remote default NAME`).",
)
REMOTE_WITHOUT_URL = Rule(
    "DG705",
    "remote-without-url",
    "error",
    "A remote has options but no `url`.",
    why="DVC validates the merged config on every command: a remote without `url` "
    "(typically credentials in `config.local` for a remote renamed or removed from "
    "`.dvc/config`) makes every DVC command fail with \"expected 'url'\".",
    fix="Add the remote's url to `.dvc/config` (`dvc remote add NAME URL`), or remove the "
    "stale section (`dvc remote remove --local NAME`).",
)
CREDENTIALS_IN_URL = Rule(
    "DG706",
    "credentials-in-url",
    "error",
    "A remote or db URL in the tracked `.dvc/config` embeds a secret: a password "
    "(`https://user:pass@...`), a token as user info (`https://TOKEN@...`) or a secret "
    "query parameter (`?sig=`, `?token=`, `X-Amz-Signature=`).",
    why="The URL is committed with the code, and DVC prints remote URLs in its messages "
    "and logs: the password leaks twice.",
    fix="Keep the URL without `user:password@` in `.dvc/config`, and give the user and "
    "password with `dvc remote modify --local`.",
)
INVALID_CONFIG = Rule(
    "DG707",
    "invalid-dvc-config",
    "error",
    "A DVC config file is not in the format DVC reads.",
    why="DVC loads its config before anything else: every DVC command fails until the "
    "file is fixed.",
    fix="Fix the line given, or rewrite the setting with `dvc config` / `dvc remote modify`.",
)

MASK = "***"


CHECK_ID = "check-dvc-config"


def check(context: CheckContext) -> Iterator[Finding]:
    project = context.project
    for base in dvc_roots(project):
        names = {f"{base}.dvc/{n}" for n in ("config", "config.local", ".gitignore")}
        if context.files is not None and not names & set(context.files):
            continue
        findings = list(check_dvc_root(project, base))
        if context.fix:
            written = context.apply(move_credentials(project, base, findings), CHECK_ID)
            if written:
                findings = list(check_dvc_root(project, base))  # what is left, re-read
        yield from findings


def dvc_roots(project: Project) -> list[str]:
    """Prefixes ("" or "sub/") of the DVC projects in the repository (`dvc init --subdir`)."""
    roots = {""} if project.exists(".dvc/config") or project.is_dvc_repo else set()
    for path in project.git_files or ():
        if (
            path.endswith(".dvc/config")
            and (path == ".dvc/config" or "/.dvc/" in f"/{path}")
            and not project.excluded(path)
        ):
            roots.add(path[: -len(".dvc/config")])
    # Projects not committed yet (or outside git): every folder holding `.dvc/`.
    from dvc_gitops.core.dvc_projects import dvc_projects

    roots.update(p.prefix for p in dvc_projects(project))
    return sorted(roots)


def check_dvc_root(project: Project, base: str) -> Iterator[Finding]:
    tracked_path, local_path = f"{base}.dvc/config", f"{base}.dvc/config.local"
    findings: list[Finding] = []
    tracked = _load(project, tracked_path, findings)
    local = _load(project, local_path, findings)
    yield from findings
    if tracked is not None:
        yield from credentials_in_tracked(tracked, local)
    yield from default_remotes(tracked, local)
    yield from remotes_without_url(tracked, local)
    yield from config_local_in_git(project, base, tracked)


def move_credentials(project: Project, base: str, findings: list[Finding]) -> list[Edit]:
    """--fix for DG701: each reported credential moved from the tracked config into
    config.local (same section, same value), by minimal text edits: the two new texts.

    Nothing moves while git would commit config.local, nor onto a different value already
    there, nor what config or an inline comment silences.
    """
    tracked_path, local_path = f"{base}.dvc/config", f"{base}.dvc/config.local"
    wanted = {
        f.line
        for f in findings
        if f.code == CREDENTIAL_IN_CONFIG.code
        and f.path == tracked_path
        and project.config.is_selected(f.code, f.path)
        and not suppressions.hides(project, f)
    }
    if not wanted or any(f.path == local_path and f.code == INVALID_CONFIG.code for f in findings):
        return []
    tracked_text = project.read_text(tracked_path)
    tracked = parse(tracked_text, tracked_path)
    if list(config_local_in_git(project, base, tracked)):
        return []
    local_text = project.read_text(local_path) if project.exists(local_path) else ""
    local = parse(local_text, local_path)
    moved: set[int] = set()
    tracked_lines = tracked_text.splitlines()
    for section in tracked.sections.values():
        for option in section.options.values():
            if option.mark.line not in wanted:
                continue
            raw = _raw_value(tracked_lines[option.mark.line - 1], option.value)
            present = local.option(section.name, option.key)
            if raw is None or (present is not None and present.value != option.value):
                continue
            if present is None:
                local_text = set_option(local_text, section.name, option.key, raw)
                local = parse(local_text, local_path)
            moved.add(option.mark.line)
    if not moved:
        return []
    new_tracked = remove_lines(tracked_text, moved)
    parse(new_tracked, tracked_path)  # still loadable: raises (exit 3) rather than write junk
    # config.local first (a new one readable by its owner only): a failure in between
    # leaves the secret in both, never lost. Each write is atomic, inside the repository.
    return [
        Edit(local_path, local_text, new_mode=0o600),
        Edit(tracked_path, new_tracked),
    ]


def _raw_value(line: str, value: str) -> str | None:
    """The value of a `key = value` line exactly as written, inline comment included: what
    DVC reads stays identical (`a, b` is a list to configobj; quoting it would make it one
    string). A triple-quoted value, which can span lines, is written anew."""
    raw = line.partition("=")[2].strip()
    if not raw or raw.startswith(("'''", '"""')):
        return quote_value(value)
    return raw


def _load(project: Project, rel: str, findings: list[Finding]) -> DvcConfig | None:
    if not project.exists(rel):
        return None
    try:
        return parse(project.read_text(rel), rel)
    except FileProblem as exc:
        findings.append(UNREADABLE_FILE.at(rel, exc.mark, exc.message))
    except ConfigSyntaxError as exc:
        findings.append(
            INVALID_CONFIG.at(
                rel, exc.mark, f"DVC cannot load {rel}, every DVC command fails: {exc.message}"
            )
        )
    return None


def credentials_in_tracked(tracked: DvcConfig, local: DvcConfig | None) -> Iterator[Finding]:
    for section in tracked.sections.values():
        if section.kind == "remote" and section.label is not None:
            name = section.label
            url = _url(name, tracked, local)
            kind = remote_type(url)
            for option in section.options.values():
                if option.key not in credential_keys(kind) or not option.value:
                    continue
                quoted = shlex.quote(name)
                label = f"{kind} " if kind else ""
                yield CREDENTIAL_IN_CONFIG.at(
                    tracked.path,
                    option.mark,
                    f"{label}credential '{option.key}' of remote '{name}' is in the tracked "
                    f"{tracked.path}: move it with `dvc remote modify --local {quoted} "
                    f"{option.key} {MASK}` and `dvc remote modify --unset {quoted} "
                    f"{option.key}`, then rotate it",
                )
            url_option = section.options.get("url")
            if url_option is not None:
                yield from _url_credentials(tracked, name, kind, url_option)
        elif section.kind == "db" and section.label is not None:
            yield from _other_credentials(tracked, section, frozenset({"password"}))
            url_option = section.options.get("url")
            if url_option is not None:
                yield from _url_credentials(tracked, None, None, url_option, section)
        elif section.name in OTHER_CREDENTIAL_KEYS:
            yield from _other_credentials(tracked, section, OTHER_CREDENTIAL_KEYS[section.name])


# Where each remote type takes the secret a URL should not hold (never the key id itself:
# for s3 the "user" of `s3://KEY:SECRET@bucket` is the access key id).
_URL_SECRET_KEYS = {
    "s3": ("access_key_id", "secret_access_key"),
    "ssh": ("user", "password"),
    "azure": ("sas_token",),
    "webhdfs": ("token",),
}


def _url_credentials(
    tracked: DvcConfig,
    name: str | None,
    kind: str | None,
    url_option: Option,
    section: Section | None = None,
) -> Iterator[Finding]:
    """DG706 when a url embeds a password, a token-only user info (`https://TOKEN@h`) or a
    secret query parameter (`?sig=`, `?token=`); the advice never repeats the secret."""
    found = secrets_in_url(url_option.value)
    if not found:
        return
    clean = shlex.quote(without_secrets(url_option.value))
    if name is None:
        dotted = f"{section.kind}.{section.label}" if section else "db"
        yield CREDENTIALS_IN_URL.at(
            tracked.path,
            url_option.value_mark,
            f"url of '{dotted}' embeds {found[0]} ({redact(url_option.value)}): set "
            f"`dvc config {dotted}.url {clean}` and give the secret in the local config "
            f"(`dvc config --local {dotted}.url {MASK}`), then rotate it",
        )
        return
    quoted = shlex.quote(name)
    keys = _URL_SECRET_KEYS.get(kind or "", ("user", "password"))
    local = " and ".join(f"`dvc remote modify --local {quoted} {key} {MASK}`" for key in keys)
    yield CREDENTIALS_IN_URL.at(
        tracked.path,
        url_option.value_mark,
        f"url of remote '{name}' embeds {found[0]} ({redact(url_option.value)}): set "
        f"`dvc remote modify {quoted} url {clean}` and {local}, then rotate it",
    )


def _other_credentials(
    tracked: DvcConfig, section: Section, keys: frozenset[str]
) -> Iterator[Finding]:
    for option in section.options.values():
        if option.key in keys and option.value:
            dotted = f"{section.kind}.{section.label}" if section.label else section.name
            yield CREDENTIAL_IN_CONFIG.at(
                tracked.path,
                option.mark,
                f"credential '{dotted}.{option.key}' is in the tracked {tracked.path}: move it "
                f"with `dvc config --local {dotted}.{option.key} {MASK}` and "
                f"`dvc config --unset {dotted}.{option.key}`, then rotate it",
            )


def _url(name: str, *configs: DvcConfig | None) -> str | None:
    """The remote's url as DVC merges the files (later files win)."""
    url = None
    for config in configs:
        section = config.remotes.get(name) if config else None
        if section and "url" in section.options:
            url = section.options["url"].value
    return url


def default_remotes(tracked: DvcConfig | None, local: DvcConfig | None) -> Iterator[Finding]:
    tracked_remotes = set(tracked.remotes) if tracked else set()
    local_remotes = set(local.remotes) if local else set()
    tracked_path = tracked.path if tracked else ".dvc/config"
    for config, known in ((tracked, tracked_remotes), (local, tracked_remotes | local_remotes)):
        option = config.default_remote if config else None
        if config is None or option is None or option.value.lower() in known:
            continue
        name = option.value.lower()
        problem = (
            f"is defined only in {local.path}, so every teammate's push fails"
            if local and name in local_remotes and config is tracked
            else "is not defined"
        )
        others = ", ".join(f"'{n}'" for n in sorted(known))
        pick = f" or pick one of {others} with `dvc remote default NAME`" if others else ""
        yield UNKNOWN_DEFAULT_REMOTE.at(
            config.path,
            option.value_mark,
            f"default remote '{name}' {problem}: define it in {tracked_path} with "
            f"`dvc remote add {shlex.quote(name)} URL`{pick}",
        )


def remotes_without_url(tracked: DvcConfig | None, local: DvcConfig | None) -> Iterator[Finding]:
    tracked_remotes = tracked.remotes if tracked else {}
    local_remotes = local.remotes if local else {}
    tracked_path = tracked.path if tracked else ".dvc/config"
    local_path = local.path if local else ".dvc/config.local"
    for name in sorted(set(tracked_remotes) | set(local_remotes)):
        in_tracked = "url" in tracked_remotes[name].options if name in tracked_remotes else False
        in_local = "url" in local_remotes[name].options if name in local_remotes else False
        quoted = shlex.quote(name)
        if name in local_remotes and not in_tracked and not in_local:
            assert local is not None
            yield REMOTE_WITHOUT_URL.at(
                local.path,
                local_remotes[name].mark,
                f"remote '{name}' has options here but no url in {tracked_path}: every "
                f"DVC command fails; add it with `dvc remote add {quoted} URL` or remove "
                f"this section with `dvc remote remove --local {quoted}`",
            )
        elif name in tracked_remotes and not in_tracked:
            where = f"only in {local_path}" if in_local else "nowhere"
            yield REMOTE_WITHOUT_URL.at(
                tracked_path,
                tracked_remotes[name].mark,
                f"remote '{name}' has no url (its url is {where}): every DVC command fails "
                f"in a clone; set it with `dvc remote modify {quoted} url URL`",
            )


def config_local_in_git(
    project: Project, base: str, tracked: DvcConfig | None
) -> Iterator[Finding]:
    """`.dvc/config.local` tracked by git (DG702), or not ignored by it (DG703)."""
    tracked_files = project.git_files
    if tracked_files is None:
        return  # not a git work tree: nothing can be committed
    no_scm = tracked.option("core", "no_scm") if tracked else None
    if no_scm is not None and no_scm.value.lower() == "true":
        return
    local_path = f"{base}.dvc/config.local"
    if local_path in tracked_files:
        yield CONFIG_LOCAL_TRACKED.at(
            local_path,
            Mark(1, 1),
            f"{local_path} is tracked by git: `git rm --cached {shlex.quote(local_path)}`, "
            f"keep `/config.local` in {base}.dvc/.gitignore, and rotate what it held",
        )
        return
    if not _ignored(project, local_path):
        gitignore = f"{base}.dvc/.gitignore"
        at = gitignore if project.exists(gitignore) else f"{base}.dvc/config"
        yield CONFIG_LOCAL_NOT_IGNORED.at(
            at,
            Mark(1, 1),
            f"git does not ignore {local_path}: add the line `/config.local` to {gitignore}",
        )


def _ignored(project: Project, rel: str) -> bool:
    """Whether git's ignore rules cover `rel`; asked once for every DVC project's file.
    A git failure is exit 2 with git's reason: never "ignored" (a secret could then be
    committed) nor a pass."""
    cache = project.cache("check-dvc-config")
    if "ignored" not in cache:
        paths = [f"{base}.dvc/config.local" for base in dvc_roots(project)]
        try:
            done = subprocess.run(
                ["git", "check-ignore", "--no-index", "--stdin", "-z"],
                cwd=project.root,
                input="\0".join(paths) + "\0",
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"git check-ignore failed: {exc}") from None
        if done.returncode not in (0, 1):
            reason = " ".join(done.stderr.split())[:300] or f"exit {done.returncode}"
            raise ConfigError(f"git check-ignore failed: {reason}")
        cache["ignored"] = set(done.stdout.split("\0"))
    return rel in cache["ignored"]
