"""The example CI files are valid against their public schemas and do what the README says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO, VENV_BIN

EXAMPLES = {
    "github-actions.yml": "vendor.github-workflows",
    "gitlab-ci.yml": "vendor.gitlab-ci",
}


def validate(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("name", "schema"), EXAMPLES.items())
def test_example_is_valid(name: str, schema: str) -> None:
    done = validate(REPO / "examples" / "ci" / name, schema)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("name", "schema"), EXAMPLES.items())
def test_validation_can_fail(name: str, schema: str, tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "examples" / "ci" / name).read_text())
    job = document["jobs"]["lint"] if "jobs" in document else document["lint"]
    job["script" if "script" in job else "steps"] = 42  # neither schema accepts a number
    broken = tmp_path / name
    broken.write_text(yaml.safe_dump(document))
    assert validate(broken, schema).returncode == 1


def test_github_jobs_run_the_gitops_steps() -> None:
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text())
    lint = " ".join(str(s.get("run", s.get("uses", ""))) for s in workflow["jobs"]["lint"]["steps"])
    assert "pre-commit run --all-files" in lint
    assert "check-dvc-lock --rev HEAD" in lint  # the lock, without dvc pull
    assert "dvc pull" not in lint
    assert "dvc-gitops check --format sarif" in lint
    assert "github/codeql-action/upload-sarif" in lint
    assert 'dvc dag --md >> "$GITHUB_STEP_SUMMARY"' in lint
    runs = [s.get("run", "") for s in workflow["jobs"]["reproduce"]["steps"]]
    order = [
        next(i for i, r in enumerate(runs) if r.startswith(c))
        for c in ("dvc pull", "dvc repro", "dvc push")
    ]
    assert order == sorted(order)
