"""A small client of the Conveyor server's REST API, for `up`, `demo`, `status`, the
end-to-end test and the commit-to-running benchmark.

Every call sends the bearer token; errors become `ApiError` with the status and the
server's message (never the token). The routes live here and nowhere else, so the callers
read as the tour they perform: `runs()`, `run(id)`, `pending_approvals()`, `approve()`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from conveyor.clients import tls
from conveyor.core.errors import ConveyorError

T = TypeVar("T")
PREFIX = "/api/v1"


class ApiError(ConveyorError):
    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}".strip())
        self.status = status


class Api:
    """Bearer-token client of one server (`base_url` like http://127.0.0.1:8080)."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 10.0, ca_file: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=tls.verify(ca_file or os.environ.get("CONVEYOR_CA_FILE")),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._json(method, path, self._send(method, path, PREFIX + path, body))

    def _send(
        self, method: str, path: str, url: str, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        try:
            return self._client.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise ApiError(method, path, 0, f"server unreachable: {exc}") from exc

    def _json(self, method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(method, path, response.status_code, str(detail)[:500])
        if not response.content:
            return None
        return response.json()

    # repositories, variables, secrets, environments -------------------------------------
    def create_repo(self, full_name: str) -> None:
        """Create a hosted bare repository (a no-op when it exists)."""
        self.request("POST", "/repos", {"name": full_name})

    def put_variable(self, repo: str, name: str, value: str) -> None:
        self.request("PUT", f"/repos/{repo}/variables/{name}", {"value": value})

    def put_secret(self, repo: str, name: str, value: str) -> None:
        self.request("PUT", f"/repos/{repo}/secrets/{name}", {"value": value})

    def put_environment(self, repo: str, name: str, *, reviewers: list[str]) -> None:
        self.request("PUT", f"/repos/{repo}/environments/{name}", {"reviewers": reviewers})

    def create_token(self, name: str, role: str) -> str:
        created = self.request("POST", "/tokens", {"name": name, "role": role})
        return str(created["token"])

    def revoke_token(self, name: str) -> bool:
        """Revoke the tokens named `name`; False when there was none."""
        try:
            self.request("DELETE", f"/tokens/{name}")
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def pages(self, path: str, *, limit: int | None = None) -> list[Any]:
        """Every item of a list route (or the first `limit`), following the `Link` header's
        rel="next" as GitHub's clients do (issue 18: every list is paged, 30 by default)."""
        per_page = min(limit or 100, 100)
        url: str | None = f"{PREFIX}{path}{'&' if '?' in path else '?'}per_page={per_page}"
        items: list[Any] = []
        while url is not None and (limit is None or len(items) < limit):
            response = self._send("GET", path, url)
            items.extend(self._json("GET", path, response))
            url = response.links.get("next", {}).get("url")
        return items if limit is None else items[:limit]

    # runs and approvals ----------------------------------------------------------------
    def runs(self, repo: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Runs, newest first."""
        return self.pages(f"/runs?repo={repo}" if repo else "/runs", limit=limit)

    def run(self, run_id: int) -> dict[str, Any]:
        return dict(self.request("GET", f"/runs/{run_id}"))

    def logs(self, run_id: int) -> str:
        """The run's log, `job<TAB>line` per line (masked by the server)."""
        path = f"/runs/{run_id}/logs"
        try:
            response = self._client.get(PREFIX + path)
        except httpx.HTTPError as exc:
            raise ApiError("GET", path, 0, f"server unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError("GET", path, response.status_code, response.text[:500])
        return response.text

    def pending_approvals(self) -> list[dict[str, Any]]:
        return self.pages("/approvals")

    def approve(self, run_id: int, environment: str, comment: str = "") -> None:
        body = {"environment": environment, "comment": comment}
        self.request("POST", f"/runs/{run_id}/approve", body)

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return self.pages(f"/repos/{repo}/commits/{sha}/statuses")


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, every: float = 0.2) -> T:
    """Poll `probe` until it returns something other than None/False, or time out."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise ConveyorError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
