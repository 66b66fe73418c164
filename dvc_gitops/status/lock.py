"""check-dvc-lock: each stage's dvc.lock entry against its dvc.yaml, code and params.

Natively, without DVC and without the data: the stage definitions, params files and
files in git are read from one tree (the work tree, the index or a commit, see
`core.git_tree`), hashed as DVC hashes them (`status.hashing`), and compared with the
lock the way DVC's `dvc status` compares them:

- the command: the lock's `cmd` against the resolved one, shape included (a string is
  not a one-item list);
- deps and outs matched by the path as written relative to the stage's `wdir`: one in
  dvc.yaml and not in the lock is changed for DVC; one only in the lock is ignored by
  DVC (reported apart: the lock is out of date, nothing re-runs);
- a dep's md5 when its content is at hand: in the tree, or recorded by the `.dvc` file
  that tracks it; a dep another stage produces against that stage's locked output (the
  graph must agree with itself); anything else is a notice, never a guess;
- params key by key with Python's `==` (DVC's comparison: 1 and 1.0 are equal);
- frozen stages: the command and outputs only (DVC skips their deps); stages DVC always
  runs (always_changed, or no deps and no outs): a notice.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase as fnmatch
from functools import cached_property
from typing import Any, NoReturn

from dvc_gitops.core.config import ConfigError
from dvc_gitops.core.findings import Finding, Rule
from dvc_gitops.core.git_tree import DiskTree, FileTree, GitProblem, GitTree, open_tree
from dvc_gitops.core.project import FileProblem, Project
from dvc_gitops.core.runner import CheckContext
from dvc_gitops.dvcmodel.model import pipeline_of
from dvc_gitops.dvcmodel.stages import MISSING, LoadProblem, ParamsLoader, Stage, param_value
from dvc_gitops.formats.yamldoc import Mark, YamlProblem
from dvc_gitops.status import hashing, lockfile

MAX_NAMES = 8

_FIX = "run `dvc repro {stage}` and commit dvc.lock with the change"

NOT_IN_LOCK = Rule(
    "DG410",
    "stage-not-in-lock",
    "warning",
    "A stage of dvc.yaml has no entry in its dvc.lock: it was never reproduced.",
    why="The commit holds a stage whose outputs no lock vouches for: whoever checks it out "
    "cannot `dvc pull` them, and `dvc repro` runs it from scratch.",
    fix="Run `dvc repro STAGE` and commit dvc.lock, or remove the stage if it is not meant "
    "to be there yet.",
)
CMD_CHANGED = Rule(
    "DG411",
    "lock-cmd-changed",
    "warning",
    "A stage's command differs from the `cmd` its dvc.lock entry recorded.",
    why="DVC re-runs a stage whose command changed (`dvc status`: changed command); the "
    "committed outputs were made by the old command.",
    fix="Run `dvc repro STAGE` and commit dvc.lock; or restore the command the lock records.",
)
DEP_CHANGED = Rule(
    "DG412",
    "lock-dep-changed",
    "warning",
    "A dep's content differs from the md5 dvc.lock recorded, or the dep is new or gone.",
    why="DVC re-runs the stage (`dvc status`: changed deps); the committed outputs were made "
    "from other inputs than the commit holds.",
    fix="Run `dvc repro STAGE` and commit dvc.lock with the change; or undo the change.",
)
PARAMS_CHANGED = Rule(
    "DG413",
    "lock-params-changed",
    "warning",
    "A params value the stage reads differs from the one dvc.lock recorded (or the key is "
    "new or gone).",
    why="DVC re-runs the stage (`dvc status`: changed params); the committed model and "
    "metrics were made with the old value.",
    fix="Run `dvc repro STAGE` and commit dvc.lock; or restore the value the lock records.",
)
OUTS_ADDED = Rule(
    "DG414",
    "lock-outs-added",
    "warning",
    "A stage declares an output its dvc.lock entry does not record.",
    why="DVC re-runs the stage (`dvc status`: changed outs): no lock records the new "
    "output, so nobody can pull it.",
    fix="Run `dvc repro STAGE` and commit dvc.lock.",
)
UPSTREAM_MISMATCH = Rule(
    "DG415",
    "lock-upstream-mismatch",
    "warning",
    "A dep made by another stage has a different md5 in the consumer's lock entry than "
    "in its producer's: the consumer was not reproduced after its producer.",
    why="A partial `dvc repro` was committed, or a lock was edited by hand: the downstream "
    "stage's outputs were made from an older version of its input, and `dvc repro` will "
    "re-run it.",
    fix="Run `dvc repro STAGE` (the downstream stage) and commit dvc.lock.",
)
LEFT_OVER = Rule(
    "DG416",
    "lock-entries-left-over",
    "warning",
    "dvc.lock still records deps, outputs or params keys the stage no longer has.",
    why="DVC ignores them (nothing re-runs), but the lock no longer describes the stage: "
    "reviewers read a dependency that is gone, and `dvc pull` fetches an output nobody makes.",
    fix="Run `dvc commit STAGE` (or `dvc repro STAGE`) and commit dvc.lock.",
)
STALE_LOCK_ENTRY = Rule(
    "DG417",
    "stale-lock-entry",
    "warning",
    "dvc.lock holds an entry for a stage that no longer exists in dvc.yaml.",
    why="A renamed or removed stage leaves its entry behind; DVC ignores it, but the lock "
    "claims outputs that no stage makes, and `dvc gc` keeps their data.",
    fix="Delete the entry from dvc.lock: `dvc repro` and `dvc commit` rewrite only the "
    "entries of stages that exist and leave this one in place (checked with DVC 3.67).",
)
UNREADABLE_LOCK = Rule(
    "DG418",
    "unreadable-lock",
    "error",
    "A dvc.lock DVC cannot read: not YAML, not the lock structure, or another schema version.",
    why="DVC refuses every command on the project until the lock reads; nothing in it can "
    "be checked.",
    fix="Restore dvc.lock from git (`git checkout -- dvc.lock`) and run `dvc repro`; a lock "
    "of schema 1.x (DVC 1) is rewritten by `dvc repro` with DVC 3.",
)
UNREADABLE_INPUT = Rule(
    "DG419",
    "unreadable-lock-input",
    "error",
    "A params file or folder dep the lock check needs cannot be read the way DVC reads it "
    "(not UTF-8, not a mapping, a symlink loop, a `.dvcignore` inside a folder dep).",
    why="DVC fails on the same input when it checks or reproduces the stage.",
    fix="Make the file readable as DVC reads it (UTF-8 YAML, JSON, TOML or Python "
    "literals), or break the symlink loop.",
)
NOT_CHECKED = Rule(
    "DG420",
    "lock-not-checked",
    "notice",
    "A dep whose content is neither in git nor on disk (data not pulled): its md5 is not checked.",
    why="Without the data there is nothing to hash; the check says so instead of guessing. "
    "Deps made by other stages are still checked against their producers' lock entries.",
    fix="Nothing, or track the data with `dvc add` (its `.dvc` file records the md5 the "
    "check can read), or run the check where the data is (`dvc pull`).",
)
ALWAYS_CHANGED = Rule(
    "DG421",
    "always-changed-stage",
    "notice",
    "A stage DVC runs on every `dvc repro` (always_changed, or no deps and no outs): its "
    "lock entry is not checked.",
    why="DVC reports such a stage as changed whatever the lock says; there is nothing to "
    "hold the lock to.",
    fix="Nothing; give the stage deps and outs if it should re-run only when they change.",
)


SCOPES = ("worktree", "staged")
_GLOB = re.compile(r"[*?\[]")


def check(context: CheckContext) -> Iterator[Finding]:
    """The lock check of the tree the options name (pre-commit: the index)."""
    project = context.project
    settings = project.config.section("lock", {"scope": str})
    rev = context.options.get("rev")
    # Under pre-commit (it sets PRE_COMMIT=1) the commit is what counts: the index.
    default = "staged" if os.environ.get("PRE_COMMIT") == "1" else "worktree"
    scope = context.options.get("scope") or settings.get("scope") or default
    if scope not in SCOPES:
        _stop(f"scope must be one of {', '.join(SCOPES)}, not '{scope}'")
    try:
        tree = open_tree(project.root, scope, rev)
    except GitProblem as exc:
        _stop(f"cannot read {'commit ' + rev if rev else 'the index'}: {exc}")
    try:
        if isinstance(tree, GitTree):
            project = Project(project.root, project.config, tree=tree)
        yield from LockCheck(project, tree).run()
    finally:
        if isinstance(tree, GitTree):
            tree.close()


def _stop(message: str) -> NoReturn:
    raise ConfigError(message)  # one line and exit 2, from the hook and `dvc-gitops check`


@dataclass
class _LockFile:
    """One dvc.lock, read: its stage entries, or why it cannot be used."""

    path: str
    stages: dict[str, dict[str, Any]]
    exists: bool = True


class LockCheck:
    """Every finding of one tree: the work tree, the index or a commit."""

    def __init__(self, project: Project, tree: FileTree) -> None:
        self.project = project
        self.tree = tree
        self.pipeline = pipeline_of(project)
        self.params = ParamsLoader(project)
        self.hashes: dict[tuple[str, str], str | OSError] = {}
        self.locks: dict[str, _LockFile | Finding] = {}
        # address -> why it is stale, in `dvc status` terms ("cmd", "dep:PATH",
        # "param:FILE:KEY", "params:FILE", "out:PATH", "never"): what tests compare
        self.stale: dict[str, set[str]] = {}

    def _cause(self, stage: Stage, cause: str) -> None:
        self.stale.setdefault(stage.address, set()).add(cause)

    def run(self) -> Iterator[Finding]:
        by_file: dict[str, list[Stage]] = {}
        for stage in self.pipeline.stages.values():
            by_file.setdefault(stage.dvcfile, []).append(stage)
        for dvcfile in sorted(self.pipeline.definitions):
            lock = self.lock_of(dvcfile)
            if isinstance(lock, _LockFile) and not lock.exists:
                # Never reproduced at all (a pipeline being written): nothing to hold to a
                # lock yet; dvc-status and `dvc repro` speak for it.
                continue
            if isinstance(lock, Finding):
                yield lock
                continue
            problem = self.pipeline.problems.get(dvcfile)
            if problem is not None:  # DVC refuses the file: check-dvc-yaml says where
                yield NOT_CHECKED.at(
                    dvcfile, Mark(1, 1), f"{dvcfile} not checked against its lock: {problem}"
                )
                continue
            stages = by_file.get(dvcfile, [])
            not_checked: list[tuple[Stage, Finding]] = []
            for stage in stages:
                for finding in self.check_stage(stage, lock):
                    if finding.code == NOT_CHECKED.code:
                        not_checked.append((stage, finding))
                    else:
                        yield finding
            yield from self._not_checked(dvcfile, not_checked)
            yield from self.stale_entries(dvcfile, lock, {s.name for s in stages})

    def _not_checked(self, dvcfile: str, notices: list[tuple[Stage, Finding]]) -> Iterator[Finding]:
        """The "not checked without the data" notices: one per stage, or one for the file
        when many stages share the cause (a fresh clone: nothing pulled yet)."""
        if len(notices) <= GROUP_NOTICES:
            yield from (finding for _stage, finding in notices)
            return
        first = notices[0][0]
        names = [stage.address for stage, _finding in notices]
        yield NOT_CHECKED.at(
            dvcfile,
            first.mark,
            f"{len(notices)} stages of {dvcfile} have deps not checked without the data (not "
            f"in {self.tree.label}): {_names(names)}; `dvc pull` them to check",
        )

    # -- the lock file ----------------------------------------------------------------------

    def lock_of(self, dvcfile: str) -> _LockFile | Finding:
        rel = posixpath.join(posixpath.dirname(dvcfile), "dvc.lock")
        if rel not in self.locks:
            self.locks[rel] = self._read_lock(rel)
        return self.locks[rel]

    def _read_lock(self, rel: str) -> _LockFile | Finding:
        if not self.project.is_file(rel):
            return _LockFile(rel, {}, exists=False)
        try:
            # DVC's own block YAML read fast; anything else through the full loader
            data = lockfile.parse(self.project.read_text(rel))
            if data is None:
                data = self.project.yaml(rel).data
        except (YamlProblem, FileProblem) as exc:
            return UNREADABLE_LOCK.at(rel, exc.mark, f"{rel} cannot be read: {exc.message}")
        data = data if data is not None else {}
        problem = _lock_problem(data)
        if problem is not None:
            where, message = problem
            mark = self.project.yaml(rel).value_mark(where)
            return UNREADABLE_LOCK.at(rel, mark, f"{rel}: {message}")
        return _LockFile(rel, data.get("stages") or {})

    def stale_entries(self, dvcfile: str, lock: _LockFile, names: set[str]) -> Iterator[Finding]:
        # A definition that did not resolve leaves no stage: its entries are not stale.
        defined = set(self.pipeline.definitions.get(dvcfile, []))
        stale = []
        for name in lock.stages:
            base = name.split("@", 1)[0]
            if name in names or (base in defined and base not in names and "@" in name):
                continue
            if name not in defined:
                stale.append(name)
        if not stale:
            return
        doc = self.project.yaml(lock.path)
        advice = "delete it (`dvc repro` and `dvc commit` leave such entries in place)"
        if len(stale) <= GROUP_NOTICES:
            for name in stale:
                yield STALE_LOCK_ENTRY.at(
                    lock.path,
                    doc.key_mark(("stages", name)),
                    f"{lock.path} holds an entry for stage '{name}', which {dvcfile} no longer "
                    f"defines: {advice}",
                )
            return
        yield STALE_LOCK_ENTRY.at(
            lock.path,
            doc.key_mark(("stages", stale[0])),
            f"{lock.path} holds entries for {len(stale)} stages {dvcfile} no longer defines "
            f"({_names(stale)}): delete them (`dvc repro` and `dvc commit` leave such "
            "entries in place)",
        )

    # -- one stage ----------------------------------------------------------------------------

    def check_stage(self, stage: Stage, lock: _LockFile) -> Iterator[Finding]:
        address = stage.address
        if stage.always_changed or not (stage.deps or stage.outs or stage.params):
            why = "always_changed" if stage.always_changed else "it has no deps and no outs"
            yield ALWAYS_CHANGED.at(
                stage.dvcfile,
                stage.mark,
                f"stage '{address}' runs on every `dvc repro` ({why}): its lock entry is not "
                "checked",
            )
            return
        entry = lock.stages.get(stage.name)
        if entry is None:
            self._cause(stage, "never")
            where = f"not in {lock.path}" if lock.exists else f"there is no {lock.path}"
            yield NOT_IN_LOCK.at(
                stage.dvcfile,
                stage.mark,
                f"stage '{address}' was never reproduced ({where}); {self._after(stage)}",
            )
            return
        yield from self.check_cmd(stage, entry)
        if not stage.frozen:  # DVC skips a frozen stage's deps and params
            yield from self.check_deps(stage, entry)
            yield from self.check_params(stage, entry)
        yield from self.check_outs(stage, entry)

    def _after(self, stage: Stage) -> str:
        downstream = self.pipeline.downstream(stage.address)
        after = (
            f"downstream, re-run if its outputs change: {_names(downstream)}"
            if downstream
            else "nothing downstream"
        )
        return f"{after}; " + _FIX.format(stage=stage.address)

    def check_cmd(self, stage: Stage, entry: dict[str, Any]) -> Iterator[Finding]:
        current = self._cmd_as_written(stage)
        locked = entry.get("cmd")
        if current is None or locked == current:
            return
        self._cause(stage, "cmd")
        yield CMD_CHANGED.at(
            stage.dvcfile,
            stage.cmd_mark,
            f"stage '{stage.address}': command changed since dvc.lock "
            f"(`{_short(_cmd_text(locked))}` -> `{_short(_cmd_text(current))}`); "
            f"{self._after(stage)}",
        )

    def _cmd_as_written(self, stage: Stage) -> str | list[str] | None:
        """The resolved command in the shape dvc.yaml gives it (DVC compares shapes too)."""
        try:
            data = self.project.yaml(stage.dvcfile).data
        except (YamlProblem, FileProblem):
            return None
        node: Any = data
        for step in stage.template_path:
            node = node.get(step) if isinstance(node, dict) else None
        raw = node.get("cmd") if isinstance(node, dict) else None
        if isinstance(raw, list):
            return list(stage.cmds)
        return stage.cmds[0] if len(stage.cmds) == 1 else None

    # -- deps -----------------------------------------------------------------------------------

    def check_deps(self, stage: Stage, entry: dict[str, Any]) -> Iterator[Finding]:
        locked = {str(d["path"]): d for d in entry.get("deps") or []}
        declared = {_as_written(stage, ref.path, ref.raw): ref for ref in stage.deps}
        missing_data: list[str] = []
        for written, ref in declared.items():
            item = locked.get(written)
            if item is None:
                self._cause(stage, f"dep:{ref.path}")
                yield DEP_CHANGED.at(
                    ref.file,
                    ref.mark,
                    f"stage '{stage.address}': dep '{written}' is not in its dvc.lock entry "
                    f"(added since the last `dvc repro`); {self._after(stage)}",
                )
                continue
            verdict = self.dep_verdict(stage, ref.path, item)
            if verdict is None:
                continue
            kind, text = verdict
            if kind in ("upstream", "changed"):
                self._cause(stage, f"dep:{ref.path}")
            if kind == "data":
                missing_data.append(written)
            elif kind == "upstream":
                yield UPSTREAM_MISMATCH.at(ref.file, ref.mark, f"{text}; {self._after(stage)}")
            elif kind == "unreadable":
                yield UNREADABLE_INPUT.at(ref.file, ref.mark, text)
            else:
                yield DEP_CHANGED.at(
                    ref.file,
                    ref.mark,
                    f"stage '{stage.address}': dep '{written}' {text}; {self._after(stage)}",
                )
        gone = [p for p in locked if p not in declared]
        if gone:
            yield self._left_over(stage, "deps", gone)
        if missing_data:
            yield NOT_CHECKED.at(
                stage.dvcfile,
                stage.mark,
                f"stage '{stage.address}': {_names(missing_data)} not checked without the data "
                f"(not in {self.tree.label})",
            )

    def dep_verdict(self, stage: Stage, path: str, item: dict[str, Any]) -> tuple[str, str] | None:
        """None when the dep matches its lock; else (kind, phrase)."""
        md5 = item.get("md5")
        producers = [p for p in self.pipeline.producers_of(path) if p != stage.address]
        if producers:
            return self._against_producer(stage, path, md5, producers)
        name = hashing.hash_name(item)
        if "hash" in item and name != hashing.MD5:
            return None  # a cloud etag or another algorithm: not ours to recompute
        tracked = self._dvc_tracked_md5(path)
        if tracked is not None:
            if md5 is not None and tracked != md5:
                return "changed", f"changed: its .dvc file records {tracked}, dvc.lock {md5}"
            return None
        if isinstance(self.tree, GitTree) and self._partly_ignored(path):
            return "data", path  # git holds only part of the folder: its md5 needs the data
        found = self.content_md5(path, name)
        if found is None:
            return self._absent(path)
        if isinstance(found, OSError):
            return (
                "unreadable",
                f"dep '{path}' cannot be hashed as DVC hashes it: {_os_reason(found)}",
            )
        if found != md5:
            return "changed", f"changed since dvc.lock (md5 {md5} -> {found})"
        return None

    def _partly_ignored(self, path: str) -> bool:
        """Whether the work tree holds files git ignores below folder `path` (data kept
        out of git: a folder hashed from the index or a commit would lack them)."""
        if not self.tree.is_dir(path):
            return False
        out = self.project.git(
            "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", path
        )
        return bool(out)

    def _absent(self, path: str) -> tuple[str, str] | None:
        """A dep the tree does not hold: deleted, or data this tree cannot show."""
        if isinstance(self.tree, GitTree):
            # Not staged: data kept out of git (on disk), or a file removed from the commit.
            staged = self.tree.label == "the index"
            if staged and not (self.project.root / path).exists():
                return "changed", "is deleted"
            return "data", path
        # The work tree: a file git tracks is deleted; anything else is data not pulled
        # (a fresh clone, CI without `dvc pull`), which only the data can vouch for.
        tracked = self._tracked
        if tracked is None or path in tracked:
            return "changed", "is deleted"
        return "data", path

    @cached_property
    def _tracked(self) -> set[str] | None:
        """Files git tracks and their folders (None outside git)."""
        files = self.project.git_files
        if files is None:
            return None
        found = set(files)
        for path in files:
            folder = posixpath.dirname(path)
            while folder and folder not in found:
                found.add(folder)
                folder = posixpath.dirname(folder)
        return found

    def _against_producer(
        self, stage: Stage, path: str, md5: Any, producers: list[str]
    ) -> tuple[str, str] | None:
        producer = self.pipeline.stages[producers[0]]
        if len(producers) > 1 or producer.frozen:
            return None  # overlapping outputs: check-dvc-yaml reports them
        lock = self.lock_of(producer.dvcfile)
        if isinstance(lock, Finding):
            return None
        entry = lock.stages.get(producer.name)
        if entry is None:
            return None  # the producer itself is reported as never reproduced
        produced = {
            posixpath.normpath(posixpath.join(producer.wdir, str(o.get("path")))): o
            for o in entry.get("outs") or []
        }
        out = produced.get(path)
        if out is None:
            return "data", path  # a file inside an output folder: its md5 needs the data
        if out.get("md5") == md5:
            return None
        return (
            "upstream",
            f"stage '{stage.address}': dep '{path}' has md5 {md5} in its dvc.lock entry but "
            f"stage '{producer.address}' locked that output at {out.get('md5')}: "
            f"'{stage.address}' was not reproduced after '{producer.address}'",
        )

    def _dvc_tracked_md5(self, path: str) -> str | None:
        """The md5 a `PATH.dvc` file records for exactly `path`, if there is one."""
        rel = path + ".dvc"
        if not self.project.is_file(rel):
            return None
        try:
            data = self.project.yaml(rel).data
        except (YamlProblem, FileProblem):
            return None
        outs = data.get("outs") if isinstance(data, dict) else None
        if not isinstance(outs, list):
            return None
        base = posixpath.basename(path)
        for out in outs:
            if isinstance(out, dict) and out.get("path") == base and out.get("md5"):
                return str(out["md5"])
        return None

    def content_md5(self, path: str, name: str) -> str | OSError | None:
        """The dep's md5 as DVC computes it from this tree; None when the tree lacks it."""
        key = (path, name)
        if key not in self.hashes:
            try:
                if self.tree.is_file(path):
                    self.hashes[key] = self._file_md5(path, name)
                elif self.tree.is_dir(path):
                    self.hashes[key] = self._folder_md5(path, name)
                else:
                    return None
            except OSError as exc:
                self.hashes[key] = exc
        return self.hashes[key]

    def _file_md5(self, path: str, name: str) -> str:
        if isinstance(self.tree, DiskTree):
            return hashing.chunks_md5(hashing.read_chunks(str(self.project.root / path)), name)
        return hashing.bytes_md5(self.tree.read_bytes(path), name)

    def _folder_md5(self, folder: str, name: str) -> str:
        files = []
        for rel in self.tree.files_under(folder):
            if self.project.dvcignored(rel):
                continue
            if posixpath.basename(rel) == ".dvcignore":
                raise OSError(f"DVC refuses a folder holding a .dvcignore ({rel})")
            files.append((rel[len(folder) + 1 :], self._file_md5(rel, name)))
        return hashing.folder_md5(files)

    # -- params ---------------------------------------------------------------------------------

    def check_params(self, stage: Stage, entry: dict[str, Any]) -> Iterator[Finding]:
        locked = entry.get("params") or {}
        by_file: dict[str, list[Any]] = {}
        for param in stage.params:
            by_file.setdefault(param.file, []).append(param)
        matched: set[str] = set()
        for file, refs in by_file.items():
            written = _locked_params_file(stage, locked, file)
            recorded = None if written is None else locked[written]
            matched.add(written or "")
            mark_ref = refs[0]
            if recorded is None:
                self._cause(stage, f"params:{file}")
                yield PARAMS_CHANGED.at(
                    mark_ref.source,
                    mark_ref.mark,
                    f"stage '{stage.address}': params of {file} are not in its dvc.lock entry "
                    f"(added since the last `dvc repro`); {self._after(stage)}",
                )
                continue
            if not self.project.is_file(file):
                self._cause(stage, f"params:{file}")
                yield PARAMS_CHANGED.at(
                    mark_ref.source,
                    mark_ref.mark,
                    f"stage '{stage.address}': params file {file} is missing from "
                    f"{self.tree.label}; {self._after(stage)}",
                )
                continue
            try:
                values = self.params.load(file)
            except LoadProblem as exc:
                yield UNREADABLE_INPUT.at(file, exc.mark, f"stage '{stage.address}': {exc}")
                continue
            # A key with a glob (`train.*`) stands for the keys it matched when the lock
            # was written; how DVC expands it is not modelled here: such keys are not
            # compared (never guessed), and the lock's keys they match are not left over.
            globs = [p.key for p in refs if p.key is not None and _GLOB.search(p.key)]
            keys = [p.key for p in refs if p.key is not None and p.key not in globs]
            whole = any(p.key is None for p in refs)
            if isinstance(recorded, dict) and globs:
                recorded = {
                    k: v for k, v in recorded.items() if not any(fnmatch(k, g) for g in globs)
                }
            changes = _params_changes(values, recorded, keys, whole)
            for key, old, new in changes:
                self._cause(stage, f"param:{file}:{key}")
                yield PARAMS_CHANGED.at(
                    *self._param_mark(file, key, mark_ref),
                    f"stage '{stage.address}': param {_label(file)}{key} {_value(old)} -> "
                    f"{_value(new)} since dvc.lock; {self._after(stage)}",
                )
            if not whole and isinstance(recorded, dict):
                extra = [k for k in recorded if k not in keys]
                if extra:
                    yield self._left_over(stage, "params", [f"{_label(file)}{k}" for k in extra])
        gone = [f for f in locked if f not in matched]
        if gone:
            yield self._left_over(stage, "params", [f"{f} (whole file)" for f in gone])

    def _param_mark(self, file: str, key: str, ref: Any) -> tuple[str, Mark]:
        doc = self.params.doc(file)
        if doc is not None and param_value(doc.data, key) is not MISSING:
            return file, doc.key_mark(tuple(key.split(".")))
        return ref.source, ref.mark

    # -- outs -------------------------------------------------------------------------------------

    def check_outs(self, stage: Stage, entry: dict[str, Any]) -> Iterator[Finding]:
        locked = {str(o.get("path")) for o in entry.get("outs") or []}
        declared = {_as_written(stage, out.path, out.raw): out for out in stage.outs}
        for written, out in declared.items():
            if written not in locked:
                self._cause(stage, f"out:{out.path}")
                yield OUTS_ADDED.at(
                    out.file,
                    out.mark,
                    f"stage '{stage.address}': output '{written}' is not in its dvc.lock entry "
                    f"(added since the last `dvc repro`); {self._after(stage)}",
                )
        gone = sorted(p for p in locked if p not in declared)
        if gone:
            yield self._left_over(stage, "outs", gone)

    def _left_over(self, stage: Stage, kind: str, names: list[str]) -> Finding:
        lock = posixpath.join(posixpath.dirname(stage.dvcfile), "dvc.lock")
        what = {"deps": "deps", "outs": "outputs", "params": "params"}[kind]
        mark = Mark(1, 1)
        with contextlib.suppress(YamlProblem, FileProblem):  # the lock read before: it reads
            mark = self.project.yaml(lock).key_mark(("stages", stage.name, kind))
        return LEFT_OVER.at(
            lock,
            mark,
            f"stage '{stage.address}': {lock} still records {what} the stage no longer has: "
            f"{_names(names)}; DVC ignores them (nothing re-runs): run `dvc commit "
            f"{stage.address}` to rewrite the entry",
        )


