"""A local stand-in for GitHub's pull-request REST API that checks each request against
the documented contract (docs.github.com/rest/pulls/pulls): method, path, query, headers
and body fields. Anything off the contract is recorded in `problems` and answered 404/422,
so a test fails when Conveyor drifts from the real API."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PULL_FIELDS_CREATE = {
    "title",
    "head",
    "base",
    "body",
    "draft",
    "maintainer_can_modify",
    "head_repo",
    "issue",
}
PULL_FIELDS_UPDATE = {"title", "body", "state", "base", "maintainer_can_modify"}


class FakeGitHub:
    def __init__(self, owner: str, repo: str, token: str) -> None:
        self.owner, self.repo, self.token = owner, repo, token
        self.pulls: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []
        self.problems: list[str] = []
        self.fail_create = False
        handler = type("H", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Any,
        body: dict[str, Any] | None,
    ) -> tuple[int, Any]:
        self.calls.append((method, path, body))
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}
        for name, want in (
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ):
            if headers.get(name) != want:
                self.problems.append(f"{name}: {headers.get(name)!r}")
        if not headers.get("User-Agent"):
            self.problems.append("no User-Agent")
        base = f"/repos/{self.owner}/{self.repo}/pulls"
        if method == "GET" and path == base:
            state = query.get("state", ["open"])[0]
            wanted_base = query.get("base", [None])[0]
            return 200, [
                p
                for p in self.pulls
                if p["state"] == state and wanted_base in (None, p["base"]["ref"])
            ]
        if method == "POST" and path == base:
            return self._create(body or {})
        if method == "PATCH" and path.startswith(base + "/"):
            return self._update(int(path.rsplit("/", 1)[1]), body or {})
        self.problems.append(f"unexpected {method} {path}")
        return 404, {"message": "Not Found"}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        extra = set(body) - PULL_FIELDS_CREATE
        missing = {"head", "base"} - set(body)
        if extra or missing or not isinstance(body.get("title"), str):
            self.problems.append(f"create body: extra {extra}, missing {missing}")
            return 422, {"message": "Validation Failed"}
        if self.fail_create:
            return 422, {"message": "Validation Failed", "errors": [{"code": "custom"}]}
        number = len(self.pulls) + 1
        pull = {
            "number": number,
            "state": "open",
            "title": body["title"],
            "body": body.get("body"),
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "html_url": f"https://github.test/{self.owner}/{self.repo}/pull/{number}",
        }
        self.pulls.append(pull)
        return 201, pull

    def _update(self, number: int, body: dict[str, Any]) -> tuple[int, Any]:
        extra = set(body) - PULL_FIELDS_UPDATE
        if extra:
            self.problems.append(f"update body: extra {extra}")
            return 422, {"message": "Validation Failed"}
        for pull in self.pulls:
            if pull["number"] == number:
                pull.update(body)
                return 200, pull
        return 404, {"message": "Not Found"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        if raw and self.headers.get("Content-Type") != "application/json":
            self.fake.problems.append("body without Content-Type: application/json")
        status, answer = self.fake.handle(
            self.command, parts.path, urllib.parse.parse_qs(parts.query), self.headers, body
        )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = _serve
