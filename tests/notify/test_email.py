"""Email over SMTP to a real local server (aiosmtpd): plain submission, the app's
recipients from its annotation, and STARTTLS with a login (the server's certificate is a
self-signed one made here, trusted through `caFile`)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from conveyor.core.notices import Trigger
from conveyor.store import Store
from conveyor.store.notify_store import DeliveryState
from tests.notify.helpers import app_notice, config_from, notify_all
from tests.notify.receivers import smtp_receiver
from tests.security.test_tls import self_signed


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "state.db")
    yield opened  # type: ignore[misc]
    opened.close()


def mail_config(tmp_path: Path, port: int, extra: str = "") -> str:
    return f"""
        notifications:
          destinations:
            mail: {{type: email, host: 127.0.0.1, port: {port}, from: conveyor@example.com,
                   to: [ops@example.com, oncall@example.com]{extra}}}
          subscriptions:
            - {{triggers: [on-sync-failed], destinations: [mail]}}
        """


def test_an_email_reaches_the_smtp_server(tmp_path: Path, store: Store) -> None:
    with smtp_receiver() as (box, port):
        config = config_from(tmp_path, mail_config(tmp_path, port))
        [row] = asyncio.run(notify_all(config, store, app_notice()))
    [message] = box.messages
    assert message["Subject"] == "web: sync failed at abc123def456"
    assert message["From"] == "conveyor@example.com"
    assert message["X-Conveyor-Event"] == "on-sync-failed"
    assert "image pull failed" in message.get_payload(decode=True).decode()
    assert box.envelopes == [("conveyor@example.com", ["ops@example.com", "oncall@example.com"])]
    assert (row.state, row.kind, row.status) == (DeliveryState.DELIVERED, "email", 250)


def test_an_apps_annotation_chooses_its_recipients(tmp_path: Path, store: Store) -> None:
    with smtp_receiver() as (box, port):
        config = config_from(tmp_path, mail_config(tmp_path, port))
        key = "notifications.conveyor.dev/subscribe.on-health-degraded.mail"
        notice = app_notice(
            Trigger.HEALTH_DEGRADED, subscriptions=((key, "web-team@example.com; b@example.com"),)
        )
        asyncio.run(notify_all(config, store, notice))
    assert box.envelopes == [("conveyor@example.com", ["web-team@example.com", "b@example.com"])]


def test_a_refused_recipient_fails_without_retrying(tmp_path: Path, store: Store) -> None:
    with smtp_receiver(refuse="550 no such mailbox") as (box, port):
        config = config_from(tmp_path, mail_config(tmp_path, port))
        [row] = asyncio.run(notify_all(config, store, app_notice()))
    assert (row.state, row.attempts, row.status) == (DeliveryState.FAILED, 1, 550)
    assert "recipients refused" in row.error and box.messages == []


def test_a_server_that_is_not_there_is_retried(tmp_path: Path, store: Store) -> None:
    with smtp_receiver() as (_box, port):
        pass  # stopped: nothing listens on the port any more
    config = config_from(tmp_path, mail_config(tmp_path, port, ", timeout: 2s"))
    [row] = asyncio.run(notify_all(config, store, app_notice()))
    assert (row.state, row.attempts, row.status) == (DeliveryState.FAILED, 5, 0)
    assert "ConnectionRefusedError" in row.error


def test_starttls_and_login_use_the_password_file(tmp_path: Path, store: Store) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes, bool]] = []

    def authenticator(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password, session.ssl is not None))
        return AuthResult(success=data.password == b"mail-password")

    (tmp_path / "smtp-password").write_text("mail-password\n")
    options = {"tls_context": context, "require_starttls": True, "authenticator": authenticator}
    with smtp_receiver(**options) as (box, port):
        extra = f", starttls: true, caFile: {cert}, username: conveyor, passwordFile: smtp-password"
        config = config_from(tmp_path, mail_config(tmp_path, port, extra))
        [row] = asyncio.run(notify_all(config, store, app_notice()))
    assert row.state == DeliveryState.DELIVERED, row.error
    assert logins == [(b"conveyor", b"mail-password", True)]
    assert len(box.messages) == 1
