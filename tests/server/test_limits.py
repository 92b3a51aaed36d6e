"""Body caps: which route class a path is in, and `--body-limit CLASS=SIZE` parsing."""

from __future__ import annotations

import pytest

from conveyor.server.limits import BodyClass, BodyLimits, MiB, body_class, parse_size


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/v1/repos", BodyClass.API),
        ("/api/v1/runner/poll", BodyClass.API),
        ("/api/v1/runner/runs/7/logs", BodyClass.LOGS),
        ("/api/v1/runner/runs/7/jobs", BodyClass.LOGS),
        ("/api/v1/runner/runs/7/complete", BodyClass.LOGS),
        ("/api/v1/runner/runs/7/artifacts/dist", BodyClass.ARTIFACTS),
        ("/git/acme/app.git/git-receive-pack", BodyClass.GIT),
        ("/hooks/github", BodyClass.WEBHOOK),
        ("/hooks/github/acme/app", BodyClass.WEBHOOK),
        ("/hooks/githubx", BodyClass.API),
    ],
)
def test_paths_fall_in_their_class(path: str, kind: BodyClass) -> None:
    assert body_class(path) is kind


@pytest.mark.parametrize(
    ("text", "size"),
    [("100", 100), ("64K", 65536), ("2M", 2 * MiB), ("1G", 1024 * MiB), ("3MiB", 3 * MiB)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_limits_parse_and_refuse_unknown_classes_and_sizes() -> None:
    limits = BodyLimits.parse(["git=1G", "api=64K"])
    assert (limits.git, limits.api, limits.logs) == (1024 * MiB, 65536, BodyLimits().logs)
    with pytest.raises(ValueError, match="unknown body class 'gti'"):
        BodyLimits.parse(["gti=1G"])
    with pytest.raises(ValueError, match="not a size"):
        BodyLimits.parse(["git=lots"])
