"""Which params keys a script reads: a static scan of Python and R source, never run.

A stage lists the params it depends on; DVC re-runs it only when one of those changes.
This finds the keys a script actually reads from a params file, the usual ways:

- `yaml.safe_load(open("params.yaml"))` and kin (`with open(...) as f`, `Path(...)
  .read_text()`, `json.load`, `tomllib`/`toml`, `OmegaConf.load`, wrappers such as
  `ConfigBox(...)`), the file named literally, from `__file__`, or by an argparse option
  whose value the stage's command gives (`--params params.yaml`) or whose default names it;
- `dvc.api.params_show()` (every tracked params file), `params_show(stages=...)` (only
  what that stage declares: anything else is a KeyError at run time);
- a Hydra `@hydra.main(config_name=...)` config when that file is a params file;
- then subscripts, `.get()` and attribute chains on the value, through names bound once
  in their scope, a module function that returns it, and a value passed down one call;
- R: `yaml::read_yaml("params.yaml")` and `$a$b` / `[["a"]]` chains on it.

Only keys that exist in the file are reported; a key path built at run time, a name bound
twice, a file that is not one of the pipeline's params files: none of it is guessed.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

# Calls that turn a path into a path or an open file: `open(p)`, `Path(p)`, `abspath(p)`.
_OPENERS = frozenset(
    {
        "open",
        "io.open",
        "codecs.open",
        "pathlib.Path",
        "pathlib.PurePath",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "os.fspath",
        "str",
    }
)
# Methods of a path or an open file that still mean that file.
_SAME_FILE_METHODS = frozenset({"read_text", "read_bytes", "read", "resolve", "absolute", "open"})
# Loaders whose first argument is a file (or its text) and whose result is its data.
_LOADERS = frozenset(
    {
        "yaml.safe_load",
        "yaml.load",
        "yaml.full_load",
        "yaml.unsafe_load",
        "json.load",
        "json.loads",
        "tomllib.load",
        "tomllib.loads",
        "tomli.load",
        "tomli.loads",
        "toml.load",
        "toml.loads",
        "omegaconf.OmegaConf.load",
        "ruamel.yaml.YAML.load",
    }
)
# Wrappers that keep the keys of the mapping they are given.
_WRAPPERS = frozenset(
    {
        "box.Box",
        "box.ConfigBox",
        "python_box.Box",
        "easydict.EasyDict",
        "addict.Dict",
        "dotmap.DotMap",
        "munch.Munch",
        "munch.munchify",
        "omegaconf.OmegaConf.create",
        "omegaconf.DictConfig",
        "copy.deepcopy",
        "copy.copy",
        "dict",
    }
)
# Attributes of a mapping that are its methods, never keys read through a box.
_MAPPING_METHODS = frozenset(
    {"get", "items", "keys", "values", "pop", "update", "copy", "setdefault", "to_dict"}
)
_MAX_DEPTH = 40


@dataclass(frozen=True)
class Read:
    """A params key a source file reads: where, from which file, which key."""

    path: str  # the source file (repo-relative)
    line: int
    column: int
    file: str  # the params file (repo-relative)
    key: tuple[str, ...]  # at least one part
    # params_show(stages=...): only these stages' declared params are returned
    stages: tuple[str, ...] | None = None

    @property
    def dotted(self) -> str:
        return ".".join(self.key)


@dataclass(frozen=True)
class PathUse:
    """A repository path the code names literally: where, and whether it may write it."""

    path: str  # the source file
    line: int
    column: int
    target: str  # repo-relative path named
    writes: bool  # some call may write it (open(..., "w"), .to_csv(), save...)


# Calls whose path argument is written, moved or removed, not (only) read.
_WRITERS = re.compile(
    r"(?i)^(to_\w+|save\w*|savefig|dump|dumps|write\w*|mkdir|makedirs|touch|copy\w*|move"
    r"|rename|replace|unlink|remove|rmtree|rmdir|log_artifact\w*|export\w*|store|put\w*"
    r"|upload\w*|download\w*|urlretrieve|extractall|mkdtemp|symlink_to|hardlink_to)$"
)
# A relative path written out: a folder part or a suffix, no templates, globs or URLs.
_PATH_LIKE = re.compile(r"(?!/|~|\w+://)[\w.\-]+(/[\w.\-]+)*(\.[A-Za-z0-9]+|/)")


# Calls that take a path without reading the file: probes, logging, string handling.
_NOT_READING = frozenset(
    {
        "get",
        "setdefault",
        "pop",
        "add_argument",
        "add_option",
        "option",
        "argument",
        "exists",
        "is_file",
        "is_dir",
        "isfile",
        "isdir",
        "lexists",
        "stat",
        "getsize",
        "getmtime",
        "glob",
        "rglob",
        "iglob",
        "iterdir",
        "listdir",
        "scandir",
        "walk",
        "info",
        "debug",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "log",
        "echo",
        "secho",
        "format",
        "startswith",
        "endswith",
        "append",
        "extend",
        "add",
        "relative_to",
        "with_suffix",
        "with_name",
        "basename",
        "split",
        "splitext",
        "chdir",
        "environ",
        "getenv",
    }
)


def _conditional(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside branches only some runs take (the `__main__` guard aside)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        branches: Sequence[ast.AST] = []
        if isinstance(node, ast.If) and not _is_main_guard(node):
            branches = [*node.body, *node.orelse]
        elif isinstance(node, ast.IfExp):
            branches = [node.body, node.orelse]
        elif isinstance(node, ast.While):
            branches = [*node.body, *node.orelse]
        elif isinstance(node, ast.Try):
            branches = [*node.handlers, *node.orelse]
        elif isinstance(node, ast.Match):
            branches = list(node.cases)
        elif isinstance(node, ast.BoolOp):
            branches = node.values[1:]
        for branch in branches:
            found.update(id(inner) for inner in ast.walk(branch))
    return found


def _with_bound(tree: ast.AST) -> dict[int, ast.expr]:
    """Each name read in a `with X as name:` body that nothing else rebinds there -> X."""
    found: dict[int, ast.expr] = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            continue
        for item in node.items:
            target = item.optional_vars
            if not isinstance(target, ast.Name):
                continue
            inner = [n for statement in node.body for n in ast.walk(statement)]
            stores = [
                n
                for n in inner
                if isinstance(n, ast.Name) and n.id == target.id and not isinstance(n.ctx, ast.Load)
            ]
            if stores:
                continue
            for name in inner:
                if isinstance(name, ast.Name) and name.id == target.id:
                    found.setdefault(id(name), item.context_expr)
    return found


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and not node.orelse
    )


@dataclass(frozen=True)
class _File:
    path: str  # repo-relative, normalised


@dataclass(frozen=True)
class _Params:
    file: str | None  # None: params_show() without targets, the file found from the key
    key: tuple[str, ...]
    stages: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Loader:
    """A loader object: `ruamel.yaml.YAML(typ="safe")`, whose `.load(file)` reads it."""


@dataclass(frozen=True)
class _Args:
    """The namespace `parser.parse_args()` returns."""


@dataclass(frozen=True)
class _Option:
    dest: str
    flags: tuple[str, ...]  # empty for a positional
    default: Any
    takes_value: bool


class ParamsFiles:
    """What the scan needs to know of the pipeline's params files."""

    def __init__(
        self,
        data_of: Callable[[str], Any],
        tracked: Sequence[str],
    ) -> None:
        self.data_of = data_of  # repo-relative params file -> its mapping, or None
        self.tracked = list(tracked)  # every params file some stage lists, in order

    def has(self, file: str, key: tuple[str, ...]) -> bool:
        node = self.data_of(file)
        if node is None:
            return False
        for part in key:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def holder(self, key: tuple[str, ...]) -> str | None:
        """The tracked params file holding `key` (params_show() merges them)."""
        return next((f for f in self.tracked if self.has(f, key[:1])), None)


