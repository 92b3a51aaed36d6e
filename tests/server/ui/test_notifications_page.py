"""The Notifications page (issue 17): every signed-in role sees the newest deliveries with
trigger, subject, destination, state, attempts and last error, escaped; no session is sent
to sign in."""

from __future__ import annotations

from conveyor.server.auth import Role
from conveyor.store.notify_store import DeliveryState
from tests.server.ui.conftest import UI


def test_deliveries_are_listed_newest_first_for_a_read_user(ui: UI) -> None:
    store = ui.state.service.store.deliveries
    first = store.claim(
        key="k1", now=100.0, trigger="on-run-failed", subject="run", name="Deploy",
        revision="abc123def4567890", destination="ops", kind="webhook", message="",
    )  # fmt: skip
    assert first is not None
    store.attempted(
        first, state=DeliveryState.FAILED, status=400, error="HTTP 400: <b>no</b>", now=101.0
    )
    second = store.claim(
        key="k2", now=200.0, trigger="on-approval-waiting", subject="run", name="Deploy",
        revision="abc123def4567890", destination="mail", kind="email", message="",
    )  # fmt: skip
    assert second is not None
    store.attempted(second, state=DeliveryState.PENDING, status=451, error="try later", now=201.0)
    store.attempted(second, state=DeliveryState.DELIVERED, status=250, error="", now=202.0)
    reader = ui.sign_in(Role.READ)
    reply = reader.get("/notifications")
    assert reply.status_code == 200
    text = reply.text
    assert text.index("on-approval-waiting") < text.index("on-run-failed")  # newest first
    assert "HTTP 400: &lt;b&gt;no&lt;/b&gt;" in text and "<b>no</b>" not in text
    assert "delivered" in text and "(last 250)" in text and "abc123def456" in text
    assert 'pending (451) <span class="mono">try later</span>' in text  # each attempt
    assert 'href="/notifications" aria-current="page"' in text


def test_the_page_needs_a_session(ui: UI) -> None:
    reply = ui.client().get("/notifications")
    assert reply.status_code == 303 and "/login" in reply.headers["location"]
