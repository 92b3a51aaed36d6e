"""Issue 12 #15: the Actions cache belongs to one repository, and a cached absolute path is
restored only inside the job's own directories.

The attacks: repository B restores the key repository A saved (it must miss, as on GitHub);
a cache whose archive holds an absolute path elsewhere on the machine is refused with a
message and writes nothing there; saving a path outside the job's directories is refused.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

from conveyor.ci.jobuser import default_work_root
from conveyor.workflow.run.actions.builtins.cache_store import version as cache_version
from tests.server.conftest import Server, push_workflows

SAVE = """
on: push
jobs:
  save:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir deps && echo from-a > deps/marker
      - uses: actions/cache/save@v4
        with: {path: deps, key: deps-1}
"""

RESTORE = """
on: push
jobs:
  restore:
    runs-on: ubuntu-latest
    steps:
      - id: cache
        uses: actions/cache/restore@v4
        with: {path: deps, key: deps-1}
      - run: echo "HIT=${{ steps.cache.outputs.cache-hit }}"
"""

SAVE_OUTSIDE = """
on: push
jobs:
  save:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/cache/save@v4
        with: {path: /etc/hostname, key: host-1}
"""


def _run(server: Server, tmp_path: Path, repo: str, workflow: str) -> tuple[str, str]:
    push_workflows(server, tmp_path, repo, {".github/workflows/c.yml": workflow})
    run = server.wait_run(int(server.runs(repo)[0]["id"]), timeout=90)
    logs = server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
    return str(run["conclusion"]), logs


def test_a_cache_saved_by_one_repository_is_not_restored_in_another(
    server: Server, tmp_path: Path
) -> None:
    assert _run(server, tmp_path, "acme/a", SAVE)[0] == "success"
    conclusion, logs = _run(server, tmp_path, "acme/b", RESTORE)
    assert conclusion == "success", logs
    assert "Cache not found for input keys: deps-1" in logs
    assert "HIT=false" in logs


def _plant(server: Server, repo: str, victim: Path) -> None:
    """An entry of `repo`'s cache whose archive writes `victim` (outside every job dir)."""
    store = default_work_root(server.data) / "cache"
    data = b"planted\n"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo(f"__abs__{victim}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (store / "planted.tar").write_bytes(archive.getvalue())
    version = cache_version(["deps"])
    now = time.time()
    entry = {
        "key": "deps-1",
        "version": version,
        "scope": f"{repo}:refs/heads/main",
        "created": now,
        "last_used": now,
        "size": len(data),
        "file": "planted.tar",
    }
    index = store / "index.json"
    entries = json.loads(index.read_text()) if index.exists() else []
    index.write_text(json.dumps([*entries, entry]))


def test_an_absolute_path_outside_the_job_is_neither_restored_nor_saved(
    server: Server, tmp_path: Path
) -> None:
    assert server.api("POST", "/api/v1/repos", json={"name": "acme/c"}).is_success
    victim = Path("/tmp") / f"conveyor-cache-victim-{server.port}"
    victim.unlink(missing_ok=True)
    _plant(server, "acme/c", victim)
    conclusion, logs = _run(server, tmp_path, "acme/c", RESTORE)
    assert conclusion == "failure", logs
    assert "outside the job's workspace, home, temp and tool cache" in logs
    assert not victim.exists()
    conclusion, logs = _run(server, tmp_path, "acme/d", SAVE_OUTSIDE)
    assert conclusion == "failure", logs
    assert "Cache not saved with key host-1" in logs
