"""Behaviour corpus: each fixture in tests/fixtures/workflows/ run through `conveyor run --json`.

Each fixture is copied to a temporary Git repository (see `cases.build_repo`), run with
`python -m conveyor.app run -C <repo> <event> --json <args>` from inside the repo, and the JSON
document on stdout (INTERFACES.md §D2) is compared with `case.yml`'s `expect`. A failure lists
every mismatch, the expected and actual values, and the tail of stderr.

The module is skipped only while `conveyor.app.cmd_run` does not exist at all; once the engine
has landed, an import error inside it fails every case instead of hiding them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflow.cases import HOST_MARKER, Case, all_cases, build_repo, substitute, write_payload

if importlib.util.find_spec("conveyor.app.cmd_run") is None:
    pytest.skip(
        "the engine has not landed: module conveyor.app.cmd_run does not exist",
        allow_module_level=True,
    )

CASES = all_cases()
RUN_TIMEOUT = 120


Run = tuple[subprocess.CompletedProcess[str], Path, float]


def run_conveyor(case: Case, tmp_path: Path) -> Run:
    """Build the fixture's repo and run `conveyor run` in it; return (process, outdir, seconds)."""
    repo, outdir = build_repo(case, tmp_path)
    argv = [sys.executable, "-m", "conveyor.app", "run", "-C", str(repo), case.event, "--json"]
    payload = write_payload(case, tmp_path)
    if payload is not None:
        argv += ["-e", str(payload)]
    argv += [substitute(a, outdir) for a in case.args]
    env = dict(os.environ)
    env[HOST_MARKER[0]] = HOST_MARKER[1]
    env.update({k: substitute(v, outdir) for k, v in case.env.items()})
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return proc, outdir, time.monotonic() - started


def iter_jobs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [job for wf in doc.get("workflows", []) for job in wf.get("jobs", [])]