def _norm(path: str) -> str:
    normal = posixpath.normpath(path) if path else "."
    return "." if normal in ("", ".") else normal


# ---- Python ----------------------------------------------------------------------------


def scan_python(
    text: str,
    path: str,
    cwd: str,
    files: ParamsFiles,
    argv: Sequence[str] = (),
    modules: ModuleScans | None = None,
) -> list[Read]:
    """The params keys Python source `text` (file `path`, run from `cwd`) reads.

    `argv` are the words the stage's command passes to this script (none for a module it
    imports); `modules` finds the repository modules it imports functions from. Only the
    deepest key of each chain is listed, once, at its first read.
    """
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    try:
        return _Scan(tree, path, cwd, files, list(argv), modules).run()
    except RecursionError:
        return []


def scan_code(
    text: str,
    path: str,
    cwd: str,
    files: ParamsFiles,
    argv: Sequence[str] = (),
    modules: ModuleScans | None = None,
) -> tuple[list[Read], list[PathUse]]:
    """Like scan_python, with the repository paths the code names literally."""
    try:
        scan = _Scan(ast.parse(text, filename=path), path, cwd, files, list(argv), modules)
        return scan.run(), list(scan.paths.values())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [], []


def scan_prepared(scan: _Scan, argv: Sequence[str]) -> tuple[list[Read], list[PathUse]]:
    """Run a prepared scan (prepare_module) with the words the command passes the script."""
    scan.argv = list(argv)
    scan.reads, scan.paths, scan.dynamic = {}, {}, set()
    try:
        return scan.run(), list(scan.paths.values())
    except RecursionError:
        return [], []


