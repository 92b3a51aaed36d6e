"""What `conveyor up` prints at readiness: the web UI's URL and how to sign in come first
(issue 15), the token file as the user may type it from the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.app import cmd_up
from tests.app.upinfo import platform_info


def test_the_first_line_at_readiness_is_the_web_ui_and_its_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lines = cmd_up.banner(platform_info((tmp_path / ".conveyor").resolve()), []).splitlines()
    first = next(line for line in lines if line.strip())
    assert first == (
        "Conveyor is up. Web UI: http://127.0.0.1:8080/ "
        "(sign in with the token in .conveyor/server/admin-token)"
    )


def test_a_state_directory_elsewhere_is_shown_by_its_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    text = cmd_up.banner(platform_info(tmp_path / "elsewhere"), ["demo/app@abc"])
    assert f"the token in {tmp_path / 'elsewhere' / 'server' / 'admin-token'})" in text
    assert "seeded: demo/app@abc" in text
