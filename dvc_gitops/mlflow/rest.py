"""A tiny MLflow tracking-server client on the standard library (no `import mlflow`).

Speaks the REST API under `/api/2.0/mlflow` with the auth MLflow's own client reads from
the environment: `MLFLOW_TRACKING_TOKEN` (bearer) or `MLFLOW_TRACKING_USERNAME` and
`MLFLOW_TRACKING_PASSWORD` (basic), `MLFLOW_TRACKING_INSECURE_TLS=true` (skip TLS
verification) and `MLFLOW_TRACKING_SERVER_CERT_PATH` (a CA bundle).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dvc_gitops.core.redact import excerpt, redact

if TYPE_CHECKING:  # ssl and http.client load on the first request: offline checks
    import ssl  # import this module and never pay their 60 ms

DEFAULT_TIMEOUT = 5.0
MAX_REDIRECTS = 5
# No MLflow answer we read comes near this; a server sending more is not one to trust.
MAX_ANSWER = 1024 * 1024


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
    try:
        parts = urllib.parse.urlsplit(uri)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return False  # `http://u:p@[::1/x`: not a URL any client can use
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class MlflowRest:
    """An MLflow tracking server at `uri`; every call waits at most `timeout` seconds."""

    def __init__(
        self,
        uri: str,
        timeout: float = DEFAULT_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not is_server_uri(uri):
            raise ValueError(f"'{redact(uri)}' is not an http(s) tracking server URI")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"the timeout must be a positive number of seconds, not {timeout}")
        parts = urllib.parse.urlsplit(uri)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        # user:password@ in the URI is basic auth (as MLflow reads it), sent as a header:
        # the URL itself, as we keep and print it, holds no credentials.
        self.uri = parts._replace(netloc=hostport).geturl().rstrip("/")
        self.shown = redact(self.uri)
        self.origin = _origin(urllib.parse.urlsplit(self.uri))
        self.timeout = timeout
        env = os.environ if env is None else env
        self.headers = {"Accept": "application/json", "User-Agent": "dvc-gitops"}
        token = env.get("MLFLOW_TRACKING_TOKEN")
        user = env.get("MLFLOW_TRACKING_USERNAME")
        if at and not token and not user:
            name, _, password = userinfo.partition(":")
            user = urllib.parse.unquote(name)
            env = {**env, "MLFLOW_TRACKING_PASSWORD": urllib.parse.unquote(password)}
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
        return text == "OK", excerpt(text, 120) or "empty answer"

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
            raise MlflowError(
                "protocol", f"{self.shown}: get-by-name answered without 'experiment'"
            )
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
            raise MlflowError("protocol", f"{self.shown}: experiments/get answered without one")
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
            raise MlflowError("protocol", f"{self.shown}{path}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise MlflowError("protocol", f"{self.shown}{path}: the answer is not a JSON object")
        return answer

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> bytes:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        deadline = time.monotonic() + self.timeout  # one deadline for the whole request
        url = self.uri + path
        for _hop in range(MAX_REDIRECTS + 1):
            status, reason, location, payload = self._exchange(method, url, headers, data, deadline)
            if status in (301, 302, 303, 307, 308) and location:
                url, method, data, headers = self._redirect(
                    url, location, status, method, data, headers
                )
                continue
            if status >= 400:
                raise self._http_error(status, reason, payload)
            if status >= 300:
                raise MlflowError(
                    "http", f"{self.shown} answered {status} {excerpt(reason, 60)}", status
                )
            return payload
        raise MlflowError("http", f"{self.shown}: more than {MAX_REDIRECTS} redirects")

    def _redirect(
        self,
        url: str,
        location: str,
        status: int,
        method: str,
        data: bytes | None,
        headers: dict[str, str],
    ) -> tuple[str, str, bytes | None, dict[str, str]]:
        """Where a redirect leads, and what may be sent there: credentials only to the
        configured origin, and never from https down to http."""
        target = urllib.parse.urljoin(url, location)
        old, new = urllib.parse.urlsplit(url), urllib.parse.urlsplit(target)
        if new.scheme not in ("http", "https"):
            raise MlflowError("http", f"{self.shown} redirected to a non-http URL: refused")
        if old.scheme == "https" and new.scheme == "http":
            raise MlflowError(
                "http",
                f"{self.shown} redirected from https to http ({redact(target)[:120]}): "
                "refused, credentials would travel in clear text",
            )
        if _origin(new) != self.origin:
            # Another host may be anyone's: it gets the request, never our credentials.
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if status in (301, 302, 303) and method != "GET":
            method, data = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return target, method, data, headers

    def _exchange(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None, deadline: float
    ) -> tuple[int, str, str, bytes]:
        """One HTTP exchange, bounded by `deadline` as a whole (a server dripping a byte at
        a time is cut off) and by MAX_ANSWER bytes: (status, reason, location, body)."""
        import http.client
        import socket
        import threading

        parts = urllib.parse.urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        host = parts.hostname or ""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MlflowError("unreachable", self._timed_out())
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, parts.port, timeout=remaining, context=self.context
            )
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=remaining)
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # wakes a read blocked in another thread
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(max(remaining, 0.001), cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            length = response.getheader("Content-Length")
            if length and length.strip().isdigit() and int(length) > MAX_ANSWER:
                raise MlflowError("protocol", self._too_big())
            payload = response.read(MAX_ANSWER + 1)
            if len(payload) > MAX_ANSWER:
                raise MlflowError("protocol", self._too_big())
            if expired.is_set():
                raise MlflowError("unreachable", self._timed_out())
            return (
                response.status,
                response.reason or "",
                response.getheader("Location") or "",
                payload,
            )
        except MlflowError:
            raise
        except TimeoutError:
            raise MlflowError("unreachable", self._timed_out()) from None
        except http.client.HTTPException as exc:
            if expired.is_set():
                raise MlflowError("unreachable", self._timed_out()) from None
            said = excerpt(f"{type(exc).__name__}: {exc}", 80)
            raise MlflowError(
                "unreachable",
                f"{self.shown} did not answer in HTTP ({said}): is this the URL of an MLflow "
                "tracking server?",
            ) from None
        except OSError as exc:
            if expired.is_set():
                raise MlflowError("unreachable", self._timed_out()) from None
            why = excerpt(exc.strerror or str(exc), 120)
            raise MlflowError("unreachable", f"cannot reach {self.shown}: {why}") from None
        finally:
            watchdog.cancel()
            connection.close()

    def _too_big(self) -> str:
        return f"{self.shown} sent an answer larger than {MAX_ANSWER // 1024} KiB: not read"

    def _timed_out(self) -> str:
        return f"{self.shown} did not answer within {self.timeout:g} s (--timeout)"

    def _http_error(self, status: int, reason: str, payload: bytes) -> MlflowError:
        try:
            answer = json.loads(payload or b"{}")
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        detail = excerpt(str(answer.get("message", "")), 200)
        error_code = excerpt(str(answer.get("error_code", "")), 60)
        shown_reason = excerpt(reason, 60)
        if status in (401, 403):
            sent = "no credentials were sent"
            if "Authorization" in self.headers:
                scheme = self.headers["Authorization"].split()[0].lower()
                sent = f"{scheme} credentials were refused"
            return MlflowError(
                "auth",
                f"{self.shown} answered {status} {shown_reason}: {sent}; set "
                "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN",
                status,
            )
        if not error_code:
            detail = "is this the URL of an MLflow tracking server?"
        return MlflowError(
            "http",
            f"{self.shown} answered {status} {shown_reason}" + (f": {detail}" if detail else ""),
            status,
            error_code,
        )


def _origin(parts: urllib.parse.SplitResult) -> tuple[str, str, int | None]:
    """Scheme, host and port: where credentials may go."""
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default
