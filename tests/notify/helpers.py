"""Shared by the notification tests: a config from YAML text, notices, and one notifier
run to completion against a real store."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from conveyor.core.notices import Notice, Subject, Trigger
from conveyor.notify.config import NotifyConfig, load_notifications
from conveyor.notify.notifier import Notifier
from conveyor.store import Store
from conveyor.store.notify_store import DeliveryRecord


def config_from(tmp_path: Path, text: str) -> NotifyConfig:
    path = tmp_path / "conveyor.yaml"
    path.write_text(textwrap.dedent(text))
    config = load_notifications(path)
    assert config is not None
    return config


def app_notice(trigger: Trigger = Trigger.SYNC_FAILED, **fields: Any) -> Notice:
    values: dict[str, Any] = {
        "trigger": trigger,
        "subject": Subject.APP,
        "name": "web",
        "once_per": "abc123",
        "revision": "abc123def4567890abc123def4567890abc12345",
        "repo": "http://127.0.0.1:8080/git/acme/config.git",
        "message": "Deployment web: image pull failed",
        "time": 1_780_000_000.0,
    }
    return Notice(**{**values, **fields})


class Collected:
    """A `core.notices.Publisher` that keeps what it is given (the reconciler's and the CI
    service's notice tests listen through it)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def publish(self, notice: Notice) -> None:
        self.notices.append(notice)

    def triggers(self) -> list[Trigger]:
        return [n.trigger for n in self.notices]


class Recorder:
    """A `sleep` that records the waits asked for and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def notify_all(
    config: NotifyConfig, store: Store, *notices: Notice, sleep: Recorder | None = None
) -> list[DeliveryRecord]:
    """Publish `notices` through a fresh notifier, wait for every delivery, and return
    the recorded deliveries (newest first)."""
    notifier = Notifier(config, store.deliveries, sleep=sleep or Recorder())
    notifier.start()
    try:
        for notice in notices:
            notifier.publish(notice)
        assert await notifier.flush(20)
    finally:
        await notifier.aclose()
    return store.deliveries.recent()
