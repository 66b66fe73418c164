"""Where a stage's code uses MLflow, and which experiment it names: an AST scan.

For each Python script (or `python -m` module, or notebook) a stage's `cmd` runs, and the
repository modules those import, this finds:

- uses: `import mlflow`, `MlflowClient(...)`, a framework logger given `experiment_name=`,
  `dvc_gitops.mlflow.start_run()`;
- experiment claims: `mlflow.set_experiment(NAME)`, `start_run(experiment_id=...)`,
  `SomeMLflowLogger(experiment_name=NAME)`, `os.environ["MLFLOW_EXPERIMENT_NAME"] = NAME`,
  and `MLFLOW_EXPERIMENT_NAME=NAME` in the `cmd` itself;
- tracking URIs: `mlflow.set_tracking_uri(URI)`, `MLFLOW_TRACKING_URI` the same two ways.

A NAME is resolved only statically: literals, f-strings and `+` of resolved parts, names
bound exactly once in the module, and values read from YAML/JSON params files
(`yaml.safe_load(open("params.yaml"))["train"]["experiment"]`, `dvc.api.params_show()`).
Anything else stays unresolved, with the expression that hides it: said, never guessed.
Nothing is imported or run.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.dvcmodel.commands import scripts_in
from dvc_gitops.dvcmodel.imports import local_imports
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.formats.yamldoc import Mark, YamlProblem

if TYPE_CHECKING:
    from dvc_gitops.dvcmodel.model import Stage

EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
EXPERIMENT_ID_ENV = "MLFLOW_EXPERIMENT_ID"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
HELPER_MODULE = "dvc_gitops.mlflow"
HELPER_PACKAGE = HELPER_MODULE.split(".")[0]
# Repository modules followed from a script through its imports, at most.
MAX_FILES_PER_STAGE = 50


@dataclass(frozen=True)
class Use:
    """Evidence that code uses MLflow: where, and what it is (`import mlflow`)."""

    path: str
    mark: Mark
    what: str


@dataclass(frozen=True)
class Claim:
    """A place that names an experiment (or a tracking URI) for the runs of a stage.

    `value` is the statically resolved name; when None, `hidden_by` says which expression
    could not be resolved. `by_id` claims name an experiment id, never comparable offline.
    """

    path: str
    mark: Mark
    how: str  # "mlflow.set_experiment()", "MLFLOW_EXPERIMENT_NAME in cmd", ...
    value: str | None
    hidden_by: str | None = None
    by_id: bool = False


@dataclass
class ScriptScan:
    """What one source file does with MLflow."""

    path: str
    uses: list[Use] = field(default_factory=list)
    experiments: list[Claim] = field(default_factory=list)
    tracking_uris: list[Claim] = field(default_factory=list)
    registered_models: list[str] = field(default_factory=list)
    uses_helper: bool = False
    imports: list[tuple[str, int]] = field(default_factory=list)  # (module, level)
    error: str | None = None  # why the file could not be scanned


@dataclass
class StageScan:
    """Everything a stage's command and code say about MLflow."""

    address: str
    files: list[str] = field(default_factory=list)  # the source files scanned
    uses: list[Use] = field(default_factory=list)
    experiments: list[Claim] = field(default_factory=list)
    tracking_uris: list[Claim] = field(default_factory=list)
    registered_models: list[str] = field(default_factory=list)
    uses_helper: bool = False

    @property
    def uses_mlflow(self) -> bool:
        return bool(self.uses or self.experiments)


# A file's params: (repo-relative file) -> its data, or None when it cannot be read.
ParamsReader = Callable[[str], Any]


class _File:
    """A file (or folder) path or an opened file, as far as resolution is concerned."""

    def __init__(self, path: str) -> None:
        self.path = posixpath.normpath(path)  # repo-relative

    def join(self, *parts: str) -> _File:
        return _File(posixpath.join(self.path, *parts))

    def parent(self) -> _File:
        return _File(posixpath.dirname(self.path) or ".")


# Calls that turn a path into a path or an open file: `open(p)`, `Path(p)`, `abspath(p)`.
_OPENERS = frozenset(
    {"open", "io.open", "pathlib.Path", "os.path.abspath", "os.path.realpath", "os.fspath"}
)
# Methods of a path or open file that still mean that file: `.read_text()`, `.resolve()`.
_SAME_FILE_METHODS = frozenset({"read_text", "read", "resolve", "absolute", "open"})


class _Unresolved(Exception):
    def __init__(self, expression: str) -> None:
        super().__init__(expression)
        self.expression = expression


