"""What `conveyor demo` and `conveyor status` say runs in an environment
(`app.overview.images_by_spec`): during a rollout or a rollback the old spec's containers
drain beside the new ones, and the line names the current image apart from those, instead
of listing both as if either could be the one deployed."""

from __future__ import annotations

from typing import Any

from conveyor.app import cmd_status, overview

NEW, OLD = "127.0.0.1:5000/demo/app:4a1f", "127.0.0.1:5000/demo/app:seed"


def row(image: str, spec: str, created: int) -> dict[str, Any]:
    labels = {"conveyor.dev/spec-hash": spec, "conveyor.dev/namespace": "demo-prod"}
    return {"Image": image, "Labels": labels, "Created": created, "State": "running"}


def test_the_newest_containers_spec_is_current_and_older_ones_drain() -> None:
    rows = [row(OLD, "aaa", 100), row(NEW, "bbb", 200), row(OLD, "aaa", 101), row(NEW, "bbb", 201)]
    assert overview.images_by_spec(rows) == ((NEW,), (OLD,))
    assert overview.image_text((NEW,), (OLD,)) == f"{NEW} (draining {OLD})"


def test_a_rollback_makes_the_old_image_current_again() -> None:
    rows = [row(NEW, "bbb", 200), row(OLD, "aaa", 300)]
    assert overview.images_by_spec(rows) == ((OLD,), (NEW,))


def test_a_settled_environment_has_nothing_draining() -> None:
    rows = [row(NEW, "bbb", 200), row(NEW, "bbb", 250)]  # a replaced replica: same spec
    assert overview.images_by_spec(rows) == ((NEW,), ())
    assert overview.image_text((NEW,), ()) == NEW
    assert overview.images_by_spec([]) == ((), ())
    assert overview.image_text((), ()) == "-"


def test_status_shows_what_drains() -> None:
    env = {
        "env": "prod", "app": "demo-prod", "url": "http://127.0.0.1:30083", "sync": "Synced",
        "health": "Healthy", "revision": "274b9a38be1c", "message": "", "images": [NEW],
        "draining": [OLD], "running": 3, "served": "1.0.1",
    }  # fmt: skip
    facts = {"server": "http://127.0.0.1:8080", "registry": "127.0.0.1:5000", "runs": []}
    lines = cmd_status.render({**facts, "environments": [env]})
    [line] = [line for line in lines if line.strip().startswith("prod")]
    assert f"{NEW} (draining {OLD}) (3 running)" in line
