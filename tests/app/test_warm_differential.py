"""Warm start is invisible: every warm-served command gives what it gives in-process.

Issue 11: a warm `conveyor lint` exited 0 on a broken file (click hands `Exit(1)` back as a
return value outside standalone mode, which the warm child dropped). This test runs the whole
warm-served surface (`warmstart.WARM_COMMANDS`) both ways, cold (`CONVEYOR_WARM=0`) and warm
(forced on with `CONVEYOR_WARM=1` although `CI=true`, as CI runs it), and compares the exit
code, stdout and stderr byte for byte after masking durations and run numbers: for each
command its success path, a failure (exit 1) and a user error (exit 2), with stdout a pipe,
a file and `/dev/null`, and with stdin open or closed.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.app import warmstart
from tests.app.warm import SCRIPT, Warm, make_repo

GOOD = """\
on: push
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "to stdout"; echo "to stderr" >&2
      - run: exit ${{ github.event_name == 'push' && '0' || '1' }}
"""
FAILING = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 3\n"
UNKNOWN_KEY = """\
on: push
permission: read-all
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    name: str
    repo: str  # which repository (workflow text) the command runs in
    args: tuple[str, ...]
    code: int
    silent: bool = False  # prints nothing at all


CASES = [
    Case(name="run-success", repo=GOOD, args=("run", "push"), code=0),
    Case(name="run-failure", repo=FAILING, args=("run", "push"), code=1),
    Case(name="run-user-error", repo=UNKNOWN_KEY, args=("run", "push"), code=2),
    Case(name="run-bad-flag", repo=GOOD, args=("run", "--no-such-flag"), code=2),
    Case(name="lint-success", repo=GOOD, args=("lint",), code=0, silent=True),
    Case(name="lint-failure", repo=UNKNOWN_KEY, args=("lint", ".github/workflows/ci.yml"), code=1),
    Case(name="lint-json-failure", repo=UNKNOWN_KEY, args=("lint", "--format", "json"), code=1),
    Case(name="lint-user-error", repo=GOOD, args=("lint", "no/such/file.yml"), code=2),
    Case(name="lint-help", repo=GOOD, args=("lint", "--help"), code=0),
    Case(name="expr-success", repo=GOOD, args=("expr", "format('{0}!', 'hi')"), code=0),
    Case(name="expr-failure", repo=GOOD, args=("expr", "fromJSON(1"), code=1),
    Case(name="expr-user-error", repo=GOOD, args=("expr", "--no-such-flag"), code=2),
]
STDOUTS = ("pipe", "file", "devnull")
DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:ms|s)\b")
RUN_NUMBER = re.compile(r"(/runs/)\d+")


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int
    stdout: bytes
    stderr: bytes


def invoke(
    warm: Warm, repo: Path, case: Case, *, stdout: str, stdin_closed: bool, mode: str
) -> Outcome:
    env = {**warm.env, "CI": "true", "CONVEYOR_WARM": "1" if mode == "warm" else "0"}
    sink = repo.parent / f"stdout-{mode}.txt"
    with sink.open("wb") as out_file:
        target = {"pipe": subprocess.PIPE, "file": out_file, "devnull": subprocess.DEVNULL}
        result = subprocess.run(
            [str(SCRIPT), *case.args],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=target[stdout],
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
            preexec_fn=(lambda: os.close(0)) if stdin_closed else None,
        )
    captured = result.stdout if stdout == "pipe" else sink.read_bytes()
    return Outcome(result.returncode, captured or b"", result.stderr)


def masked(data: bytes) -> str:
    """Output with durations and run numbers masked (table columns re-aligned by them)."""
    lines = []
    for line in data.decode().splitlines():
        timed = DURATION.sub("<t>", line)
        if timed != line:
            timed = re.sub(r" {2,}", "  ", timed)
        lines.append(RUN_NUMBER.sub(r"\1<n>", timed))
    return "\n".join(lines)


def test_the_cases_cover_every_warm_command() -> None:
    assert {case.args[0] for case in CASES} == warmstart.WARM_COMMANDS
    for command in warmstart.WARM_COMMANDS:
        assert {c.code for c in CASES if c.args[0] == command} >= {0, 1, 2}


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("repos")
    texts = sorted({case.repo for case in CASES})
    return {text: make_repo(root / f"repo{i}" / "work", text) for i, text in enumerate(texts)}


@pytest.mark.parametrize("stdin_closed", [False, True], ids=["stdin-open", "stdin-closed"])
@pytest.mark.parametrize("stdout", STDOUTS)
def test_warm_and_cold_give_the_same_code_and_output(
    warm: Warm, repos: dict[str, Path], stdout: str, stdin_closed: bool
) -> None:
    warm.run(repos[GOOD], "lint")  # starts this test's warm server
    warm.wait_ready()
    for case in CASES:
        repo = repos[case.repo]
        served = len(warm.traced())
        cold = invoke(warm, repo, case, stdout=stdout, stdin_closed=stdin_closed, mode="cold")
        hot = invoke(warm, repo, case, stdout=stdout, stdin_closed=stdin_closed, mode="warm")
        # a closed stdin cannot be handed over, so that command runs in-process
        assert len(warm.traced()) == served + (0 if stdin_closed else 1), case.name
        assert cold.code == case.code, (case.name, cold.stderr)
        assert hot.code == cold.code, case.name
        assert masked(hot.stdout) == masked(cold.stdout), case.name
        assert masked(hot.stderr) == masked(cold.stderr), case.name
        if stdout != "devnull":
            assert bool(cold.stdout or cold.stderr) != case.silent, case.name
