"""Pushes and webhooks become runs; invalid files, concurrency groups, cancel and re-run."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import httpx

from tests.server.conftest import Server, push_workflows

HELLO = """name: CI
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "hello from ${{ github.ref_name }}"
      - run: echo "### built" >> "$GITHUB_STEP_SUMMARY"
"""


def test_push_over_http_runs_the_workflow_and_reports_through_the_api(
    server: Server, tmp_path: Path
) -> None:
    sha = push_workflows(server, tmp_path, "acme/app", {".github/workflows/ci.yml": HELLO})
    run_id = int(server.wait_runs("acme/app", 1)[0]["id"])  # type: ignore[call-overload]
    run = server.wait_run(run_id)
    assert (run["conclusion"], run["sha"], run["event"]) == ("success", sha, "push")
    job = run["jobs"][0]
    assert (job["name"], job["conclusion"]) == ("build", "success")
    assert "### built" in job["summary"]
    assert "hello from main" in server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    statuses = server.api("GET", f"/api/v1/repos/acme/app/commits/{sha}/statuses").json()
    assert [(s["context"], s["state"]) for s in statuses] == [("conveyor/CI", "success")]
    metrics = server.api("GET", "/metrics").text
    assert 'conveyor_runs{status="completed"} 1' in metrics


def test_invalid_workflow_yaml_is_a_failed_run_pointing_at_file_and_line(
    server: Server, tmp_path: Path
) -> None:
    bad = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - rnu: echo\n"
    push_workflows(server, tmp_path, "acme/bad", {".github/workflows/bad.yml": bad})
    run = server.wait_run(int(server.wait_runs("acme/bad", 1)[0]["id"]))  # type: ignore[call-overload]
    assert run["conclusion"] == "failure"
    notes = run["annotations"]
    assert notes and notes[0]["file"] == ".github/workflows/bad.yml" and notes[0]["line"] == 6


def _signed(body: bytes, secret: str = "hook-secret") -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_webhook_hmac_accepted_and_forged_rejected(server: Server, tmp_path: Path) -> None:
    sha = push_workflows(server, tmp_path, "acme/hooked", {"README": "x"})
    push_workflows(server, tmp_path, "acme/hooked", {".github/workflows/ci.yml": HELLO})
    before = len(server.wait_runs("acme/hooked", 1))
    payload = {
        "ref": "refs/heads/main",
        "before": sha,
        "after": sha,
        "repository": {"full_name": "acme/hooked", "clone_url": "unused"},
        "sender": {"login": "octocat"},
    }
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-1",
        "Content-Type": "application/json",
    }
    forged = httpx.post(
        f"{server.url}/hooks/github",
        content=body,
        headers={**headers, "X-Hub-Signature-256": _signed(body, "wrong")},
    )
    unsigned = httpx.post(f"{server.url}/hooks/github", content=body, headers=headers)
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert len(server.runs("acme/hooked")) == before
    head = server.runs("acme/hooked")[0]["sha"]
    payload["after"] = head
    body = json.dumps(payload).encode()
    good = httpx.post(
        f"{server.url}/hooks/github",
        content=body,
        headers={**headers, "X-Hub-Signature-256": _signed(body)},
    )
    assert good.status_code == 200 and len(good.json()["runs"]) == 1
    assert server.wait_run(good.json()["runs"][0])["conclusion"] == "success"


SLOW = """name: Deploy
on: push
concurrency:
  group: deploy-${{ github.ref }}
  cancel-in-progress: CANCEL
jobs:
  slow:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 30
"""


def test_concurrency_group_pending_replacement(server: Server, tmp_path: Path) -> None:
    files = {".github/workflows/d.yml": SLOW.replace("CANCEL", "false")}
    push_workflows(server, tmp_path, "acme/conc", files)
    first = int(server.wait_runs("acme/conc", 1)[0]["id"])  # type: ignore[call-overload]
    server.wait_run(first, status="in_progress")
    push_workflows(server, tmp_path, "acme/conc", {"a": "1"})
    push_workflows(server, tmp_path, "acme/conc", {"a": "2"})
    runs = {int(r["id"]): r for r in server.wait_runs("acme/conc", 3)}  # type: ignore[call-overload]
    second, third = sorted(runs)[1:]
    assert server.wait_run(second)["conclusion"] == "cancelled"  # replaced while pending
    assert "higher priority waiting request" in server.wait_run(second)["reason"]
    assert server.api("GET", f"/api/v1/runs/{third}").json()["status"] == "pending"
    assert server.api("GET", f"/api/v1/runs/{first}").json()["status"] == "in_progress"
    assert server.api("POST", f"/api/v1/runs/{first}/cancel").status_code == 200
    assert server.wait_run(first)["conclusion"] == "cancelled"
    server.wait_run(third, status="in_progress")  # the group freed: the pending run starts
    server.api("POST", f"/api/v1/runs/{third}/cancel")


def test_cancel_in_progress_cancels_the_running_run(server: Server, tmp_path: Path) -> None:
    files = {".github/workflows/d.yml": SLOW.replace("CANCEL", "true")}
    push_workflows(server, tmp_path, "acme/cip", files)
    first = int(server.wait_runs("acme/cip", 1)[0]["id"])  # type: ignore[call-overload]
    server.wait_run(first, status="in_progress")
    push_workflows(server, tmp_path, "acme/cip", {"a": "1"})
    assert server.wait_run(first)["conclusion"] == "cancelled"
    second = max(int(r["id"]) for r in server.runs("acme/cip"))  # type: ignore[call-overload]
    server.wait_run(second, status="in_progress")
    server.api("POST", f"/api/v1/runs/{second}/cancel")


FLAKY = """name: Flaky
on: push
jobs:
  good:
    runs-on: ubuntu-latest
    outputs:
      v: ${{ steps.s.outputs.v }}
    steps:
      - id: s
        run: echo "v=from-good" >> "$GITHUB_OUTPUT"
  bad:
    runs-on: ubuntu-latest
    steps:
      - run: test -f FLAG
  after:
    needs: [good, bad]
    runs-on: ubuntu-latest
    steps:
      - run: echo "got ${{ needs.good.outputs.v }}"
