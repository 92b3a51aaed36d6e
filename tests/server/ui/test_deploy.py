"""The Deployments pages (issue 15): waiting reviews with Approve / Reject and a comment
for the environment's reviewers (and admins) only, the service's refusals as HTML pages,
recent decisions, environments with their latest deployment, and an environment's page
with its rules and history newest first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conveyor.ci.settings import may_review
from conveyor.server.auth import Role
from tests.ci.helpers import unit_states
from tests.server.ui.conftest import UI
from tests.server.ui.deploy_seed import REPO, finish_deploy, protect, waiting_run

DECIDE_FORM = re.compile(r'<form method="post" action="/deployments/decide".*?</form>', re.S)


@pytest.mark.parametrize(
    ("reviewers", "user", "admin", "allowed"),
    [
        (["alice"], "alice", False, True),
        (["alice"], "bob", False, False),
        (["alice"], "bob", True, True),
        ([], "bob", False, True),
        (["alice", "bob"], "Alice", False, False),  # names are exact
    ],
)
def test_who_may_review_is_one_rule_for_the_service_and_the_page(
    reviewers: list[str], user: str, admin: bool, allowed: bool
) -> None:
    assert may_review(reviewers, user, admin=admin) is allowed


def test_a_reviewer_sees_the_waiting_deployment_with_approve_and_reject(
    ui: UI, tmp_path: Path
) -> None:
    protect(ui.state.service, reviewers=["alice", "bob"])
    run_id = waiting_run(ui.state.service, tmp_path)
    run = ui.state.service.store.run(run_id)
    assert run is not None
    html = ui.sign_in(Role.WRITE, "alice").get("/deployments").text
    assert f'href="/runs/{run_id}"' in html
    for fact in (REPO, "Deploy", "production", "main", run["sha"][:7], "alice, bob"):
        assert fact in html, fact
    assert run["actor"] and run["actor"] in html
    [form] = DECIDE_FORM.findall(html)
    assert 'name="comment"' in form and f'name="run_id" value="{run_id}"' in form
    assert 'name="decision" value="approve"' in form and 'name="decision" value="reject"' in form


def test_a_writer_who_is_not_a_reviewer_sees_whom_it_waits_for(ui: UI, tmp_path: Path) -> None:
    protect(ui.state.service, reviewers=["alice", "bob"])
    waiting_run(ui.state.service, tmp_path)
    html = ui.sign_in(Role.WRITE, "carol").get("/deployments").text
    assert not DECIDE_FORM.findall(html)
    assert "Waiting for: alice, bob" in html


def test_a_reader_listed_as_reviewer_still_gets_no_form(ui: UI, tmp_path: Path) -> None:
    """Deciding is a write action (as in the API): a read token named as a reviewer sees
    the review but no buttons."""
    protect(ui.state.service, reviewers=["alice"])
    run_id = waiting_run(ui.state.service, tmp_path)
    html = ui.sign_in(Role.READ, "alice").get("/deployments").text
    assert f'href="/runs/{run_id}"' in html
    assert not DECIDE_FORM.findall(html)


def test_an_admin_may_decide_any_review(ui: UI, tmp_path: Path) -> None:
    protect(ui.state.service, reviewers=["alice"])
    waiting_run(ui.state.service, tmp_path)
    admin = ui.sign_in(Role.ADMIN, "root")
    assert len(DECIDE_FORM.findall(admin.get("/deployments").text)) == 1


def test_approving_queues_the_deploy_and_the_page_says_so(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    protect(service, reviewers=["alice"])
    run_id = waiting_run(service, tmp_path)
    alice = ui.sign_in(Role.WRITE, "alice")
    reply = alice.post(
        "/deployments/decide",
        {"run_id": str(run_id), "environment": "production", "decision": "approve",
         "comment": "ship it"},
    )  # fmt: skip
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/deployments?done=approved")
    assert unit_states(service, run_id)["deploy"] == ("queued", "")
    html = alice.get(reply.headers["location"]).text
    assert f"Run #{run_id}: production approved" in html
    assert "No deployment waits for a review." in html
    decided = html[html.index("Recent decisions") :]
    assert "approved" in decided and "alice" in decided and "ship it" in decided


def test_rejecting_fails_the_deploy_and_lists_the_decision(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    protect(service, reviewers=["alice"])
    run_id = waiting_run(service, tmp_path)
    alice = ui.sign_in(Role.WRITE, "alice")
    form = {"run_id": str(run_id), "environment": "production", "decision": "reject",
            "comment": "not today"}  # fmt: skip
    reply = alice.post("/deployments/decide", form)
    assert reply.status_code == 303
    assert unit_states(service, run_id)["deploy"] == ("completed", "failure")
    html = alice.get(reply.headers["location"]).text
    assert "production rejected" in html and "not today" in html


def test_a_non_reviewer_deciding_gets_403_with_the_services_reason(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    protect(service, reviewers=["alice"])
    run_id = waiting_run(service, tmp_path)
    form = {"run_id": str(run_id), "environment": "production", "decision": "approve"}
    reply = ui.sign_in(Role.WRITE, "bob").post("/deployments/decide", form)
    assert reply.status_code == 403
    assert "bob is not a required reviewer of production" in reply.text
    assert reply.headers["content-type"].startswith("text/html")
    assert [a["run_id"] for a in service.store.config.approvals(state="pending")] == [run_id]


def test_deciding_twice_is_a_conflict_page(ui: UI, tmp_path: Path) -> None:
    protect(ui.state.service, reviewers=["alice"])
    run_id = waiting_run(ui.state.service, tmp_path)
    alice = ui.sign_in(Role.WRITE, "alice")
    form = {"run_id": str(run_id), "environment": "production", "decision": "approve"}
    assert alice.post("/deployments/decide", form).status_code == 303
    again = alice.post("/deployments/decide", {**form, "decision": "reject"})
    assert again.status_code == 409
    assert "already approved" in again.text


def test_a_malformed_decision_is_refused_with_what_to_do(ui: UI) -> None:
    writer = ui.sign_in(Role.WRITE, "alice")
    cases = [
        ({"run_id": "abc", "environment": "p", "decision": "approve"}, "run number"),
        ({"run_id": "1", "environment": "", "decision": "approve"}, "names no environment"),
        ({"run_id": "1", "environment": "p", "decision": "maybe"}, "approve or reject"),
        ({"run_id": "1", "environment": "p", "decision": "approve", "comment": "x" * 2001},
         "keep it under"),
    ]  # fmt: skip
    for form, reason in cases:
        reply = writer.post("/deployments/decide", form)
        assert reply.status_code == 400 and reason in reply.text, form
    missing = writer.post(
        "/deployments/decide", {"run_id": "999", "environment": "p", "decision": "approve"}
    )
    assert missing.status_code == 404


def test_the_environment_page_shows_rules_and_history_newest_first(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    protect(service, reviewers=["alice"], branches=["main", "release/*"])
    first = waiting_run(service, tmp_path)
    service.decide(first, "production", user="alice", admin=False, approve=True)
    finish_deploy(service, first, url="https://prod.example/one")
    second = waiting_run(service, tmp_path)
    service.decide(second, "production", user="alice", admin=False, approve=True)
    finish_deploy(service, second, url="https://prod.example/two")
    service.put_environment(REPO, "production", reviewers=["alice"], wait_timer=90,
                            branches=["main", "release/*"])  # fmt: skip
    html = ui.sign_in(Role.READ).get("/deployments/acme/app/production").text
    assert "alice" in html and "1 min 30 s" in html
    assert "<code>main</code>" in html and "<code>release/*</code>" in html
    history = html[html.index("Deployments (2)") :]
    assert history.index(f'href="/runs/{second}"') < history.index(f'href="/runs/{first}"')
    assert '<a href="https://prod.example/two" rel="noreferrer noopener">' in history
    sha = service.store.run(second)["sha"]  # type: ignore[index]
    listing = ui.sign_in(Role.READ, "reader2").get("/deployments").text
    row = listing[listing.index('href="/deployments/acme/app/production"') :]
    assert sha[:7] in row[:600] and f'href="/runs/{second}"' in row[:600]


def test_the_environment_page_lists_its_waiting_review(ui: UI, tmp_path: Path) -> None:
    protect(ui.state.service, reviewers=["alice"])
    run_id = waiting_run(ui.state.service, tmp_path)
    html = ui.sign_in(Role.WRITE, "alice").get("/deployments/acme/app/production").text
    assert "Waiting for review" in html and len(DECIDE_FORM.findall(html)) == 1
    assert f'name="run_id" value="{run_id}"' in html
    assert "Nothing deployed here yet." in html


def test_an_unknown_environment_is_a_404_page(ui: UI) -> None:
    reply = ui.sign_in(Role.READ).get("/deployments/acme/app/nowhere")
    assert reply.status_code == 404
    assert "acme/app has no environment &#39;nowhere&#39;" in reply.text


def test_a_deployment_url_that_is_not_http_is_shown_but_never_linked(
    ui: UI, tmp_path: Path
) -> None:
    service = ui.state.service
    protect(service, reviewers=["alice"])
    run_id = waiting_run(service, tmp_path)
    service.decide(run_id, "production", user="alice", admin=False, approve=True)
    finish_deploy(service, run_id, url="javascript:alert(1)")
    html = ui.sign_in(Role.READ).get("/deployments/acme/app/production").text
    assert "javascript:alert(1)" in html
    assert 'href="javascript:' not in html
