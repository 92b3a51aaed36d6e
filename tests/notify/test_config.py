"""The `notifications:` section of conveyor.yaml: what is accepted, and what is refused
with file:line:col and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.core.notices import Trigger
from conveyor.notify.config import load_notifications
from conveyor.notify.destinations import Kind, TeamsFormat
from conveyor.notify.errors import NotifyConfigInvalid
from tests.notify.helpers import config_from


def refused(tmp_path: Path, text: str) -> NotifyConfigInvalid:
    with pytest.raises(NotifyConfigInvalid) as caught:
        config_from(tmp_path, text)
    return caught.value


def test_a_full_section_is_read_with_secrets_from_env_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_SECRET", "s3cret")
    monkeypatch.setenv("GH_TOKEN", "ghp_token")
    (tmp_path / "teams-url").write_text("https://teams.example/hook\n")
    config = config_from(
        tmp_path,
        """
        targets: [{name: local, type: memory}]
        notifications:
          destinations:
            ops: {type: webhook, url: "http://127.0.0.1:1/hook", secretEnv: OPS_SECRET}
            chat: {type: slack, url: "https://hooks.slack.example/T/B/X"}
            teams: {type: teams, urlFile: teams-url, format: messagecard}
            mail: {type: email, host: 127.0.0.1, port: 2525, from: c@example.com,
                   to: [ops@example.com], rateLimit: {count: 3, per: 1m}}
            commits: {type: github, apiUrl: "http://127.0.0.1:2/api/v3/", tokenEnv: GH_TOKEN}
          subscriptions:
            - {triggers: [on-sync-failed], destinations: [ops, mail], apps: ["web*"]}
            - {triggers: [on-run-failed], destinations: [chat], workflows: [deploy]}
          templates:
            on-sync-failed: {title: "{{ name }} broke"}
          retry: {attempts: 3, backoff: 2s, maxBackoff: 30s}
          rolloutStuckAfter: 5m
        """,
    )
    ops, teams, mail = (config.destinations[n] for n in ("ops", "teams", "mail"))
    assert ops.kind == Kind.WEBHOOK and ops.secret is not None and ops.secret.value == "s3cret"
    assert "s3cret" not in repr(ops) and "s3cret" not in str(ops.secret)
    assert teams.url is not None and teams.url.value == "https://teams.example/hook"
    assert teams.teams_format == TeamsFormat.MESSAGECARD
    assert mail.rate is not None and (mail.rate.count, mail.rate.per) == (3, 60.0)
    assert config.destinations["commits"].api_url == "http://127.0.0.1:2/api/v3"
    assert config.subscriptions[0].apps == ("web*",)
    assert (config.retry.attempts, config.retry.backoff, config.retry.max_backoff) == (3, 2, 30)
    assert config.rollout_stuck_after == 300
    assert set(config.templates) == set(Trigger)  # defaults fill the others


def test_no_section_means_no_notifier(tmp_path: Path) -> None:
    path = tmp_path / "conveyor.yaml"
    path.write_text("targets: [{name: local, type: memory}]\n")
    assert load_notifications(path) is None
    assert load_notifications(None) is None


def test_an_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        """
        notifications:
          destinations: {}
          subscribtions: []
        """,
    )
    assert error.location is not None and error.location.line == 4
    assert "unknown key 'subscribtions'" in str(error) and "subscriptions" in str(error)


def test_a_destination_option_of_another_type_is_refused(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        """
        notifications:
          destinations:
            chat: {type: slack, url: "https://x.example", to: [a@b.c]}
        """,
    )
    assert "unknown key 'to'" in str(error) and ":4:" in str(error)


def test_a_secret_written_in_clear_is_refused(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        """
        notifications:
          destinations:
            ops:
              type: webhook
              url: "http://127.0.0.1:1/"
              secret: hunter2
        """,
    )
    assert "never written in the YAML" in str(error) and "secretEnv" in str(error)
    assert "hunter2" not in str(error)
    assert error.location is not None and error.location.line == 7


def test_a_webhook_without_a_signing_secret_is_refused(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        """
        notifications:
          destinations:
            ops: {type: webhook, url: "http://127.0.0.1:1/"}
        """,
    )
    assert "a secret is required" in str(error)


def test_a_missing_environment_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    error = refused(
        tmp_path,
        """
        notifications:
          destinations:
            gh: {type: github, tokenEnv: NOT_SET_ANYWHERE}
        """,
    )
    assert "NOT_SET_ANYWHERE is not set" in str(error)


@pytest.mark.parametrize(
    ("subscription", "expected"),
    [
        ("{triggers: [on-sync-broke], destinations: [chat]}", "unknown trigger 'on-sync-broke'"),
        ("{triggers: [on-sync-failed], destinations: [pager]}", "no destination 'pager'"),
        ("{triggers: [on-run-failed], destinations: [chat], apps: [web]}", "about runs"),
        ("{triggers: [on-sync-failed], destinations: [chat], workflows: [x]}", "select runs"),
        ("{destinations: [chat]}", "needs triggers"),
    ],
)
def test_a_subscription_that_cannot_work_is_refused(
    tmp_path: Path, subscription: str, expected: str
) -> None:
    error = refused(
        tmp_path,
        f"""
        notifications:
          destinations:
            chat: {{type: slack, url: "https://x.example"}}
          subscriptions:
            - {subscription}
        """,
    )
    assert expected in str(error)
    assert error.location is not None and error.location.line == 6


def test_a_template_syntax_error_names_the_template_and_its_line(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        """
        notifications:
          destinations: {}
          templates:
            on-health-degraded:
              title: "ok {{ name }}"
              body: "broken {{ name "
        """,
    )
    assert "template on-health-degraded.body" in str(error)
    assert error.location is not None and error.location.line == 7
