"""What a stage command runs: the repository's source files named by a shell command.

DVC hands each `cmd` to a shell. This module reads it the way a shell would, well enough
to find the programs it starts (`python x.py`, `python -m pkg.mod`, `Rscript x.R`,
`bash x.sh`, notebooks, `./script`) and the source files passed as arguments, each as a
repo-relative path. It never runs anything and never raises on odd input: a command it
cannot read (unbalanced quotes) yields no scripts.
"""

from __future__ import annotations

import functools
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from dvc_gitops.core.project import SKIPPED_DIRS, Project

# Suffixes of files whose content is code: passed as an argument, they change the result.
SOURCE_SUFFIXES = frozenset(
    {
        ".py",
        ".pyx",
        ".r",
        ".rmd",
        ".qmd",
        ".sh",
        ".bash",
        ".zsh",
        ".jl",
        ".ipynb",
        ".sql",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".pl",
        ".rb",
        ".lua",
        ".scala",
    }
)

# Words that only change how the next command runs: `time python x.py`.
_PREFIX_COMMANDS = frozenset(
    {"time", "nohup", "exec", "command", "builtin", "sudo", "xvfb-run"}
    # shell keywords that open a command: `if python check.py; then python run.py; fi`
    | {"if", "then", "else", "elif", "while", "until", "do", "!", "{"}
)
# Prefix commands with options, and the options of theirs that take a value.
_PREFIX_WITH_OPTIONS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "taskset": frozenset(),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
}
# Environment managers: `uv run python x.py`, `conda run -n env python x.py`.
_RUNNERS: dict[str, frozenset[str]] = {
    "uv": frozenset(
        {
            "--with",
            "--with-requirements",
            "--with-editable",
            "--project",
            "--directory",
            "--python",
            "-p",
            "--package",
            "--extra",
            "--group",
            "--env-file",
            "--index",
            "--index-url",
            "--default-index",
        }
    ),
    "poetry": frozenset({"-C", "--directory", "-P", "--project"}),
    "pipenv": frozenset(),
    "pdm": frozenset({"-p", "--project"}),
    "hatch": frozenset({"-e", "--env"}),
    "rye": frozenset(),
    "pixi": frozenset({"-e", "--environment", "--manifest-path"}),
    "conda": frozenset({"-n", "--name", "-p", "--prefix", "--cwd"}),
    "mamba": frozenset({"-n", "--name", "-p", "--prefix", "--cwd"}),
    "micromamba": frozenset({"-n", "--name", "-p", "--prefix", "--cwd"}),
}
# Programs whose arguments are never code the stage runs: DVC itself, and commands that
# only print or make paths.
_IGNORED_PROGRAMS = frozenset({"dvc", "echo", "printf", "mkdir", "rm", "rmdir", "touch"})

_KIND_BY_SUFFIX = {".py": "python", ".r": "r", ".sh": "shell", ".bash": "shell", ".jl": "julia"}
# Programs that start a Python script named among their arguments.
_PYTHON_LAUNCHERS = frozenset(
    {"torchrun", "accelerate", "deepspeed", "streamlit", "horovodrun", "kernprof", "scalene"}
)
# Programs whose quoted or trailing `python ...` runs elsewhere (another machine, a container).
_PYTHON_SHEBANG = re.compile(rb"#![^\n]*\b(python|pypy)[\d.]*\b")
_CONTAINERS = frozenset({"docker", "docker-compose", "podman", "ssh", "kubectl", "singularity"})
_QUOTED_PATH = re.compile(r"""["']([^"'\s]+)["']""")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"^(python|pythonw|pypy|ipython)(\d+(\.\d+)*)?(\.exe)?$", re.IGNORECASE)
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_OPERATOR_CHARS = "();<>|&\n"
# Python's own options that take a value (`-W ignore`, `-X dev`).
_PYTHON_VALUE_FLAGS = frozenset("WX")
_PYTHON_LONG_VALUE = frozenset({"--check-hash-based-pycs"})
_JULIA_VALUE = frozenset({"-t", "--threads", "-p", "--procs", "-J", "--sysimage", "-C", "-O"})
_RSCRIPT_VALUE = frozenset({"--default-packages"})
_NBCONVERT_VALUE = frozenset(
    {"--to", "--output", "--output-dir", "--template", "--config", "--log-level", "--reader"}
)
_PAPERMILL_VALUE = frozenset(
    {
        "-p",
        "--parameters",
        "-r",
        "--parameters_raw",
        "-f",
        "--parameters_file",
        "-y",
        "--parameters_yaml",
        "-b",
        "--parameters_base64",
        "-k",
        "--kernel",
        "--cwd",
        "--language",
        "--engine",
        "--log-level",
        "--execution-timeout",
        "--start-timeout",
        "--prepare-only",
    }
)


