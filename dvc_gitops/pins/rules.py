"""check-dvc-pinned: DVC and its remote plugins pinned with ==, the same everywhere.

Teammates on different DVC versions write different `dvc.lock` files and get different
verdicts from `dvc status`. This hook reads every dependency file (see
`dependency_files.py`), the remotes in `.dvc/config`, external URLs in dvc.yaml, and the
version installed in the project's interpreter (from its package metadata, never by
importing dvc), and reports where they disagree.
"""

from __future__ import annotations

import configparser
import dataclasses
from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion

from dvc_gitops.core import suppressions
from dvc_gitops.core.files import Edit
from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.formats import tomldoc
from dvc_gitops.pins.dependency_files import (
    LOCK_NAMES,
    Declarations,
    Pin,
    dependency_files,
    read_declarations,
)
from dvc_gitops.pins.interpreter import installed_versions, project_interpreter
from dvc_gitops.pins.remote_plugins import ALL_EXTRAS, EXTRA_ALIASES, PLUGINS, Need, plugin_needs

NOT_DECLARED = Rule(
    "DG501",
    "dvc-not-declared",
    "warning",
    "The project uses DVC (a dvc.yaml or .dvc/ exists) but no dependency file declares dvc.",
    why="A teammate or CI job setting up from the dependency files gets whatever DVC "
    "happens to be installed, or none; different DVC versions write different dvc.lock "
    "files and disagree about what is stale.",
    fix="Add `dvc==X.Y.Z` (the version you use) to requirements.txt or pyproject.toml.",
)
NOT_PINNED = Rule(
    "DG502",
    "dvc-not-pinned",
    "warning",
    "dvc (or a DVC remote plugin) is declared without an exact `==` version.",
    why="A range like `dvc>=3` installs a different DVC on every new machine; exactly "
    "one version keeps dvc.lock, hashes and `dvc status` verdicts identical. A range is "
    "accepted when a lock beside it (uv.lock, poetry.lock, Pipfile.lock, a pip-compiled "
    ".txt, a -c constraints file) pins the version.",
    fix='Write `dvc==X.Y.Z` (Poetry: `dvc = "X.Y.Z"`); `--fix` pins requirements files '
    "and pyproject.toml entries to the installed version.",
    fixable=True,
)
CONFLICTING_PINS = Rule(
    "DG503",
    "conflicting-pins",
    "warning",
    "Two dependency files pin dvc (or a plugin) to different versions.",
    why="Which version a teammate gets depends on which file they installed from.",
    fix="Pin the same version in every file, or keep the pin in one file and include it.",
)
LOCK_DISAGREES = Rule(
    "DG504",
    "lock-disagrees",
    "warning",
    "A lock file locks a different dvc version than the dependency files ask for.",
    why="`uv sync`, `poetry install` or `pipenv sync` install the locked version, not "
    "the pinned one: the pin says one thing and every environment runs another.",
    fix="Regenerate the lock (`uv lock`, `poetry lock`, `pipenv lock`, `pip-compile`).",
)
INSTALLED_DIFFERS = Rule(
    "DG505",
    "installed-differs",
    "warning",
    "The project's interpreter has a different dvc (or plugin) installed than the pin.",
    why="Commands run here write a dvc.lock that teammates on the pinned version will see "
    "as changed, and verdicts checked here do not hold for them.",
    fix="Install the pinned version (`pip install dvc==X.Y.Z`) or update the pin.",
    options=("--python", "--installed", "--no-installed"),
)
PLUGIN_MISSING = Rule(
    "DG506",
    "remote-plugin-missing",
    "error",
    "A DVC remote or external dep/out needs a plugin (dvc-s3, dvc-gs, ...) nobody declares.",
    why="DVC ships only local and HTTP support; for s3://, gs://, azure://, ssh:// and "
    "the others it fails with \"s3 is supported, but requires 'dvc-s3' to be installed\" "
    "on every fresh environment.",
    fix="Declare the plugin pinned (`dvc-s3==X.Y.Z`), or the extra on dvc itself "
    "(`dvc[s3]==X.Y.Z`).",
)
UNREADABLE_DEPENDENCIES = Rule(
    "DG507",
    "unreadable-dependency-file",
    "warning",
    "A dependency file (or a line of it) cannot be read: invalid TOML, a bad requirement, "
    "a missing or cyclic include.",
    why="pip, uv or Poetry refuse the same file, and whatever pins it holds go unchecked.",
    fix="Fix the line at the position given.",
)

