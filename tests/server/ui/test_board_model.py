"""Which application deploys which stage (`boardmodel.serves`): by its source's repository
and path, never by its name; and an application's state read from a status document
recorded from a real reconciler (`recorded/reconciler_apps.json`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.promote.config import Stage
from conveyor.server.ui.boardmodel import app_state, serves

RECORDED = json.loads((Path(__file__).parent / "recorded" / "reconciler_apps.json").read_text())
DEV = Stage(name="dev", paths=("envs/dev",))


@pytest.mark.parametrize(
    ("url", "path", "deploys"),
    [
        ("http://127.0.0.1:8080/git/acme/config.git", "envs/dev", True),
        ("http://127.0.0.1:8080/git/acme/config", "./envs/dev/", True),
        ("/srv/conveyor/git/acme/config.git", "envs/dev", True),
        ("http://127.0.0.1:8080/git/acme/config.git", "envs/dev/overlay", True),  # within
        ("http://127.0.0.1:8080/git/acme/config.git", "envs", True),  # holds the stage
        ("http://127.0.0.1:8080/git/acme/config.git", "envs/development", False),
        ("http://127.0.0.1:8080/git/acme/config.git", "envs/staging", False),
        ("http://127.0.0.1:8080/git/other/acme/config-x.git", "envs/dev", False),
        ("http://127.0.0.1:8080/git/xacme/config.git", "envs/dev", False),
        ("http://127.0.0.1:8080/git/acme/config.git", "", False),  # the root is no stage
    ],
)
def test_an_application_deploys_a_stage_by_its_repository_and_path(
    url: str, path: str, deploys: bool
) -> None:
    doc = {"source": {"repoURL": url, "path": path}}
    assert serves(doc, "acme/config", DEV) is deploys


def test_one_of_several_sources_is_enough() -> None:
    doc = {
        "source": {"repoURL": "https://charts.example", "path": ""},
        "sources": [{"repoURL": "https://git.example/acme/config.git", "path": "envs/dev"}],
    }
    assert serves(doc, "acme/config", DEV)


def test_the_recorded_status_reads_as_sync_health_revision_and_why_not_ready() -> None:
    staging = app_state("web-staging", RECORDED["web-staging"])
    assert (staging.sync, staging.health) == ("Synced", "Degraded")
    assert "exceeded its progress deadline" in staging.message
    assert staging.revision == RECORDED["web-staging"]["sync"]["revision"]
    dev = app_state("web-dev", RECORDED["web-dev"])
    assert (dev.sync, dev.health, dev.message) == ("Synced", "Healthy", "")
    assert dev.images == ()  # this reconciler reports no images: read from the config repo


def test_images_the_reconciler_reports_are_read_as_strings_or_objects() -> None:
    doc = {**RECORDED["web-dev"], "images": ["a/b:1", {"image": "c/d:2"}, {"x": 1}, "a/b:1"]}
    assert app_state("web-dev", doc).images == ("a/b:1", "c/d:2")