@dataclass(frozen=True)
class Script:
    """A source file a command runs or reads."""

    path: str  # repo-relative; a package folder for `python -m pkg`
    # python | module | r | shell | notebook | julia | executable | argument
    kind: str
    token: str  # the word in the command that named it
    # Python and notebooks: where imports resolve (sys.path without site-packages)
    search_path: tuple[str, ...] = field(default=(), compare=False)
    # The folder the command was in when it ran the script (None: unknown)
    cwd: str | None = field(default=None, compare=False)


def scripts_in(cmd: str, wdir: str, project: Project) -> list[Script]:
    """The repository source files `cmd` runs from `wdir`, in order, each once.

    Only files that exist below the project root are returned (a script that is
    missing or outside the repository is someone else's finding).
    """
    # check-dvc-deps and the MLflow scan both ask for every stage: read each cmd once.
    known = project.cache("cmd_scripts.scripts_in")
    key = f"{wdir}\0{cmd}"
    found: tuple[Script, ...] | None = known.get(key)
    if found is None:
        found = known[key] = tuple(_scripts_in(cmd, wdir, project))
    return list(found)


def missing_scripts(cmd: str, wdir: str, project: Project) -> list[Script]:
    """The scripts `cmd` runs from `wdir` (python x.py, Rscript, bash, ./x) that do not exist.

    Only paths inside the repository; a word with `$` or after an unknown `cd` is not read.
    """
    reader = _Reader(project, norm_path(wdir))
    try:
        reader.read(_split(cmd))
    except ValueError:
        return []
    return list({s.path: s for s in reader.missing}.values())


def _scripts_in(cmd: str, wdir: str, project: Project) -> list[Script]:
    reader = _Reader(project, norm_path(wdir))
    try:
        words = _split(cmd)
    except ValueError:  # unbalanced quotes: the shell itself would refuse it
        return []
    reader.read(words)
    seen: dict[str, Script] = {}
    for script in reader.found:
        seen.setdefault(script.path, script)
    return list(seen.values())


# A shell script larger than this is not read for the scripts it runs.
MAX_SHELL_SCRIPT_BYTES = 1024 * 1024
_SHELL_SHEBANG = re.compile(rb"#![^\n]*\b(ba|z|da|k)?sh\b")


def scripts_run_by(script: Script, project: Project) -> list[Script]:
    """The repository files a shell script runs (and the shell scripts it runs, in turn).

    A shell script is a command file: it is read like a stage's `cmd`, from the folder the
    stage ran it in. Lines the reader cannot split are skipped. The script is not listed.
    """
    found: dict[str, Script] = {}
    queue, seen = [script], {script.path}
    while queue:
        current = queue.pop(0)
        for inner in _shell_script_runs(current, project):
            if inner.path not in seen:
                seen.add(inner.path)
                found[inner.path] = inner
                queue.append(inner)
    return list(found.values())


def _shell_script_runs(script: Script, project: Project) -> list[Script]:
    if script.kind not in ("shell", "executable") or script.cwd is None:
        return []
    try:
        with open(project.root / script.path, "rb") as handle:
            raw = handle.read(MAX_SHELL_SCRIPT_BYTES + 1)
    except OSError:
        return []
    if len(raw) > MAX_SHELL_SCRIPT_BYTES or b"\0" in raw:
        return []
    if script.kind == "executable" and not _SHELL_SHEBANG.match(raw):
        return []  # a binary, or a program in another language
    text = raw.decode("utf-8", errors="replace")
    reader = _Reader(project, script.cwd, depth=1)
    try:
        reader.read(_split(text))
    except ValueError:  # a construct shlex cannot split: read it line by line
        reader = _Reader(project, script.cwd, depth=1)
        for line in text.splitlines():
            try:
                reader.read(_split(line))
            except ValueError:
                continue
    return reader.found


def shell_words(cmd: str) -> list[str]:
    """`cmd` split into words and operators as the reader sees it; ValueError if unbalanced."""
    return _split(cmd)


