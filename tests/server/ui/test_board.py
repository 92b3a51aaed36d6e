"""The pipeline board (`GET /`) over real data: runs started by pushes to a hosted app
repository, a hosted config repository with promotion commits written by the promoter,
reviews requested by protected environments; without a reconciler the board still shows
CI and says why application state is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conveyor.server.auth import Role
from tests.gitutil import commit, git
from tests.server.ui.boardworld import IMAGE, PROMOTION, World, deployment
from tests.server.ui.conftest import UI


@pytest.fixture
def world(ui: UI, tmp_path: Path) -> World:
    return World(service=ui.state.service, tmp=tmp_path)


def _section(html: str, env: str) -> str:
    found = re.search(rf'<li class="card stage" id="env-{env}">(.*?)</dl>', html, re.S)
    assert found, html
    return found.group(1)


def test_board_lists_each_repositorys_latest_runs_with_status_text_and_links(
    ui: UI, world: World
) -> None:
    sha, [run_id] = world.push_app("first", pusher="carol")
    world.run_job(run_id, "failure")
    page = ui.sign_in(Role.READ).get("/")
    assert page.status_code == 200
    assert "acme/web" in page.text
    assert f'href="/runs/{run_id}"' in page.text and "Ship" in page.text
    assert "✗ failure" in page.text  # colour class plus the word
    assert f'href="/commits/acme/web/{sha}"' in page.text and sha[:7] in page.text
    assert "carol" in page.text and ">main<" in page.text


def test_environments_follow_promotion_order_with_the_promoted_image_and_commit(
    ui: UI, world: World
) -> None:
    world.seed_config()
    sha, [run_id] = world.push_app("feature")
    world.promote(sha, "dev", run_id=run_id, who="Deploy Bot")
    html = ui.sign_in(Role.READ).get("/").text
    order = [html.index(f'id="env-{env}"') for env in ("dev", "staging", "prod")]
    assert order == sorted(order)
    dev = _section(html, "dev")
    assert f"{IMAGE}:{sha[:12]}" in dev
    assert f'href="/commits/acme/web/{sha}"' in dev
    assert ">Deploy Bot</span>" in dev and f'href="/runs/{run_id}"' in dev
    assert f"{IMAGE}:seed" in _section(html, "staging")
    assert "needs approval" in _section(html, "prod")


def test_a_pending_review_shows_on_its_environment_with_a_link_to_deployments(
    ui: UI, world: World
) -> None:
    world.seed_config()
    ui.state.service.put_environment("acme/web", "prod", reviewers=["rita"])
    sha, [run_id] = world.push_app()
    world.run_job(run_id)  # build; deploy-prod now waits for rita
    signed = ui.sign_in(Role.READ)
    prod = _section(signed.get("/").text, "prod")
    assert "‖ waits for approval" in prod
    assert f'href="/runs/{run_id}"' in prod and 'href="/deployments"' in prod
    assert sha[:7] in prod
    ui.state.service.decide(run_id, "prod", user="rita", admin=False, approve=True)
    assert "waits for approval" not in _section(signed.get("/").text, "prod")


def test_without_a_reconciler_the_board_shows_ci_and_says_why_apps_are_missing(
    ui: UI, world: World
) -> None:
    world.seed_config()
    _, [run_id] = world.push_app()
    html = ui.sign_in(Role.READ).get("/").text
    assert "Application state is unavailable" in html
    assert "this server knows no reconciler" in html and "--refresh-url" in html
    assert f'href="/runs/{run_id}"' in html
    assert "declared at the tip of acme/config" in _section(html, "dev")


def test_an_unreachable_reconciler_is_named_with_what_to_check(ui: UI, world: World) -> None:
    world.seed_config()
    ui.state.reconciler_url = "http://127.0.0.1:9"  # discard port: nothing answers
    html = ui.sign_in(Role.READ).get("/").text
    assert "Application state is unavailable" in html
    assert "did not answer" in html and "127.0.0.1:9" in html


def test_the_board_body_refreshes_through_htmx_and_the_page_works_without_it(
    ui: UI, world: World
) -> None:
    world.seed_config()
    signed = ui.sign_in(Role.READ)
    page = signed.get("/").text
    assert 'hx-get="/board/body"' in page and 'hx-trigger="every 3s"' in page
    body = signed.get("/board/body")
    assert body.status_code == 200 and "<html" not in body.text
    assert 'id="env-dev"' in body.text and 'id="env-dev"' in page


def test_an_invalid_promotion_yaml_is_reported_on_its_pipeline(ui: UI, world: World) -> None:
    world.seed_config({"promotion.yaml": "stages:\n  - name: dev\n"})
    html = ui.sign_in(Role.READ).get("/").text
    assert "promotion.yaml" in html and "has no paths" in html


def test_a_change_to_promotion_yaml_shows_on_the_next_refresh(ui: UI, world: World) -> None:
    world.seed_config()
    signed = ui.sign_in(Role.READ)
    assert 'id="env-qa"' not in signed.get("/board/body").text
    work = world.work[world.config_repo]
    stages = PROMOTION.replace(
        "  - name: staging", "  - name: qa\n    paths: [envs/qa]\n  - name: staging"
    )
    commit(
        work,
        "add qa",
        {"promotion.yaml": stages, "envs/qa/web.yaml": deployment("qa", f"{IMAGE}:qa")},
    )
    git(work, "push", "-q", str(ui.state.service.repo_path(world.config_repo)), "HEAD:main")
    body = signed.get("/board/body").text
    assert body.index('id="env-dev"') < body.index('id="env-qa"') < body.index('id="env-staging"')
    assert f"{IMAGE}:qa" in _section(body, "qa")


def test_after_a_revert_the_board_does_not_credit_the_reverted_promotion(
    ui: UI, world: World
) -> None:
    bare = world.seed_config()
    work = world.work[world.config_repo]
    seeded = git(work, "rev-parse", "HEAD")
    sha, [run_id] = world.push_app("feature")
    world.promote(sha, "dev", run_id=run_id)
    git(work, "pull", "-q", str(bare), "main")
    git(work, "checkout", seeded, "--", "envs/dev")
    commit(work, "Revert dev to the seed")
    git(work, "push", "-q", str(bare), "HEAD:main")
    dev = _section(ui.sign_in(Role.READ).get("/").text, "dev")
    assert f"{IMAGE}:seed" in dev
    assert f"{IMAGE}:{sha[:12]}" not in dev
    assert f'href="/commits/acme/web/{sha}"' not in dev  # the reverted promotion is not "running"
