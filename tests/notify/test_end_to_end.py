"""Issue 17's done-when: a notification arrives at a local webhook and a local SMTP server
(aiosmtpd) for a failing sync and for a waiting approval.

* The failing sync: `conveyor reconcile --once` (the real command, in-process) over a real
  Git config repo and the memory target, configured by a `conveyor.yaml` whose
  `notifications:` section names both receivers; the sync fails in its first wave (the
  Deployment never becomes healthy, so the Service's wave is not applied).
* The waiting approval: a real `conveyor server` process started with `--config` on that
  kind of file; a pushed workflow's deploy job waits for its environment's reviewer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conveyor.app.cli import run
from conveyor.app.cmd_approve import reject
from conveyor.app.cmd_notifications import notifications as notifications_command
from conveyor.app.cmd_reconcile import reconcile
from conveyor.store import Store
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from conveyor.store.engine import open_database
from conveyor.store.notify_store import DeliveryState, DeliveryStore, create_delivery_table
from tests.notify.receivers import HttpReceiver, MailBox, http_receiver, smtp_receiver
from tests.reconcile.conftest import application, config_repo, deployment, service
from tests.server.conftest import make_server, push_workflows

SECRET = "e2e-signing-secret"

DEPLOY = """name: Deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo deploying
"""


def notifications(hook: HttpReceiver, port: int, triggers: str) -> dict[str, object]:
    return yaml.safe_load(
        textwrap.dedent(
            f"""
            destinations:
              hook: {{type: webhook, url: "{hook.url}/conveyor", secretEnv: E2E_HOOK_SECRET}}
              mail: {{type: email, host: 127.0.0.1, port: {port}, from: conveyor@example.com,
                      to: [ops@example.com]}}
            subscriptions:
              - {{triggers: [{triggers}], destinations: [hook, mail]}}
            """
        )
    )


def signed(receiver: HttpReceiver) -> list[dict[str, object]]:
    """The JSON bodies received, each checked against its X-Conveyor-Signature."""
    bodies = []
    for request in receiver.requests:
        digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Conveyor-Signature"] == f"sha256={digest}"
        bodies.append(json.loads(request.body))
    return bodies


def wait_for(box: MailBox, hook: HttpReceiver) -> None:
    assert box.arrived.wait(30) and hook.arrived.wait(30)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E2E_HOOK_SECRET", SECRET)


@pytest.mark.parametrize("where", ["config", "file"])
def test_a_failing_sync_reaches_the_webhook_and_the_mailbox(tmp_path: Path, where: str) -> None:
    """The section in the reconciler's conveyor.yaml, or in a file of its own named by
    `--notifications` (what `conveyor up --notifications` passes on)."""
    repo = config_repo(tmp_path)
    wave = {"argocd.argoproj.io/sync-wave": "1"}
    repo.write_objects("app/all.yaml", deployment("web", "web:broken"), service("web", **wave))
    revision = repo.commit()
    apps = tmp_path / "apps.yaml"
    apps.write_text(application("web", repo, "app", automated={"prune": True}))
    with http_receiver() as hook, smtp_receiver() as (box, port):
        config = tmp_path / "conveyor.yaml"
        document = {
            "targets": [{"name": "memory", "type": "memory", "readyAfter": "0.2s"}],
            "state": "state.db",
            "cache": "cache",
        }
        section = {"notifications": notifications(hook, port, "on-sync-failed")}
        args = ["--apps", str(apps), "--config", str(config), "--once", "--timeout", "20s"]
        if where == "config":
            document |= section
        else:
            (tmp_path / "notify.yaml").write_text(yaml.safe_dump(section))
            args += ["--notifications", str(tmp_path / "notify.yaml")]
        config.write_text(yaml.safe_dump(document))
        result = CliRunner().invoke(reconcile, args)
        assert result.exit_code == 1, result.output
        wait_for(box, hook)
    [body] = signed(hook)
    assert body["trigger"] == "on-sync-failed" and body["revision"] == revision
    assert body["subject"] == {"kind": "app", "name": "web"}
    [mail] = box.messages
    assert mail["Subject"] == f"web: sync failed at {revision[:12]}"
    assert box.envelopes == [("conveyor@example.com", ["ops@example.com"])]
    store = Store.open(tmp_path / "state.db")
    try:
        rows = store.deliveries.recent()
    finally:
        store.close()
    assert sorted((r.destination, r.state) for r in rows) == [
        ("hook", "delivered"),
        ("mail", "delivered"),
    ]


def test_a_waiting_approval_reaches_the_webhook_and_the_mailbox(tmp_path: Path) -> None:
    with http_receiver() as hook, smtp_receiver() as (box, port):
        config = tmp_path / "conveyor.yaml"
        section = notifications(hook, port, "on-approval-waiting, on-run-failed")
        config.write_text(yaml.safe_dump({"notifications": section}))
        server = make_server(tmp_path, "--config", str(config), "--heartbeat-timeout", "3")
        server.start()
        try:
            server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
            rules = {"reviewers": ["alice"], "wait_timer": 0, "branches": ["main"]}
            base = "/api/v1/repos/acme/app/environments/production"
            assert server.api("PUT", base, json=rules).status_code == 204
            files = {".github/workflows/d.yml": DEPLOY}
            sha = push_workflows(server, tmp_path, "acme/app", files)
            wait_for(box, hook)
            [body] = signed(hook)
            run_id = int(server.runs("acme/app")[0]["id"])
            # the reviewer rejects: the job fails, so does the run (on-run-failed)
            box.arrived.clear()
            hook.arrived.clear()
            alice = {"name": "alice", "role": "write"}
            token = server.api("POST", "/api/v1/tokens", json=alice).json()["token"]
            args = [str(run_id), "--env", "production", "--server", server.url, "--token", token]
            assert CliRunner().invoke(reject, args).exit_code == 0
            assert server.wait_run(run_id)["conclusion"] == "failure"
            wait_for(box, hook)
            failed = signed(hook)[1]
        finally:
            server.stop()
    assert body["trigger"] == "on-approval-waiting" and body["revision"] == sha
    assert body["subject"] == {"kind": "run", "name": "Deploy"}
    assert body["facts"]["environment"] == "production" and body["facts"]["job"] == "deploy"
    assert body["url"].endswith(f"/runs/{run_id}") and body["repo"] == "acme/app"
    assert failed["trigger"] == "on-run-failed" and failed["url"] == body["url"]
    mail, failed_mail = box.messages
    assert failed_mail["Subject"] == "acme/app: Deploy failed"
    assert mail["Subject"] == "acme/app: production waits for approval"
    assert (
        "waits for a review before it deploys to production"
        in mail.get_payload(decode=True).decode()
    )
    store = CIStore(open_engine(server.data / "conveyor.db"))
    try:
        rows = store.deliveries.recent()
    finally:
        store.close()
    assert sorted((r.trigger, r.destination, r.state) for r in rows) == [
        ("on-approval-waiting", "hook", "delivered"),
        ("on-approval-waiting", "mail", "delivered"),
        ("on-run-failed", "hook", "delivered"),
        ("on-run-failed", "mail", "delivered"),
    ]


def test_conveyor_notifications_lists_what_the_reconciler_sent(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    store = Store.open(state)
    try:
        delivery = store.deliveries.claim(
            key="k", now=1.0, trigger="on-sync-failed", subject="app", name="web",
            revision="abc", destination="hook", kind="webhook", message="boom",
        )  # fmt: skip
        assert delivery is not None
        store.deliveries.attempted(
            delivery, state=DeliveryState.FAILED, status=400, error="HTTP 400", now=2.0
        )
    finally:
        store.close()
    result = CliRunner().invoke(notifications_command, ["--database", str(state)])
    assert result.exit_code == 0, result.output
    assert "on-sync-failed" in result.output and "app web" in result.output
    assert "failed" in result.output and "HTTP 400" in result.output
    missing = CliRunner().invoke(notifications_command, ["--database", str(tmp_path / "no.db")])
    assert missing.exit_code != 0 and "no database at" in str(missing.exception)


def test_with_no_option_it_lists_what_conveyor_up_runs_both_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`conveyor up`'s state directory: the reconciler's state (named by the conveyor.yaml
    `up` wrote) and the server's database, merged newest first."""
    state_dir = tmp_path / "up"
    (state_dir / "server").mkdir(parents=True)
    (state_dir / "conveyor.yaml").write_text(f"state: {state_dir / 'state.db'}\n")
    reconciler = Store.open(state_dir / "state.db")
    server = open_database(
        str(state_dir / "server" / "conveyor.db"), setup=create_delivery_table, what="database"
    )
    try:
        reconciler.deliveries.claim(
            key="a", now=1.0, trigger="on-sync-failed", subject="app", name="web",
            revision="abc", destination="hook", kind="webhook", message="boom",
        )  # fmt: skip
        DeliveryStore(server).claim(
            key="b", now=2.0, trigger="on-approval-waiting", subject="run", name="Deploy #4",
            revision="def", destination="hook", kind="webhook", message="review",
        )  # fmt: skip
    finally:
        reconciler.close()
        server.dispose()
    monkeypatch.setenv("CONVEYOR_UP_DIR", str(state_dir))
    result = CliRunner().invoke(notifications_command, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "on-approval-waiting" in lines[1] and "run Deploy #4" in lines[1]
    assert "on-sync-failed" in lines[2] and "app web" in lines[2]
    only = CliRunner().invoke(notifications_command, ["--config", str(state_dir / "conveyor.yaml")])
    assert "on-sync-failed" in only.output and "on-approval-waiting" not in only.output


def test_a_bad_section_stops_the_reconciler_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "conveyor.yaml"
    config.write_text(
        "targets: [{name: memory, type: memory}]\n"
        "notifications:\n"
        "  destinations:\n"
        "    hook: {type: webhook, url: 'http://127.0.0.1:1/', secretEnv: E2E_HOOK_SECRET}\n"
        "  subscriptions:\n"
        "    - {triggers: [on-sync-failed], destinations: [hook], apps: [web]}\n"
        "  retries: {attempts: 3}\n"
    )
    apps = tmp_path / "apps"
    apps.mkdir()
    code = run(["reconcile", "--apps", str(apps), "--config", str(config), "--once"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{config}:7:3: notifications.retries: unknown key 'retries'" in err
