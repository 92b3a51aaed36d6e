"""Finding 11: a secret printed through `base64` is masked, at every byte offset.

The attack: a workflow prints `echo "$S" | base64` (the secret plus a newline), the secret
behind a `user:` prefix, and the URL-safe alphabet. Before the fix the log held the
encoding whole whenever the secret's length was not a multiple of 3 (the last digit mixes
in the newline's bits), so anyone with read access decoded the secret from the log.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.server.conftest import Server, push_workflows

SECRET = "s3cr3t-Value-42"  # 15 bytes: `echo | base64` ends mid-group at offsets 1 and 2

WORKFLOW = """on: push
jobs:
  leak:
    runs-on: ubuntu-latest
    env:
      S: ${{ secrets.TOKEN }}
    steps:
      - run: echo "$S" | base64
      - run: echo "x$S" | base64
      - run: printf 'ab%s' "$S" | base64
      - run: printf 'user:%s\\n' "$S" | base64
      - run: printf '%s??' "$S" | base64 | tr '+/' '-_'
"""


def _leaks(log: str) -> list[str]:
    """Runs of 8+ base64 digits in the log that decode to text containing most of the secret."""
    found = []
    for token in log.replace("\t", " ").split():
        if len(token) < 8:
            continue
        for alphabet in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                text = alphabet(token + "=" * (-len(token) % 4))
            except ValueError:
                continue
            if SECRET.encode()[2:-1] in text:
                found.append(token)
    return found


def test_base64_of_a_secret_never_reaches_the_log(server: Server, tmp_path: Path) -> None:
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    server.api("PUT", "/api/v1/repos/acme/app/secrets/TOKEN", json={"value": SECRET})
    push_workflows(server, tmp_path, "acme/app", {".github/workflows/leak.yml": WORKFLOW})
    run = server.wait_run(server.runs("acme/app")[0]["id"])
    assert run["conclusion"] == "success"
    logs = server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
    assert logs.count("***") >= 5, logs
    assert _leaks(logs) == [], logs