# -- helpers -------------------------------------------------------------------------------------


def _lock_problem(data: Any) -> tuple[tuple[Any, ...], str] | None:
    """Where and why DVC's lock schema refuses `data` (None when it reads)."""
    if not isinstance(data, dict):
        return (), "not a mapping (DVC cannot read it)"
    if not data:
        return None
    schema = data.get("schema")
    if schema != "2.0":
        if schema is None:
            return (), "no `schema: '2.0'`: a lock of DVC 1 (or not a lock); DVC 3 cannot read it"
        return ("schema",), f"schema version {schema!r}: DVC 3 reads only '2.0'"
    stages = data.get("stages")
    if stages is None:
        return None
    if not isinstance(stages, dict):
        return ("stages",), "`stages` is not a mapping"
    for name, entry in stages.items():
        where: tuple[Any, ...] = ("stages", name)
        if not isinstance(entry, dict) or not isinstance(entry.get("cmd"), (str, list)):
            return where, f"stage '{name}' has no `cmd` (DVC refuses the lock)"
        for kind in ("deps", "outs"):
            items = entry.get(kind)
            if items is None:
                continue
            if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get("path"), str) for i in items
            ):
                return (*where, kind), f"stage '{name}': `{kind}` is not a list of paths"
        params = entry.get("params")
        if params is not None and not (
            isinstance(params, dict) and all(isinstance(v, dict) for v in params.values())
        ):
            return (*where, "params"), f"stage '{name}': `params` is not a mapping of files"
    return None