def scan_source(
    text: str,
    path: str,
    cwd: str = ".",
    read_params: ParamsReader | None = None,
) -> ScriptScan:
    """Scan Python source `text` (file `path`, run from repo-relative `cwd`)."""
    found = ScriptScan(path)
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        found.error = f"not valid Python ({getattr(exc, 'msg', exc)})"
    except (RecursionError, MemoryError):
        found.error = "nested too deeply for Python's parser"
    if found.error:
        # Unreadable as a whole, its import lines still say whether it uses MLflow.
        for match in _IMPORT_LINE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            what = " ".join(match.group(0).split())
            found.uses.append(Use(path, Mark(line, len(match.group(1)) + 1), what))
        return found
    _Reader(found, tree, cwd, read_params or (lambda _p: None)).read(tree)
    return found


_IMPORT_LINE = re.compile(r"^([ \t]*)(?:import[ \t]+mlflow\b|from[ \t]+mlflow[ \t.])[^\n#;]*", re.M)


def scan_cmd(cmd: str, path: str, mark: Mark) -> tuple[list[Claim], list[Claim]]:
    """`MLFLOW_EXPERIMENT_NAME=...` / `MLFLOW_TRACKING_URI=...` in a shell command."""
    experiments: list[Claim] = []
    uris: list[Claim] = []
    if "MLFLOW_" not in cmd:  # the common case, without splitting the command
        return experiments, uris
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:
        return experiments, uris
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            continue
        how = f"{name}= in cmd"
        hidden = value if "$" in value or "`" in value else None
        if name == EXPERIMENT_ENV:
            experiments.append(Claim(path, mark, how, None if hidden else value, hidden))
        elif name == EXPERIMENT_ID_ENV:
            experiments.append(Claim(path, mark, how, None if hidden else value, hidden, True))
        elif name == TRACKING_ENV:
            uris.append(Claim(path, mark, how, None if hidden else value, hidden))
    return experiments, uris