def is_parsable(cmd: str) -> bool:
    """Whether `cmd` splits into shell words (quotes balanced)."""
    try:
        _split(cmd)
    except ValueError:
        return False
    return True


# What makes shlex do more than split at blanks: quotes, escapes, comments, operators.
_SHLEX_SPECIAL = re.compile(r"[\"'\\#" + re.escape(_OPERATOR_CHARS) + "]")
_BLANKS = re.compile(r"[ \t\r]+")


def _split(cmd: str) -> list[str]:
    return list(_split_once(cmd))


@functools.lru_cache(maxsize=8192)
def _split_once(cmd: str) -> tuple[str, ...]:
    """Each command is split several times per run (parsable? scripts? deps?): once."""
    return tuple(_shell_split(cmd))


def _shell_split(cmd: str) -> list[str]:
    # A backslash-newline continues the line; shlex would keep the newline as a word.
    text = re.sub(r"\\\r?\n", " ", cmd)
    if not _SHLEX_SPECIAL.search(text):
        # Most commands (`python src/train.py --lr 0.1`): the same words, 10x faster.
        return [word for word in _BLANKS.split(text) if word]
    lexer = shlex.shlex(text, posix=True, punctuation_chars=_OPERATOR_CHARS)
    lexer.whitespace = " \t\r"  # newlines separate commands, like `;`
    lexer.whitespace_split = True
    return list(lexer)


# papermill options that take two words: `-p NAME VALUE`
_PAPERMILL_PAIRS = frozenset({"-p", "--parameters", "-r", "--parameters_raw"})


def _drop_papermill_pairs(args: list[str]) -> list[str]:
    """papermill's arguments without its `-p NAME VALUE` pairs (the rest reads as usual)."""
    kept: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in _PAPERMILL_PAIRS:
            i += 3
            continue
        kept.append(args[i])
        i += 1
    return kept


def _is_operator(word: str) -> bool:
    return bool(word) and all(c in _OPERATOR_CHARS for c in word)


def norm_path(path: str) -> str:
    normal = posixpath.normpath(path.replace("\\", "/")) if path else "."
    return "." if normal in ("", ".") else normal