def prepare_module(
    text: str, path: str, cwd: str, files: ParamsFiles, modules: ModuleScans | None
) -> _Scan | None:
    """A module read for the functions other files import from it; None if unparsable."""
    try:
        scan = _Scan(ast.parse(text, filename=path), path, cwd, files, [], modules)
        scan.prepare()
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return scan


# (dotted module, importing file) -> that module's prepared scan, when it is repository code
ModuleScans = Callable[[str, str], "_Scan | None"]


class _ScopeInfo:
    """Names bound in one scope (module or function), each with its only value."""

    def __init__(self, node: ast.AST, parent: _ScopeInfo | None) -> None:
        self.node = node
        self.parent = parent
        self.values: dict[str, ast.expr] = {}
        self.counts: dict[str, int] = {}
        self.args: set[str] = set()
        self.globals: set[str] = set()

    def bind(self, name: str, value: ast.expr | None) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if value is not None:
            self.values[name] = value

    def bound(self, name: str) -> bool:
        return name in self.counts or name in self.args

    def single(self, name: str) -> ast.expr | None:
        return self.values.get(name) if self.counts.get(name) == 1 else None


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a scope's body, nested functions and classes left out."""
    body = (
        scope.body if isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)) else []
    )
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # Another scope: only its decorators and defaults are evaluated here.
            stack.extend(reversed([*node.decorator_list, *node.args.defaults]))
            continue
        if isinstance(node, ast.ClassDef):
            stack.extend(reversed(node.decorator_list))
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _bindings(scope: _ScopeInfo) -> None:
    node = scope.node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if arg is not None:
                scope.args.add(arg.arg)
    for inner in _own_nodes(node):
        if isinstance(inner, ast.Assign):
            for target in inner.targets:
                if isinstance(target, ast.Name):
                    scope.bind(target.id, inner.value)
                else:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                            scope.bind(name.id, None)
        elif isinstance(inner, ast.AnnAssign) and isinstance(inner.target, ast.Name):
            scope.bind(inner.target.id, inner.value)
        elif isinstance(inner, (ast.With, ast.AsyncWith)):
            for item in inner.items:
                if isinstance(item.optional_vars, ast.Name):
                    scope.bind(item.optional_vars.id, item.context_expr)
                elif item.optional_vars is not None:
                    for name in ast.walk(item.optional_vars):
                        if isinstance(name, ast.Name):
                            scope.bind(name.id, None)
        elif isinstance(inner, (ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension)):
            for name in ast.walk(inner.target):
                if isinstance(name, ast.Name):
                    scope.bind(name.id, None)
        elif isinstance(inner, ast.NamedExpr):
            scope.bind(inner.target.id, inner.value)
        elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.bind(inner.name, None)
        elif isinstance(inner, (ast.Import, ast.ImportFrom)):
            for alias in inner.names:
                scope.bind((alias.asname or alias.name).split(".")[0], None)
        elif isinstance(inner, ast.ExceptHandler) and inner.name:
            scope.bind(inner.name, None)
        elif isinstance(inner, (ast.Global, ast.Nonlocal)):
            scope.globals.update(inner.names)


@dataclass
class _Frame:
    """A scope as one evaluation sees it: its bindings and the argument values it got."""

    info: _ScopeInfo
    parent: _Frame | None
    args: dict[str, Any] = field(default_factory=dict)


