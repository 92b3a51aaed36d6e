"""Admin pages (issue 15): tokens (list without secrets, create shown once, revoke with a
confirmation, your own signs you out), runners (online/offline, labels, current job),
environment protection rules (form → CIService.put_environment + audit) and the audit log
(newest first, paged); read and write users get 403."""

from __future__ import annotations

import re
import time
from pathlib import Path

from conveyor.server.auth import Role, digest
from tests.ci.helpers import poll_job
from tests.server.ui.conftest import UI
from tests.server.ui.deploy_seed import REPO, protect, waiting_run

NEW_TOKEN = re.compile(r'id="new-token"[^>]*value="(cvy_[^"]+)"')


def test_admin_pages_are_refused_to_read_and_write_users(ui: UI) -> None:
    for role in (Role.READ, Role.WRITE):
        user = ui.sign_in(role)
        for path in ("/admin", "/admin/tokens", "/admin/runners", "/admin/environments",
                     "/admin/audit"):  # fmt: skip
            reply = user.get(path)
            assert reply.status_code == 403, (role, path)
            assert "needs admin" in reply.text
        assert 'href="/admin"' not in user.get("/deployments").text  # no Admin in the nav


def test_a_new_token_is_shown_once_never_cached_and_signs_in(ui: UI) -> None:
    admin = ui.sign_in(Role.ADMIN, "root")
    reply = admin.post("/admin/tokens", {"name": "ci-bot", "role": "write", "expires_days": ""})
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    assert "Copy it now" in reply.text
    found = NEW_TOKEN.search(reply.text)
    assert found, reply.text
    token = found.group(1)
    principal = ui.state.auth.check(token)
    assert principal is not None and (principal.name, principal.role) == ("ci-bot", Role.WRITE)
    listing = admin.get("/admin/tokens").text
    assert "ci-bot" in listing and token not in listing and digest(token) not in listing
    [row] = [r for r in ui.state.auth.store.access.audit() if r["action"] == "token.create"]
    assert (row["actor"], row["target"]) == ("root", "ci-bot")
    assert row["detail"] == {"role": "write", "expires_in": None}


def test_the_token_list_shows_role_creator_and_expiry_but_no_secret(ui: UI) -> None:
    admin = ui.sign_in(Role.ADMIN, "root")
    before = time.time()
    admin.post("/admin/tokens", {"name": "short-lived", "role": "read", "expires_days": "2"})
    [meta] = [t for t in ui.state.auth.store.access.tokens() if t["name"] == "short-lived"]
    assert before + 2 * 86400 - 5 < meta["expires"] < time.time() + 2 * 86400 + 5
    html = admin.get("/admin/tokens").text
    row = html[html.index("<td>short-lived") :].split("</tr>")[0]
    assert "<td>read</td>" in row and "<td>root</td>" in row
    assert time.strftime("%Y-%m-%d", time.gmtime(meta["expires"])) in row
    assert "cvy_" not in html


def test_the_token_form_refuses_bad_input_with_the_reason(ui: UI) -> None:
    admin = ui.sign_in(Role.ADMIN, "root")
    cases = [
        ({"name": "", "role": "read"}, 400, "needs a name"),
        ({"name": "two words", "role": "read"}, 400, "no spaces or commas"),
        ({"name": "r", "role": "runner"}, 400, "must be one of read, write, admin"),
        ({"name": "r", "role": "read", "expires_days": "-1"}, 400, "positive number of days"),
        ({"name": "r", "role": "read", "expires_days": "soon"}, 400, "number of days"),
        ({"name": "root", "role": "read"}, 409, "a token named &#39;root&#39; exists"),
    ]
    for form, status, reason in cases:
        reply = admin.post("/admin/tokens", form)
        assert (reply.status_code, reason in reply.text) == (status, True), (form, reply.text)
        assert NEW_TOKEN.search(reply.text) is None
    assert [t["name"] for t in ui.state.auth.store.access.tokens()] == ["admin", "root"]


def test_revoking_asks_first_then_ends_the_tokens_sessions_and_audits(ui: UI) -> None:
    admin = ui.sign_in(Role.ADMIN, "root")
    victim = ui.sign_in(Role.WRITE, "dave")
    confirm = admin.get("/admin/tokens/revoke?name=dave")
    assert confirm.status_code == 200
    assert 'name="name" value="dave"' in confirm.text and "signs you out" not in confirm.text
    assert ui.state.auth.check(victim.token) is not None  # asking revoked nothing
    reply = admin.post("/admin/tokens/revoke", {"name": "dave"})
    assert (reply.status_code, reply.headers["location"]) == (303, "/admin/tokens?revoked=dave")
    assert "Token dave revoked" in admin.get(reply.headers["location"]).text
    assert ui.state.auth.check(victim.token) is None
    assert victim.get("/deployments").headers["location"].startswith("/login")
    actions = [(r["actor"], r["action"], r["target"]) for r in ui.state.auth.store.access.audit()]
    assert ("root", "token.revoke", "dave") in actions
    assert admin.post("/admin/tokens/revoke", {"name": "dave"}).status_code == 404
    assert admin.get("/admin/tokens/revoke?name=dave").status_code == 404


