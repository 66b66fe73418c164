"""The plugins a DVC project needs for its remotes and external data, and where it says so.

DVC 3 ships local and HTTP(S) support only; every other URL scheme is a plugin package
(`dvc-s3`, `dvc-gs`, ...) or the matching extra of dvc itself (`dvc[s3]`). A project asks
for them in the remotes of `.dvc/config` (following `remote://other/path`), in external
deps and outs of its dvc.yaml files, and in `.dvc` files written by `dvc import-url`.
"""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.core.redact import redact
from dvc_gitops.formats.yamldoc import Mark, YamlProblem
from dvc_gitops.pins.dependency_files import ini_values

# URL scheme -> (plugin package, the dvc extra that installs it), after dvc_objects'
# registry in DVC 3. http and https need nothing: dvc depends on dvc-http itself.
PLUGINS: dict[str, tuple[str, str]] = {
    "s3": ("dvc-s3", "s3"),
    "gs": ("dvc-gs", "gs"),
    "azure": ("dvc-azure", "azure"),
    "ssh": ("dvc-ssh", "ssh"),
    "hdfs": ("dvc-hdfs", "hdfs"),
    "webhdfs": ("dvc-webhdfs", "webhdfs"),
    "oss": ("dvc-oss", "oss"),
    "gdrive": ("dvc-gdrive", "gdrive"),
    "webdav": ("dvc-webdav", "webdav"),
    "webdavs": ("dvc-webdav", "webdav"),
}
# Extras of dvc that pull in every plugin, or one under another name.
ALL_EXTRAS = {"all", "dev"}
EXTRA_ALIASES = {"ssh-gssapi": "ssh"}


@dataclass(frozen=True)
class Need:
    """A plugin some remote or external URL needs, and where that need was written."""

    package: str
    extra: str
    path: str
    mark: Mark
    what: str  # "remote 'storage' (s3://...)", "stage 'train' dep s3://..."


def plugin_needs(project: Project) -> list[Need]:
    """Plugins the remotes in each DVC project's .dvc/config and external URLs (dvc.yaml,
    .dvc files) need. A file is read with the remotes of the project DVC loads it in."""
    from dvc_gitops.core.dvc_projects import dvc_projects

    projects = dvc_projects(project)
    configs = {p.root: p.config for p in projects} or {".": CONFIG}
    remotes = {root: remote_urls(project, config) for root, config in configs.items()}

    def remotes_of(path: str) -> dict[str, tuple[str, Mark]]:
        owner = projects.of(path)
        return remotes.get(owner.root if owner else ".", {})

    needs = [
        need for root, config in configs.items() for need in _remote_needs(remotes[root], config)
    ]
    for dvcfile in project.dvc_yaml_files:
        needs.extend(_dvc_yaml_needs(project, dvcfile, remotes_of(dvcfile)))
    needs.extend(_dvc_file_needs(project, remotes_of))
    return needs


CONFIG = ".dvc/config"


def remote_urls(project: Project, config: str = CONFIG) -> dict[str, tuple[str, Mark]]:
    """Remote name -> (url, where the url is written) from a tracked .dvc/config."""
    if not project.exists(config):
        return {}
    try:
        text = project.read_text(config)
        configparser.ConfigParser(interpolation=None).read_string(text)
    except (FileProblem, configparser.Error):
        return {}  # check-dvc-config reports a config DVC cannot read
    urls: dict[str, tuple[str, Mark]] = {}
    for section, key, line, offset, value in ini_values(text):
        name = _remote_name(section)
        if name is not None and key == "url":
            column = offset - text.rfind("\n", 0, offset)
            urls[name] = (value.strip(), Mark(line, column))
    return urls


def scheme_of(url: str, remotes: dict[str, tuple[str, Mark]]) -> str:
    """The URL scheme DVC opens `url` with, following `remote://name/path` references."""
    scheme, netloc = _scheme_and_netloc(url)
    seen: set[str] = set()
    while scheme == "remote":
        other = netloc
        if other in seen or other not in remotes:
            break
        seen.add(other)
        url = remotes[other][0]
        scheme, netloc = _scheme_and_netloc(url)
    return scheme


def _scheme_and_netloc(url: str) -> tuple[str, str]:
    try:
        parts = urlparse(url)
    except ValueError:  # `https://u:p@[::1/dvc`: the scheme is still plain to read
        head, sep, rest = url.partition("://")
        return (head.lower(), rest.split("/", 1)[0]) if sep else ("", "")
    return parts.scheme, parts.netloc


def _remote_needs(remotes: dict[str, tuple[str, Mark]], config: str = CONFIG) -> Iterator[Need]:
    for name, (url, mark) in remotes.items():
        scheme = scheme_of(url, remotes)
        if scheme in PLUGINS:
            package, extra = PLUGINS[scheme]
            yield Need(package, extra, config, mark, f"remote '{name}' ({redact(url)})")


def _remote_name(section: str) -> str | None:
    inner = section.strip().strip("'").strip()
    if inner.startswith("remote ") and inner.endswith('"'):
        return inner[len("remote ") :].strip().strip('"')
    return None


def _dvc_yaml_needs(
    project: Project, dvcfile: str, remotes: dict[str, tuple[str, Mark]]
) -> Iterator[Need]:
    try:
        doc = project.yaml(dvcfile)
    except (YamlProblem, FileProblem):
        return  # check-dvc-yaml reports it
    stages = doc.data.get("stages") if isinstance(doc.data, dict) else None
    for stage_name, stage in (stages or {}).items() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        body, prefix = (stage["do"], ("do",)) if isinstance(stage.get("do"), dict) else (stage, ())
        for section in ("deps", "outs", "metrics", "plots"):
            entries = body.get(section)
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                url, keyed = (entry, False) if isinstance(entry, str) else (None, True)
                if isinstance(entry, dict) and len(entry) == 1:
                    url = str(next(iter(entry)))
                if not isinstance(url, str):
                    continue
                scheme = scheme_of(url, remotes)
                if scheme not in PLUGINS:
                    continue
                json_path = ("stages", stage_name, *prefix, section, index)
                mark = doc.key_mark((*json_path, url)) if keyed else doc.value_mark(json_path)
                package, extra = PLUGINS[scheme]
                what = f"stage '{stage_name}' {section.rstrip('s')} {redact(url)}"
                yield Need(package, extra, dvcfile, mark, what)


def _dvc_file_needs(
    project: Project, remotes_of: Callable[[str], dict[str, tuple[str, Mark]]]
) -> Iterator[Need]:
    """External deps of `.dvc` files (`dvc import-url s3://...` writes them)."""
    for path in project.walk_files(suffixes=(".dvc",)):
        remotes = remotes_of(path)
        try:
            doc = project.yaml(path)
        except (YamlProblem, FileProblem):
            continue
        deps = doc.data.get("deps") if isinstance(doc.data, dict) else None
        for index, dep in enumerate(deps if isinstance(deps, list) else []):
            url = dep.get("path") if isinstance(dep, dict) else None
            scheme = scheme_of(url, remotes) if isinstance(url, str) else ""
            if scheme in PLUGINS:
                package, extra = PLUGINS[scheme]
                mark = doc.value_mark(("deps", index, "path"))
                yield Need(package, extra, path, mark, f"import-url dep {redact(str(url))}")
