"""Deliveries to real HTTP receivers on 127.0.0.1: the signed webhook, Slack and Teams
payloads, GitHub commit statuses, retries (503 then 200, Retry-After, connection refused),
no retry on 400, de-duplication, rate limits and template errors, each attempt recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from conveyor.core.notices import Subject, Trigger
from conveyor.store import Store
from conveyor.store.notify_store import DeliveryState
from tests.notify.helpers import Recorder, app_notice, config_from, notify_all
from tests.notify.receivers import free_port, http_receiver

SECRET = "webhook-signing-secret"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "state.db")
    yield opened  # type: ignore[misc]
    opened.close()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("GH_TOKEN", "ghp_not_a_real_token")


def stored(tmp_path: Path) -> bytes:
    """Every byte of the state database (WAL included)."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("state.db*")))


def hook_config(tmp_path: Path, url: str, extra: str = "", retry: str = "") -> str:
    return f"""
        notifications:
          destinations:
            ops: {{type: webhook, url: "{url}/hook", secretEnv: HOOK_SECRET{extra}}}
          subscriptions:
            - {{triggers: [on-sync-failed, on-health-degraded], destinations: [ops]}}
          {retry}
        """


def test_the_webhook_body_is_signed_with_hmac_sha256(tmp_path: Path, store: Store) -> None:
    with http_receiver() as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url))
        rows = asyncio.run(notify_all(config, store, app_notice()))
    [request] = receiver.requests
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Conveyor-Signature"] == f"sha256={expected}"
    assert request.headers["X-Conveyor-Event"] == "on-sync-failed"
    body = json.loads(request.body)
    assert body["trigger"] == "on-sync-failed" and body["subject"] == {"kind": "app", "name": "web"}
    assert body["title"].startswith("web: sync failed at abc123def456")
    assert "image pull failed" in body["body"]
    assert request.headers["X-Conveyor-Delivery"] == str(body["delivery"]) == str(rows[0].id)
    assert (rows[0].state, rows[0].attempts, rows[0].status) == (DeliveryState.DELIVERED, 1, 200)
    data = stored(tmp_path)
    assert SECRET.encode() not in data and expected.encode() not in data
    assert receiver.url.encode() not in data


def test_a_503_is_retried_with_backoff_until_the_receiver_takes_it(
    tmp_path: Path, store: Store
) -> None:
    sleep = Recorder()
    retry = "retry: {attempts: 4, backoff: 1s, maxBackoff: 3s}"
    with http_receiver((503, {}), (503, {}), (503, {}), (200, {})) as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url, retry=retry))
        [row] = asyncio.run(notify_all(config, store, app_notice(), sleep=sleep))
    assert len(receiver.requests) == 4
    assert (row.state, row.attempts, row.status, row.error) == (DeliveryState.DELIVERED, 4, 200, "")
    tries = [(a.number, a.outcome, a.status) for a in store.deliveries.attempts(row.id)]
    assert tries == [
        (1, "pending", 503),
        (2, "pending", 503),
        (3, "pending", 503),
        (4, "delivered", 200),
    ]
    # 1 s, 2 s, then capped at 3 s; each jittered into its upper half
    for wait, base in zip(sleep.waits, (1, 2, 3), strict=True):
        assert base / 2 <= wait <= base


def test_retry_after_is_honoured_on_429(tmp_path: Path, store: Store) -> None:
    sleep = Recorder()
    with http_receiver((429, {"Retry-After": "7"}), (200, {})) as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url))
        [row] = asyncio.run(notify_all(config, store, app_notice(), sleep=sleep))
    assert sleep.waits == [7.0]
    assert row.state == DeliveryState.DELIVERED and row.attempts == 2


def test_a_400_is_not_retried_and_its_error_is_recorded(tmp_path: Path, store: Store) -> None:
    sleep = Recorder()
    with http_receiver((400, {})) as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url))
        [row] = asyncio.run(notify_all(config, store, app_notice(), sleep=sleep))
    assert len(receiver.requests) == 1 and sleep.waits == []
    assert (row.state, row.attempts, row.status) == (DeliveryState.FAILED, 1, 400)
    assert row.error.startswith("HTTP 400")


def test_out_of_attempts_the_delivery_fails_with_the_last_error(
    tmp_path: Path, store: Store
) -> None:
    retry = "retry: {attempts: 2, backoff: 1s}"
    with http_receiver((500, {}), (502, {})) as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url, retry=retry))
        [row] = asyncio.run(notify_all(config, store, app_notice()))
    assert len(receiver.requests) == 2
    assert (row.state, row.attempts, row.status) == (DeliveryState.FAILED, 2, 502)


def test_connection_refused_is_retried_and_recorded_without_the_url(
    tmp_path: Path, store: Store
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    retry = "retry: {attempts: 2, backoff: 1s}"
    config = config_from(tmp_path, hook_config(tmp_path, url, retry=retry))
    sleep = Recorder()
    [row] = asyncio.run(notify_all(config, store, app_notice(), sleep=sleep))
    assert (row.state, row.attempts, row.status) == (DeliveryState.FAILED, 2, 0)
    assert "ConnectError" in row.error and len(sleep.waits) == 1


def test_the_same_event_is_delivered_once(tmp_path: Path, store: Store) -> None:
    with http_receiver() as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url))
        notice = app_notice()
        asyncio.run(notify_all(config, store, notice, notice))
        asyncio.run(notify_all(config, store, notice))  # a later pass, a new process
        rows = asyncio.run(notify_all(config, store, app_notice(once_per="next-revision")))
    assert len(receiver.requests) == 2 and len(rows) == 2


