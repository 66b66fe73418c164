"""`dvc-gitops export dockerfile`: the image `dvc repro` runs in, from the project's pins.

The same dvc.yaml should run identically on a laptop and in CI: the image takes the
project's Python version (`.python-version`, else its virtualenv's `pyvenv.cfg`, else
`requires-python`'s lower bound), its requirements file when there is one, and DVC with
the remote plugins its config needs, at the exact versions the project pins. It refuses
rather than guess a DVC version the project never pinned.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from dvc_gitops.core.files import WriteRefused, write_output
from dvc_gitops.core.project import FileProblem, Project, find_root
from dvc_gitops.core.runner import EXIT_USAGE
from dvc_gitops.formats import tomldoc
from dvc_gitops.pins.remote_plugins import plugin_needs
from dvc_gitops.pins.rules import find_pins

REQUIREMENTS = ("requirements.lock", "requirements.txt")
_VERSION = re.compile(r"(\d+)\.(\d+)")


class DockerfileProblem(Exception):
    """The image cannot be written from what the project says; the message says why."""


def python_version(project: Project) -> str:
    """`X.Y` of the project's Python, read from its files (nothing is run)."""
    candidates: list[tuple[str, str]] = []
    if project.exists(".python-version"):
        candidates.append((".python-version", project.read_text(".python-version")))
    for venv in (".venv", "venv"):
        if project.exists(f"{venv}/pyvenv.cfg"):
            config = project.read_text(f"{venv}/pyvenv.cfg")
            found = re.search(r"^version(?:_info)?\s*=\s*(\S+)", config, re.MULTILINE)
            if found:
                candidates.append((f"{venv}/pyvenv.cfg", found.group(1)))
    if project.exists("pyproject.toml"):
        try:
            data = tomldoc.parse(project.read_text("pyproject.toml"))
        except (tomldoc.TomlProblem, FileProblem):
            data = {}
        spec = data.get("project", {}).get("requires-python") if isinstance(data, dict) else None
        low = re.search(r">=\s*(\d+\.\d+)", spec) if isinstance(spec, str) else None
        if low:
            candidates.append(("requires-python", low.group(1)))
    for _where, text in candidates:
        match = _VERSION.search(text)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    raise DockerfileProblem(
        "no Python version found: write one in .python-version (e.g. 3.11) or "
        "`requires-python` in pyproject.toml"
    )


def dvc_requirement(project: Project) -> str:
    """`dvc[s3,...]==X.Y.Z`: the pinned DVC with the extras its remotes need."""
    versions = sorted({p.version for p in find_pins(project) if p.package == "dvc" and p.version})
    if not versions:
        raise DockerfileProblem(
            "DVC is not pinned exactly anywhere: pin it (`check-dvc-pinned --fix` writes "
            "dvc==VERSION) so the image runs the DVC the team runs"
        )
    if len(versions) > 1:
        raise DockerfileProblem(f"DVC is pinned at {', '.join(versions)}: pin one version")
    extras = sorted({need.extra for need in plugin_needs(project)})
    return f"dvc[{','.join(extras)}]=={versions[0]}" if extras else f"dvc=={versions[0]}"


def requirements_file(project: Project) -> str | None:
    return next((name for name in REQUIREMENTS if project.exists(name)), None)


def installable_project(project: Project) -> bool:
    """Whether the repository is a Python project pip can install (`[project]` in
    pyproject.toml, or a setup.py/setup.cfg)."""
    if project.exists("setup.py") or project.exists("setup.cfg"):
        return True
    if not project.exists("pyproject.toml"):
        return False
    try:
        return "project" in tomldoc.parse(project.read_text("pyproject.toml"))
    except (tomldoc.TomlProblem, FileProblem):
        return False


def export_dockerfile(project: Project, extras: tuple[str, ...] = ()) -> str:
    """The Dockerfile's text."""
    version = python_version(project)
    dvc = dvc_requirement(project)
    requirements = requirements_file(project)
    if extras and (requirements or not installable_project(project)):
        raise DockerfileProblem(
            "--extra installs the repository's own Python project: it needs a pyproject.toml "
            "with [project] (or setup.py) and no requirements file"
        )
    lines = [
        "# The image `dvc repro` runs in, written by `dvc-gitops export dockerfile`.",
        "# Do not edit: export it again after changing the pins.",
        f"FROM python:{version}-slim",
        "",
        "ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1",
        "WORKDIR /repo",
        "",
    ]
    if requirements:
        lines += [
            f"COPY {requirements} /tmp/{requirements}",
            f'RUN pip install --no-cache-dir -r /tmp/{requirements} "{dvc}"',
            "",
            "COPY . /repo",
        ]
    elif installable_project(project):
        # The repository is the project: its own dependencies (and extras) come with it.
        target = f"/repo[{','.join(extras)}]" if extras else "/repo"
        lines += ["COPY . /repo", f'RUN pip install --no-cache-dir "{target}" "{dvc}"']
    else:
        lines += [f'RUN pip install --no-cache-dir "{dvc}"', "", "COPY . /repo"]
    lines += [
        "RUN useradd --create-home --uid 1000 dvc && chown -R dvc /repo",
        "USER 1000",
        "",
        'ENTRYPOINT ["dvc"]',
        'CMD ["repro"]',
    ]
    return "\n".join(lines) + "\n"


@click.command("dockerfile")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the Dockerfile here (default: standard output).",
)
@click.option(
    "--extra",
    "extras",
    multiple=True,
    help="An extra of the repository's own Python project to install (repeatable).",
)
def dockerfile_command(output: str | None, extras: tuple[str, ...]) -> None:
    """Write a Dockerfile for `dvc repro`: the project's Python, requirements and pinned DVC."""
    if any(not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", e) for e in extras):
        raise click.BadParameter("an extra is a name like `demo`", param_hint="--extra")
    project = Project(find_root(Path.cwd()))
    try:
        text = export_dockerfile(project, extras)
    except DockerfileProblem as exc:
        click.echo(f"dvc-gitops export dockerfile: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_output(project.root, output, text)
    except WriteRefused as exc:
        click.echo(f"dvc-gitops export dockerfile: cannot write {output}: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    click.echo(f"wrote {output}")
