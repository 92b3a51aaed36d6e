"""Which runner may take which job (issue 12), as GitHub's runner registration and runner
groups decide it: a runner is registered once with a name, its labels and a scope — one
organisation (`org:<owner>`: every repository of that owner) or one repository
(`repo:<owner>/<name>`) — and the server matches jobs against those, never against
what the runner says when it polls. The local pool's runners are the server's own: scope
`ALL`, and names under `LOCAL_PREFIX`, which no registration may take.

Pure: called by `RunnerAPI.poll` (`covers`) and by the server's registration route
(`check_registration`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from conveyor.ci.errors import CIError

ALL = ""  # the local pool: every repository
LOCAL_PREFIX = "local-"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_OWNER = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_SCOPE = re.compile(rf"^(org:{_OWNER}|repo:{_OWNER}/{_OWNER})$")
_LABEL = re.compile(r"^[^\s,]{1,100}$")


def covers(scope: str, repo: str) -> bool:
    """Whether a runner of `scope` may take jobs of `repo` (`owner/name`)."""
    if scope == ALL:
        return True
    kind, _, value = scope.partition(":")
    if kind == "org":
        return repo.partition("/")[0] == value
    return kind == "repo" and repo == value


def check_registration(name: str, labels: Sequence[str], scope: str) -> None:
    """Refuse a registration Conveyor could not keep apart from another identity."""
    if not _NAME.match(name):
        raise CIError(f"invalid runner name {name!r}: letters, digits, '.', '_', '-' (≤ 64)")
    if name.startswith(LOCAL_PREFIX):
        raise CIError(f"runner names starting with {LOCAL_PREFIX!r} belong to the local pool")
    if not _SCOPE.match(scope):
        raise CIError(f"invalid scope {scope!r}: give org:<owner> or repo:<owner>/<name>")
    bad = [label for label in labels if not _LABEL.match(label)]
    if bad or not labels:
        raise CIError(f"invalid labels {bad or list(labels)!r}: one or more, no spaces or commas")
