"""Which git failures a runner's clone retries (`ci.clone.transient_failure`): a server that
restarts refuses, resets or cuts a transfer for a few seconds (the flake seen when
`test_agent_survives_a_server_restart` killed the server mid-clone), a real refusal not."""

from __future__ import annotations

import pytest

from conveyor.ci.clone import transient_failure


@pytest.mark.parametrize(
    ("message", "retried"),
    [
        ("fatal: unable to access 'http://h/': Failed to connect to 127.0.0.1 port 1", True),
        ("fatal: unable to access 'http://h/': Could not connect to server", True),
        (
            "error: RPC failed; curl 18 transfer closed with 145 bytes remaining to read\n"
            "fatal: expected flush after ref listing",
            True,
        ),
        ("fatal: unable to access 'http://h/': Empty reply from server", True),
        ("fatal: unable to access 'http://h/': Recv failure: Connection reset by peer", True),
        ("fatal: unable to access 'http://h/': The requested URL returned error: 502", True),
        ("fatal: unable to access 'http://h/': The requested URL returned error: 403", False),
        ("fatal: Authentication failed for 'http://h/'", False),
        ("fatal: repository 'http://h/x.git/' not found", False),
    ],
)
def test_a_clone_is_retried_only_while_the_server_is_away(message: str, retried: bool) -> None:
    assert transient_failure(message) is retried