TRACKED = frozenset({"dvc", *(package for package, _extra in PLUGINS.values())})

CACHE_KEY = "check-dvc-pinned"
SETTINGS = {"python": str, "installed": bool}


def find_pins(project: Project) -> list[Pin]:
    """Every declaration and lock entry of dvc and dvc-* packages, in file order."""
    return list(_declarations(project).pins)


def _declarations(project: Project) -> Declarations:
    cache = project.cache(CACHE_KEY)
    if "declarations" not in cache:
        cache["declarations"] = read_declarations(
            project, lambda name: name == "dvc" or name.startswith("dvc-")
        )
    found: Declarations = cache["declarations"]
    return found


def installed_version(
    project: Project, package: str = "dvc", python: str | None = None
) -> str | None:
    """The version of `package` installed in the project's interpreter, or None.

    The interpreter: `python`, else `[tool.dvc-gitops.pinned] python`, else $VIRTUAL_ENV,
    `.venv/`, or the one running dvc-gitops. Read from metadata; dvc is never imported.
    """
    if python is None:
        python = project.config.section("pinned", SETTINGS).get("python")
    return installed_versions(project, [package], python)[package]


def dvc_is_used(project: Project) -> str | None:
    """The file that shows the project uses DVC (`.dvc/` or a dvc.yaml), or None."""
    if project.is_dvc_repo:
        return ".dvc/config" if project.exists(".dvc/config") else ".dvc"
    from dvc_gitops.core.dvc_projects import dvc_projects

    for dvc_project in dvc_projects(project):  # `dvc init --subdir` projects
        return dvc_project.config if project.exists(dvc_project.config) else dvc_project.root
    return project.dvc_yaml_files[0] if project.dvc_yaml_files else None


# -- the check --------------------------------------------------------------------------


