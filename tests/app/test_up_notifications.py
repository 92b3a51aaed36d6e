"""`conveyor up --notifications FILE`: the file's `notifications:` section configures both
the server (`--config FILE`) and the reconciler (`--notifications FILE`), since `up`
writes the reconciler's own conveyor.yaml; a file without the section or with a bad one is
refused before anything starts (tests/notify/test_end_to_end.py shows the reconciler
delivering from such a file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.app import cmd_up
from conveyor.app.cli import run
from tests.app.upinfo import platform_info

SECTION = """notifications:
  destinations:
    hook: {type: webhook, url: "http://127.0.0.1:9/hook", secretEnv: HOOK_SECRET}
  subscriptions:
    - {triggers: [on-sync-failed, on-approval-waiting], destinations: [hook]}
"""


def test_the_file_reaches_the_server_and_the_reconciler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3cret")  # the section is checked as the children will
    file = tmp_path / "notify.yaml"
    file.write_text(SECTION)
    path = cmd_up.checked_notifications(file)
    assert path == file.resolve()
    server = cmd_up.server_service(tmp_path, "127.0.0.1", 8080, "http://x/refresh", path)
    assert server.argv[-2:] == ("--config", str(path))
    state = tmp_path / "state"
    state.mkdir()
    info = platform_info(state)
    reconciler = cmd_up.reconciler_service(state, info, 8421, "read-token", path)
    assert reconciler.argv[-2:] == ("--notifications", str(path))
    assert "notifications" not in (state / "conveyor.yaml").read_text()
    plain = cmd_up.server_service(tmp_path, "127.0.0.1", 8080, "http://x/refresh")
    assert "--config" not in plain.argv


def test_a_file_without_the_section_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "notify.yaml"
    file.write_text("targets: []\n")
    state = tmp_path / "state"
    assert run(["up", "--state-dir", str(state), "--notifications", str(file)]) == 2
    assert f"{file.resolve()} has no notifications: section" in capsys.readouterr().err
    assert not state.exists()


def test_a_secret_the_children_would_miss_is_refused_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    file = tmp_path / "notify.yaml"
    file.write_text(SECTION)
    assert run(["up", "--state-dir", str(tmp_path / "state"), "--notifications", str(file)]) == 2
    assert "environment variable HOOK_SECRET is not set" in capsys.readouterr().err


def test_a_bad_section_is_refused_with_its_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "notify.yaml"
    file.write_text(SECTION + "  retries: {attempts: 3}\n")
    state = tmp_path / "state"
    assert run(["up", "--state-dir", str(state), "--notifications", str(file)]) == 2
    assert ":6:3: notifications.retries: unknown key 'retries'" in capsys.readouterr().err
    assert not state.exists()
