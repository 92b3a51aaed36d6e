"""A runner's CA file applies to its server's URL only, and never loses the token header."""

from __future__ import annotations

from pathlib import Path

from conveyor.clients.tls import git_config_entry, git_environment


def test_the_ca_is_scoped_to_the_server_and_an_ambient_bundle_becomes_config(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    env = git_environment(ca, "https://ci.example:8443/", {"GIT_SSL_CAINFO": "/etc/b.crt"})
    assert "GIT_SSL_CAINFO" not in env  # it would outrank every URL-scoped entry
    assert env == {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "http.sslCAInfo",
        "GIT_CONFIG_VALUE_0": "/etc/b.crt",
        "GIT_CONFIG_KEY_1": "http.https://ci.example:8443/.sslCAInfo",
        "GIT_CONFIG_VALUE_1": str(ca.resolve()),
    }
    token = git_config_entry(env, "http.extraHeader", "Authorization: Bearer t")
    assert token["GIT_CONFIG_COUNT"] == "3" and token["GIT_CONFIG_KEY_2"] == "http.extraHeader"


def test_without_a_ca_file_nothing_changes() -> None:
    assert git_environment(None, "https://ci.example", {"GIT_SSL_CAINFO": "/b"}) == {
        "GIT_SSL_CAINFO": "/b"
    }
