"""The example CI files are valid against their public schemas and do what the README says."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from conftest import REPO, VENV_BIN

from dvc_gitops.review.render import MARKER

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


def _step(job: dict[str, Any], needle: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if needle in str(s.get("run", s.get("uses", ""))))


def test_github_review_job_writes_the_summary_and_one_comment() -> None:
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text())
    job = workflow["jobs"]["review"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["permissions"]["pull-requests"] == "write"
    assert job["concurrency"]["cancel-in-progress"] is True
    assert _step(job, "actions/checkout")["with"]["fetch-depth"] == 0
    run = _step(job, "dvc-gitops review")["run"]
    assert 'dvc-gitops review "$BASE" HEAD --format markdown --output-file review.md' in run
    assert 'cat review.md >> "$GITHUB_STEP_SUMMARY"' in run
    assert MARKER in _step(job, "github-script")["with"]["script"]


# The workflow's own script, run by node against a stand-in for the GitHub client that
# keeps the PR's comments in memory: a second push must update, not add.
_NODE_HARNESS = r"""
const fs = require("fs");
const comments = JSON.parse(fs.readFileSync("comments.json", "utf8"));
const github = {
  paginate: async (fn, args) => comments,
  rest: { issues: {
    listComments: null,
    updateComment: async ({ comment_id, body }) => {
      comments.find((c) => c.id === comment_id).body = body;
    },
    createComment: async ({ body }) => {
      comments.push({ id: comments.length + 100, user: { type: "Bot" }, body });
    },
  } },
};
const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 } };
(async () => {
  SCRIPT
  fs.writeFileSync("comments.json", JSON.stringify(comments));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_github_comment_script_updates_its_one_comment(tmp_path: Path) -> None:
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text())
    script = _step(workflow["jobs"]["review"], "github-script")["with"]["script"]
    (tmp_path / "run.js").write_text(_NODE_HARNESS.replace("SCRIPT", script))
    human = {"id": 1, "user": {"type": "User"}, "body": f"{MARKER} quoted by a human"}
    (tmp_path / "comments.json").write_text(json.dumps([human]))
    for push in ("first", "second"):
        (tmp_path / "review.md").write_text(f"{MARKER}\n## review of the {push} push\n")
        subprocess.run(["node", "run.js"], cwd=tmp_path, check=True, capture_output=True)
    comments = json.loads((tmp_path / "comments.json").read_text())
    assert [c["body"] for c in comments] == [
        human["body"],
        f"{MARKER}\n## review of the second push\n",
    ]


def test_gitlab_review_job_posts_one_mr_note() -> None:
    document = yaml.safe_load((REPO / "examples" / "ci" / "gitlab-ci.yml").read_text())
    job = document["review"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert job["script"][0] == (
        'dvc-gitops review "$CI_MERGE_REQUEST_DIFF_BASE_SHA" HEAD --format markdown '
        "--output-file review.md"
    )
    assert MARKER in job["script"][1]


class _Notes(http.server.BaseHTTPRequestHandler):
    """A stand-in for GitLab's merge request notes API, in memory."""

    notes: ClassVar[list[dict[str, Any]]] = []

    def _reply(self, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> str:
        assert self.headers["PRIVATE-TOKEN"] == "t0ken"
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return str(data["body"])

    def do_GET(self) -> None:
        assert self.path.startswith("/api/v4/projects/42/merge_requests/7/notes?")
        self._reply(self.notes)

    def do_POST(self) -> None:
        self.notes.append({"id": len(self.notes) + 1, "body": self._body()})
        self._reply(self.notes[-1])

    def do_PUT(self) -> None:
        note = next(n for n in self.notes if self.path.endswith(f"/notes/{n['id']}"))
        note["body"] = self._body()
        self._reply(note)

    def log_message(self, *args: Any) -> None:
        pass


def test_gitlab_note_script_updates_its_one_note(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "examples" / "ci" / "gitlab-ci.yml").read_text())
    shell = document["review"]["script"][1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Notes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Notes.notes = [{"id": 1, "body": "LGTM"}]
    env = {
        **os.environ,
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "REVIEW_TOKEN": "t0ken",
    }
    try:
        for push in ("first", "second"):
            (tmp_path / "review.md").write_text(f"{MARKER}\nreview of the {push} push\n")
            subprocess.run(["sh", "-c", shell], cwd=tmp_path, env=env, check=True)
    finally:
        server.shutdown()
    assert [n["body"] for n in _Notes.notes] == ["LGTM", f"{MARKER}\nreview of the second push\n"]
