"""Where the project's own Python packages import from, read from layout and packaging files.

A stage's script that does `from cnn_classifier.components import x` runs code of the
repository when the project is installed (`pip install -e .`, a src layout) or when its
root is on the path (`PYTHONPATH=.`, `python -m`). Python finds that code through the
packaging metadata, which is read here as text (pyproject.toml, setup.cfg, setup.py):
nothing is imported or run.
"""

from __future__ import annotations

import configparser
import contextlib
import posixpath
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc_gitops.core.project import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

# setup.py: `package_dir={"": "src"}`, `find_packages("src")`, `find_packages(where="src")`
_SETUP_PY_DIR = re.compile(
    r"""package_dir\s*=\s*\{\s*["']{2}\s*:\s*["']([^"']+)["']"""
    r"""|find(?:_namespace)?_packages\(\s*(?:where\s*=\s*)?["']([^"']+)["']"""
)


def package_roots(project: Project) -> tuple[str, ...]:
    """Repo-relative folders an installed or path-added project imports its packages from.

    In order: the folders packaging metadata names, `src` when it holds a package beside a
    packaging file, then the repository root. Asked once per run.
    """
    known = project.cache("packages.roots")
    if "roots" not in known:
        known["roots"] = _roots(project)
    roots: tuple[str, ...] = known["roots"]
    return roots


def _roots(project: Project) -> tuple[str, ...]:
    found: list[str] = []
    pyproject = _read(project, "pyproject.toml")
    if pyproject is not None:
        with contextlib.suppress(tomllib.TOMLDecodeError, TypeError, ValueError):
            found += _pyproject_roots(tomllib.loads(pyproject))
    setup_cfg = _read(project, "setup.cfg")
    if setup_cfg is not None:
        found += _setup_cfg_roots(setup_cfg)
    setup_py = _read(project, "setup.py")
    if setup_py is not None:
        found += [a or b for a, b in _SETUP_PY_DIR.findall(setup_py)]
    packaged = pyproject is not None or setup_cfg is not None or setup_py is not None
    if packaged and _holds_package(project, "src"):
        found.append("src")
    found.append(".")
    roots = [_norm(r) for r in found if r and not _norm(r).startswith("..")]
    return tuple(dict.fromkeys(r for r in roots if (project.root / r).is_dir()))


def _pyproject_roots(data: Any) -> list[str]:
    tool = data.get("tool", {}) if isinstance(data, dict) else {}
    found: list[str] = []
    setuptools = tool.get("setuptools", {})
    if isinstance(setuptools, dict):
        package_dir = setuptools.get("package-dir", {})
        if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
            found.append(package_dir[""])
        packages = setuptools.get("packages", {})
        where = packages.get("find", {}).get("where") if isinstance(packages, dict) else None
        if isinstance(where, list):
            found += [w for w in where if isinstance(w, str)]
    poetry = tool.get("poetry", {})
    for item in poetry.get("packages", []) if isinstance(poetry, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("from"), str):
            found.append(item["from"])
    hatch = tool.get("hatch", {}).get("build", {}) if isinstance(tool.get("hatch"), dict) else {}
    targets = hatch.get("targets", {}) if isinstance(hatch, dict) else {}
    wheel = targets.get("wheel", {}) if isinstance(targets, dict) else {}
    for section in (hatch, wheel):
        packages = section.get("packages", []) if isinstance(section, dict) else []
        for package in packages if isinstance(packages, list) else []:
            if isinstance(package, str):
                found.append(posixpath.dirname(package.rstrip("/")) or ".")
    return found


def _setup_cfg_roots(text: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    found: list[str] = []
    package_dir = parser.get("options", "package_dir", fallback="")
    for line in package_dir.splitlines():
        name, sep, folder = line.partition("=")
        if sep and not name.strip() and folder.strip():
            found.append(folder.strip())
    where = parser.get("options.packages.find", "where", fallback="").strip()
    if where:
        found.append(where)
    return found


def _holds_package(project: Project, folder: str) -> bool:
    target = project.root / folder
    if not target.is_dir():
        return False
    return any((child / "__init__.py").is_file() for child in target.iterdir() if child.is_dir())


def _read(project: Project, rel: str) -> str | None:
    try:
        return (project.root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _norm(path: str) -> str:
    normal = posixpath.normpath(path.replace("\\", "/").strip()) if path.strip() else "."
    return "." if normal in ("", ".") else normal
