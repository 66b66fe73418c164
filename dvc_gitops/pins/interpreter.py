"""The Python interpreter a project runs DVC with, and what is installed in it.

Versions come from package metadata. A virtual environment's `*.dist-info/METADATA` files
are read as data: no interpreter runs, and above all none inside the checked repository (a
committed `.venv/bin/python` is anyone's program). Only an interpreter outside the
repository that is not a virtual environment (a system Python named with --python) is
asked, with `importlib.metadata` in a subprocess; nothing is ever imported.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.project import Project

_METADATA_SCRIPT = (
    "import importlib.metadata as m, json, sys\n"
    "def v(n):\n"
    "    try:\n"
    "        return m.version(n)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
)


@dataclass(frozen=True)
class Interpreter:
    """The Python a project runs DVC with, and how it was found (for messages)."""

    python: str
    source: str  # "--python", ".venv", "$VIRTUAL_ENV", "the interpreter running dvc-gitops"


def project_interpreter(project: Project, python: str | None = None) -> Interpreter:
    """`python` (a path; relative to the root), else $VIRTUAL_ENV, else `.venv/`, else ours.

    pre-commit sets VIRTUAL_ENV to the hook's own environment, so a VIRTUAL_ENV that is
    this very interpreter's environment says nothing about the project and is skipped.
    """
    if python:
        path = Path(python).expanduser()
        path = path if path.is_absolute() else project.root / path
        if not path.exists():
            raise ConfigError(f"--python: '{python}' does not exist")
        return Interpreter(str(path), "--python")
    venv = os.environ.get("VIRTUAL_ENV")
    if venv and Path(venv).resolve() != Path(sys.prefix).resolve():
        found = _venv_python(Path(venv))
        if found:
            return Interpreter(found, "$VIRTUAL_ENV")
    found = _venv_python(project.root / ".venv")
    if found:
        return Interpreter(found, ".venv")
    return Interpreter(sys.executable, "the interpreter running dvc-gitops")


def _venv_python(venv: Path) -> str | None:
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.exists():
            return str(candidate)
    return None


def installed_versions(
    project: Project, packages: Sequence[str], python: str | None = None
) -> dict[str, str | None]:
    """Installed versions of `packages` in the project's interpreter (None: not there).

    Read from package metadata: dvc itself is never imported. Cached per interpreter.
    """
    interpreter = project_interpreter(project, python)
    known: dict[str, str | None] = project.cache("project-python").setdefault(
        interpreter.python, {}
    )
    missing = [p for p in packages if p not in known]
    if missing:
        try:
            known.update(_read_metadata(interpreter.python, missing, project.root))
        except InterpreterProblem as exc:
            if interpreter.source == "--python":  # the user named it: say it is broken
                raise ConfigError(f"--python: '{python}' {exc}") from None
            known.update(dict.fromkeys(missing))  # a broken venv holds nothing to compare
    return {p: known[p] for p in packages}


def _is_this_environment(python: str) -> bool:
    """Whether `python` runs in this very process's environment (then its metadata is
    read here, sparing a Python start-up).

    Not resolve(): a venv's bin/python is a symlink to the base interpreter, whose
    environment is another one. But every name in a venv's bin/ (python, python3, ...)
    runs that venv, whose folder is our sys.prefix when we run in it.
    """
    path = os.path.abspath(python)
    if path == os.path.abspath(sys.executable):
        return True
    venv = os.path.dirname(os.path.dirname(path))
    return os.path.isfile(os.path.join(venv, "pyvenv.cfg")) and os.path.realpath(
        venv
    ) == os.path.realpath(sys.prefix)


def _version_here(package: str) -> str | None:
    """`importlib.metadata.version(package)` in this environment, or None.

    Found the way importlib.metadata finds it in the common layout, a `.dist-info` or
    `.egg-info` folder directly in a sys.path folder, the first sys.path folder holding
    one winning. Anything else (a zip on sys.path, two candidates in one folder, no
    Version header, an import hook serving distributions) is left to importlib.metadata,
    whose import of email, zipfile and csv (20 ms) most runs need for nothing else.
    """
    if not _only_path_distributions():
        return _version_by_importlib(package)
    wanted = _normalized(package)
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return _version_by_importlib(package)  # a zip or an egg on sys.path
        except OSError:
            continue
        found = [
            name
            for name in names
            if name.lower().endswith((".dist-info", ".egg-info"))
            and _normalized(name.lower().rpartition(".")[0].partition("-")[0]) == wanted
        ]
        if not found:
            continue
        if len(found) > 1:
            return _version_by_importlib(package)
        info = os.path.join(folder, found[0])
        metadata = info
        if os.path.isdir(info):
            metadata = os.path.join(info, "METADATA" if info.endswith(".dist-info") else "PKG-INFO")
        try:
            with open(metadata, encoding="utf-8", errors="replace") as headers:
                for line in headers:
                    if not line.strip():
                        break  # the headers end at the first blank line
                    if line[:8].lower() == "version:":
                        return line[8:].strip()
        except OSError:
            pass
        return _version_by_importlib(package)
    return None


def _inside(python: str, root: Path) -> bool:
    """Whether `python` (its path as written, symlinks not followed: a venv's python links
    to the base interpreter) lies inside `root`."""
    path = os.path.normpath(os.path.abspath(python))
    top = os.path.normpath(os.path.abspath(root))
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _site_packages(python: str) -> list[str] | None:
    """The site-packages folders of the virtual environment `python` belongs to (its
    `pyvenv.cfg` beside bin/), or None when it is not one."""
    venv = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    if not os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        return None
    folders = [os.path.join(venv, "Lib", "site-packages")]
    for lib in ("lib", "lib64"):
        try:
            names = sorted(os.listdir(os.path.join(venv, lib)))
        except OSError:
            continue
        folders += [
            os.path.join(venv, lib, name, "site-packages")
            for name in names
            if name.startswith(("python", "pypy"))
        ]
    return [f for f in folders if os.path.isdir(f)]


def _version_in(folders: Sequence[str], package: str) -> str | None:
    """The version in the first `*.dist-info`/`*.egg-info` of `package` in `folders`, read
    as data (the METADATA headers): nothing of the environment is run or imported."""
    wanted = _normalized(package)
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not name.lower().endswith((".dist-info", ".egg-info")):
                continue
            if _normalized(name.lower().rpartition(".")[0].partition("-")[0]) != wanted:
                continue
            info = os.path.join(folder, name)
            metadata = info
            if os.path.isdir(info):
                leaf = "METADATA" if info.endswith(".dist-info") else "PKG-INFO"
                metadata = os.path.join(info, leaf)
            version = _version_header(metadata)
            if version:
                return version
    return None


def _version_header(metadata: str) -> str | None:
    try:
        with open(metadata, encoding="utf-8", errors="replace") as headers:
            for number, line in enumerate(headers):
                if not line.strip() or number > 200:
                    break  # the headers end at the first blank line
                if line[:8].lower() == "version:":
                    return line[8:].strip()[:100] or None
    except OSError:
        pass
    return None


def _only_path_distributions() -> bool:
    """Whether sys.path is the only place importlib.metadata would look: no import hook
    of ours serves distributions of its own."""
    from importlib.machinery import PathFinder

    return all(
        finder is PathFinder or not hasattr(finder, "find_distributions")
        for finder in sys.meta_path
    )


def _normalized(name: str) -> str:
    """A distribution name as importlib.metadata compares them (`Prepared.normalize`)."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _version_by_importlib(package: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


class InterpreterProblem(Exception):
    """The interpreter could not run the metadata query (one line: why)."""


def _read_metadata(
    python: str, packages: Sequence[str], root: Path | None = None
) -> dict[str, str | None]:
    if _is_this_environment(python):
        return {package: _version_here(package) for package in packages}
    folders = _site_packages(python)
    if folders is not None:
        return {package: _version_in(folders, package) for package in packages}
    if root is not None and _inside(python, root):
        # A file of the checked repository is never executed: a committed `.venv/bin/python`
        # would run with the developer's rights on every commit.
        raise InterpreterProblem(
            "is inside the repository and not a virtual environment we can read as data: "
            "it is never run"
        )
    try:
        done = subprocess.run(
            [python, "-c", _METADATA_SCRIPT, *packages],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InterpreterProblem("did not answer within 30 s") from None
    except OSError as exc:
        raise InterpreterProblem(f"cannot run: {exc.strerror or exc}") from None
    try:
        parsed = json.loads(done.stdout) if done.returncode == 0 else None
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise InterpreterProblem(f"is not a Python that can read package metadata: {last}")
    return {p: parsed.get(p) for p in packages}
