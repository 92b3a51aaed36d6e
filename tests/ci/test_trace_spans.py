"""The CI service's side of a commit's trace (issue 17): the run's span in the job payload,
the runner's spans relayed, and `queued` + `run` tiling the commit's root span."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conveyor.ci import newruns
from conveyor.ci.events import github_event
from conveyor.ci.service import CIService
from conveyor.ci.webhooks import WebhookConfig, Webhooks
from conveyor.core import tracing
from tests.ci.helpers import commit_workflow, poll_job, run_state
from tests.gitutil import git, init, write_files
from tests.tracingsink import ListSink

WORKFLOW = """name: W
on: push
jobs:
  a:
    runs-on: linux
    steps: [{run: "true"}]
"""


def _hand_over(
    service: CIService, repo: str, work: Path, bare: Path, *, before: str, received: float
) -> tuple[str, list[int]]:
    """Push `work`'s HEAD to the hosted `repo` (its `bare` repository) and hand the push
    over as the spool does, with its time; the pushed SHA and the runs it started."""
    after = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", str(bare), "HEAD:refs/heads/main")
    update = {"ref": "refs/heads/main", "before": before, "after": after}
    delivery = {"delivery": f"p-{after}/0", "repo": repo, "pusher": "me",
                "received": received, **update}  # fmt: skip
    ids = asyncio.run(service.handle_push(repo, pusher="me", **update, delivery=delivery))
    return after, ids


def _push(service: CIService, tmp: Path, received: float) -> tuple[str, list[int]]:
    """Commit the workflow to a new branch of `acme/app` and hand the push over."""
    bare = service.create_repo("acme/app")
    work = init(tmp / "work")
    write_files(work, {".github/workflows/w.yml": WORKFLOW})
    git(work, "add", "-A")
    git(work, "commit", "-qm", "c")
    return _hand_over(service, "acme/app", work, bare, before="0" * 40, received=received)


def test_without_tracing_the_job_payload_carries_no_trace(
    service: CIService, tmp_path: Path
) -> None:
    _push(service, tmp_path, time.time())
    got = poll_job(service, "r1", "linux")
    assert got is not None
    assert "traceparent" not in got


def test_a_runs_spans_tile_the_commits_root_and_the_runners_spans_are_relayed(
    service: CIService, tmp_path: Path, trace_sink: ListSink
) -> None:
    pushed = time.time() - 0.5
    sha, (run_id,) = _push(service, tmp_path, pushed)
    got = poll_job(service, "r1", "linux")
    assert got is not None
    run_ref = tracing.parse_traceparent(got["traceparent"])
    root = tracing.commit_trace(sha)
    assert run_ref is not None and run_ref.trace_id == root.trace_id
    with tracing.collect() as recorded:
        tracing.record("job a", ref=tracing.child_of(run_ref), parent=run_ref, start=1.0, end=2.0)
        foreign = tracing.commit_trace("f" * 40)
        tracing.record("intruder", ref=tracing.child_of(foreign), parent=foreign, start=1, end=2)
    report = [tracing.to_json(s) for s in recorded] + [{"name": "malformed"}]
    result = {"result": "success", "job": {"result": "success", "outputs": {}}, "trace": report}
    service.complete(run_id, "r1", result)
    assert run_state(service, run_id) == ("completed", "success")

    by_name = {s.name: s for s in trace_sink.spans}
    assert sorted(by_name) == [f"commit {sha[:12]}", "job a", "queued", "run W #1"]
    commit, queued, run = by_name[f"commit {sha[:12]}"], by_name["queued"], by_name["run W #1"]
    assert commit.ref == root and commit.parent_id == 0
    assert queued.parent_id == run.parent_id == root.span_id
    assert run.ref == run_ref
    assert by_name["job a"].parent_id == run_ref.span_id
    assert queued.start_ns == commit.start_ns == int(pushed * 1e9)
    assert queued.end_ns == run.start_ns and run.end_ns == commit.end_ns
    assert run.attributes["vcs.ref.head.revision"] == sha
    assert not run.error


def test_a_webhooks_traceparent_is_linked_from_the_commits_trace(
    service: CIService, tmp_path: Path, trace_sink: ListSink
) -> None:
    sha, _ = _push(service, tmp_path, time.time())
    hooks = Webhooks(service, WebhookConfig(global_secret="s"))
    payload = {
        "ref": "refs/heads/main", "before": "0" * 40, "after": sha,
        "repository": {"full_name": "acme/app", "clone_url": "unused"},
        "sender": {"login": "octocat"},
    }  # fmt: skip
    event = github_event("push", payload)
    assert event is not None
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    done = asyncio.run(hooks.deliver(event, payload, "d-1", traceparent=caller))
    assert len(done["runs"]) == 1
    (webhook,) = [s for s in trace_sink.spans if s.name == "webhook push"]
    root = tracing.commit_trace(sha)
    assert webhook.ref.trace_id == root.trace_id and webhook.parent_id == root.span_id
    assert webhook.links == (tracing.parse_traceparent(caller),)
    asyncio.run(hooks.deliver(event, payload, "d-2", traceparent="garbage"))
    assert [s.links for s in trace_sink.spans if s.name == "webhook push"][1:] == [()]


REVIEWED = """name: D
on: push
jobs:
  deploy:
    runs-on: linux
    environment: production
    steps: [{run: "true"}]
