"""A commit's journey (`GET /commits/{owner}/{repo}/{sha}`) over real data: the runs of the
commit (played by a runner through the CI service), the image its build job output, the
promotion commits the promoter wrote into the hosted config repository, and the review
prod needed (`CIService.decide`, with its comment)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conveyor.server.auth import Role
from tests.server.ui.boardworld import IMAGE, World
from tests.server.ui.conftest import UI


@pytest.fixture
def world(ui: UI, tmp_path: Path) -> World:
    return World(service=ui.state.service, tmp=tmp_path)


def _stage(html: str, env: str) -> str:
    found = re.search(rf'<li class="step" id="stage-{env}">(.*?)</dl>', html, re.S)
    assert found, html
    return found.group(1)


def test_the_journey_shows_runs_image_and_each_environment_with_links(ui: UI, world: World) -> None:
    world.seed_config()
    ui.state.service.put_environment("acme/web", "prod", reviewers=["rita"])
    sha, [run_id] = world.push_app("Faster checkout\n\nCaches the cart.", pusher="carol")
    image = f"{IMAGE}:{sha[:12]}"
    assert world.run_job(run_id, image=image) == "build"
    world.promote(sha, "dev", run_id=run_id)
    ui.state.service.decide(
        run_id, "prod", user="rita", admin=False, approve=True, comment="ship it"
    )
    world.promote(sha, "prod", run_id=run_id, who="Release Bot")
    page = ui.sign_in(Role.READ).get(f"/commits/acme/web/{sha}")
    assert page.status_code == 200
    html = page.text
    assert "Faster checkout" in html and "Caches the cart." in html and sha in html
    assert f'href="/runs/{run_id}"' in html and "Ship" in html and "carol" in html
    assert f"output image of job build (run #{run_id})" in html and image in html
    dev = _stage(html, "dev")
    assert "✓ running" not in dev  # no reconciler: it cannot be confirmed
    assert "declared" in dev and image in dev and f'href="/runs/{run_id}"' in dev
    assert "not promoted" in _stage(html, "staging")
    prod = _stage(html, "prod")
    assert "✓ approved" in prod and "by rita" in prod and "<q>ship it</q>" in prod
    assert "Release Bot" in prod
    assert "Application state is unavailable" in html
    steps = [html.index(f'id="stage-{e}"') for e in ("dev", "staging", "prod")]
    assert steps == sorted(steps)


def test_a_commit_waiting_for_review_says_so_with_a_link_to_deployments(
    ui: UI, world: World
) -> None:
    world.seed_config()
    ui.state.service.put_environment("acme/web", "prod", reviewers=["rita"])
    sha, [run_id] = world.push_app()
    world.run_job(run_id)
    prod = _stage(ui.sign_in(Role.READ).get(f"/commits/acme/web/{sha[:10]}").text, "prod")
    assert "‖ waits for approval" in prod and 'href="/deployments"' in prod


def test_a_later_promotion_marks_the_commit_replaced(ui: UI, world: World) -> None:
    world.seed_config()
    first, [run1] = world.push_app("one")
    world.promote(first, "dev", run_id=run1)
    second, [run2] = world.push_app("two")
    world.promote(second, "dev", run_id=run2)
    dev = _stage(ui.sign_in(Role.READ).get(f"/commits/acme/web/{first}").text, "dev")
    assert "replaced" in dev and second[:7] in dev


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/commits/acme/web/0123456789abcdef", "acme/web has no commit 0123456789abcdef"),
        ("/commits/acme/web/not-a-sha", "acme/web has no commit not-a-sha"),
        ("/commits/acme/nothing/0123456", "no hosted repository acme/nothing"),
    ],
)
def test_an_unknown_commit_or_repository_is_a_404_that_says_which(
    ui: UI, world: World, path: str, says: str
) -> None:
    world.push_app()
    page = ui.sign_in(Role.READ).get(path)
    assert page.status_code == 404 and says in page.text


def test_the_journey_needs_a_session(ui: UI, world: World) -> None:
    sha, _ = world.push_app()
    reply = ui.client().get(f"/commits/acme/web/{sha}")
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login")


def test_a_re_run_and_the_run_it_repeats_both_show_with_their_durations(
    ui: UI, world: World
) -> None:
    sha, [first] = world.push_app()
    world.run_job(first, "failure")
    again = ui.state.service.rerun(first)
    html = ui.sign_in(Role.READ).get(f"/commits/acme/web/{sha}").text
    assert f'href="/runs/{first}"' in html and f'href="/runs/{again}"' in html
    assert "✗ failure" in html and "attempt 2" in html
    assert html.index(f'href="/runs/{first}"') < html.index(f'href="/runs/{again}"')