class _Scan:
    def __init__(
        self,
        tree: ast.Module,
        path: str,
        cwd: str,
        files: ParamsFiles,
        argv: list[str],
        modules: ModuleScans | None = None,
    ) -> None:
        self.modules = modules
        self.tree = tree
        self.path = path
        self.cwd = cwd
        self.files = files
        self.argv = argv
        self.aliases: dict[str, str] = {}
        self.scopes: dict[ast.AST, _ScopeInfo] = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.options: dict[str, _Option] = {}
        self.positionals: list[_Option] = []
        self.reads: dict[tuple[str, tuple[str, ...], tuple[str, ...] | None], Read] = {}
        self.paths: dict[str, PathUse] = {}
        self._own: dict[int, list[ast.AST]] = {}
        self.conditional: set[int] = set()  # ids of nodes only some runs reach
        # (file, key) of values read with a key known only at run time
        self.dynamic: set[tuple[str | None, tuple[str, ...]]] = set()
        # ids of names read inside `with X as name:` -> X (`f` reused by two withs)
        self.with_bound: dict[int, ast.expr] = {}

    # setup ------------------------------------------------------------------------------
    def own(self, scope: ast.AST) -> list[ast.AST]:
        """The nodes of a scope's own body, listed once per scan."""
        found = self._own.get(id(scope))
        if found is None:
            found = self._own[id(scope)] = list(_own_nodes(scope))
        return found

    @property
    def uses_argv(self) -> bool:
        """Whether what the command passes can change what this file reads."""
        return bool(self.options) or any(
            isinstance(n, ast.Attribute) and n.attr == "argv" for n in ast.walk(self.tree)
        )

    def prepare(self) -> None:
        """Read the imports, scopes, functions and argparse options (once)."""
        if self.scopes:
            return
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        self.aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
                # A relative import keeps its dots: the module lookup resolves them.
                prefix = "." * node.level + (node.module or "")
                for alias in node.names:
                    joined = f"{prefix}.{alias.name}" if node.module else f"{prefix}{alias.name}"
                    self.aliases[alias.asname or alias.name] = joined
        module = _ScopeInfo(self.tree, None)
        _bindings(module)
        self.scopes[self.tree] = module
        stack: list[tuple[ast.AST, _ScopeInfo]] = [(self.tree, module)]
        while stack:
            owner, info = stack.pop()
            for node in self.own(owner):
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            stack.append(self._function(item, info))
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    stack.append(self._function(node, info))
                    if owner is self.tree:
                        self.functions[node.name] = node
        self.conditional = _conditional(self.tree)
        self.with_bound = _with_bound(self.tree)
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"
            ):
                self._option(node)

    def _function(self, node: ast.AST, parent: _ScopeInfo) -> tuple[ast.AST, _ScopeInfo]:
        info = _ScopeInfo(node, parent)
        _bindings(info)
        self.scopes[node] = info
        return node, info

    def _option(self, call: ast.Call) -> None:
        names = [
            a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        if not names or len(names) != len(call.args):
            return
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        default = keywords.get("default")
        default_value = default.value if isinstance(default, ast.Constant) else None
        action = keywords.get("action")
        flag_action = isinstance(action, ast.Constant) and action.value in (
            "store_true",
            "store_false",
            "count",
            "store_const",
            "help",
            "version",
        )
        dest_node = keywords.get("dest")
        flags = tuple(n for n in names if n.startswith("-"))
        if flags:
            if isinstance(dest_node, ast.Constant) and isinstance(dest_node.value, str):
                dest = dest_node.value
            else:
                longs = [f for f in flags if f.startswith("--")]
                dest = (longs or list(flags))[0].lstrip("-").replace("-", "_")
            self.options[dest] = _Option(dest, flags, default_value, not flag_action)
        else:
            option = _Option(names[0], (), default_value, True)
            self.options[names[0]] = option
            self.positionals.append(option)

    # the walk ---------------------------------------------------------------------------
    def run(self) -> list[Read]:
        self.prepare()
        module = _Frame(self.scopes[self.tree], None)
        frames: dict[ast.AST, _Frame] = {self.tree: module}
        for node, info in self.scopes.items():
            if node is not self.tree:
                parent = frames.get(info.parent.node) if info.parent else None
                frames[node] = _Frame(info, parent or module)
        for node, frame in frames.items():
            self._hydra(node, frame)
        passed: list[tuple[ast.AST, _Frame]] = []
        for node, frame in frames.items():
            passed += self._record(node, frame)
        # A value passed down one call: read the callee's body with it bound.
        seen: set[tuple[int, tuple[tuple[str, Any], ...]]] = set()
        for callee, frame in passed:
            key = (id(callee), tuple(sorted(frame.args.items(), key=lambda kv: kv[0])))
            if key not in seen:
                seen.add(key)
                self._record(callee, frame, follow=False)
        return self._leaves()

    def _hydra(self, node: ast.AST, frame: _Frame) -> None:
        """`@hydra.main(config_path=..., config_name=...)`: the first argument is that file."""
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.args.args:
            return
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            if self.qualified(decorator.func) != "hydra.main":
                continue
            keywords = {k.arg: k.value for k in decorator.keywords if k.arg}
            parent = frame.parent or frame
            folder = (
                self.value(keywords["config_path"], parent) if "config_path" in keywords else None
            )
            name = (
                self.value(keywords["config_name"], parent) if "config_name" in keywords else None
            )
            if not isinstance(folder, str) or not isinstance(name, str):
                return
            # Hydra reads config_path from the decorated file's folder.
            here = posixpath.dirname(self.path) or "."
            stem = _norm(posixpath.join(here, folder, name))
            for candidate in (stem if stem.endswith((".yaml", ".yml")) else stem + ".yaml",):
                if self.files.data_of(candidate) is not None:
                    frame.args[node.args.args[0].arg] = _Params(candidate, ())

    def _record(
        self, scope: ast.AST, frame: _Frame, follow: bool = True
    ) -> list[tuple[ast.AST, _Frame]]:
        """Record the reads of one scope; return the calls that pass a value down."""
        passed: list[tuple[ast.AST, _Frame]] = []
        for node in self.own(scope):
            if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
                continue
            if isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
                value = self.value(node, frame)
                if isinstance(value, _Params) and value.key:
                    self._add(node, value)
            if isinstance(node, ast.Call):
                self._paths(node, frame)
            if follow and isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                callee = self.functions.get(node.func.id)
                if callee is not None and self._resolves_here(node.func.id, frame):
                    args = self._call_args(callee, node, frame)
                    if args:
                        info = self.scopes[callee]
                        passed.append((callee, _Frame(info, self._module_frame(frame), args)))
        return passed

    def _paths(self, call: ast.Call, frame: _Frame) -> None:
        """The repository paths a call is given as literal values (or joins of them)."""
        if id(call) in self.conditional:
            return  # which branch runs depends on the run: not guessed
        name = self.qualified(call.func) or ""
        func = call.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if last in _NOT_READING or last == "print":
            return
        writes = bool(_WRITERS.match(last))
        if name in ("open", "io.open", "codecs.open") and len(call.args) > 1:
            mode = self.value(call.args[1], frame)
            writes = not isinstance(mode, str) or bool(set(mode) & set("wax+"))
        for keyword in call.keywords:
            if keyword.arg == "mode":
                mode = self.value(keyword.value, frame)
                writes = writes or not isinstance(mode, str) or bool(set(mode) & set("wax+"))
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if name in _OPENERS and name not in ("open", "io.open", "codecs.open"):
            return  # `Path("a/b.csv")` builds a path: what is done with it says more
        if name in ("os.path.join", "posixpath.join", "os.path.dirname", "os.path.exists"):
            return
        if isinstance(call.func, ast.Attribute) and not call.args:
            # `Path("data/x.csv").read_text()`: the path is the object the method is called on
            arguments = [call.func.value]
        for arg in arguments:
            if isinstance(arg, ast.Starred):
                continue
            value = self.value(arg, frame)
            if isinstance(value, str) and _PATH_LIKE.fullmatch(value):
                value = _File(_norm(posixpath.join(self.cwd, value)))
            if not isinstance(value, _File) or value.path.startswith(".."):
                continue
            known = self.paths.get(value.path)
            line, column = getattr(arg, "lineno", 1), getattr(arg, "col_offset", 0) + 1
            if known is None or (not writes and known.writes):
                self.paths[value.path] = PathUse(self.path, line, column, value.path, writes)
            elif writes and not known.writes:
                self.paths[value.path] = PathUse(
                    known.path, known.line, known.column, value.path, True
                )

    def _module_frame(self, frame: _Frame) -> _Frame:
        while frame.parent is not None:
            frame = frame.parent
        return frame

    def _resolves_here(self, name: str, frame: _Frame | None) -> bool:
        """Whether `name` in `frame` means the module-level function of that name."""
        while frame is not None and frame.parent is not None:
            if frame.info.bound(name):
                return False
            frame = frame.parent
        return frame is not None and frame.info.counts.get(name) == 1

    def _call_args(
        self,
        callee: ast.FunctionDef | ast.AsyncFunctionDef,
        call: ast.Call,
        frame: _Frame,
        caller: _Scan | None = None,
    ) -> dict[str, Any]:
        """The values the call gives the callee's parameters, read in the caller's frame."""
        reader = caller or self
        params = [a.arg for a in [*callee.args.posonlyargs, *callee.args.args]]
        args: dict[str, Any] = {}
        if any(isinstance(a, ast.Starred) for a in call.args):
            return {}
        for name, expr in zip(params, call.args, strict=False):
            value = reader.value(expr, frame)
            if value is not None:
                args[name] = value
        known = set(params) | {a.arg for a in callee.args.kwonlyargs}
        for keyword in call.keywords:
            if keyword.arg in known:
                value = reader.value(keyword.value, frame)
                if value is not None:
                    args[keyword.arg] = value
        return args

    def _add(self, node: ast.AST, value: _Params) -> None:
        file = value.file if value.file is not None else self.files.holder(value.key)
        if file is None or not self.files.has(file, value.key):
            return
        key = (file, value.key, value.stages)
        line, column = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        known = self.reads.get(key)
        if known is None or (line, column) < (known.line, known.column):
            self.reads[key] = Read(self.path, line, column, file, value.key, value.stages)

    def _leaves(self) -> list[Read]:
        reads = list(self.reads.values())
        kept = [
            r
            for r in reads
            if not any(d[1][: len(r.key)] == r.key for d in self.dynamic)
            if not any(
                o.file == r.file
                and o.stages == r.stages
                and len(o.key) > len(r.key)
                and o.key[: len(r.key)] == r.key
                for o in reads
            )
        ]
        return sorted(kept, key=lambda r: (r.line, r.column, r.key))

    # evaluation -------------------------------------------------------------------------
    def qualified(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.aliases.get(node.id, node.id if node.id in ("open", "str", "dict") else None)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])

    def value(self, expr: ast.expr, frame: _Frame, depth: int = 0) -> Any:
        """The static value of `expr`: a str/int, a _File, a _Params, _Args; else None."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, (str, int)) else None
        if isinstance(expr, ast.Name):
            opened = self.with_bound.get(id(expr))
            if opened is not None:
                return self.value(opened, frame, depth + 1)
            return self._name(expr.id, frame, depth)
        if isinstance(expr, ast.JoinedStr):
            parts = []
            for part in expr.values:
                inner = part.value if isinstance(part, ast.FormattedValue) else part
                if isinstance(part, ast.FormattedValue) and part.format_spec is not None:
                    return None
                got = self.value(inner, frame, depth + 1)
                if not isinstance(got, (str, int)) or isinstance(got, bool):
                    return None
                parts.append(str(got))
            return "".join(parts)
        if isinstance(expr, ast.BinOp):
            left = self.value(expr.left, frame, depth + 1)
            right = self.value(expr.right, frame, depth + 1)
            if isinstance(expr.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(expr.op, ast.Div) and isinstance(left, _File) and isinstance(right, str):
                return _File(_norm(posixpath.join(left.path, right)))
            return None
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr, frame, depth)
        if isinstance(expr, ast.Subscript):
            return self._subscript(expr, frame, depth)
        if isinstance(expr, ast.Call):
            return self._call(expr, frame, depth)
        return None

    def _name(self, name: str, frame: _Frame, depth: int) -> Any:
        if name == "__file__":
            return _File(self.path)
        current: _Frame | None = frame
        while current is not None:
            info = current.info
            if name in current.args:
                return current.args[name]
            if name in info.globals:
                current = self._module_frame(current)
                continue
            if info.bound(name):
                if name in info.args:
                    return None
                bound = info.single(name)
                return None if bound is None else self.value(bound, current, depth + 1)
            current = current.parent
        return None

    def _attribute(self, expr: ast.Attribute, frame: _Frame, depth: int) -> Any:
        base = self.value(expr.value, frame, depth + 1)
        if isinstance(base, _Params):
            if expr.attr in _MAPPING_METHODS:
                return None
            return self._extend(base, expr.attr)
        if isinstance(base, _File) and expr.attr == "parent":
            return _File(_norm(posixpath.dirname(base.path)))
        if isinstance(base, _Args):
            return self._argument(expr.attr)
        return None

    def _subscript(self, expr: ast.Subscript, frame: _Frame, depth: int) -> Any:
        name = self.qualified(expr.value)
        key = self.value(expr.slice, frame, depth + 1)
        if name == "sys.argv" and isinstance(key, int) and key >= 1:
            return self.argv[key - 1] if key - 1 < len(self.argv) else None
        base = self.value(expr.value, frame, depth + 1)
        if isinstance(base, tuple) and isinstance(key, int) and 0 <= key < len(base):
            return base[key]
        if isinstance(base, _Params) and isinstance(key, str):
            return self._extend(base, key)
        if isinstance(base, _Params) and key is None:
            self.dynamic.add((base.file, base.key))  # `p["train"][name]`: not guessed
        return None

    def _extend(self, base: _Params, key: str) -> _Params | None:
        extended = _Params(base.file, (*base.key, key), base.stages)
        file = base.file if base.file is not None else self.files.holder(extended.key)
        if file is None or not self.files.has(file, extended.key):
            return None  # not a key of the file: a method, or a key it does not hold
        return extended

    def _argument(self, dest: str) -> Any:
        option = self.options.get(dest)
        if option is None:
            return None
        if option.flags:
            for n, word in enumerate(self.argv):
                for flag in option.flags:
                    if word == flag and option.takes_value:
                        return self.argv[n + 1] if n + 1 < len(self.argv) else None
                    if word.startswith(flag + "=") and flag.startswith("--"):
                        return word.split("=", 1)[1]
            return option.default
        positional = self._positional_words()
        index = self.positionals.index(option)
        if index < len(positional):
            return positional[index]
        return option.default if index >= len(positional) else None

    def _positional_words(self) -> list[str]:
        takes = {f for o in self.options.values() if o.takes_value for f in o.flags}
        words: list[str] = []
        skip = False
        for word in self.argv:
            if skip:
                skip = False
            elif word.startswith("-") and word != "-":
                skip = word in takes
            else:
                words.append(word)
        return words

    def _call(self, expr: ast.Call, frame: _Frame, depth: int) -> Any:
        func = expr.func
        name = self.qualified(func) or ""
        first = self.value(expr.args[0], frame, depth + 1) if expr.args else None
        if isinstance(func, ast.Attribute):
            if func.attr == "get" and expr.args:
                base = self.value(func.value, frame, depth + 1)
                if isinstance(base, _Params) and isinstance(first, str):
                    return self._extend(base, first)
                if isinstance(base, _Params) and first is None:
                    self.dynamic.add((base.file, base.key))
                return None
            if func.attr == "load" and expr.args:
                base = self.value(func.value, frame, depth + 1)
                if isinstance(base, _Loader):
                    if isinstance(first, _File) and self.files.data_of(first.path) is not None:
                        return _Params(first.path, ())
                    return None
            if func.attr == "cwd" and name in ("pathlib.Path.cwd", "os.getcwd"):
                return _File(self.cwd)
            if func.attr in ("parse_args",):
                return _Args()
            if func.attr == "parse_known_args":
                return (_Args(), None)
            if func.attr in _SAME_FILE_METHODS and not name.startswith(("yaml.", "json.")):
                base = self.value(func.value, frame, depth + 1)
                if isinstance(base, _File):
                    return base
            if func.attr in ("to_container", "to_object") and name.startswith("omegaconf."):
                return first if isinstance(first, _Params) else None
        if name in ("ruamel.yaml.YAML", "ruamel.yaml.main.YAML"):
            return _Loader()
        if name == "os.getcwd":
            return _File(self.cwd)
        if name in _OPENERS:
            if isinstance(first, str):
                return _File(_norm(posixpath.join(self.cwd, first)))
            return first if isinstance(first, _File) else None
        if name in ("os.path.join", "posixpath.join") and expr.args:
            parts = [self.value(a, frame, depth + 1) for a in expr.args]
            if isinstance(parts[0], _File) and all(isinstance(p, str) for p in parts[1:]):
                return _File(_norm(posixpath.join(parts[0].path, *parts[1:])))
            if all(isinstance(p, str) for p in parts):
                return posixpath.join(*parts)
            return None
        if name == "os.path.dirname" and isinstance(first, _File):
            return _File(_norm(posixpath.dirname(first.path)))
        if name in _LOADERS or (name.endswith(".load") and name.startswith("ruamel")):
            if isinstance(first, str) and name in ("toml.load", "omegaconf.OmegaConf.load"):
                first = _File(_norm(posixpath.join(self.cwd, first)))
            if isinstance(first, _File) and self.files.data_of(first.path) is not None:
                return _Params(first.path, ())
            return None
        if name in _WRAPPERS:
            return first if isinstance(first, _Params) else None
        if name.startswith("dvc.") and name.endswith(".params_show"):
            return self._params_show(expr, frame, depth)
        if isinstance(func, ast.Name) and func.id in self.functions:
            if self._resolves_here(func.id, frame):
                return self._returned(self.functions[func.id], expr, frame, depth)
            return None
        return self._imported_call(name, expr, frame, depth)

    def _imported_call(self, name: str, expr: ast.Call, frame: _Frame, depth: int) -> Any:
        """A function of a repository module this file imports: `from src.utils import f`."""
        module, _, function_name = name.rpartition(".")
        if not module or depth > _MAX_DEPTH // 2 or self.modules is None:
            return None
        other = self.modules(module, self.path)
        if other is None or other is self:
            return None
        function = other.functions.get(function_name)
        if function is None or other.scopes[other.tree].counts.get(function_name) != 1:
            return None
        return other.returns(
            function, other._call_args(function, expr, frame, caller=self), depth + 5
        )

    def _params_show(self, expr: ast.Call, frame: _Frame, depth: int) -> Any:
        keywords = {k.arg: k.value for k in expr.keywords if k.arg}
        if keywords.keys() - {"stages", "deps"} or any(k.arg is None for k in expr.keywords):
            return None  # another repo, a revision, a config: not this work tree
        file: str | None = None
        if expr.args:
            if len(expr.args) != 1:
                return None
            target = self.value(expr.args[0], frame, depth + 1)
            if not isinstance(target, str):
                return None
            file = _norm(posixpath.join(self.cwd, target))
            if self.files.data_of(file) is None:
                return None
        stages: tuple[str, ...] | None = None
        if "stages" in keywords:
            node = keywords["stages"]
            items = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node]
            names = [self.value(item, frame, depth + 1) for item in items]
            if not names or not all(isinstance(n, str) for n in names):
                return None
            stages = tuple(names)
        elif "deps" in keywords:
            return None
        return _Params(file, (), stages)

    def _returned(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        call: ast.Call,
        frame: _Frame,
        depth: int,
    ) -> Any:
        """What a module function returns, when every `return` says the same."""
        if depth > _MAX_DEPTH // 2:
            return None
        return self.returns(function, self._call_args(function, call, frame), depth)

    def returns(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, args: dict[str, Any], depth: int
    ) -> Any:
        """What `function` returns given `args`, when every `return` says the same."""
        info = self.scopes[function]
        module = _Frame(self.scopes[self.tree], None)
        # Defaults of parameters the call leaves out: `def load(path="params.yaml")`.
        positional = [*function.args.posonlyargs, *function.args.args]
        for arg, default in zip(
            positional[len(positional) - len(function.args.defaults) :],
            function.args.defaults,
            strict=True,
        ):
            if arg.arg not in args:
                value = self.value(default, module, depth + 1)
                if value is not None:
                    args[arg.arg] = value
        inner = _Frame(info, module, args)
        values = [
            self.value(node.value, inner, depth + 1)
            for node in self.own(function)
            if isinstance(node, ast.Return) and node.value is not None
        ]
        if values and all(v == values[0] for v in values) and values[0] is not None:
            return values[0]
        return None


# ---- R ---------------------------------------------------------------------------------

_R_LOAD = (
    r"""(?:yaml::)?(?:read_yaml|yaml\.load_file)\(\s*(?:file\s*=\s*)?["']([^"'\n]+)["']"""
    r"""\s*[,)][^\n]*?"""
)
_R_ASSIGN = re.compile(r"^[^#\n]*?\b([A-Za-z.][\w.]*)\s*(?:<-|=)\s*" + _R_LOAD, re.M)
_R_STEP = r"""(?:\$`?([A-Za-z_.][\w.]*)`?|\[\[\s*["']([^"'\]]+)["']\s*\]\])"""


def scan_r(text: str, path: str, cwd: str, files: ParamsFiles) -> list[Read]:
    """The params keys an R script reads through `yaml::read_yaml("params.yaml")`."""
    found: dict[tuple[str, tuple[str, ...]], Read] = {}
    bound: dict[str, str] = {}
    counts: dict[str, int] = {}
    for match in re.finditer(r"^[^#\n]*?\b([A-Za-z.][\w.]*)\s*(?:<-|=)", text, re.M):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    for match in _R_ASSIGN.finditer(text):
        file = _norm(posixpath.join(cwd, match.group(2)))
        if files.data_of(file) is not None and counts.get(match.group(1)) == 1:
            bound[match.group(1)] = file
    starts = [re.escape(v) for v in bound]
    patterns = []
    if starts:
        patterns.append(r"\b(?P<head>" + "|".join(starts) + r")(?P<chain>(?:" + _R_STEP + r")+)")
    load = _R_LOAD.replace("[^\\n]*?", "")
    patterns.append(r"(?P<head>" + load + r")(?P<chain>(?:" + _R_STEP + r")+)")
    for pattern in patterns:
        for match in re.finditer(pattern, text):
            line_start = text.rfind("\n", 0, match.start()) + 1
            if "#" in text[line_start : match.start()]:
                continue
            head = match.group("head")
            if head in bound:
                file = bound[head]
            else:
                inner = re.match(_R_LOAD.replace("[^\\n]*?", ""), head)
                if inner is None:
                    continue
                file = _norm(posixpath.join(cwd, inner.group(1)))
            steps = tuple(a or b for a, b in re.findall(_R_STEP, match.group("chain")))
            key = tuple(steps)
            if not key or not files.has(file, key):
                continue  # a key the file does not hold: nothing to declare
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - line_start + 1
            if (file, key) not in found:
                found[(file, key)] = Read(path, line, column, file, key)
    reads = list(found.values())
    return sorted(
        (
            r
            for r in reads
            if not any(
                o.file == r.file and len(o.key) > len(r.key) and o.key[: len(r.key)] == r.key
                for o in reads
            )
        ),
        key=lambda r: (r.line, r.column),
    )
