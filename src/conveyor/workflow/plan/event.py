"""The `Event` value: what happened, as the plan and the run layer read it. Pure.

Built by `conveyor.workflow.events.synthesize` (from Git or a `-e` payload file); read by
`plan.filters` (does a workflow trigger), the run layer (the `github` context, `GITHUB_REF`,
`GITHUB_SHA`, `GITHUB_EVENT_PATH`) and the built-in checkout. `changed_files` may be a
`LazyPaths` whose loader runs one `git diff` the first time a path filter asks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

from conveyor.workflow.model import Raw

Payload = dict[str, Raw]


class LazyPaths(Sequence[str]):
    """Changed files computed on first use (one `git diff`), then remembered."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._paths: tuple[str, ...] | None = None

    def _get(self) -> tuple[str, ...]:
        if self._paths is None:
            self._paths = tuple(self._load())
        return self._paths

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __repr__(self) -> str:
        return f"LazyPaths({self._paths!r})" if self._paths is not None else "LazyPaths(<lazy>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What happened: `payload` is `github.event`; `repository` is `owner/name`.

    `changed_files` is None when the diff is unknown (GitHub then runs path-filtered
    workflows); `inputs` are the `--input` strings as given on the command line.
    """

    name: str
    payload: Payload = field(default_factory=dict)
    ref: str = ""
    sha: str = ""
    base_ref: str = ""
    head_ref: str = ""
    actor: str = ""
    repository: str = ""
    changed_files: Sequence[str] | None = field(default=None, compare=False)
    inputs: Mapping[str, str] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def repository_owner(self) -> str:
        return self.repository.partition("/")[0]