def is_file_store(uri: str) -> bool:
    """Whether a tracking URI is MLflow's file store (refused by MLflow 3 by default)."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri) and not re.match(r"^[A-Za-z]:[\\/]", uri):
        return uri.lower().startswith("file:")
    # Databricks is named without a colon; any other bare path is a file store (./mlruns).
    return uri not in ("databricks", "databricks-uc", "uc")


class _Reader:
    """Reads one module's AST without recursion (generated code can nest thousands deep)."""

    def __init__(
        self,
        found: ScriptScan,
        tree: ast.Module,
        cwd: str,
        read_params: ParamsReader,
    ) -> None:
        self.found = found
        self.cwd = cwd
        self.read_params = read_params
        self.aliases: dict[str, str] = {}  # local name -> qualified name
        self.bindings = _single_bindings(tree)

    def mark(self, node: ast.AST) -> Mark:
        return Mark(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)

    # imports ---------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            self._imported(node, alias.name, f"import {alias.name}")
            self.found.imports.append((alias.name, 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            qualified = f"{module}.{alias.name}" if module else alias.name
            self.aliases[alias.asname or alias.name] = qualified
            if node.level == 0:
                self._imported(node, module, f"from {module} import {alias.name}")
            self.found.imports.append((qualified, node.level))
            self.found.imports.append((module, node.level))

    def _imported(self, node: ast.AST, module: str, text: str) -> None:
        helper = module == HELPER_MODULE or (module == "dvc_gitops" and "mlflow" in text)
        if _is_mlflow(module) or helper:
            self.found.uses.append(Use(self.found.path, self.mark(node), text))
            self.found.uses_helper |= helper

    # calls -----------------------------------------------------------------------------
    def read(self, tree: ast.Module) -> None:
        nodes = list(ast.walk(tree))
        # Imports first, wherever they stand: a call's meaning depends on them.
        for node in nodes:
            if isinstance(node, ast.Import):
                self.visit_Import(node)
            elif isinstance(node, ast.ImportFrom):
                self.visit_ImportFrom(node)
        for node in nodes:
            if isinstance(node, ast.Call):
                self.visit_Call(node)
            elif isinstance(node, ast.Assign):
                self.visit_Assign(node)
        for found in (self.found.uses, self.found.experiments, self.found.tracking_uris):
            found.sort(key=lambda item: item.mark)

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualified(node.func)
        if name:
            self._call(node, name)

    def _call(self, node: ast.Call, name: str) -> None:
        last = name.rsplit(".", 1)[-1]
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if _is_mlflow(name):
            if last == "set_experiment":
                if node.args or "experiment_name" in keywords:
                    arg = node.args[0] if node.args else keywords["experiment_name"]
                    self.claim(node, f"{last}()", arg)
                elif "experiment_id" in keywords:
                    self.claim(node, f"{last}(experiment_id=...)", keywords["experiment_id"], True)
            elif last == "start_run" and "experiment_id" in keywords:
                self.claim(node, "start_run(experiment_id=...)", keywords["experiment_id"], True)
            elif last == "MlflowClient":
                self.found.uses.append(Use(self.found.path, self.mark(node), "MlflowClient()"))
            elif last == "set_tracking_uri" and node.args:
                self.claim(node, "set_tracking_uri()", node.args[0], uri=True)
            if "registered_model_name" in keywords:
                self.model(keywords["registered_model_name"])
            elif last == "register_model" and len(node.args) >= 2:
                self.model(node.args[1])
        elif "mlflow" in name.lower() and "experiment_name" in keywords:
            # Framework loggers: Lightning's MLFlowLogger(experiment_name=...) and kin.
            self.found.uses.append(Use(self.found.path, self.mark(node), f"{last}()"))
            self.claim(node, f"{last}(experiment_name=...)", keywords["experiment_name"])
        elif name in (f"{HELPER_MODULE}.start_run", f"{HELPER_MODULE}.registered_model"):
            self.found.uses_helper = True
        elif name in ("os.environ.setdefault", "os.putenv") and len(node.args) >= 2:
            self.environ(node, node.args[0], node.args[1])
        elif name == "os.environ.update":
            pairs: list[tuple[ast.expr | None, ast.expr]] = [
                (ast.Constant(k.arg), k.value) for k in node.keywords if k.arg
            ]
            if node.args and isinstance(node.args[0], ast.Dict):
                pairs.extend(zip(node.args[0].keys, node.args[0].values, strict=True))
            for key, value in pairs:
                if key is not None:
                    self.environ(node, key, value)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and self.qualified(target.value) == "os.environ":
                self.environ(node, target.slice, node.value)

    def environ(self, node: ast.AST, key: ast.expr, value: ast.expr) -> None:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return
        how = f'os.environ["{key.value}"]'
        if key.value == EXPERIMENT_ENV:
            self.found.uses.append(Use(self.found.path, self.mark(node), how))
            self.claim(node, how, value)
        elif key.value == EXPERIMENT_ID_ENV:
            self.found.uses.append(Use(self.found.path, self.mark(node), how))
            self.claim(node, how, value, by_id=True)
        elif key.value == TRACKING_ENV:
            self.claim(node, how, value, uri=True)

    # resolution ------------------------------------------------------------------------
    def claim(
        self, node: ast.AST, how: str, expr: ast.expr, by_id: bool = False, uri: bool = False
    ) -> None:
        value: str | None = None
        hidden: str | None = None
        try:
            resolved = self.resolve(expr, depth=0)
            if isinstance(resolved, (str, int)) and not isinstance(resolved, bool):
                value = str(resolved)
            else:
                hidden = _source(expr)
        except _Unresolved as exc:
            hidden = exc.expression
        claim = Claim(self.found.path, self.mark(node), how, value, hidden, by_id)
        (self.found.tracking_uris if uri else self.found.experiments).append(claim)

    def model(self, expr: ast.expr) -> None:
        try:
            value = self.resolve(expr, depth=0)
        except _Unresolved:
            return
        if isinstance(value, str) and value not in self.found.registered_models:
            self.found.registered_models.append(value)

    def qualified(self, node: ast.expr) -> str | None:
        """`mf.set_experiment` -> "mlflow.set_experiment" through the imports seen."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.aliases.get(node.id, node.id if node.id in ("os", "open") else None)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])

    def resolve(self, expr: ast.expr, depth: int) -> Any:
        """The static value of `expr`; raises _Unresolved with the hiding expression."""
        if depth > 20:
            raise _Unresolved(_source(expr))
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.JoinedStr):
            parts = []
            for part in expr.values:
                if isinstance(part, ast.FormattedValue):
                    if part.format_spec is not None or part.conversion not in (-1, 115):
                        raise _Unresolved(_source(part.value))
                    parts.append(str(self.resolve(part.value, depth + 1)))
                else:
                    parts.append(str(self.resolve(part, depth + 1)))
            return "".join(parts)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Div)):
            left = self.resolve(expr.left, depth + 1)
            right = self.resolve(expr.right, depth + 1)
            if isinstance(expr.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(expr.op, ast.Div) and isinstance(left, _File) and isinstance(right, str):
                return left.join(right)  # Path(__file__).parent / "params.yaml"
            raise _Unresolved(_source(expr))
        if isinstance(expr, ast.Name):
            bound = self.bindings.get(expr.id)
            if bound is None:
                if expr.id == "__file__":
                    return _File(self.found.path)
                raise _Unresolved(expr.id)
            return self.resolve(bound, depth + 1)
        if isinstance(expr, ast.Attribute) and expr.attr == "parent":
            base = self.resolve(expr.value, depth + 1)
            if isinstance(base, _File):
                return base.parent()
            raise _Unresolved(_source(expr))
        if isinstance(expr, ast.Subscript):
            container = self.resolve(expr.value, depth + 1)
            key = self.resolve(expr.slice, depth + 1)
            return _lookup(container, key, expr)
        if isinstance(expr, ast.Call):
            return self._resolve_call(expr, depth)
        raise _Unresolved(_source(expr))

    def _resolve_call(self, expr: ast.Call, depth: int) -> Any:
        name = self.qualified(expr.func) or ""
        last = name.rsplit(".", 1)[-1]
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and expr.args:
            container = self.resolve(expr.func.value, depth + 1)
            key = self.resolve(expr.args[0], depth + 1)
            if isinstance(container, dict) and key not in container and len(expr.args) > 1:
                return self.resolve(expr.args[1], depth + 1)
            return _lookup(container, key, expr)
        if name in _OPENERS and expr.args:
            target = self.resolve(expr.args[0], depth + 1)
            if isinstance(target, str):  # a relative path is read from the stage's wdir
                target = _File(self.cwd).join(target)
            if isinstance(target, _File):
                return target
        if name in ("os.path.join", "posixpath.join") and expr.args:
            parts = [self.resolve(a, depth + 1) for a in expr.args]
            if isinstance(parts[0], _File) and all(isinstance(p, str) for p in parts[1:]):
                return parts[0].join(*parts[1:])
        if name == "os.path.dirname" and expr.args:
            target = self.resolve(expr.args[0], depth + 1)
            if isinstance(target, _File):
                return target.parent()
        if isinstance(expr.func, ast.Attribute) and expr.func.attr in _SAME_FILE_METHODS:
            opened = self.resolve(expr.func.value, depth + 1)
            if isinstance(opened, _File):
                return opened
        if name.startswith(("yaml.", "json.")) and last in (
            "safe_load",
            "load",
            "full_load",
            "loads",
        ):
            source = self.resolve(expr.args[0], depth + 1) if expr.args else None
            if isinstance(source, _File):
                data = self.read_params(source.path)
                if data is not None:
                    return data
        if last == "params_show" and name.startswith("dvc."):
            data = self.read_params(posixpath.normpath(posixpath.join(self.cwd, "params.yaml")))
            if data is not None:
                return data
        raise _Unresolved(_source(expr))


def _lookup(container: Any, key: Any, expr: ast.expr) -> Any:
    try:
        return container[key]
    except (KeyError, IndexError, TypeError):
        raise _Unresolved(_source(expr)) from None


def _is_mlflow(name: str) -> bool:
    return name == "mlflow" or name.startswith("mlflow.")


def _source(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except RecursionError:
        return "(an expression nested too deeply to show)"
    return text if len(text) <= 60 else text[:57] + "..."


def _single_bindings(tree: ast.Module) -> dict[str, ast.expr]:
    """Names bound exactly once in the whole file, by `x = ...` or `with ... as x`.

    A name bound twice, or also as a loop variable, argument or import, is left out:
    which value reaches the call cannot be known without running the code.
    """
    values: dict[str, ast.expr] = {}
    counts: dict[str, int] = {}

    def bind(name: str, value: ast.expr | None) -> None:
        counts[name] = counts.get(name, 0) + 1
        if value is not None:
            values[name] = value

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bind(target.id, node.value)
                else:
                    for inner in ast.walk(target):
                        if isinstance(inner, ast.Name):
                            bind(inner.id, None)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bind(node.target.id, node.value)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    bind(item.optional_vars.id, item.context_expr)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension)):
            for inner in ast.walk(node.target):
                if isinstance(inner, ast.Name):
                    bind(inner.id, None)
        elif isinstance(node, ast.NamedExpr):
            bind(node.target.id, node.value)
        elif isinstance(node, ast.arg):
            bind(node.arg, None)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bind(node.name, None)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bind((alias.asname or alias.name).split(".")[0], None)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                bind(name, None)
    return {name: value for name, value in values.items() if counts[name] == 1}


# stages -------------------------------------------------------------------------------
class StageScanner:
    """Scans stages' commands and code, each source file once per working directory."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.files: dict[tuple[str, str], ScriptScan] = {}

    def scan(self, stage: Stage) -> StageScan:
        result = StageScan(stage.address)
        for cmd in stage.cmds:
            experiments, uris = scan_cmd(cmd, stage.dvcfile, stage.cmd_mark)
            result.experiments.extend(experiments)
            result.tracking_uris.extend(uris)
        # The scripts, then the repository modules they import: found by the same resolver
        # as check-dvc-deps' imports (cmd_scripts.local_imports), so both see one code base.
        queue: list[str] = []
        for cmd in stage.cmds:
            for script in self._sources(cmd, stage.wdir):
                queue.append(script.path)
                queue.extend(local_imports(script, self.project))
        seen: set[str] = set()
        while queue and len(seen) < MAX_FILES_PER_STAGE:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            scan = self._scan_file(path, stage.wdir)
            result.files.append(path)
            result.uses.extend(scan.uses)
            result.experiments.extend(scan.experiments)
            result.tracking_uris.extend(scan.tracking_uris)
            result.uses_helper |= scan.uses_helper
            for model in scan.registered_models:
                if model not in result.registered_models:
                    result.registered_models.append(model)
        return result

    def _sources(self, cmd: str, wdir: str) -> Iterator[Any]:
        for script in scripts_in(cmd, wdir, self.project):
            if script.kind in ("python", "module", "notebook") or (
                script.kind == "argument" and script.path.endswith(".py")
            ):
                yield script

    def _scan_file(self, path: str, wdir: str) -> ScriptScan:
        key = (path, wdir)
        if key not in self.files:
            self.files[key] = self._read_and_scan(path, wdir)
        return self.files[key]

    def _read_and_scan(self, path: str, wdir: str) -> ScriptScan:
        target = path
        if self.project.path(path).is_dir():
            target = f"{path}/__main__.py"
        try:
            text = self.project.read_text(target)
        except FileProblem as exc:
            return ScriptScan(target, error=exc.message)
        if target.endswith(".ipynb"):
            return self._scan_notebook(text, target, wdir)
        return scan_source(text, target, wdir, self._read_params)

    def _scan_notebook(self, text: str, path: str, wdir: str) -> ScriptScan:
        """Code cells joined; marks point at the cell's first line in the .ipynb file."""
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            return ScriptScan(path, error="not a valid notebook (JSON)")
        merged = ScriptScan(path)
        for cell in cells if isinstance(cells, list) else []:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            # IPython magics and shell escapes are not Python.
            source = re.sub(r"^\s*[%!].*$", "", source, flags=re.MULTILINE)
            one = scan_source(source, path, wdir, self._read_params)
            merged.uses.extend(one.uses)
            merged.experiments.extend(one.experiments)
            merged.tracking_uris.extend(one.tracking_uris)
            merged.registered_models.extend(one.registered_models)
            merged.uses_helper |= one.uses_helper
        return merged

    def _read_params(self, rel: str) -> Any:
        try:
            if rel.endswith(".json"):
                return json.loads(self.project.read_text(rel))
            return self.project.yaml(rel).data
        except (FileProblem, YamlProblem, ValueError):
            return None


def proposed_entries(project: Project) -> list[tuple[str, str, str | None, str]]:
    """Map entries for the stages that use MLflow: (pattern, experiment, model, comment).

    A foreach/matrix definition becomes one `name@*` entry. The experiment is the one the
    code names when that resolves to a single name, else the stage's name.
    """
    scanner = StageScanner(project)
    grouped: dict[str, list[StageScan]] = {}
    for stage in pipeline_of(project).stages.values():
        scan = scanner.scan(stage)
        if not scan.uses_mlflow:
            continue
        pattern = stage.address
        if stage.member is not None:
            pattern = stage.address.rsplit("@", 1)[0] + "@*"
        grouped.setdefault(pattern, []).append(scan)
    entries = []
    for pattern, scans in grouped.items():
        named = {c.value for s in scans for c in s.experiments if c.value and not c.by_id}
        claims = [c for s in scans for c in s.experiments if c.value in named]
        if len(named) == 1:
            experiment = named.pop()
            comment = f"named in {claims[0].path}:{claims[0].mark.line}"
        else:
            experiment = pattern.split(":")[-1].split("@")[0]
            comment = (
                "the code names several experiments: pick one"
                if named
                else "the code does not name one statically: check this name"
            )
        models = [m for s in scans for m in s.registered_models]
        entries.append((pattern, experiment, models[0] if len(set(models)) == 1 else None, comment))
    return entries