def test_a_destination_over_its_rate_limit_records_the_notice_unsent(
    tmp_path: Path, store: Store
) -> None:
    with http_receiver() as receiver:
        extra = ", rateLimit: {count: 2, per: 1h}"
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url, extra=extra))
        notices = [app_notice(name=f"app-{i}") for i in range(4)]
        rows = asyncio.run(notify_all(config, store, *notices))
    assert len(receiver.requests) == 2
    states = sorted(r.state for r in rows)
    assert states == ["delivered", "delivered", "rate-limited", "rate-limited"]
    limited = [r for r in rows if r.state == DeliveryState.RATE_LIMITED]
    assert all("rate limit of 2 per 3600s" in r.error for r in limited)


def test_a_template_error_fails_that_delivery_and_names_the_template(
    tmp_path: Path, store: Store
) -> None:
    with http_receiver() as receiver:
        text = hook_config(tmp_path, receiver.url) + (
            "  templates:\n            on-sync-failed: {title: '{{ no_such_thing }}'}\n"
        )
        config = config_from(tmp_path, text)
        rows = asyncio.run(
            notify_all(config, store, app_notice(), app_notice(Trigger.HEALTH_DEGRADED))
        )
    by_trigger = {r.trigger: r for r in rows}
    failed = by_trigger["on-sync-failed"]
    assert failed.state == DeliveryState.FAILED and failed.attempts == 0
    assert "template on-sync-failed.title" in failed.error and "no_such_thing" in failed.error
    assert by_trigger["on-health-degraded"].state == DeliveryState.DELIVERED
    assert len(receiver.requests) == 1


def test_the_sandbox_refuses_unsafe_template_code(tmp_path: Path, store: Store) -> None:
    with http_receiver() as receiver:
        text = hook_config(tmp_path, receiver.url) + (
            "  templates:\n            on-sync-failed: {title: '{{ name.__class__.__mro__ }}'}\n"
        )
        config = config_from(tmp_path, text)
        [row] = asyncio.run(notify_all(config, store, app_notice()))
    assert row.state == DeliveryState.FAILED and "template on-sync-failed.title" in row.error
    assert receiver.requests == []


def test_slack_and_teams_receive_their_payload_shapes(tmp_path: Path, store: Store) -> None:
    with http_receiver() as receiver:
        config = config_from(
            tmp_path,
            f"""
            notifications:
              destinations:
                chat: {{type: slack, url: "{receiver.url}/slack"}}
                teams: {{type: teams, url: "{receiver.url}/teams"}}
                legacy: {{type: teams, url: "{receiver.url}/legacy", format: messagecard}}
              subscriptions:
                - {{triggers: [on-health-degraded], destinations: [chat, teams, legacy]}}
            """,
        )
        asyncio.run(notify_all(config, store, app_notice(Trigger.HEALTH_DEGRADED)))
    bodies = {r.path: json.loads(r.body) for r in receiver.requests}
    slack = bodies["/slack"]
    assert slack["text"] == "web: health degraded"
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "context"]
    assert slack["blocks"][1]["text"]["type"] == "mrkdwn"
    [attachment] = bodies["/teams"]["attachments"]
    assert bodies["/teams"]["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["body"][0]["text"] == "web: health degraded"
    legacy = bodies["/legacy"]
    assert legacy["@type"] == "MessageCard" and legacy["summary"] == "web: health degraded"


def test_a_github_commit_status_is_posted_for_the_notice_commit(
    tmp_path: Path, store: Store
) -> None:
    with http_receiver((201, {})) as receiver:
        config = config_from(
            tmp_path,
            f"""
            notifications:
              destinations:
                commits: {{type: github, apiUrl: "{receiver.url}/api/v3", tokenEnv: GH_TOKEN}}
              subscriptions:
                - {{triggers: [on-run-failed], destinations: [commits]}}
            """,
        )
        notice = app_notice(
            Trigger.RUN_FAILED,
            subject=Subject.RUN,
            name="deploy",
            repo="acme/shop",
            once_per="run-7",
            url="http://conveyor.example/runs/7",
        )
        [row] = asyncio.run(notify_all(config, store, notice))
    [request] = receiver.requests
    assert request.path == f"/api/v3/repos/acme/shop/statuses/{notice.revision}"
    assert request.headers["Authorization"] == "Bearer ghp_not_a_real_token"
    body = json.loads(request.body)
    assert body["state"] == "failure" and body["context"] == "conveyor-notify/deploy"
    assert body["target_url"] == "http://conveyor.example/runs/7"
    assert row.state == DeliveryState.DELIVERED and row.status == 201
    assert b"ghp_not_a_real_token" not in stored(tmp_path)


def test_an_annotation_naming_no_destination_is_recorded_as_invalid(
    tmp_path: Path, store: Store
) -> None:
    with http_receiver() as receiver:
        config = config_from(tmp_path, hook_config(tmp_path, receiver.url))
        subs = (
            ("notifications.conveyor.dev/subscribe.on-drift-detected.pager", ""),
            ("notifications.conveyor.dev/subscribe.on-drift-detected.ops", ""),
        )
        notice = app_notice(Trigger.DRIFT_DETECTED, subscriptions=subs)
        rows = asyncio.run(notify_all(config, store, notice, notice))
    by_dest = {r.destination: r for r in rows}
    assert len(rows) == 2  # the problem is recorded once, like a delivery
    assert by_dest["pager"].state == DeliveryState.INVALID
    assert "names no configured destination" in by_dest["pager"].error
    assert by_dest["ops"].state == DeliveryState.DELIVERED and len(receiver.requests) == 1
