"""`dvc-gitops export kubeflow`: the pipeline as a Kubeflow Pipelines v2 Python source.

One lightweight component per stage (foreach and matrix members included). Each runs its
stage's `cmd` in the stage's wdir of a repository checkout (the `repo_root` pipeline
parameter: the checkout baked into the image, or a local one), with `DVC_STAGE`,
`DVC_ROOT` and the stage's MLflow experiment (from the map) in its environment. An output
of a stage is handed to the stages that read it as a KFP artifact: the producing task
copies the output into its artifact, a consuming task copies the artifact back into
place before it runs, so the tasks may run on different machines. The edges are those of
`dvc dag`: they follow from the artifacts passed.

The text is written here; `kfp` is imported only to compile it (`--yaml`), from the
optional `kubeflow` extra. The same pipeline always gives the same bytes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click

from dvc_gitops.core.files import WriteRefused, write_output
from dvc_gitops.core.project import Project, find_root
from dvc_gitops.core.runner import EXIT_USAGE
from dvc_gitops.dvcmodel.model import Pipeline, Stage, pipeline_of
from dvc_gitops.export.airflow import (
    ExportProblem,
    _identifier,
    _overlap,
    _task_id,
    _unique,
    dag_path,
    exportable_pipeline,
    py,
    source_commit,
)
from dvc_gitops.mlflow.map import load_map

DEFAULT_NAME = "dvc-pipeline"
DEFAULT_ROOT = "/repo"
DEFAULT_IMAGE = "python:3.11"


@dataclass
class Component:
    stage: Stage
    function: str  # the component's Python name (its KFP name, hyphenated)
    task: str  # the variable holding its task in the pipeline function
    inputs: list[tuple[str, str, str]]  # (parameter, upstream address, output path)
    outputs: list[tuple[str, str]]  # (parameter, output path)
    experiment: str | None


def export_kubeflow(project: Project, name: str, image: str, output: str | None) -> str:
    """The Python source of the Kubeflow pipeline."""
    pipeline = exportable_pipeline(project)
    components = _components(project, pipeline)
    by_address = {c.stage.address: c for c in components}
    order = [by_address[a] for a in pipeline.topological_order()]
    sources = sorted({s.dvcfile for s in pipeline.stages.values()})
    lines = _header(project, name, image, sources, output)
    for component in order:
        lines += _component(component)
    lines += _pipeline(name, order, by_address)
    return "\n".join(lines) + "\n"


def _components(project: Project, pipeline: Pipeline) -> list[Component]:
    emap = load_map(project)
    taken_functions: set[str] = {"pipeline", "dsl", "Artifact", "Input", "Output"}
    taken_tasks: set[str] = set()
    components = []
    for address, stage in pipeline.stages.items():
        outputs = [(f"out_{i}", out.path) for i, out in enumerate(stage.outs, 1)]
        inputs: list[tuple[str, str, str]] = []
        for dep in stage.deps:
            for upstream in pipeline.producers_of(dep.path):
                if upstream == address:
                    continue
                for out in pipeline.stages[upstream].outs:
                    wanted = (upstream, out.path)
                    if _overlap(dep.path, out.path) and wanted not in [i[1:] for i in inputs]:
                        inputs.append((f"in_{len(inputs) + 1}", *wanted))
        function = _unique(_identifier(_task_id(stage)), taken_functions)
        entry = emap.entry_for(address)
        components.append(
            Component(
                stage,
                function,
                _unique(f"{function}_task", taken_tasks),
                inputs,
                outputs,
                entry.experiment if entry else None,
            )
        )
    return components


def _header(
    project: Project, name: str, image: str, sources: list[str], output: str | None
) -> list[str]:
    return [
        f'"""Kubeflow pipeline `{_doc(name)}`: the DVC pipeline, written by '
        "`dvc-gitops export kubeflow`.",
        "",
        "Do not edit: export it again after changing the pipeline:",
        "",
        f"    {_doc(export_command(name, image, output))}",
        "",
        "Pipeline: " + _doc(", ".join(sources)),
        f"Git commit: {_doc(source_commit(project, sources))}",
        "",
        "Each component runs one DVC stage's cmd in a checkout of the repository (the",
        "`repo_root` parameter). Outputs travel to the stages that read them as KFP",
        "artifacts: copied into the artifact after the stage ran, and back into place",
        "before a stage downstream runs.",
        '"""',
        "",
        "from kfp import dsl",
        "from kfp.dsl import Artifact, Input, Output",
        "",
        f"BASE_IMAGE = {py(image)}",
        f"REPO_ROOT = {py(DEFAULT_ROOT)}",
    ]


def _doc(text: str) -> str:
    """`text` safe inside the module docstring: no quotes that end it, no control chars."""
    return (
        re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", "?", text).replace('"""', "'''").replace("\\", "/")
    )