def _params_changes(
    values: dict[str, Any], recorded: Any, keys: list[str], whole: bool
) -> list[tuple[str, Any, Any]]:
    """(key, locked, current) for each key DVC calls changed: MISSING when absent."""
    info = recorded if isinstance(recorded, dict) else {}
    if whole:
        # A whole file: DVC compares its top-level keys and the lock's.
        names = list(dict.fromkeys([*values, *info, *keys]))
        actual = {k: values[k] for k in values}
        for key in keys:
            actual[key] = param_value(values, key)
    else:
        names = list(dict.fromkeys(keys))
        actual = {k: param_value(values, k) for k in names}
    changes = []
    for key in names:
        new = actual.get(key, MISSING)
        old = info.get(key, MISSING)
        # DVC: a key the file lacks is "deleted" even when the lock lacks it too
        if new is MISSING or old is MISSING or new != old:  # Python's ==, as DVC
            changes.append((key, old, new))
    return changes


def _as_written(stage: Stage, path: str, raw: str) -> str:
    """A dep or out path as DVC writes it into dvc.lock: exactly as dvc.yaml gives it
    (`./x` stays `./x`: DVC rewrites only absolute paths, which checks refuse anyway)."""
    return raw


def _locked_params_file(stage: Stage, locked: dict[str, Any], file: str) -> str | None:
    """The key of `file` (repo-relative) among the lock's params files (wdir-relative)."""
    for name in locked:
        if posixpath.normpath(posixpath.join(stage.wdir, str(name))) == file:
            return str(name)
    return None


def _label(file: str) -> str:
    return "" if posixpath.basename(file) == "params.yaml" and "/" not in file else f"{file}:"


def _value(value: Any) -> str:
    import json

    if value is MISSING:
        return "(absent)"
    return _short(json.dumps(value, default=str, ensure_ascii=False), 40)


def _cmd_text(cmd: Any) -> str:
    return " && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# More stages than this sharing "not checked without the data" give one notice per file.
GROUP_NOTICES = 3


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    rest = len(names) - MAX_NAMES
    return shown + (f" and {rest} more" if rest > 0 else "")


def _os_reason(exc: OSError) -> str:
    if exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    return str(exc)
