"""GitHub's identifier rules for job and step ids, and the ids it generates for steps.

An id starts with a letter or `_`, continues with letters, digits, `_` and `-`, and is
shorter than 100 characters; step ids starting with `__` are reserved for generated ones
(`__run`, `__run_2`, `__actions_checkout`, `__alpine_latest`, `__self`). Case does not
make two step ids distinct.

Called by `jobs_check`, `steps_check` and `build_steps`. Pure.
"""

from __future__ import annotations

import re

MAX_LENGTH = 100
_VALID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def invalid_id_message(value: str) -> str | None:
    """GitHub's message when `value` cannot be an id, else None."""
    if not value or not _VALID.match(value) or len(value) >= MAX_LENGTH:
        return (
            f"The identifier '{value}' is invalid. IDs may only contain alphanumeric characters, "
            "'_', and '-'. IDs must start with a letter or '_' and and must be less than "
            f"{MAX_LENGTH} characters."
        )
    return None


class StepIds:
    """Known ids of one job's (or composite action's) steps; builds the generated ones."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def add_known(self, value: str) -> str | None:
        """Register a user id; GitHub's message when it is invalid, reserved or repeated."""
        message = invalid_id_message(value)
        if message:
            return message
        if value.startswith("__"):
            return f"The identifier '{value}' is invalid. IDs starting with '__' are reserved."
        if value.lower() in self._taken:
            return f"The identifier '{value}' may not be used more than once within the same scope."
        self._taken.add(value.lower())
        return None

    def generate(self, uses: str | None) -> str:
        """The id GitHub gives an anonymous step (`run` when `uses` is None)."""
        base = _segment("__" + (_action_part(uses) if uses is not None else "run") or "__run")
        for attempt in range(1, 1000):
            suffix = "" if attempt == 1 else f"_{attempt}"
            candidate = base[: MAX_LENGTH - len(suffix)] + suffix
            if candidate.lower() not in self._taken:
                self._taken.add(candidate.lower())
                return candidate
        raise ValueError("Unable to create a unique name")


def _action_part(uses: str) -> str:
    if uses.startswith("docker://"):
        return uses.removeprefix("docker://")
    if uses.startswith(("./", ".\\", "$/")):
        return "self"
    name, at, ref = uses.partition("@")
    if not at or "@" in ref:
        return "run"
    parts = [p for p in re.split(r"[\\/]", name) if p]
    if len(parts) >= 2 and ref:
        return f"{parts[0]}/{parts[1]}"
    return "run"


def _segment(value: str) -> str:
    chars = ["_"] if value[0].isdigit() or value[0] == "-" else []
    chars.extend(c if (c.isascii() and c.isalnum()) or c in "_-" else "_" for c in value)
    return "".join(chars)
