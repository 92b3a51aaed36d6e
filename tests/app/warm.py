"""The warm-start test harness: a private warm server per test, driven through the real
console script (`Warm.run`); a run counts as warm when the child wrote its line to
CONVEYOR_WARM_TRACE (only forked children do). Used by `test_warmstart` and
`test_warm_differential`.
"""

from __future__ import annotations

import ast
import os
import resource
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests import gitutil

SCRIPT = Path(sys.executable).with_name("conveyor")


class Warm:
    def __init__(self, directory: Path, home: Path, trace: Path) -> None:
        self.directory, self.trace = directory, trace
        self.env = {
            **os.environ,
            "CONVEYOR_WARM": "1",
            "CONVEYOR_WARM_DIR": str(directory),
            "CONVEYOR_HOME": str(home),
            "CONVEYOR_WARM_TRACE": str(trace),
        }

    def run(
        self, repo: Path, *args: str, stdin: str = "", umask: int = -1, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        def limit_files() -> None:  # as `ulimit -n 345` in the caller's shell
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (345, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
            )

        return subprocess.run(
            [str(SCRIPT), *args],
            cwd=repo,
            env={**self.env, **extra},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            umask=umask,
            preexec_fn=limit_files,
        )

    def sockets(self) -> list[Path]:
        return sorted(self.directory.glob("warm-*.sock"))

    def wait_ready(self, timeout: float = 90.0) -> Path:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in self.sockets():
                with socket.socket(socket.AF_UNIX) as probe:
                    try:
                        probe.connect(str(path))
                    except OSError:
                        continue
                    return path
            time.sleep(0.1)
        logs = [p.read_text() for p in self.directory.glob("*.log")]
        raise AssertionError(f"no warm server became ready: {logs}")

    def traced(self) -> list[dict[str, object]]:
        if not self.trace.exists():
            return []
        return [ast.literal_eval(line) for line in self.trace.read_text().splitlines()]

    def server_pids(self) -> list[int]:
        pids = []
        for lock in self.directory.glob("*.lock"):
            text = lock.read_text().strip()
            if text.isdigit():
                pids.append(int(text))
        return pids


def make_repo(root: Path, workflow: str) -> Path:
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(textwrap.dedent(workflow))
    gitutil.init(root)
    gitutil.commit(root, "c")
    return root
