"""Issue 17's done-when: the demo tour produces one trace whose spans cover every stage,
with durations that add up to the commit-to-serving time. Real `conveyor up` (server with
its job-user runner processes, the reconciler on real Podman) exporting over OTLP/HTTP to
an in-process receiver (`tests.observability.otlp`); the tour pushes a commit and takes it
through the whole demo tour (`conveyor demo`: dev, staging, the prod approval, prod
serving it, a killed container healed, a rollback by revert).

Checked: every span of the commit shares the trace id derived from its SHA, each under its
own id; the server's (queued, run, the root, each promotion commit pushed to the hosted
config repo, naming the revision its environment's deploy synced), the runners' (jobs,
steps, image build and push: recorded in the job processes and relayed by the server) and
the reconciler's (deploy, reconcile, sync, rollout per environment) spans are parented as
designed; `queued` + `run` tile the root, `reconcile` + `sync` + `rollout` tile each
deploy; the root lasts as long as the tour measured from `git push` to prod serving
(within the tour's polling), and so does the critical path queued + CI until prod's
promotion + hand-over + prod's reconcile, sync and rollout; the rollback's revert and the
healing add no deploy to the trace; the server's log carries the trace id. Uses the demo's
fixed NodePorts 30081-30083.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.app.cmd_demo import run_tour
from conveyor.app.tour import Tour
from conveyor.app.uplaunch import UpProcess
from conveyor.core.tracing import commit_trace
from tests.e2e.demoup import demo_up
from tests.observability.otlp import Receiver, Span

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
APPS = ("demo-dev", "demo-staging", "demo-prod")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as found:
        yield found


@pytest.fixture
def up(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[UpProcess]:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")  # export within 0.2 s
    with demo_up(tmp_path) as runner:
        yield runner


def _one(spans: list[Span], name: str) -> Span:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{name}: {[s.name for s in spans]}"
    return found[0]


def _stages(spans: list[Span], parent: Span) -> list[Span]:
    return sorted((s for s in spans if s.parent_id == parent.span_id), key=lambda s: s.start_ns)


def _complete(spans: list[Span], sha: str) -> bool:
    names = {s.name for s in spans}
    return f"commit {sha[:12]}" in names and {f"deploy {a}" for a in APPS} <= names


def test_tour_is_one_trace_whose_stages_add_up(up: UpProcess, receiver: Receiver) -> None:
    info = up.start()
    tour = Tour(info, timeout=120)
    try:
        for env in ("dev", "staging", "prod"):
            tour.wait_served(env, "1.0.0")
        pushed = run_tour(tour)  # `conveyor demo`: to prod, self-healing, rollback
        run = tour.find_run(pushed.sha)
    finally:
        tour.close()
    assert run is not None
    # the tour's own clock: from `git push` to prod serving the build (Synced and Healthy)
    (served,) = [s for s in tour.steps if s.name == f"approved: prod serves {pushed.version}"]
    measured = served.ended - pushed.push_started
    trace = f"{commit_trace(pushed.sha).trace_id:032x}"
    receiver.wait_for(lambda got: _complete(got, pushed.sha), timeout=30)
    time.sleep(1.0)  # the batch processors' next export (0.2 s): nothing more may come
    spans = receiver.snapshot()
    spans = [s for s in spans if s.trace_id == trace]
    by_id = {s.span_id: s for s in spans}
    assert len(by_id) == len(spans), "two spans of the trace share an id"
    root = _one(spans, f"commit {pushed.sha[:12]}")
    assert root.parent_id == ""
    queued, ci_run = (
        _one(spans, "queued"),
        _one(spans, f"run Application CI/CD #{run['run_number']}"),
    )
    assert queued.parent_id == ci_run.parent_id == root.span_id

    # the CI side: jobs under the run, steps under jobs, the image under its step
    jobs = [s for s in spans if s.name.startswith("job ")]
    assert {j.name for j in jobs} >= {"job call_build", "job deploy-dev", "job deploy-prod"}
    assert all(j.parent_id == ci_run.span_id for j in jobs)
    push = _one(spans, "image push")
    assert push.attributes["container.image.name"] == f"{info.registry}/demo/app:{pushed.sha}"
    step = by_id[push.parent_id]
    assert step.name == "step Build and push image"
    assert by_id[step.parent_id].name == "job call_build"
    promote = _one(spans, "step Promote staging to prod (approved through the prod environment)")
    assert by_id[promote.parent_id].name == "job deploy-prod"
    review = _one(spans, "review prod")  # the wait for the reviewer: no job covers it
    assert review.parent_id == ci_run.span_id
    assert review.attributes["conveyor.review.state"] == "approved"
    assert review.end_ns <= by_id[promote.parent_id].start_ns
    assert {s.resource["conveyor.component"] for s in spans} == {"server", "reconciler"}

    # the reconciler side: one deploy per environment, its stages tiling it
    for app in APPS:
        deploy = _one(spans, f"deploy {app}")
        assert deploy.parent_id == root.span_id
        assert deploy.attributes["vcs.ref.head.revision"] == pushed.sha
        stages = _stages(spans, deploy)
        assert [s.name for s in stages] == ["reconcile", "sync", "rollout"]
        assert abs(sum(s.seconds for s in stages) - deploy.seconds) < 0.001
    # each promotion commit, as the server received it, names the revision its deploy
    # synced: the hand-over from CI to the reconciler
    for env in ("dev", "staging", "prod"):
        promotion = _one(spans, f"promotion {env}")
        assert promotion.parent_id == root.span_id
        deployed = _one(spans, f"deploy demo-{env}").attributes["conveyor.revision"]
        assert promotion.attributes["conveyor.revision"] == deployed
    promotion = _one(spans, "promotion prod")
    assert promote.start_ns <= promotion.start_ns <= promotion.end_ns <= promote.end_ns + 5e8
    prod = _one(spans, "deploy demo-prod")
    assert promote.end_ns <= prod.start_ns + 2e9  # the reconciler took it up at once
    # the run's last step saw prod serve the build; the reconciler calls it healthy once
    # the old replicas drained, which may come a little later
    drain = (prod.end_ns - root.end_ns) / 1e9
    assert drain < 3.0

    # the stages add up to the commit-to-serving time
    assert abs(queued.seconds + ci_run.seconds - root.seconds) < 0.001
    assert queued.start_ns >= pushed.push_started * 1e9
    assert abs(root.seconds - measured) < 3.0, (root.seconds, measured)
    to_healthy = (prod.end_ns - root.start_ns) / 1e9
    assert abs(to_healthy - measured) < 3.0, (to_healthy, measured)
    for process in ("server", "reconciler"):  # trace ids in both processes' logs
        assert f"trace_id={trace}" in (up.state / "logs" / f"{process}.log").read_text()

    # the critical path to prod: queued, CI until prod's promotion was pushed, the hand-over
    # to the reconciler (negative: its pass began before the step's process ended), then
    # prod's reconcile, sync and rollout
    to_promoted = (promote.end_ns - ci_run.start_ns) / 1e9
    handover = (prod.start_ns - promote.end_ns) / 1e9
    path = [queued.seconds, to_promoted, handover, *(s.seconds for s in _stages(spans, prod))]
    assert abs(sum(path) - to_healthy) < 0.001
    assert abs(handover) < 2.0
    print(
        f"commit-to-serving {measured:.2f}s (tour); root {root.seconds:.2f}s = queued "
        f"{queued.seconds:.2f}s + run {ci_run.seconds:.2f}s; push to prod healthy "
        f"{to_healthy:.2f}s = " + " + ".join(f"{x:.2f}" for x in path) + " (queued, CI to "
        f"prod's promotion, hand-over, reconcile, sync, rollout); drain after the run "
        f"{drain:+.2f}s; "
        + "; ".join(
            f"{s.name} {s.seconds:.2f}s" for s in sorted(spans, key=lambda s: s.start_ns)
            if s.name.startswith(("job ", "deploy ", "image", "promotion "))
        )
    )  # fmt: skip
