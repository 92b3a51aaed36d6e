"""A job's checkout of the run's commit: `clone`, retried while the server restarts.

Called by `ci.pool` (local jobs, before handing the job over) and `ci.executor.execute`
(remote agents, when the job has no checkout yet). Git's messages name the failure; the
token never reaches argv, and is masked in them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from conveyor.clients.tls import git_config_entry
from conveyor.core.errors import ConveyorError
from conveyor.core.gitargs import commit_id

JOB_UMASK = 0o022
"""A job's files are made as on GitHub's runners (0644/0755), whatever the umask of the
process running it (the server's is 077: `conveyor.server.datadir`)."""


def clone(source: str, sha: str, into: Path, *, token: str = "", attempts: int = 6) -> None:
    """Clone `source` (a path or URL) into `into` and check out `sha` detached.

    A server that is restarting refuses connections for a few seconds: the clone is retried
    with backoff (1 + 2 + 4 + 4 + 4 s) before the run fails with git's message.
    """

    # the token goes through git's environment config, not argv (which `ps` shows)
    # (appended to the entries the environment has: a runner's CA for https, issue 12 §17)
    env = dict(os.environ)
    if token:
        env.update(git_config_entry(env, "http.extraHeader", f"Authorization: Bearer {token}"))
    message = ""
    done = subprocess.CompletedProcess[str]([], 1, "", "no attempt")
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 4))
            shutil.rmtree(into, ignore_errors=True)
        done = subprocess.run(
            ["git", "clone", "--quiet", "--no-checkout", "--end-of-options", source, str(into)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            umask=JOB_UMASK,
        )
        message = done.stderr.strip()
        if done.returncode == 0 or not transient_failure(message):
            break
    if done.returncode != 0:
        shown = message.replace(token, "***") if token else message
        raise ConveyorError(f"cannot clone {source}: {shown}")
    done = subprocess.run(
        ["git", "-C", str(into), "checkout", "--quiet", "--detach", commit_id(sha)],
        capture_output=True,
        text=True,
        check=False,
        umask=JOB_UMASK,
    )
    if done.returncode != 0:
        raise ConveyorError(f"cannot check out {sha[:12]}: {done.stderr.strip()}")


#: what git prints when the server went away (refused, reset, or killed mid-transfer) or a
#: proxy in front of it answered for it: retried, unlike a real refusal (401/403/404)
TRANSIENT_SIGNS = (
    "connect",
    " 502",
    " 503",
    " 504",
    "rpc failed",
    "transfer closed",
    "empty reply from server",
    "recv failure",
    "connection reset",
    "expected flush after ref listing",
)


def transient_failure(message: str) -> bool:
    """Git could not reach the server (restarting), as opposed to a real refusal."""
    lowered = message.lower()
    return any(sign in lowered for sign in TRANSIENT_SIGNS)
