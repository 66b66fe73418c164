"""A tiny MLflow tracking-server client on the standard library (no `import mlflow`).

Speaks the REST API under `/api/2.0/mlflow` with the auth MLflow's own client reads from
the environment: `MLFLOW_TRACKING_TOKEN` (bearer) or `MLFLOW_TRACKING_USERNAME` and
`MLFLOW_TRACKING_PASSWORD` (basic), `MLFLOW_TRACKING_INSECURE_TLS=true` (skip TLS
verification) and `MLFLOW_TRACKING_SERVER_CERT_PATH` (a CA bundle).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ssl and urllib.request load on the first request: offline checks
    import ssl  # import this module and never pay their 60 ms
    import urllib.error

DEFAULT_TIMEOUT = 5.0


class MlflowError(Exception):
    """A request failed; `kind` is unreachable | auth | http | protocol."""

    def __init__(
        self, kind: str, message: str, status: int | None = None, error_code: str = ""
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.error_code = error_code  # MLflow's own, e.g. RESOURCE_DOES_NOT_EXIST


def is_server_uri(uri: str) -> bool:
    """Whether `uri` names a tracking server this client can talk to (http or https)."""
    return urllib.parse.urlsplit(uri).scheme in ("http", "https")


class MlflowRest:
    """An MLflow tracking server at `uri`; every call waits at most `timeout` seconds."""

    def __init__(
        self,
        uri: str,
        timeout: float = DEFAULT_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not is_server_uri(uri):
            raise ValueError(f"'{uri}' is not an http(s) tracking server URI")
        self.uri = uri.rstrip("/")
        self.timeout = timeout
        env = os.environ if env is None else env
        self.headers = {"Accept": "application/json", "User-Agent": "dvc-gitops"}
        token = env.get("MLFLOW_TRACKING_TOKEN")
        user = env.get("MLFLOW_TRACKING_USERNAME")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = f"{user}:{env.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self.context: ssl.SSLContext | None = None
        if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("true", "1"):
            import ssl

            self.context = ssl._create_unverified_context()
        elif env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
            import ssl

            self.context = ssl.create_default_context(
                cafile=env["MLFLOW_TRACKING_SERVER_CERT_PATH"]
            )

    def health(self) -> tuple[bool, str]:
        """(True, "OK") when the server answers GET /health; else (False, why)."""
        try:
            body = self._send("GET", "/health")
        except MlflowError as exc:
            return False, exc.message
        text = body.decode("utf-8", "replace").strip()
        return text == "OK", text or "empty answer"

    def experiment_by_name(self, name: str) -> dict[str, Any] | None:
        """The experiment called `name` (deleted ones too: see `lifecycle_stage`), or None."""
        try:
            answer = self.call("GET", "experiments/get-by-name", params={"experiment_name": name})
        except MlflowError as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        experiment = answer.get("experiment")
        if not isinstance(experiment, dict):
            raise MlflowError("protocol", f"{self.uri}: get-by-name answered without 'experiment'")
        return experiment

    def experiment_by_id(self, experiment_id: str) -> dict[str, Any] | None:
        """The experiment with this id (deleted ones too), or None."""
        try:
            answer = self.call("GET", "experiments/get", params={"experiment_id": experiment_id})
        except MlflowError as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None  # an id like "abc" is refused as invalid: no such experiment
            raise
        experiment = answer.get("experiment")
        if not isinstance(experiment, dict):
            raise MlflowError("protocol", f"{self.uri}: experiments/get answered without one")
        return experiment

    def search_runs(
        self,
        experiment_ids: list[str],
        filter: str = "",
        max_results: int = 1,
        order_by: tuple[str, ...] = ("attributes.start_time DESC",),
    ) -> list[dict[str, Any]]:
        """Runs of these experiments matching an MLflow search `filter`, newest first."""
        answer = self.call(
            "POST",
            "runs/search",
            body={
                "experiment_ids": experiment_ids,
                "filter": filter,
                "max_results": max_results,
                "order_by": list(order_by),
            },
        )
        runs = answer.get("runs", [])
        return runs if isinstance(runs, list) else []

    def call(
        self,
        method: str,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One REST call under /api/2.0/mlflow; the JSON answer, or MlflowError."""
        path = f"/api/2.0/mlflow/{endpoint}"
        if params:
            path += "?" + urllib.parse.urlencode(params)
        raw = self._send(method, path, body)
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise MlflowError("protocol", f"{self.uri}{path}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise MlflowError("protocol", f"{self.uri}{path}: the answer is not a JSON object")
        return answer

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> bytes:
        import urllib.error
        import urllib.request

        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.uri + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as r:
                payload: bytes = r.read()
                return payload
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise MlflowError("unreachable", self._timed_out()) from None
            why = getattr(reason, "strerror", None) or str(reason)
            raise MlflowError("unreachable", f"cannot reach {self.uri}: {why}") from None
        except TimeoutError:
            raise MlflowError("unreachable", self._timed_out()) from None
        except OSError as exc:
            raise MlflowError("unreachable", f"cannot reach {self.uri}: {exc}") from None

    def _timed_out(self) -> str:
        return f"{self.uri} did not answer within {self.timeout:g} s (--timeout)"

    def _http_error(self, exc: urllib.error.HTTPError) -> MlflowError:
        try:
            answer = json.loads(exc.read() or b"{}")
        except (ValueError, OSError):
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        detail = " ".join(str(answer.get("message", "")).split())[:200]
        error_code = str(answer.get("error_code", ""))
        if exc.code in (401, 403):
            sent = "no credentials were sent"
            if "Authorization" in self.headers:
                scheme = self.headers["Authorization"].split()[0].lower()
                sent = f"{scheme} credentials were refused"
            return MlflowError(
                "auth",
                f"{self.uri} answered {exc.code} {exc.reason}: {sent}; set "
                "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN",
                exc.code,
            )
        if not error_code:
            detail = "is this the URL of an MLflow tracking server?"
        return MlflowError(
            "http",
            f"{self.uri} answered {exc.code} {exc.reason}" + (f": {detail}" if detail else ""),
            exc.code,
            error_code,
        )
