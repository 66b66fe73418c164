"""Whether a DVC remote really answers: a tiny file pushed and pulled back through it.

A listing or a HEAD request proves little (anonymous reads can pass where writes fail, a
wrong secret can pass a bucket listing), so the probe does what a teammate will do:
`dvc add`, `dvc push` to the remote, an empty cache, `dvc pull`, and the bytes compared.
It runs in a scratch DVC project (a temporary folder, deleted afterwards) that carries a
copy of the project's `.dvc/config` and `.dvc/config.local`, so the remote, its options
and the credentials are exactly the project's, and the project's workspace, cache and
git index are never touched. It leaves one object of a few bytes on the remote (always the
same content, so repeated probes add nothing).

Also here: running DVC (or any tool) with a timeout in its own process group.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dvc_gitops.core.processes import run_in_group
from dvc_gitops.core.project import Project
from dvc_gitops.core.redact import safe
from dvc_gitops.formats.dvc_config import (
    ConfigSyntaxError,
    DvcConfig,
    parse,
    quote_value,
    remote_type,
    set_option,
)

PROBE = b"dvc-gitops remote probe: safe to delete\n"


@dataclass(frozen=True)
class Done:
    """A finished command: its exit code and output (code 124 when it timed out)."""

    code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def error_line(self) -> str:
        """DVC's last `ERROR:` line (or the last line of output), credentials masked."""
        lines = [ln.strip() for ln in (self.stderr + "\n" + self.stdout).splitlines()]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        text = (errors or [ln for ln in lines if ln] or [f"exit {self.code}"])[-1]
        text = re.sub(r"^ERROR:\s*", "", text)
        return safe(text)[:300]


def run(
    command: Sequence[str],
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Done:
    """Run `command` in its own process group; on timeout the whole group is stopped."""
    ran = run_in_group(
        command, cwd, timeout, {**os.environ, "DVC_NO_ANALYTICS": "1", **(env or {})}
    )
    if ran.start_error is not None:
        return Done(127, "", f"ERROR: cannot run {command[0]}: {ran.start_error}")
    if ran.returncode is None:
        words = " ".join(command[1:3])
        return Done(124, "", f"ERROR: `{words}` did not finish within {timeout:g} s")
    return Done(ran.returncode, ran.stdout, ran.stderr)


@dataclass(frozen=True)
class Probe:
    """The verdict of one round trip: ok, one line saying what happened, and its cost."""

    ok: bool
    detail: str
    seconds: float


def round_trip(project: Project, dvc: Sequence[str], remote: str, timeout: float) -> Probe:
    """Push a tiny file to `remote` and pull it back into an empty cache; never raises."""
    started = time.monotonic()

    def verdict(ok: bool, detail: str) -> Probe:
        return Probe(ok, detail, time.monotonic() - started)

    dvc_dir = project.root / ".dvc"
    with tempfile.TemporaryDirectory(prefix="dvc-gitops-probe-") as scratch:
        work = Path(scratch)
        os.chmod(work, 0o700)  # it holds a copy of the credentials
        problem = _scratch_project(dvc_dir, work, remote)
        if problem:
            return verdict(False, problem)
        done = run([*dvc, "push", "-r", remote, "probe.txt.dvc"], work, timeout)
        if not done.ok:
            return verdict(False, f"push to remote '{remote}' failed: {done.error_line()}")
        shutil.rmtree(work / ".dvc" / "cache", ignore_errors=True)
        (work / "probe.txt").unlink()
        done = run([*dvc, "pull", "-r", remote, "probe.txt.dvc"], work, timeout)
        if not done.ok:
            return verdict(False, f"pull from remote '{remote}' failed: {done.error_line()}")
        got = (work / "probe.txt").read_bytes() if (work / "probe.txt").exists() else b""
        if got != PROBE:
            return verdict(False, f"remote '{remote}' returned different bytes for the probe")
    probe = verdict(True, "")
    return Probe(
        True,
        f"pushed and pulled back a {len(PROBE)}-byte probe in {probe.seconds:.1f} s",
        probe.seconds,
    )


def _scratch_project(dvc_dir: Path, work: Path, remote: str) -> str | None:
    """Lay out a DVC project in `work` that sees the project's remote and holds the probe
    in its cache; None, or why it cannot be done. Written directly, not with `dvc init`
    and `dvc add`: each DVC start costs about a second, and the format is plain."""
    (work / ".dvc").mkdir()
    texts: dict[str, str] = {}
    configs: list[DvcConfig] = []
    for name in ("config", "config.local"):
        source = dvc_dir / name
        texts[name] = source.read_text(encoding="utf-8-sig") if source.is_file() else ""
        try:
            configs.append(parse(texts[name], f".dvc/{name}"))
        except ConfigSyntaxError as exc:
            return f"DVC cannot load .dvc/{name} (line {exc.mark.line}): {exc.message}"
    # Settings of the scratch copy, at the local level so they win: no git there, its own
    # cache (a probe found in a shared cache would never be downloaded), and a relative
    # local remote resolved from the project's .dvc folder.
    overrides = [("core", "no_scm", "true"), ("cache", "dir", str(work / ".dvc" / "cache"))]
    url = _url(configs, remote)
    if url is not None and remote_type(url) == "" and not os.path.isabs(url):
        absolute = os.path.normpath(dvc_dir / os.path.expanduser(url))
        overrides.append((f'remote "{remote}"', "url", absolute))
    text = texts["config.local"]
    for section, key, value in overrides:
        raw = quote_value(value)
        if raw is None:
            return f"cannot write {key} = {value!r} into the scratch project's config"
        text = set_option(text, section, key, raw)
    texts["config.local"] = text
    for name, content in texts.items():
        (work / ".dvc" / name).write_text(content, encoding="utf-8")
        os.chmod(work / ".dvc" / name, 0o600)
    digest = hashlib.md5(PROBE).hexdigest()
    cached = work / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PROBE)
    (work / "probe.txt").write_bytes(PROBE)
    (work / "probe.txt.dvc").write_text(
        f"outs:\n- md5: {digest}\n  size: {len(PROBE)}\n  hash: md5\n  path: probe.txt\n",
        encoding="utf-8",
    )
    return None


def _url(configs: Sequence[DvcConfig], remote: str) -> str | None:
    url = None
    for config in configs:
        section = config.remotes.get(remote)
        if section and "url" in section.options:
            url = section.options["url"].value
    return url