def find_job(doc: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The job whose display name is `key`; else the only job whose id is `key`."""
    jobs = iter_jobs(doc)
    by_name = [j for j in jobs if j.get("name") == key]
    if len(by_name) == 1:
        return by_name[0]
    by_id = [j for j in jobs if j.get("id") == key and j.get("parent") is None]
    return by_id[0] if len(by_id) == 1 else None


def job_names(doc: dict[str, Any]) -> list[str]:
    return [f"{j.get('name')} [{j.get('result')}]" for j in iter_jobs(doc)]


RUN_KEYS = {"result", "run_dir", "event", "workflows"}
WORKFLOW_KEYS = {"path", "name", "triggered", "reason", "jobs"}
JOB_FIELDS = {"id", "name", "matrix", "result", "outputs", "duration", "steps", "annotations"}
JOB_FIELDS |= {"parent"}
STEP_FIELDS = {"id", "name", "outcome", "conclusion"}
JOB_RESULTS = {"success", "failure", "cancelled", "skipped"}


def check_shape(doc: dict[str, Any], errors: list[str]) -> None:
    """The document has the fields INTERFACES.md §D2 promises, with known result values."""
    if missing := RUN_KEYS - set(doc):
        errors.append(f"run document lacks {sorted(missing)}")
    if doc.get("result") not in {"success", "failure", "cancelled"}:
        errors.append(f"run result {doc.get('result')!r} is not success/failure/cancelled")
    for wf in doc.get("workflows", []):
        if missing := WORKFLOW_KEYS - set(wf):
            errors.append(f"workflow {wf.get('path')}: lacks {sorted(missing)}")
        for job in wf.get("jobs", []):
            where = f"job {job.get('name')!r}"
            if missing := JOB_FIELDS - set(job):
                errors.append(f"{where}: lacks {sorted(missing)}")
            if job.get("result") not in JOB_RESULTS:
                errors.append(f"{where}: result {job.get('result')!r} is not a job result")
            for step in job.get("steps") or []:
                if missing := STEP_FIELDS - set(step):
                    errors.append(f"{where} step {step.get('id')!r}: lacks {sorted(missing)}")


def check_workflows(doc: dict[str, Any], expected: dict[str, Any], errors: list[str]) -> None:
    by_file = {Path(wf.get("path", "")).name: wf for wf in doc.get("workflows", [])}
    for file, want in expected.items():
        spec = {"triggered": want == "triggered"} if isinstance(want, str) else dict(want)
        wf = by_file.get(file)
        if wf is None:
            errors.append(f"workflow {file}: not in the results (have {sorted(by_file)})")
            continue
        if "triggered" in spec and wf.get("triggered") != spec["triggered"]:
            errors.append(
                f"workflow {file}: triggered={wf.get('triggered')} want {spec['triggered']}"
                f" (reason: {wf.get('reason')!r})"
            )
        if "result" in spec and wf.get("result") != spec["result"]:
            errors.append(f"workflow {file}: result={wf.get('result')} want {spec['result']}")
        reason = spec.get("reason_contains")
        if reason and reason.lower() not in str(wf.get("reason", "")).lower():
            errors.append(f"workflow {file}: reason {wf.get('reason')!r} lacks {reason!r}")


def result_ok(actual: Any, want: Any) -> bool:
    return actual in want if isinstance(want, list) else actual == want


def check_job(job: dict[str, Any], key: str, want: Any, errors: list[str]) -> None:
    spec = {"result": want} if isinstance(want, str | list) else dict(want)
    if "result" in spec and not result_ok(job.get("result"), spec["result"]):
        errors.append(f"job {key!r}: result={job.get('result')} want {spec['result']}")
    outputs = job.get("outputs") or {}
    for name, value in (spec.get("outputs") or {}).items():
        if str(outputs.get(name, "")) != str(value):
            errors.append(f"job {key!r}: output {name}={outputs.get(name)!r} want {value!r}")
    steps = {s.get("id"): s for s in job.get("steps") or []}
    for step_id, step_want in (spec.get("steps") or {}).items():
        step = steps.get(step_id)
        if step is None:
            errors.append(f"job {key!r}: no step {step_id!r} (have {sorted(map(str, steps))})")
            continue
        for field_name, value in step_want.items():
            if step.get(field_name) != value:
                errors.append(
                    f"job {key!r} step {step_id!r}: {field_name}={step.get(field_name)!r}"
                    f" want {value!r}"
                )
    for ann in spec.get("annotations") or []:
        found = any(
            all(str(a.get(k)) == str(v) for k, v in ann.items()) for a in job.get("annotations", [])
        )
        if not found:
            errors.append(f"job {key!r}: no annotation {ann} in {job.get('annotations')}")


def canonical(value: Any) -> str:
    """JSON text of a matrix leg; GitHub's numbers are doubles, so 1.0 and 1 are the same value."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True)


def check_jobs(doc: dict[str, Any], expect: dict[str, Any], errors: list[str]) -> None:
    for key, want in (expect.get("jobs") or {}).items():
        job = find_job(doc, key)
        if job is None:
            errors.append(f"job {key!r}: not found (have {job_names(doc)})")
            continue
        check_job(job, key, want, errors)
    for job_id, legs in (expect.get("legs") or {}).items():
        got = sorted(
            canonical(j.get("matrix"))
            for j in iter_jobs(doc)
            if j.get("id") == job_id and j.get("parent") is None
        )
        want_legs = sorted(canonical(leg) for leg in legs)
        if got != want_legs:
            errors.append(f"matrix legs of {job_id!r}:\n  got  {got}\n  want {want_legs}")
    if "job_count" in expect and len(iter_jobs(doc)) != expect["job_count"]:
        errors.append(f"job count {len(iter_jobs(doc))} want {expect['job_count']}")
    for message in expect.get("annotations_absent") or []:
        for job in iter_jobs(doc):
            if any(message in str(a.get("message")) for a in job.get("annotations", [])):
                errors.append(f"job {job.get('name')!r}: unexpected annotation {message!r}")


def run_dir_texts(doc: dict[str, Any] | None) -> dict[str, str]:
    """Every file under the run directory, by path relative to it."""
    if not doc or not doc.get("run_dir"):
        return {}
    run_dir = Path(doc["run_dir"])
    if not run_dir.is_dir():
        return {}
    return {
        str(p.relative_to(run_dir)): p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


def check_texts(
    proc: subprocess.CompletedProcess[str],
    doc: dict[str, Any] | None,
    expect: dict[str, Any],
    errors: list[str],
) -> None:
    files = run_dir_texts(doc)
    everything = "\n".join([proc.stdout, proc.stderr, *files.values()])
    for text in expect.get("stdout_contains") or []:
        if text not in proc.stdout:
            errors.append(f"stdout lacks {text!r}")
    for text in expect.get("stderr_contains") or []:
        if text not in proc.stderr:
            errors.append(f"stderr lacks {text!r}")
    for text in expect.get("stderr_not_contains") or []:
        if text in proc.stderr:
            errors.append(f"stderr contains {text!r}")
    for text in expect.get("log_contains") or []:
        if text not in proc.stderr and not any(text in t for t in files.values()):
            errors.append(f"neither stderr nor the run dir contains {text!r}")
    for text in expect.get("log_not_contains") or []:
        if text in everything:
            where = [n for n, t in files.items() if text in t]
            where += [n for n, t in (("stdout", proc.stdout), ("stderr", proc.stderr)) if text in t]
            errors.append(f"{text!r} leaked into {where}")
    for pattern, needles in (expect.get("run_dir_contains") or {}).items():
        matched = {n: t for n, t in files.items() if Path(n).match(pattern)}
        if not matched:
            errors.append(f"run dir has no file matching {pattern!r} (have {sorted(files)})")
        for needle in needles:
            if matched and not any(needle in t for t in matched.values()):
                errors.append(f"run dir files {sorted(matched)} lack {needle!r}")


def check_outdir(outdir: Path, expect: dict[str, Any], errors: list[str]) -> None:
    if expect.get("outdir_absent"):
        time.sleep(float(expect.get("settle", 0)))
    for name in expect.get("outdir_absent") or []:
        if (outdir / name).exists():
            errors.append(f"{name} was written in the out dir: a killed process survived")
    for name, needle in (expect.get("outdir_contains") or {}).items():
        path = outdir / name
        if not path.is_file() or needle not in path.read_text(encoding="utf-8"):
            errors.append(f"out dir file {name} missing or lacks {needle!r}")


def compare(
    case: Case, proc: subprocess.CompletedProcess[str], outdir: Path, seconds: float
) -> list[str]:
    """Every difference between the run and `case.expect`."""
    expect, errors = case.expect, []
    want_exit = expect.get("exit", 0)
    if proc.returncode != want_exit:
        errors.append(f"exit code {proc.returncode} want {want_exit}")
    doc: dict[str, Any] | None = None
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError as exc:
        errors.append(f"stdout is not one JSON document: {exc}")
    if doc is None and want_exit != 2:
        errors.append("no JSON document on stdout")
    if doc is not None:
        check_shape(doc, errors)
        check_workflows(doc, expect.get("workflows") or {}, errors)
        check_jobs(doc, expect, errors)
    check_texts(proc, doc, expect, errors)
    if "max_seconds" in expect and seconds > expect["max_seconds"]:
        errors.append(f"took {seconds:.1f}s, more than {expect['max_seconds']}s")
    check_outdir(outdir, expect, errors)
    return errors


def failure_report(case: Case, proc: subprocess.CompletedProcess[str], errors: list[str]) -> str:
    try:
        actual: Any = json.loads(proc.stdout)
        summary = [
            {
                "path": wf.get("path"),
                "triggered": wf.get("triggered"),
                "reason": wf.get("reason"),
                "jobs": {
                    j.get("name"): {
                        "result": j.get("result"),
                        "outputs": j.get("outputs"),
                        "steps": {
                            s.get("id"): [s.get("outcome"), s.get("conclusion")]
                            for s in j.get("steps") or []
                        },
                    }
                    for j in wf.get("jobs", [])
                },
            }
            for wf in actual.get("workflows", [])
        ]
        shown = yaml.safe_dump(summary, sort_keys=False, width=120)
    except (json.JSONDecodeError, AttributeError):
        shown = proc.stdout[-2000:]
    stderr_tail = "\n".join(proc.stderr.splitlines()[-40:])
    return (
        f"{case.name}: {case.description}\n"
        + "".join(f"  - {e}\n" for e in errors)
        + f"--- expected\n{yaml.safe_dump(case.expect, sort_keys=False, width=120)}"
        + f"--- actual (exit {proc.returncode})\n{shown}\n--- stderr tail\n{stderr_tail}"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture(case: Case, tmp_path: Path) -> None:
    proc, outdir, seconds = run_conveyor(case, tmp_path)
    errors = compare(case, proc, outdir, seconds)
    assert not errors, failure_report(case, proc, errors)
