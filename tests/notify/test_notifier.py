"""The notifier as its publishers see it: `publish` returns at once (a slow receiver holds
up nobody), works from worker threads (the CI service's sync routes), and a process that
stops mid-delivery records the delivery as interrupted instead of leaving it pending."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.notify.notifier import Notifier
from conveyor.store import Store
from conveyor.store.notify_store import DeliveryState
from tests.notify.helpers import app_notice, config_from
from tests.notify.receivers import http_receiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state.db")
    yield opened
    opened.close()


def chat_config(tmp_path: Path, url: str) -> str:
    return f"""
        notifications:
          destinations:
            chat: {{type: slack, url: "{url}/slack"}}
          subscriptions:
            - {{triggers: [on-sync-failed], destinations: [chat]}}
        """


def test_publish_returns_at_once_while_a_slow_receiver_answers(
    tmp_path: Path, store: Store
) -> None:
    async def go(url: str) -> float:
        notifier = Notifier(config_from(tmp_path, chat_config(tmp_path, url)), store.deliveries)
        notifier.start()
        began = time.monotonic()
        for index in range(5):
            notifier.publish(app_notice(once_per=f"rev-{index}"))
        took = time.monotonic() - began
        assert await notifier.flush(20)
        await notifier.aclose()
        return took

    with http_receiver(delay=0.5) as receiver:
        took = asyncio.run(go(receiver.url))
    assert took < 0.05
    assert len(receiver.requests) == 5  # delivered side by side, not one after another
    assert all(r.state == DeliveryState.DELIVERED for r in store.deliveries.recent())


def test_a_notice_published_from_a_worker_thread_is_delivered(tmp_path: Path, store: Store) -> None:
    async def go(url: str) -> None:
        notifier = Notifier(config_from(tmp_path, chat_config(tmp_path, url)), store.deliveries)
        notifier.start()
        await asyncio.to_thread(notifier.publish, app_notice())
        assert await notifier.flush(20)
        await notifier.aclose()

    with http_receiver() as receiver:
        asyncio.run(go(receiver.url))
    assert len(receiver.requests) == 1


def test_stopping_mid_delivery_records_it_as_interrupted(tmp_path: Path, store: Store) -> None:
    async def go(url: str) -> None:
        notifier = Notifier(config_from(tmp_path, chat_config(tmp_path, url)), store.deliveries)
        notifier.publish(app_notice())  # on a running loop: starts the worker itself
        await asyncio.sleep(0.3)
        await notifier.aclose()

    with http_receiver(delay=2.0) as receiver:
        asyncio.run(go(receiver.url))
    [row] = store.deliveries.recent()
    assert row.state == DeliveryState.FAILED and row.error.startswith("interrupted")
    assert len(receiver.requests) == 1


def test_slack_text_is_escaped_so_it_cannot_forge_links(tmp_path: Path, store: Store) -> None:
    async def go(url: str) -> None:
        notifier = Notifier(config_from(tmp_path, chat_config(tmp_path, url)), store.deliveries)
        notifier.publish(app_notice(message="<https://evil.example|click> & more"))
        assert await notifier.flush(20)
        await notifier.aclose()

    with http_receiver() as receiver:
        asyncio.run(go(receiver.url))
    section = json.loads(receiver.requests[0].body)["blocks"][1]["text"]["text"]
    assert "&lt;https://evil.example|click&gt; &amp; more" in section