@dataclass
class _Reader:
    project: Project
    cwd: str | None  # repo-relative; None once a `cd` goes somewhere we cannot follow
    found: list[Script] = field(default_factory=list)
    depth: int = 0  # nesting of `bash -c '...'`
    exported: dict[str, str] = field(default_factory=dict)  # `export A=1 && ...`
    # Scripts the command runs that are no file of the repository (kind "argument" aside)
    missing: list[Script] = field(default_factory=list)

    def read(self, words: Sequence[str]) -> None:
        """Walk the words command by command, following `cd` and subshells."""
        saved: list[str | None] = []
        command: list[str] = []
        redirect = False
        for word in [*words, ";"]:
            if _is_operator(word):
                redirect = set(word) <= set("<>&") and ("<" in word or ">" in word)
                if not redirect:
                    self._command(command)
                    command = []
                    for char in word:
                        if char == "(":
                            saved.append(self.cwd)
                        elif char == ")" and saved:
                            self.cwd = saved.pop()
                continue
            if redirect:  # the file a redirection writes or reads: data, not code
                redirect = False
                continue
            command.append(word)

    def _command(self, words: list[str]) -> None:
        if words[:1] == ["export"]:
            for word in words[1:]:
                if _ASSIGNMENT.match(word):
                    key, _, value = word.partition("=")
                    self.exported[key] = value
            return
        env = dict(self.exported)
        words = self._strip_prefixes(words, env)
        if not words:
            return
        program = words[0]
        name = program.replace("\\", "/").rsplit("/", 1)[-1]
        args = words[1:]
        if name in ("cd", "pushd"):
            self._cd(args)
            return
        if name in _IGNORED_PROGRAMS or "$" in program:
            return
        if _PYTHON.match(name):
            self._python(args, env)
        elif name in ("Rscript", "Rscript.exe"):
            self._first_positional(args, "r", _RSCRIPT_VALUE, stop={"-e"})
        elif name == "R":
            self._r(args)
        elif name in _SHELLS:
            self._shell(args)
        elif name in ("source", ".") and args and args[0].endswith((".sh", ".bash", ".zsh")):
            self._add(args[0], "shell")
        elif name == "julia":
            self._first_positional(args, "julia", _JULIA_VALUE, stop={"-e", "--eval"})
        elif name in ("jupyter", "jupyter-nbconvert", "jupyter-execute"):
            self._jupyter(name, args)
        elif name == "papermill":
            # the second positional is the executed copy papermill writes: an output
            count = len(self.found)
            args = _drop_papermill_pairs(args)
            self._first_positional(args, "notebook", _PAPERMILL_VALUE, scan_rest=False)
            if len(self.found) > count and self.cwd is not None:
                # papermill's kernel runs in papermill's own folder (without --cwd)
                self.found[-1] = replace(self.found[-1], search_path=(self.cwd,))
        elif name in _PYTHON_LAUNCHERS:
            self._launcher(args, env)
        else:
            inner = next((n for n, a in enumerate(args) if _PYTHON.match(a)), None)
            if inner is not None and name not in _CONTAINERS:
                # `mpirun -np 4 python x.py`, `xargs python x.py`: python runs here
                return self._command(args[inner:])
            suffix = posixpath.splitext(name)[1].lower()
            if suffix in SOURCE_SUFFIXES or "/" in program.replace("\\", "/"):
                # `./run.sh`, or `uv run train.py` (a runner starts the interpreter)
                kind = _KIND_BY_SUFFIX.get(suffix, "executable")
                if self._add(program, kind) and kind in ("python", "executable"):
                    self._python_executable(env)
            self._arguments(args)

    def _python_executable(self, env: dict[str, str]) -> None:
        """`./train.py` or `./tool` with a python shebang: a Python script, imports and all."""
        script = self.found[-1]
        if script.kind == "executable":
            try:
                with open(self.project.root / script.path, "rb") as handle:
                    first = handle.readline(200)
            except OSError:
                return
            if not _PYTHON_SHEBANG.match(first):
                return
            self.found[-1] = replace(script, kind="python")
        self._set_python_path(env)

    def _launcher(self, args: list[str], env: dict[str, str]) -> None:
        """`torchrun train.py`, `streamlit run app.py`: the first .py runs as a script."""
        for n, arg in enumerate(args):
            if arg.endswith(".py") and not arg.startswith("-") and self._add(arg, "python"):
                self._set_python_path(env)
                return self._arguments(args[n + 1 :])
        self._arguments(args)

    def _set_python_path(self, env: dict[str, str]) -> None:
        """Give the script just found its import search path: its folder, then PYTHONPATH."""
        script = self.found[-1]
        path = (posixpath.dirname(script.path) or ".", *self._pythonpath(env))
        self.found[-1] = replace(script, search_path=tuple(dict.fromkeys(path)))

    def _strip_prefixes(self, words: list[str], env: dict[str, str]) -> list[str]:
        """Drop `A=1`, `time`, `env -u X`, `uv run`, ... before the real program."""
        i = 0
        while i < len(words):
            word = words[i]
            name = word.rsplit("/", 1)[-1]
            if _ASSIGNMENT.match(word):
                key, _, value = word.partition("=")
                env[key] = value
                i += 1
            elif name in _PREFIX_COMMANDS:
                i += 1
                while i < len(words) and words[i].startswith("-"):
                    i += 1
            elif name in _PREFIX_WITH_OPTIONS:
                takes_value = _PREFIX_WITH_OPTIONS[name]
                i += 1
                while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                    if _ASSIGNMENT.match(words[i]):
                        key, _, value = words[i].partition("=")
                        env[key] = value
                    i += 2 if words[i] in takes_value else 1
                if name == "timeout" and i < len(words):
                    i += 1  # the duration
            elif name in _RUNNERS and i + 1 < len(words):
                takes_value = _RUNNERS[name]
                j = i + 1
                while j < len(words) and words[j].startswith("-") and words[j] != "--":
                    j += 2 if words[j] in takes_value else 1
                if j >= len(words) or words[j] != "run":
                    return words[i:]
                j += 1
                while j < len(words) and words[j].startswith("-"):
                    if words[j] == "--":
                        j += 1
                        break
                    j += 2 if words[j] in takes_value else 1
                i = j
            else:
                break
        return words[i:]

    def _cd(self, args: list[str]) -> None:
        target = next((a for a in args if not a.startswith("-")), None)
        if self.cwd is None or target is None or "$" in target or target.startswith("~"):
            self.cwd = None
            return
        self.cwd = self._resolve(target)

    def _resolve(self, word: str, base: str | None = None) -> str | None:
        """The repo-relative path `word` names from the current directory, if inside."""
        base = self.cwd if base is None else base
        text = word.replace("\\", "/")
        if not text or "$" in text or "://" in text or text.startswith("~") or base is None:
            return None
        if text.startswith("/"):
            rel = self.project.rel(text)
            return None if rel.startswith("..") else norm_path(rel)
        joined = norm_path(posixpath.join(base, text))
        return None if joined == ".." or joined.startswith("../") else joined

    def _add(self, word: str, kind: str, token: str | None = None) -> bool:
        """Record `word` as a script of `kind` when it names a repository file."""
        path = self._resolve(word)
        if path is None or not self._is_source_file(path):
            if path is not None and kind != "argument" and self._is_absent(path):
                self.missing.append(Script(path, kind, token or word, cwd=self.cwd))
            return False
        self.found.append(Script(path, kind, token or word, cwd=self.cwd))
        return True

    def _is_absent(self, path: str) -> bool:
        if path == "." or any(part in SKIPPED_DIRS for part in path.split("/")):
            return False
        return kind_of(self.project, path) == ""

    def _is_source_file(self, path: str) -> bool:
        # Environments and caches inside the repo are not the project's code.
        if path == "." or any(part in SKIPPED_DIRS for part in path.split("/")):
            return False
        return kind_of(self.project, path) == "file"

    def _arguments(self, args: Sequence[str]) -> None:
        """Source files passed as arguments (`--config=x.py` included), when they exist."""
        for arg in args:
            value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
            suffix = posixpath.splitext(value)[1].lower()
            if suffix in SOURCE_SUFFIXES:
                self._add(value, "argument")

    def _inline_code(self, code: str) -> None:
        """Source files quoted in `-c`/`-e` code: `Rscript -e 'rmarkdown::render("a.Rmd")'`."""
        for quoted in _QUOTED_PATH.findall(code):
            if posixpath.splitext(quoted)[1].lower() in SOURCE_SUFFIXES:
                self._add(quoted, "argument")

    def _first_positional(
        self,
        args: list[str],
        kind: str,
        takes_value: frozenset[str],
        stop: set[str] | None = None,
        scan_rest: bool = True,
    ) -> None:
        """The first argument that is not an option is the script; the rest its args."""
        i = 0
        while i < len(args):
            arg = args[i]
            if stop and arg in stop:
                self._inline_code(args[i + 1] if i + 1 < len(args) else "")
                return self._arguments(args[i + 2 :])
            if arg == "--":
                i += 1
                break
            if arg.startswith("-") and arg != "-":
                i += 2 if arg in takes_value else 1
                continue
            break
        if i < len(args):
            self._add(args[i], kind)
            if scan_rest:
                self._arguments(args[i + 1 :])

    def _python(self, args: list[str], env: dict[str, str]) -> None:
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "-" or not arg.startswith("-"):
                break
            if arg.startswith("--"):
                i += 2 if arg in _PYTHON_LONG_VALUE else 1
                continue
            i += 1
            for n, char in enumerate(arg[1:], start=2):
                if char == "c":  # `python -c '...'`: inline code, no file
                    code = arg[n:] or (args[i] if i < len(args) else "")
                    self._inline_code(code)
                    return self._arguments(args[i + (0 if arg[n:] else 1) :])
                if char == "m":
                    module = arg[n:] or (args[i] if i < len(args) else "")
                    i += 0 if arg[n:] else 1
                    self._module(module, env)
                    return self._arguments(args[i:])
                if char in _PYTHON_VALUE_FLAGS:
                    i += 0 if arg[n:] else 1
                    break
        if i < len(args) and args[i] != "-" and self._add(args[i], "python"):
            self._set_python_path(env)
        self._arguments(args[i + 1 :])

    def _pythonpath(self, env: dict[str, str]) -> list[str]:
        """PYTHONPATH's entries inside the repository, repo-relative."""
        entries = (self._resolve(e) for e in env.get("PYTHONPATH", "").split(":") if e)
        return [e for e in entries if e is not None]

    def _module(self, module: str, env: dict[str, str]) -> None:
        """`python -m a.b`: a/b.py or the package a/b/ on the current dir or PYTHONPATH."""
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", module) or self.cwd is None:
            return
        roots = [self.cwd, *self._pythonpath(env)]
        relative = module.replace(".", "/")
        # Last, where an editable install (`pip install -e .`) would have put it.
        for root in dict.fromkeys([*roots, ".", "src"]):
            package = norm_path(posixpath.join(root, relative))
            if package.startswith(".."):
                continue
            search_path = tuple(dict.fromkeys([root, *roots]))
            for path in (package + "/__main__.py", package + ".py"):
                if self._is_source_file(path):
                    found = package if path.endswith("__main__.py") else path
                    script = Script(found, "module", module, search_path, self.cwd)
                    self.found.append(script)
                    return
        # `-m pkg.mod` whose package is the repository's but whose module is not there
        top, _, rest = module.partition(".")
        for root in dict.fromkeys([*roots, ".", "src"]):
            package = norm_path(posixpath.join(root, top))
            if rest and self._is_source_file(package + "/__init__.py"):
                path = norm_path(posixpath.join(root, relative)) + ".py"
                if self._is_absent(path) and self._is_absent(path[:-3]):
                    self.missing.append(Script(path, "module", module, (root,), self.cwd))
                return

    def _r(self, args: list[str]) -> None:
        # `R -f x.R`, `R --file=x.R`, `R CMD BATCH x.R`
        for n, arg in enumerate(args):
            if arg in ("-f", "--file") and n + 1 < len(args):
                self._add(args[n + 1], "r")
            elif arg.startswith("--file="):
                self._add(arg.split("=", 1)[1], "r")
        if args[:2] == ["CMD", "BATCH"]:
            self._first_positional(args[2:], "r", frozenset())

    def _shell(self, args: list[str]) -> None:
        i = 0
        while i < len(args) and args[i].startswith(("-", "+")) and args[i] not in ("-", "--"):
            arg = args[i]
            if "c" in arg[1:] and arg.startswith("-") and not arg.startswith("--"):
                if i + 1 < len(args) and self.depth < 3:
                    inner = _Reader(
                        self.project, self.cwd, depth=self.depth + 1, exported=dict(self.exported)
                    )
                    try:
                        inner.read(_split(args[i + 1]))
                    except ValueError:
                        return
                    self.found.extend(inner.found)
                    self.missing.extend(inner.missing)
                return
            i += 2 if arg in ("-o", "+o", "-O", "+O") else 1
        if i < len(args) and args[i] == "--":
            i += 1
        if i < len(args):
            self._add(args[i], "shell")
            self._arguments(args[i + 1 :])

    def _jupyter(self, name: str, args: list[str]) -> None:
        # `jupyter nbconvert --execute nb.ipynb`, `jupyter execute nb.ipynb`
        if name == "jupyter":
            if not args or args[0] not in ("nbconvert", "execute", "run"):
                return
            args = args[1:]
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in _NBCONVERT_VALUE:
                i += 2
                continue
            if not arg.startswith("-") and self._add(arg, "notebook"):
                # nbconvert starts the kernel in the notebook's folder
                notebook = self.found[-1]
                folder = posixpath.dirname(notebook.path) or "."
                self.found[-1] = replace(notebook, search_path=(folder,))
            i += 1


def is_repo_file(project: Project, path: str) -> bool:
    if path.startswith("../") or any(p in SKIPPED_DIRS for p in path.split("/")):
        return False
    return kind_of(project, path) == "file"


def kind_of(project: Project, path: str) -> str:
    """ "file", "dir" or "" for a repo-relative path; asked once per path and run."""
    known: dict[str, str] = project.cache("cmd_scripts.paths")
    kind = known.get(path)
    if kind is None:
        target = project.root / path
        kind = known[path] = "file" if target.is_file() else "dir" if target.is_dir() else ""
    return kind


def relative_to(path: str, folder: str) -> str:
    """`path` as written from `folder` (both repo-relative and normalised), like relpath."""
    parts = [] if path == "." else path.split("/")
    base = [] if folder == "." else folder.split("/")
    common = 0
    while common < min(len(parts), len(base)) and parts[common] == base[common]:
        common += 1
    return "/".join([".."] * (len(base) - common) + parts[common:]) or "."


def has_code(project: Project, path: str) -> bool:
    # An empty __init__.py only marks a package: it cannot change what a stage computes.
    if not path.endswith("/__init__.py"):
        return True
    try:
        return bool((project.root / path).read_bytes().strip())
    except OSError:
        return False