class _Run:
    """One run of the check: declarations, installed versions, findings, fixes."""

    def __init__(self, context: CheckContext) -> None:
        self.context = context
        self.project = project = context.project
        settings = project.config.section("pinned", SETTINGS)
        option_installed = context.options.get("installed")
        self.python: str | None = context.options.get("python") or settings.get("python")
        use_installed = (
            option_installed if option_installed is not None else settings.get("installed", True)
        )
        self.decl = _declarations(project)
        self.pins = [p for p in self.decl.pins if p.package in TRACKED]
        self.interpreter = project_interpreter(project, self.python) if use_installed else None
        self.installed: dict[str, str | None] = {}
        self.needs = plugin_needs(project) if dvc_is_used(project) else []
        if self.interpreter is not None:
            packages = sorted(
                {"dvc", *(p.package for p in self.pins), *(n.package for n in self.needs)}
            )
            self.installed = installed_versions(project, packages, self.python)
        self.edits: dict[str, list[tuple[Pin, str]]] = {}

    def declared(self, package: str) -> list[Pin]:
        return [p for p in self.pins if p.package == package and p.kind != "lock"]

    def reference(self, package: str) -> Pin | None:
        """The pin others are compared to: the first exact one, in file order."""
        exact = [p for p in self.declared(package) if p.version]
        locked = [p for p in self.pins if p.package == package and p.kind == "lock"]
        return (exact or locked)[0] if exact or locked else None

    def proposal(self, package: str) -> tuple[str | None, str]:
        """A version to pin to, and where it comes from (for messages).

        A version another file already pins comes first, so a fix never creates a
        conflict; else the installed one (DG505 says when the two differ).
        """
        ref = self.reference(package)
        installed = self.installed.get(package)
        here = self.interpreter.source if self.interpreter is not None else ""
        if ref is not None and ref.version:
            differs = installed and installed != ref.version
            also = f"; {installed} is installed in {here}" if differs else ""
            return ref.version, f"pinned at {ref.place}{also}"
        if installed:
            return installed, f"installed in {here}"
        return None, ""

    def run(self) -> Iterator[Finding]:
        for problem in self.decl.problems:
            yield UNREADABLE_DEPENDENCIES.at(problem.path, problem.mark, problem.message)
        yield from self.not_declared()
        yield from self.not_pinned()
        yield from self.conflicts()
        yield from self.locks()
        yield from self.installed_differs()
        yield from self.plugins()
        yield from self.plugins_not_installed()
        self.write_fixes()

    def not_declared(self) -> Iterator[Finding]:
        used = dvc_is_used(self.project)
        if used is None or any(p.package == "dvc" for p in self.decl.pins):
            return
        version, source = self.proposal("dvc")
        pin = f"dvc=={version}" if version else "dvc==X.Y.Z"
        hint = f" ({source})" if version else ""
        manifests = [
            f for f in dependency_files(self.project) if f.rsplit("/", 1)[-1] not in LOCK_NAMES
        ]
        if manifests:
            yield NOT_DECLARED.at(
                manifests[0],
                (1, 1),
                f"the project uses DVC ({used}) but declares dvc in no dependency file: "
                f"add {pin}{hint} here",
            )
        else:
            yield NOT_DECLARED.at(
                used,
                (1, 1),
                "the project uses DVC but has no dependency file declaring it: "
                f"add a requirements.txt with {pin}{hint}",
            )

    def covered(self, pin: Pin) -> bool:
        """Whether a lock (or constraint) governing this declaration pins the package."""
        governing = set(self.decl.locks.get(pin.path, []))
        for other in self.pins:
            if other.package != pin.package or not other.version or other is pin:
                continue
            if other.path in governing or other.kind == "constraint":
                return True
        return False

    def not_pinned(self) -> Iterator[Finding]:
        for pin in self.pins:
            if pin.kind == "lock" or pin.version or self.covered(pin):
                continue
            if self.package_metadata(pin):
                continue  # a library's requirements are ranges by design: pins go elsewhere
            version, source = self.proposal(pin.package)
            found = f"'{pin.text}'" + (f" in {pin.where}" if pin.where != pin.path else "")
            exact = _exact_text(pin, version or "X.Y.Z")
            advice = f"write {exact}" + (f" ({source})" if version else "")
            finding = NOT_PINNED.at(
                pin.path,
                pin.mark,
                f"{pin.package} is declared as {found}, not pinned exactly: {advice}",
            )
            if not self.context.fix or suppressions.hides(self.project, finding):
                yield finding
            elif version and pin.edit is not None and self.edit_parses(pin, version):
                self.edits.setdefault(pin.path, []).append((pin, version))
            else:
                why_not = pin.no_edit or (
                    "the edited file would not parse (please report this)"
                    if version
                    else "no installed version to pin to"
                )
                yield dataclasses.replace(
                    finding, message=f"{finding.message}; --fix left it: {why_not}"
                )

    def package_metadata(self, pin: Pin) -> bool:
        """Whether `pin` is in the metadata of a package others install (setup.py,
        setup.cfg, or pyproject `[project]` tables with a `[build-system]`): pinning `==`
        there forces one DVC on every project that depends on it, so DG502 leaves
        those ranges alone; an application's lists, requirements files and locks stay
        checked."""
        name = pin.path.rsplit("/", 1)[-1]
        if name in ("setup.py", "setup.cfg"):
            return True
        if name != "pyproject.toml" or not pin.where.startswith("[project"):
            return False
        try:
            data = tomldoc.load(self.project.read_text(pin.path), pin.path).data
        except (FileProblem, tomldoc.TomlProblem):
            return False
        return isinstance(data.get("build-system"), dict)

    def conflicts(self) -> Iterator[Finding]:
        for package in sorted(TRACKED):
            ref = self.reference(package)
            if ref is None or ref.kind == "lock":
                continue
            for pin in self.declared(package):
                if not pin.version or pin.version == ref.version or pin is ref:
                    continue
                if pin.marker and ref.marker and pin.marker != ref.marker:
                    continue  # pins for different platforms or Pythons may differ
                yield CONFLICTING_PINS.at(
                    pin.path,
                    pin.mark,
                    f"{package} is pinned to {pin.version} here but to {ref.version} at "
                    f"{ref.place}: pin one version everywhere",
                )

    def locks(self) -> Iterator[Finding]:
        reported: set[int] = set()  # lock entries already reported
        for manifest, lock_files in self.decl.locks.items():
            for lock in lock_files:
                for finding, entry in self.lock_against(manifest, lock):
                    if entry is None or id(entry) not in reported:
                        yield finding
                    if entry is not None:
                        reported.add(id(entry))
        # Every lock also answers to the project's pin: a uv.lock and a pip-compiled
        # requirements.txt locking different versions split the team just the same.
        for pin in self.pins:
            if pin.kind != "lock" or id(pin) in reported:
                continue
            ref = self.reference(pin.package)
            if ref is not None and ref.kind != "lock" and ref.version != pin.version:
                yield LOCK_DISAGREES.at(
                    pin.path,
                    pin.mark,
                    f"{pin.path} locks {pin.package} {pin.version} but {ref.place} pins "
                    f"{ref.version}: pin one version for both, then {_relock(pin.path)}",
                )

    def lock_against(self, manifest: str, lock: str) -> Iterator[tuple[Finding, Pin | None]]:
        """Findings where `lock` does not satisfy what `manifest` declares, with the entry."""
        for decl in self.declared_in(manifest):
            entries = [p for p in self.pins if p.path == lock and p.package == decl.package]
            if not entries:
                if lock.rsplit("/", 1)[-1] in LOCK_NAMES:
                    finding = LOCK_DISAGREES.at(
                        lock,
                        (1, 1),
                        f"{lock} has no entry for {decl.package}, declared at {decl.place}: "
                        f"{_relock(lock)}",
                    )
                    yield finding, None
                continue
            for entry in entries:
                if entry.version is None or _satisfies(entry.version, decl):
                    continue
                wants = f"pins {decl.version}" if decl.version else f"asks for '{decl.specifier}'"
                finding = LOCK_DISAGREES.at(
                    entry.path,
                    entry.mark,
                    f"{entry.path} pins {decl.package} {entry.version} but {decl.place} {wants}: "
                    f"{_relock(lock)}",
                )
                yield finding, entry

    def declared_in(self, path: str) -> list[Pin]:
        return [p for p in self.pins if p.path == path and p.kind != "lock"]

    def interpreter_name(self) -> str:
        assert self.interpreter is not None
        where = self.interpreter.source
        if where in ("--python", "$VIRTUAL_ENV"):  # name the interpreter the user chose
            where = f"{where} ({self.interpreter.python})"
        return where

    def installed_differs(self) -> Iterator[Finding]:
        if self.interpreter is None or not self.installed.get("dvc"):
            return  # no DVC in that interpreter: not the environment DVC runs in
        where = self.interpreter_name()
        for package in sorted(TRACKED):
            ref = self.reference(package)
            if ref is None or not ref.version:
                continue
            have = self.installed.get(package)
            if have == ref.version:
                continue
            state = f"{package} {have} is installed" if have else f"{package} is not installed"
            pinned = "locked" if ref.kind == "lock" else "pinned"
            yield INSTALLED_DIFFERS.at(
                ref.path,
                ref.mark,
                f"{state} in {where} but {pinned} to {ref.version} "
                f"here: run `pip install {package}=={ref.version}` there, or pin the installed "
                "version",
            )

    def plugins(self) -> Iterator[Finding]:
        reported: set[tuple[str, str]] = set()
        for need in self.needs:
            if (need.path, need.package) in reported or self.provider(need):
                continue
            reported.add((need.path, need.package))
            installed = self.installed.get(need.package)
            version = f"=={installed}" if installed else "==X.Y.Z"
            yield PLUGIN_MISSING.at(
                need.path,
                need.mark,
                f"{need.what} needs {need.package}, which no dependency file declares: "
                f"add {need.package}{version} (or dvc[{need.extra}]) or DVC fails with "
                f"\"requires '{need.package}' to be installed\"",
            )

    def provider(self, need: Need) -> Pin | None:
        """The declaration that installs the plugin `need` asks for: its own, or dvc[extra]."""
        for pin in self.pins:
            if pin.kind == "lock":
                continue
            if pin.package == need.package:
                return pin
            extras = {EXTRA_ALIASES.get(e, e) for e in pin.extras}
            if pin.package == "dvc" and (need.extra in extras or extras & ALL_EXTRAS):
                return pin
        return None

    def plugins_not_installed(self) -> Iterator[Finding]:
        """A plugin declared through dvc[extra] but absent from a DVC environment."""
        if self.interpreter is None or not self.installed.get("dvc"):
            return
        reported: set[str] = set()
        for need in self.needs:
            provider = self.provider(need)
            if provider is None or provider.package != "dvc" or need.package in reported:
                continue
            if self.installed.get(need.package) or self.reference(need.package):
                continue  # installed, or pinned itself (then installed_differs reports it)
            reported.add(need.package)
            yield INSTALLED_DIFFERS.at(
                provider.path,
                provider.mark,
                f"{need.what} needs {need.package}, declared through dvc[{need.extra}] here, "
                f"but it is not installed in {self.interpreter_name()}: run `pip install "
                f"'{provider.text.split(';')[0].strip()}'` there",
            )

    def edit_parses(self, pin: Pin, version: str) -> bool:
        """Whether the file still parses as its format with this one edit applied."""
        assert pin.edit is not None
        text = pin.edit.apply(self.project.read_text(pin.path), version)
        name = pin.path.rsplit("/", 1)[-1]
        try:
            if name.endswith(".toml") or name == "Pipfile":
                tomldoc.parse(text)
            elif name == "setup.cfg":
                configparser.ConfigParser(interpolation=None).read_string(text)
        except (tomldoc.TomlProblem, configparser.Error):
            return False
        return True

    def write_fixes(self) -> None:
        for path, edits in self.edits.items():
            raw = self.project.read_bytes(path)
            bom = raw.startswith(b"\xef\xbb\xbf")
            text = raw.decode("utf-8-sig")
            for pin, version in sorted(edits, key=lambda e: -e[0].edit.start):  # type: ignore[union-attr]
                assert pin.edit is not None
                text = pin.edit.apply(text, version)
            # One file at a time: a refused one leaves its findings, the others are fixed.
            self.context.apply([Edit(path, ("\ufeff" if bom else "") + text)], "check-dvc-pinned")


def _exact_text(pin: Pin, version: str) -> str:
    """How an exact pin of `pin.package` is written in `pin`'s file format."""
    if pin.where.startswith("[tool.poetry"):
        return f'{pin.package} = "{version}"'
    if pin.where.endswith("(conda)"):
        return f"{pin.package}={version}"
    # The extras stay (`dvc[s3]==3.67.1`), as --fix keeps them: dropping them would drop
    # the remote plugin they install.
    extras = f"[{','.join(sorted(pin.extras))}]" if pin.extras else ""
    return f"{pin.package}{extras}=={version}"


def _satisfies(version: str, decl: Pin) -> bool:
    if decl.specifier is None:
        return True  # Poetry's ^/~: the lock tool checked it when it locked
    try:
        return SpecifierSet(decl.specifier).contains(version, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True


def _relock(lock: str) -> str:
    name = lock.rsplit("/", 1)[-1]
    command = {
        "uv.lock": "uv lock",
        "poetry.lock": "poetry lock",
        "pdm.lock": "pdm lock",
        "Pipfile.lock": "pipenv lock",
    }.get(name, "pip-compile")
    return f"regenerate it (`{command}`)"


def check(context: CheckContext) -> Iterator[Finding]:
    yield from _Run(context).run()
