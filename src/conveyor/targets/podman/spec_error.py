"""`SpecError`: the pod template asks for something the target cannot do (pure).

Its own module so that `fields` (the name and path checks) and `spec` can both raise it.
"""

from __future__ import annotations


class SpecError(Exception):
    """The pod template asks for something the target cannot do; `path` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
