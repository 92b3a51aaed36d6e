"""What `conveyor demo` and `conveyor status` say runs in an environment
(`app.overview.images_by_spec`): during a rollout or a rollback the old spec's containers
drain beside the new ones, and the line names the current image apart from those, instead
of listing both as if either could be the one deployed. `conveyor status`'s line:
tests/e2e/test_commands.py."""

from __future__ import annotations

from typing import Any

from conveyor.app import overview

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
