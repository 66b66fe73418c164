"""What a script loads from the repository: Python imports, notebook cells, R `source()`.

Followed transitively from a script that a stage's command runs (`commands.Script`),
without running or importing anything: a Python import counts when it resolves, on the
script's search path, to a file of the repository.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from collections.abc import Sequence

from dvc_gitops.core.project import Project
from dvc_gitops.dvcmodel.commands import Script, has_code, is_repo_file, kind_of, norm_path
from dvc_gitops.dvcmodel.packages import package_roots

# Enough for any real project; a generated tree of thousands of modules stops here.
MAX_IMPORTED_FILES = 2000


def local_imports(script: Script, project: Project) -> list[str]:
    """The repository's files a Python script, module, notebook or R script loads, transitively.

    A Python import counts when it resolves, on the script's search path (its folder, or
    the current folder for `-m`, then PYTHONPATH, then where the project's own packages
    import from: its packaging metadata, a src layout, its root), to a file of the
    repository: `x.py` or a package's non-empty `__init__.py`. The standard library and
    installed packages are not followed. An R
    script's `source("x.R")` counts when x.R, from the folder R runs in, is a file of the
    repository. The script itself is not listed.
    """
    if script.kind == "r" and script.cwd is not None:
        roots = [script.cwd]  # source("x.R") reads from R's working folder
    elif script.kind in ("python", "module", "notebook") and script.search_path:
        # Then where the project's own packages import from when it is installed or on
        # the path (a src layout, `pip install -e .`, `PYTHONPATH=.`).
        roots = list(dict.fromkeys([*script.search_path, *package_roots(project)]))
    else:
        return []
    if script.kind == "module" and not script.path.endswith(".py"):
        start = script.path + "/__main__.py"
    else:
        start = script.path
    cache = project.cache("cmd_scripts.imports")
    seen = {start}
    queue = [start]
    found: list[str] = []
    while queue and len(seen) < MAX_IMPORTED_FILES:
        current = queue.pop(0)
        key = "\0".join((current, *roots))  # another search path may resolve it elsewhere
        if key not in cache:
            cache[key] = _imports_of(current, roots, project)
        modules: list[str] = cache[key]
        for module in modules:
            if module not in seen:
                seen.add(module)
                queue.append(module)
                found.append(module)
    return found


# `source("R/utils.R")` or `sys.source(file = 'x.R')`, not in a comment
_R_SOURCE = re.compile(
    r"""^[^#\n]*\b(?:sys\.)?source\(\s*(?:file\s*=\s*)?["']([^"'\n]+)["']""", re.M
)


def _imports_of(path: str, roots: list[str], project: Project) -> list[str]:
    """The repository files one Python file imports (an R file sources), unparsable: none."""
    if not project.inside(path):
        return []  # nothing outside the repository is read, whatever a cmd names
    if path.lower().endswith(".r"):
        try:
            text = (project.root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        sourced = [norm_path(posixpath.join(roots[0], m)) for m in _R_SOURCE.findall(text)]
        return [f for f in dict.fromkeys(sourced) if is_repo_file(project, f)]

    here = posixpath.dirname(path) or "."
    found: list[str] = []
    for node in _import_statements(path, project):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                found += _resolve_module(parts, _roots_for(parts, roots), project)
        elif isinstance(node, ast.ImportFrom):
            parts = node.module.split(".") if node.module else []
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = posixpath.dirname(base) or "."
                bases = [base]
            else:
                bases = _roots_for(parts, roots)
            names = [a.name for a in node.names if a.name != "*"]
            found += _resolve_module(parts, bases, project, names)
    return list(dict.fromkeys(found))


def _import_statements(path: str, project: Project) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of one Python file or notebook (at any depth, in the order
    `ast.walk` meets them), parsed once per run whatever search path resolves them."""
    cache = project.cache("imports.statements")
    if path in cache:
        return cache[path]  # type: ignore[no-any-return]
    try:
        # Read directly: these files are not the hook's input (no suppressions in them).
        # Nothing outside the repository is read, whatever a cmd names.
        raw = (project.root / path).read_bytes() if project.inside(path) else b""
    except OSError:
        raw = b""
    sources = _notebook_cells(raw) if path.endswith(".ipynb") else [raw]
    found: list[ast.Import | ast.ImportFrom] = []
    for source in sources:  # a notebook cell that does not parse spoils only itself
        try:
            tree = ast.parse(source, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # 5 KB of nested `-` exhausts the parser's recursion: not Python we read
        # Statements only: imports never sit inside expressions, and a walk of every
        # expression node cost most of the time on large trees.
        level: list[ast.AST] = [tree]
        while level:
            below: list[ast.AST] = []
            for node in level:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append(node)
                for _name, value in ast.iter_fields(node):
                    if isinstance(value, list):
                        below += [v for v in value if isinstance(v, _STATEMENT_HOLDERS)]
            level = below
    cache[path] = found
    return found


_STATEMENT_HOLDERS = (ast.stmt, ast.excepthandler, ast.match_case)


# Our own runtime helper (`from dvc_gitops.mlflow import start_run`) is an installed
# dependency of the stages that use it, even in the repository that holds its source.
_HELPER_PACKAGE = "dvc_gitops"


def _roots_for(parts: list[str], roots: list[str]) -> list[str]:
    """The roots an absolute import is looked up in (none for our runtime helper)."""
    return [] if parts[:1] == [_HELPER_PACKAGE] else roots


def _notebook_cells(raw: bytes) -> list[bytes]:
    """The Python of each code cell of a notebook, IPython magics and shell lines left out."""

    try:
        notebook = json.loads(raw)
    except ValueError:
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    sources: list[bytes] = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(map(str, source)) if isinstance(source, list) else str(source)
        if text.lstrip().startswith("%%"):
            continue  # a cell magic: not Python
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        sources.append("\n".join(lines).encode("utf-8"))
    return sources


def _resolve_module(
    parts: list[str], roots: Sequence[str], project: Project, names: Sequence[str] = ()
) -> list[str]:
    """Files of `a.b.c` (each package's __init__ and the module) under the first root
    holding it; with `names`, submodules `from a.b import c` also brings in."""
    last = len(parts) - 1
    for root in roots:
        files: list[str] = []
        folder, is_package = root, True
        for n, part in enumerate(parts):
            folder = norm_path(posixpath.join(folder, part))
            if is_repo_file(project, folder + "/__init__.py"):
                files.append(folder + "/__init__.py")
            elif n == last and is_repo_file(project, folder + ".py"):
                files.append(folder + ".py")
                is_package = False
            elif kind_of(project, folder) != "dir":
                break  # not under this root
        else:
            for name in names if is_package else ():
                for candidate in (f"{folder}/{name}.py", f"{folder}/{name}/__init__.py"):
                    if is_repo_file(project, candidate):
                        files.append(candidate)
                        break
            if files:
                return [f for f in files if has_code(project, f)]
    return []
