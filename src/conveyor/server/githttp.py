"""Git smart-HTTP hosting: `git http-backend` (CGI) behind a small stdlib HTTP server.

`GitHttpServer(root, tokens=…)` serves every bare repository under `root` at
`http://127.0.0.1:<port>/<name>.git` (port 0 picks a free one): `start()` runs it on a
daemon thread and returns the base URL, `stop()` shuts it down; it is also a context
manager. Clone and fetch are anonymous unless `private=True`. With `tokens` (token → user
name) given, push (receive-pack) needs one of them, as HTTP basic auth (any user name with
the token as password, GitHub's `x-access-token:<token>` included) or `Authorization:
Bearer`; with none, anyone on loopback may push. The authenticated user becomes
`REMOTE_USER`, without which http-backend refuses pushes. `on_push(repo_path)` runs after
each accepted push (the platform server turns it into a reconcile trigger).

What the bridge must do for git (verified, see shared/research §6): decode chunked request
bodies (git chunks POSTs above 1 MiB), pass `Git-Protocol` (protocol v2) and
`Content-Encoding` (gzip request bodies) through, and copy http-backend's `Status:` header.

Used by promote's tests and benchmark today; the platform server (issue 8) mounts the same
`handle()` logic later. Holds no Git logic of its own. Run it by hand with
`python -m conveyor.server.githttp ROOT [--port N] [--token T]`.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

log = logging.getLogger(__name__)


UPLOAD_PACK = "git-upload-pack"
RECEIVE_PACK = "git-receive-pack"


class GitRequestError(ValueError):
    """A smart-HTTP request whose service cannot be told for sure: answered 400."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GitRequest:
    """What git will see of one request, decided before git sees it."""

    query: str  # the only query http-backend gets: `service=<name>` or ""
    pushing: bool


def classify(path: str, query: str) -> GitRequest:
    """Decide from the *decoded* request whether it is a push (issue 12, finding 12).

    `path` is already URL-decoded (git reads PATH_INFO as given). git decodes the query
    itself, so a check on the raw text missed `service=git%2Dreceive-pack`; here the query
    is decoded once, only one known `service` is accepted, and git is handed the query
    rebuilt from what was checked, so both sides read the same service.
    """
    try:
        params = parse_qs(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise GitRequestError("the query string is not UTF-8") from exc
    services = params.pop("service", [])
    if params or len(services) > 1:
        raise GitRequestError("only one `service` query parameter is accepted")
    service = services[0] if services else ""
    if service not in ("", UPLOAD_PACK, RECEIVE_PACK):
        raise GitRequestError(f"unknown git service {service[:40]!r}")
    pushing = service == RECEIVE_PACK or path.endswith("/" + RECEIVE_PACK)
    return GitRequest(query=urlencode({"service": service}) if service else "", pushing=pushing)


class GitHttpServer:
    """A start/stop-able Git smart-HTTP server over the bare repos under `root`."""

    def __init__(
        self,
        root: Path,
        *,
        tokens: Mapping[str, str] | None = None,
        private: bool = False,
        on_push: Callable[[str], None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.root = root.resolve()
        self.tokens = dict(tokens or {})
        self.private = private
        self.on_push = on_push  # called with the repo path (e.g. "/acme/cfg.git") after a push
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(self._address, handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="githttp"
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GitHttpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def user_for(self, authorization: str) -> str | None:
        """The user a `Authorization` header authenticates, or None."""
        scheme, _, credentials = authorization.partition(" ")
        token = ""
        user = ""
        if scheme.lower() == "bearer":
            token = credentials.strip()
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return None
            user, _, token = decoded.partition(":")
            token = token or user
        for known, name in self.tokens.items():
            if token and hmac.compare_digest(known.encode(), token.encode()):
                return name or user or "git"
        return None


class _Handler(BaseHTTPRequestHandler):
    owner: GitHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("githttp: " + format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:  # skip trailers up to the blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        owner = self.owner
        owner.requests += 1
        raw_path, _, raw_query = self.path.partition("?")
        path = unquote(raw_path)  # CGI's PATH_INFO is decoded
        body = self._body() if self.command == "POST" else b""
        try:
            request = classify(path, raw_query)
        except GitRequestError as exc:
            self._reply(400, [], f"{exc}\n".encode())
            return
        pushing = request.pushing
        user = owner.user_for(self.headers.get("Authorization", ""))
        if user is None and (pushing or owner.private) and (owner.tokens or owner.private):
            self._reply(401, [("WWW-Authenticate", 'Basic realm="conveyor"')], b"auth needed\n")
            return
        status, headers, payload = backend(
            owner.root,
            method=self.command,
            path=path,
            query=request.query,
            body=body,
            user=user or ("git" if not owner.tokens else ""),
            headers=dict(self.headers.items()),
            remote_addr=self.client_address[0],
        )
        self._reply(status, headers, payload)
        if pushing and self.command == "POST" and status == 200 and owner.on_push is not None:
            owner.on_push(path.removesuffix("/git-receive-pack"))

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def backend(
    root: Path,
    *,
    method: str,
    path: str,
    query: str,
    body: bytes,
    user: str,
    headers: Mapping[str, str],
    remote_addr: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run `git http-backend` for one request: (status, headers, body).

    Shared by this stdlib server and the platform server's `/git/` route
    (`conveyor.server.routes_git`); `user` becomes REMOTE_USER (empty: anonymous); `env`
    adds variables for git's hooks (the platform server's push spool, `ci.pushspool`).

    git reads the request from a file and writes its answer to one, in a session of its
    own: a receive that has started finishes, hooks included, even when the process that
    started it is killed (writing to a pipe nobody reads would kill git between updating
    the refs and running `post-receive`, losing the push's events; issue 18).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": lower.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": user,
        "REMOTE_ADDR": remote_addr,
        "GIT_PROTOCOL": lower.get("git-protocol", ""),
        "HTTP_CONTENT_ENCODING": lower.get("content-encoding", ""),
    }
    if not variables["REMOTE_USER"]:
        del variables["REMOTE_USER"]
    variables.update(env or {})
    output, problems = _run_backend(body, variables)
    head, _, payload = output.partition(b"\r\n\r\n")
    status, out = 200, []
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if not line:
            continue
        if key.lower() == "status":
            status = int(value.split()[0])
        else:
            out.append((key, value.strip()))
    if status >= 500 or not head:
        log.warning("git http-backend failed (%s %s): %s", method, path, problems or "no output")
    return status, out, payload


def _run_backend(body: bytes, env: Mapping[str, str]) -> tuple[bytes, str]:
    """git http-backend's answer and the end of what it wrote to stderr."""
    with (
        tempfile.TemporaryFile() as request,
        tempfile.TemporaryFile() as answer,
        tempfile.TemporaryFile() as errors,
    ):
        request.write(body)
        request.seek(0)
        subprocess.run(
            ["git", "http-backend"],
            stdin=request,
            stdout=answer,
            stderr=errors,
            env=env,
            check=False,
            start_new_session=True,
        )
        answer.seek(0)
        errors.seek(0)
        return answer.read(), errors.read()[-2000:].decode(errors="replace").strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m conveyor.server.githttp")
    parser.add_argument("root", type=Path, help="directory holding bare repositories")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", default=[], help="token allowed to push")
    args = parser.parse_args(argv)
    server = GitHttpServer(args.root, tokens=dict.fromkeys(args.token, "git"))
    print(server.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
