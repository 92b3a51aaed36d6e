"""A job's processes die with whoever runs the job (issue 18 #2): the guardian process.

Each step runs in its own session (`runners.host`), so nothing ties it to the process that
started it: when that process is killed (`kill -9` of the server, of its job process, of a
remote `conveyor runner`), the steps would run on, and a restarted server would run the job
again beside them. `PR_SET_PDEATHSIG` does not cover it: it reaches only the direct child,
not what the step's shell started, and it is lost across a uid change.

So `HostRunner` starts one guardian per job, a small process in its own session that reads
the runner's pipe: `+<pgid>` for each process group started, `!<json>` for a command that
removes what the job started outside any process group (`PodmanRunner`'s job container:
`{"argv": [...], "env": {...}}`, run on the runner's death), `done` when the job's
processes were ended the normal way (`HostRunner.cleanup`). The pipe's write end lives only
in the runner's process (not inherited by steps: Python opens pipes close-on-exec), so when
that process dies, however it dies, the kernel closes it: at end of input without `done`
the guardian ends what the job left — the groups it was told of and every process carrying
the job's RUNNER_TRACKING_ID (daemons that left their group), SIGTERM then SIGKILL after
the grace — and exits. It carries no tracking id itself, so the job's own cleanup leaves
it alone.

Run by `HostRunner` as `python -c …` with Conveyor's folder put first on `sys.path`, so it
starts the same wherever the runner's interpreter found Conveyor (a job user's interpreter
may find it only through an added site directory, see `ci.jobuser.interpreter`).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.runners import processes

DONE = b"done"


def command(python: str, *, tracking: str, since: int, grace: float) -> list[str]:
    """The argv that starts a guardian for the job with this tracking id."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding `conveyor`
    boot = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from conveyor.runners.guardian import main; sys.exit(main(sys.argv[1:]))"
    )
    return [python, "-I", "-S", "-c", boot, tracking, str(since), str(grace)]


@dataclass(slots=True)
class Left:
    """What a runner announced before it went away: process groups and removal commands."""

    groups: set[int] = field(default_factory=set)
    removals: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)


def watch(lines: Iterable[bytes]) -> Left | None:
    """What was announced before the end of input; None when `done` came."""
    left = Left()
    for raw in lines:
        line = raw.strip()
        if line == DONE:
            return None
        if line.startswith(b"+") and line[1:].isdigit():
            left.groups.add(int(line[1:]))
        elif line.startswith(b"!"):
            try:
                order = json.loads(line[1:])
                argv = [str(a) for a in order["argv"]]
                env = {str(k): str(v) for k, v in order.get("env", {}).items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            left.removals.append((argv, env))
    return left


def removal(argv: list[str], env: dict[str, str]) -> bytes:
    """The pipe line that has the guardian run `argv` if the runner dies."""
    return b"!" + json.dumps({"argv": argv, "env": env}).encode()


def end_all(groups: set[int], tracking: bytes, since: int, grace: float) -> list[int]:
    """SIGTERM the job's processes, SIGKILL what is left after `grace`; the pids found."""
    found = processes.job_processes(groups, tracking, since)
    for pid in found:
        processes.send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = found
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [pid for pid in left if processes.alive(pid)]
    for pid in left:
        processes.send_signal(pid, signal.SIGKILL)
    for pgid in groups:  # members that appeared after the scan
        processes.signal_group(pgid, signal.SIGKILL)
    return found


def main(argv: list[str]) -> int:
    tracking, since, grace = argv[0], int(argv[1]), float(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the runner
    left = watch(sys.stdin.buffer)
    if left is None:
        return 0
    found = end_all(left.groups, f"RUNNER_TRACKING_ID={tracking}".encode(), since, grace)
    for command_line, env in left.removals:  # e.g. `podman rm -f -t 0 -- <container>`
        subprocess.run(command_line, env=env, capture_output=True, check=False, timeout=60)
    if found:
        print(
            f"conveyor guardian: the runner of job {tracking} died; ended its "
            f"{len(found)} remaining process(es)",
            file=sys.stderr,
        )
    return 0
