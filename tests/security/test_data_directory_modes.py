"""Issue 12 #14: the server's data directory and everything in it are owner-only (0700/0600),
also what an older version left readable, so no other local user reads the database, the key,
the tokens or the hosted repositories."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.server.conftest import make_server, push_workflows

WORKFLOW = """
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir out && echo hi > out/a.txt
      - uses: actions/upload-artifact@v4
        with: {name: out, path: out}
"""


def _open_to_others(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
            found.append(f"{oct(stat.S_IMODE(info.st_mode))} {path.relative_to(root)}")
    return found


def test_every_file_the_server_keeps_is_owner_only_existing_ones_included(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--heartbeat-timeout", "3")
    server.data.chmod(0o755)
    (server.data / "old").mkdir(mode=0o755)
    (server.data / "old" / "notes").write_text("from an older version")
    (server.data / "old" / "notes").chmod(0o644)
    server.start()
    try:
        push_workflows(server, tmp_path, "acme/modes", {".github/workflows/ci.yml": WORKFLOW})
        runs = server.runs("acme/modes")
        assert runs, "the push started no run"
        run = server.wait_run(runs[0]["id"])
        assert run["conclusion"] == "success", run
        names = {p.name for p in server.data.rglob("*")}
        assert {"conveyor.db", "secret.key", "admin-token", "git"} <= names
        assert _open_to_others(server.data) == []
    finally:
        server.stop()