"""


@pytest.mark.parametrize(("approve", "state"), [(True, "approved"), (False, "rejected")])
def test_a_wait_for_reviewers_is_a_span_under_the_run(
    service: CIService, tmp_path: Path, trace_sink: ListSink, approve: bool, state: str
) -> None:
    """No runner holds a job waiting for its environment's review, so no job span covers
    the wait: `review <environment>` does, from the request to the decision."""
    service.put_environment("acme/app", "production", reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, REVIEWED)
    [pending] = service.store.config.approvals(state="pending")
    before = time.time()
    service.decide(run_id, "production", user="alice", admin=False, approve=approve)
    [review] = [s for s in trace_sink.spans if s.name == "review production"]
    sha = service.store.run(run_id)["sha"]  # type: ignore[index]
    assert review.ref.trace_id == tracing.commit_trace(sha).trace_id
    run = tracing.derived(tracing.commit_trace(sha), "run", str(run_id))
    assert review.parent_id == run.span_id
    assert review.start_ns == int(pending["requested"] * 1e9)
    assert review.end_ns >= int(before * 1e9)
    assert review.attributes["conveyor.review.state"] == state
    assert review.error == ("" if approve else "review rejected")


PROMOTION = """Promote ghcr.io/acme/web:{build} to {env}

Conveyor-Image: ghcr.io/acme/web:{build}
Conveyor-Environment: {env}
Conveyor-Source-Commit: {source}
"""


def test_a_pushed_promotion_commit_is_a_span_of_its_builds_trace(
    service: CIService, tmp_path: Path, trace_sink: ListSink
) -> None:
    """A hosted config repo's push: each commit `conveyor promote` wrote becomes
    `promotion <env>` under the root of the build its trailer names; other commits, and a
    trailer that is no SHA, add nothing."""
    bare = service.create_repo("acme/config")
    work = init(tmp_path / "config")

    def commit(message: str) -> str:
        git(work, "commit", "-q", "--allow-empty", "-m", message)
        return git(work, "rev-parse", "HEAD")

    def push(before: str, received: float) -> None:
        _hand_over(service, "acme/config", work, bare, before=before, received=received)

    first = commit(PROMOTION.format(build="1.0", env="dev", source="a" * 40))
    push("0" * 40, time.time() - 1.0)  # a new branch: its head alone
    staging = commit(PROMOTION.format(build="1.0", env="staging", source="a" * 40))
    commit("a hand edit\n\nSigned-off-by: t <t@e>")
    commit(PROMOTION.format(build="2.0", env="dev", source="not-a-sha"))
    prod = commit(PROMOTION.format(build="1.0", env="prod", source="a" * 40))
    pushed = time.time() - 0.5
    push(first, pushed)

    spans = [s for s in trace_sink.spans if s.name.startswith("promotion ")]
    assert [s.name for s in spans] == ["promotion dev", "promotion prod", "promotion staging"]
    root = tracing.commit_trace("a" * 40)
    assert all(s.ref.trace_id == root.trace_id and s.parent_id == root.span_id for s in spans)
    assert [s.attributes["conveyor.revision"] for s in spans] == [first, prod, staging]
    assert spans[1].attributes["conveyor.environment"] == "prod"
    assert spans[1].attributes["container.image.name"] == "ghcr.io/acme/web:1.0"
    assert spans[1].attributes["vcs.repository.name"] == "acme/config"
    assert spans[1].start_ns == int(pushed * 1e9) <= spans[1].end_ns
    assert len({s.ref.span_id for s in spans}) == 3


def test_without_tracing_a_push_reads_no_commit_for_promotions(
    service: CIService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object, **kwargs: object) -> list[tuple[str, str]]:
        raise AssertionError("the push's commits were read with tracing off")

    monkeypatch.setattr(newruns, "pushed_commits", refused)
    _push(service, tmp_path, time.time())