"""


def test_rerun_failed_jobs_keeps_the_others_outputs_and_rerun_all(
    server: Server, tmp_path: Path
) -> None:
    # jobs run as the unprivileged job user (issue 12), who cannot enter pytest's 0700 tmp_path
    shared = Path(tempfile.mkdtemp(prefix="conveyor-flag-"))
    shared.chmod(0o755)
    flag = shared / "flag"
    files = {".github/workflows/f.yml": FLAKY.replace("FLAG", str(flag))}
    push_workflows(server, tmp_path, "acme/flaky", files)
    first = int(server.wait_runs("acme/flaky", 1)[0]["id"])  # type: ignore[call-overload]
    run = server.wait_run(first)
    assert run["conclusion"] == "failure"
    assert {j["name"]: j["conclusion"] for j in run["jobs"]} == {
        "good": "success",
        "bad": "failure",
        "after": "skipped",
    }
    assert server.api("POST", f"/api/v1/runs/{first}/cancel").status_code == 409
    flag.write_text("fixed")
    again = server.api("POST", f"/api/v1/runs/{first}/rerun", json={"failed_only": True}).json()
    rerun = server.wait_run(again["id"])
    assert (rerun["rerun_of"], rerun["attempt"], rerun["conclusion"]) == (first, 2, "success")
    assert sorted(j["name"] for j in rerun["jobs"]) == ["after", "bad"]
    assert "got from-good" in server.api("GET", f"/api/v1/runs/{again['id']}/logs").text
    whole = server.api("POST", f"/api/v1/runs/{first}/rerun", json={}).json()
    names = sorted(j["name"] for j in server.wait_run(whole["id"])["jobs"])
    assert names == ["after", "bad", "good"]
    no_failures = server.api(
        "POST", f"/api/v1/runs/{again['id']}/rerun", json={"failed_only": True}
    )
    assert no_failures.status_code == 409
    shutil.rmtree(shared)


ARTIFACT = """name: Package
on:
  workflow_dispatch:
    inputs:
      flavour: {required: true}
jobs:
  pack:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir out && echo "${{ inputs.flavour }}" > out/flavour.txt
      - uses: actions/upload-artifact@v4
        with: {name: bundle, path: out}
"""


def test_dispatch_with_inputs_and_artifacts_kept_by_the_server(
    server: Server, tmp_path: Path
) -> None:
    files = {".github/workflows/pack.yml": ARTIFACT, ".github/workflows/ci.yml": HELLO}
    push_workflows(server, tmp_path, "acme/pkg", files)
    pushed = server.wait_runs("acme/pkg", 1)
    body = {"workflow": "pack.yml", "ref": "main", "inputs": {"flavour": "vanilla"}}
    reply = server.api("POST", "/api/v1/repos/acme/pkg/dispatches", json=body).json()
    assert len(reply["runs"]) == 1 and reply["runs"][0] not in [r["id"] for r in pushed]
    run = server.wait_run(reply["runs"][0])
    assert (run["event"], run["conclusion"]) == ("workflow_dispatch", "success")
    listing = server.api("GET", f"/api/v1/runs/{run['id']}/artifacts").json()
    assert [a["name"] for a in listing] == ["bundle"]
    data = server.api("GET", f"/api/v1/runs/{run['id']}/artifacts/bundle").content
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.extractfile("./flavour.txt")
        assert member is not None and member.read() == b"vanilla\n"
    logs = server.api("GET", f"/api/v1/runs/{run['id']}/logs").text.splitlines()
    tail = server.api("GET", f"/api/v1/runs/{run['id']}/logs", params={"offset": 2}).text
    assert tail.splitlines() == logs[2:]