def _component(component: Component) -> list[str]:
    stage = component.stage
    params = ["repo_root: str"]
    params += [f"{param}: Input[Artifact]" for param, _up, _path in component.inputs]
    params += [f"{param}: Output[Artifact]" for param, _path in component.outputs]
    commands = list(stage.cmds)
    env = {"DVC_STAGE": stage.address}
    if component.experiment:
        env["MLFLOW_EXPERIMENT_NAME"] = component.experiment
    lines = [
        "",
        "",
        "@dsl.component(base_image=BASE_IMAGE)",
        f"def {component.function}({', '.join(params)}):",
        f"    {py('Stage ' + stage.address + ' of ' + stage.dvcfile + '.')}",
        "    import os",
        "    import shutil",
        "    import subprocess",
        "",
        "    def put(source, target):",
        "        if os.path.isdir(target):",
        "            shutil.rmtree(target)",
        "        elif os.path.exists(target):",
        "            os.remove(target)",
        "        os.makedirs(os.path.dirname(target) or '.', exist_ok=True)",
        "        if os.path.isdir(source):",
        "            shutil.copytree(source, target)",
        "        else:",
        "            shutil.copyfile(source, target)",
        "",
    ]
    for param, _upstream, path in component.inputs:
        lines.append(f"    put({param}.path, os.path.join(repo_root, {py(path)}))")
    lines += [
        f"    env = dict(os.environ, DVC_ROOT=repo_root, **{py(env)})",
        f"    cwd = os.path.join(repo_root, {py(stage.wdir)})",
        f"    for command in {py(commands)}:",
        "        subprocess.run(command, shell=True, cwd=cwd, env=env, check=True)",
    ]
    for param, path in component.outputs:
        lines.append(f"    put(os.path.join(repo_root, {py(path)}), {param}.path)")
    return lines


def _pipeline(name: str, order: list[Component], by_address: dict[str, Component]) -> list[str]:
    lines = [
        "",
        "",
        f"@dsl.pipeline(name={py(name)})",
        "def pipeline(repo_root: str = REPO_ROOT):",
    ]
    for component in order:
        args = ["repo_root=repo_root"]
        for param, upstream, path in component.inputs:
            producer = by_address[upstream]
            out_param = next(p for p, out in producer.outputs if out == path)
            args.append(f"{param}={producer.task}.outputs[{py(out_param)}]")
        lines.append(f"    {component.task} = {component.function}({', '.join(args)})")
    if not order:
        lines.append("    pass")
    return lines


def export_command(name: str, image: str, output: str | None) -> str:
    """The command line that writes this pipeline source again."""
    words = ["dvc-gitops", "export", "kubeflow"]
    if name != DEFAULT_NAME:
        words += ["--name", name]
    if image != DEFAULT_IMAGE:
        words += ["--image", image]
    if output:
        return shlex.join([*words, "--output", output])
    return shlex.join(words) + " > FILE"


def compile_yaml(source: str, target: Path) -> None:
    """The compiled pipeline IR YAML of `source` (needs the `kubeflow` extra: kfp)."""
    try:
        from kfp import compiler  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise ExportProblem(
            "compiling to YAML needs kfp: pip install 'dvc-gitops[kubeflow]'"
        ) from exc
    import importlib.util
    import tempfile

    # kfp reads each component's source with `inspect`: it must come from a file. The
    # file is our own generated text; every value from the repository is a literal in it.
    with tempfile.TemporaryDirectory(prefix="dvc-gitops-kfp-") as folder:
        module_file = Path(folder) / "dvc_gitops_kubeflow_pipeline.py"
        module_file.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(module_file.stem, module_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        compiler.Compiler().compile(module.pipeline, str(target))


@click.command("kubeflow")
@click.option("--name", default=DEFAULT_NAME, show_default=True, help="The pipeline's name.")
@click.option(
    "--image",
    default=DEFAULT_IMAGE,
    show_default=True,
    help="The base image every component runs in (it must hold the repository at repo_root).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the Python source to this file (default: standard output).",
)
@click.option(
    "--yaml",
    "yaml_file",
    type=click.Path(dir_okay=False),
    help="Also (or only, without --output) write the compiled pipeline YAML (needs kfp).",
)
def kubeflow_command(name: str, image: str, output: str | None, yaml_file: str | None) -> None:
    """Write the pipeline for Kubeflow Pipelines v2: a component per stage, the edges of
    `dvc dag`, outputs passed as artifacts."""
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name):
        raise click.BadParameter("use lowercase letters, digits and '-'", param_hint="--name")
    project = Project(find_root(Path.cwd()))
    rel = output and dag_path(project, output)
    try:
        text = export_kubeflow(project, name, image, rel)
        if yaml_file:
            compile_yaml(text, Path(yaml_file))
    except (ExportProblem, ValueError) as exc:
        click.echo(f"dvc-gitops export kubeflow: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    if output is None:
        if not yaml_file:
            click.echo(text, nl=False)
        return
    target = Path(output)
    try:
        if not (target.is_file() and target.read_text(encoding="utf-8") == text):
            target.parent.mkdir(parents=True, exist_ok=True)
            write_output(project.root, target, text)
    except (OSError, WriteRefused) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        click.echo(f"dvc-gitops export kubeflow: cannot write {output}: {why}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    click.echo(f"wrote {output}: {len(pipeline_of(project).stages)} components")