def test_revoking_your_own_token_warns_and_signs_you_out(ui: UI) -> None:
    admin = ui.sign_in(Role.ADMIN, "root")
    confirm = admin.get("/admin/tokens/revoke?name=root").text
    assert "This is the token you signed in with" in confirm
    reply = admin.post("/admin/tokens/revoke", {"name": "root"})
    assert (reply.status_code, reply.headers["location"]) == (303, "/login")
    assert admin.get("/admin").headers["location"].startswith("/login")


def test_runners_show_status_labels_and_current_job(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    ui.state.auth.register_runner("remote-1", labels=["gpu", "linux"], scope="org:acme", by="t")
    protect(service, reviewers=["alice"])
    service.create_repo(REPO)
    run_id = waiting_run(service, tmp_path)  # local-1 ran its build, polled: online
    service.decide(run_id, "production", user="alice", admin=False, approve=True)
    deploy = poll_job(service, "local-1", "ubuntu-latest")  # local-1 now runs the deploy
    assert deploy is not None
    html = ui.sign_in(Role.ADMIN, "root").get("/admin/runners").text
    local = html[html.index("<td>local-1</td>") :].split("</tr>")[0]
    assert "online" in local and "<code>ubuntu-latest</code>" in local
    assert f'<a href="/runs/{run_id}">#{run_id} deploy</a>' in local
    assert "not registered (local)" in local
    remote = html[html.index("<td>remote-1</td>") :].split("</tr>")[0]
    assert "offline" in remote and "never seen" in remote and "idle" in remote
    assert "<code>gpu</code> <code>linux</code>" in remote and "org:acme" in remote
    assert "st-online" in local and "st-offline" in remote  # colour as well as text


def test_the_rules_form_saves_through_the_service_and_audits(ui: UI) -> None:
    ui.state.service.create_repo(REPO)
    ui.state.auth.issue("alice", Role.WRITE)
    admin = ui.sign_in(Role.ADMIN, "root")
    form = {"repo": "acme/app", "name": "staging", "reviewers": "alice, bob  alice",
            "wait_timer": "30", "branches": "main,release/*"}  # fmt: skip
    reply = admin.post("/admin/environments", form)
    assert reply.status_code == 303
    rules = ui.state.service.store.config.environment(REPO, "staging")
    assert rules is not None
    assert (rules["reviewers"], rules["wait_timer"], rules["branches"]) == (
        ["alice", "bob"], 30.0, ["main", "release/*"],
    )  # fmt: skip
    [row] = [r for r in ui.state.auth.store.access.audit() if r["action"] == "environment.put"]
    assert (row["actor"], row["target"]) == ("root", "acme/app:staging")
    assert row["detail"] == {"reviewers": ["alice", "bob"], "wait_timer": 30.0,
                             "branches": ["main", "release/*"]}  # fmt: skip
    page = admin.get(reply.headers["location"]).text
    assert "Saved the rules of acme/app · staging" in page
    assert 'value="alice, bob"' in page  # the form shows the rules saved
    assert "No token is named bob" in page


def test_the_rules_form_refuses_bad_input_and_saves_nothing(ui: UI) -> None:
    admin = ui.sign_in(Role.ADMIN, "root")
    cases = [
        ({"repo": "app", "name": "prod"}, "owner/name"),
        ({"repo": "acme/app", "name": ""}, "needs a name"),
        ({"repo": "acme/app", "name": "prod", "wait_timer": "-5"}, "0 or more seconds"),
        ({"repo": "acme/app", "name": "prod", "wait_timer": "later"}, "number of seconds"),
    ]
    for form, reason in cases:
        reply = admin.post("/admin/environments", form)
        assert reply.status_code == 400 and reason in reply.text, form
    assert ui.state.service.store.config.environments(REPO) == []
    assert not ui.state.auth.store.access.audit()


def test_the_audit_log_is_newest_first_and_paged(ui: UI) -> None:
    access = ui.state.auth.store.access
    for n in range(1, 61):
        access.add_audit(actor="root", action="variable.put", target=f"repo:acme/app/V{n:02}")
    admin = ui.sign_in(Role.ADMIN, "root")
    first = admin.get("/admin/audit").text
    targets = re.findall(r"repo:acme/app/V(\d\d)", first)
    assert targets[0] == "60" and targets[49] == "11" and len(targets) == 50
    assert "Page 1 of 2" in first and 'href="/admin/audit?page=2"' in first
    second = re.findall(r"repo:acme/app/V(\d\d)", admin.get("/admin/audit?page=2").text)
    assert second == [f"{n:02}" for n in range(10, 0, -1)]
    assert (
        re.findall(r"repo:acme/app/V(\d\d)", admin.get("/admin/audit?page=9").text) == second
    )  # the last
