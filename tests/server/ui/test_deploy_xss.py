"""Text users and workflows control reaches the Deployments and Admin pages only escaped
(issue 15): environment, branch and workflow names from a pushed workflow, reviewer and
token names, a reviewer's comment, audit details. Payloads must come out inert."""

from __future__ import annotations

from pathlib import Path

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.deploy_seed import REPO, finish_deploy, protect, waiting_run

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"><script>alert(1)</script>'
BRANCH = '"><svg/onload=alert(1)>'  # a valid Git branch name (no spaces)
ENV = "<b onmouseover=alert(1)>prod"  # an environment name as a workflow may write it


def assert_inert(html: str, *payloads: str) -> None:
    for payload in payloads:
        assert payload not in html, payload
        assert (
            payload.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&#34;")
            in html
        ), payload
    assert "<script>alert" not in html and "onerror=alert(1)>" not in html


def test_names_from_a_workflow_and_a_comment_are_escaped_on_deployment_pages(
    ui: UI, tmp_path: Path
) -> None:
    service = ui.state.service
    protect(service, ENV, reviewers=["alice", IMG])
    run_id = waiting_run(service, tmp_path, environment=ENV, workflow=SCRIPT, branch=BRANCH)
    alice = ui.sign_in(Role.WRITE, "alice")
    assert_inert(alice.get("/deployments").text, ENV, IMG, SCRIPT, BRANCH)
    carol = ui.sign_in(Role.WRITE, "carol")  # "Waiting for: …" names the reviewers
    assert_inert(carol.get("/deployments").text, IMG)
    form = {"run_id": str(run_id), "environment": ENV, "decision": "approve", "comment": IMG}
    done = alice.post("/deployments/decide", form)
    assert done.status_code == 303
    assert_inert(alice.get(done.headers["location"]).text, ENV, IMG)  # flash and decisions
    finish_deploy(service, run_id, environment=ENV, url=f"https://x.test/{SCRIPT}")
    page = alice.get(f"/deployments/acme/app/{ENV}")
    assert page.status_code == 200
    assert_inert(page.text, ENV, IMG, SCRIPT)


def test_a_refusal_message_echoing_input_is_escaped(ui: UI) -> None:
    writer = ui.sign_in(Role.WRITE, "alice")
    reply = writer.post("/deployments/decide", {"run_id": IMG, "environment": "p"})
    assert reply.status_code == 400
    assert IMG not in reply.text and "&lt;img src=x" in reply.text
    missing = writer.get(f"/deployments/acme/app/{SCRIPT}")
    assert missing.status_code == 404
    assert "<script>alert" not in missing.text


def test_token_reviewer_and_environment_names_and_audit_details_are_escaped_on_admin_pages(
    ui: UI,
) -> None:
    service = ui.state.service
    service.create_repo(REPO)
    ui.state.auth.issue(IMG, Role.READ, by=SCRIPT)  # any name the API accepts
    admin = ui.sign_in(Role.ADMIN, "root")
    created = admin.post("/admin/tokens", {"name": SCRIPT, "role": "read"})
    assert created.status_code == 200
    assert_inert(created.text, SCRIPT)
    assert_inert(admin.get("/admin/tokens").text, IMG, SCRIPT)
    confirm = admin.client.get("/admin/tokens/revoke", params={"name": IMG})
    assert confirm.status_code == 200
    assert_inert(confirm.text, IMG, SCRIPT)
    rules = {"repo": REPO, "name": ENV, "reviewers": f"{SCRIPT} alice", "branches": BRANCH}
    saved = admin.post("/admin/environments", rules)
    assert saved.status_code == 303
    assert_inert(admin.get(saved.headers["location"]).text, ENV, SCRIPT, BRANCH)
    assert_inert(admin.get("/admin/environments").text, ENV, SCRIPT, BRANCH)
    refused = admin.post("/admin/environments", {**rules, "repo": IMG})
    assert refused.status_code == 400
    assert_inert(refused.text, IMG)
    ui.state.auth.store.access.add_audit(
        actor=IMG, action="variable.put", target=SCRIPT, detail={"note": IMG}
    )
    audit = admin.get("/admin/audit").text
    assert IMG not in audit and SCRIPT not in audit and "<script>alert" not in audit
    assert "&lt;img src=x onerror=alert(1)&gt;" in audit


def test_a_runners_labels_are_escaped(ui: UI) -> None:
    ui.state.auth.register_runner("r-1", labels=[IMG, SCRIPT], scope="org:acme", by="t")
    html = ui.sign_in(Role.ADMIN, "root").get("/admin/runners").text
    assert_inert(html, IMG, SCRIPT)
