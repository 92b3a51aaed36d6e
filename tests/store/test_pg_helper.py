"""tests/pg.py's rule: without PostgreSQL a developer's run skips, CI and root runs fail."""

from __future__ import annotations

import pytest

from tests import pg


@pytest.mark.parametrize(
    ("ci", "uid", "outcome"),
    [
        ("", 1000, pytest.skip.Exception),
        ("true", 1000, pytest.fail.Exception),
        ("", 0, pytest.fail.Exception),
        ("true", 0, pytest.fail.Exception),
    ],
)
def test_a_missing_server_skips_only_outside_ci_and_root(
    monkeypatch: pytest.MonkeyPatch, ci: str, uid: int, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(pg.os, "geteuid", lambda: uid)
    with pytest.raises(outcome, match="apt-get install postgresql"):
        pg.unavailable("PostgreSQL server programs not found")


def test_the_server_programs_are_found_where_debian_puts_them() -> None:
    found = pg.server_bin_dir()
    if found is None:
        pg.unavailable("PostgreSQL server programs not found under /usr/lib/postgresql/*/bin")
    assert (found / "pg_ctl").exists() and found.parent.parent.name == "postgresql"
