"""Text from users and jobs reaches the board and the journey only escaped: branch names,
actors, commit messages, promotion trailers and authors (a hand-made commit in the config
repo), review comments, and what the reconciler reports (application names, health
messages, images). The reconciler's answer is a recorded response
(`recorded/reconciler_apps.json`: `GET /apps` of a real `conveyor reconcile --listen`
over the memory target, taken from `test_board_live`'s degraded-staging scenario) with
payloads put in, served by a real HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conveyor.server.auth import Role
from tests.gitutil import Identity as GitIdentity
from tests.gitutil import commit, git, git_env
from tests.server.ui.boardworld import World
from tests.server.ui.conftest import UI

SCRIPT = '"><script>alert(1)</script>'
IMG = "<img src=x onerror=alert(1)>"
RECORDED = Path(__file__).parent / "recorded" / "reconciler_apps.json"


def _assert_inert(html: str) -> None:
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)" in html or "&lt;img src=x" in html


def _with_payloads(doc: dict[str, Any]) -> dict[str, Any]:
    staging = doc["web-staging"]
    staging["health"]["message"] = IMG
    for condition in staging["conditions"]:
        if condition["type"] == "Ready":
            condition["message"] = SCRIPT
    staging["images"] = [IMG, {"image": SCRIPT}]
    doc[SCRIPT] = {**doc.pop("web-prod"), "name": SCRIPT, "fetchError": IMG}
    elsewhere = {"repoURL": "https://git.example/acme/other.git", "path": "k8s"}
    doc[IMG] = {**doc["web-dev"], "name": IMG, "source": elsewhere}  # deploys no stage
    return doc


@pytest.fixture
def recorded_reconciler(ui: UI) -> Iterator[str]:
    body = json.dumps(_with_payloads(json.loads(RECORDED.read_text()))).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/apps" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ui.state.reconciler_url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield ui.state.reconciler_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def world(ui: UI, tmp_path: Path) -> World:
    world = World(service=ui.state.service, tmp=tmp_path)
    world.seed_config()
    return world


def _hand_promotion(world: World, sha: str) -> None:
    """A hand-made commit in the config repo with the promoter's trailers, all payloads."""
    work = world.work[world.config_repo]
    message = (
        f"Promote {SCRIPT}\n\nConveyor-Image: {IMG}\nConveyor-Environment: dev\n"
        f"Conveyor-Source-Commit: {sha}\n"
        f"Conveyor-Run: http://x/acme/web/actions/runs/1\n"
    )
    env = git_env(identity=GitIdentity(name=f"{IMG} {SCRIPT}", email="x@example.invalid"))
    commit(work, message, {"envs/dev/web.yaml": "kind: ConfigMap\n"}, env=env)
    git(work, "push", "-q", str(world.service.repo_path(world.config_repo)), "HEAD:main")


def test_user_and_job_text_on_the_board_and_the_journey_is_escaped(
    ui: UI, world: World, recorded_reconciler: str
) -> None:
    ui.state.service.put_environment("acme/web", "prod", reviewers=["rita"])
    sha, [run_id] = world.push_app(f"{SCRIPT}\n\n{IMG}", branch=SCRIPT, pusher=IMG)
    world.run_job(run_id)
    ui.state.service.decide(run_id, "prod", user="rita", admin=False, approve=True, comment=IMG)
    _hand_promotion(world, sha)
    signed = ui.sign_in(Role.READ)
    board = signed.get("/").text
    _assert_inert(board)
    assert "&lt;img src=x onerror=alert(1)&gt;" in board  # actor, image, health message
    assert "&#34;&gt;&lt;script&gt;" in board  # branch, Ready message, app name
    journey = signed.get(f"/commits/acme/web/{sha}").text
    _assert_inert(journey)
    assert journey.count("&lt;img src=x onerror=alert(1)&gt;") >= 3  # body, comment, image
    body = signed.get("/board/body").text
    _assert_inert(body)


def test_applications_that_deploy_no_stage_are_listed_apart(
    ui: UI, world: World, recorded_reconciler: str
) -> None:
    html = ui.sign_in(Role.READ).get("/").text
    others = html[html.index('id="other-apps"') :]
    assert 'href="/apps/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"' in others
    assert "/apps/web-dev" not in others  # web-dev deploys envs/dev of acme/config
    assert "%22%3E%3Cscript" not in others  # so does the app renamed from web-prod
