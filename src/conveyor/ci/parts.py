"""What `CIService`'s mixins (`RunnerAPI`, `Settings`, `ConcurrencyGroups`, `JobDispatch`,
`JobGroups`, `Recovery`, `Reruns`) may use of the service.

Declared once here for the type checker; `CIService` provides every member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    import threading

    from conveyor.ci.crypto import SecretBox
    from conveyor.store.ci_store import CIStore
    from conveyor.workflow.run.masking import Masker


class ServiceParts:
    """Base of the mixins: the shared state and helpers `CIService` defines."""

    if TYPE_CHECKING:  # provided by CIService
        store: CIStore
        box: SecretBox
        masker: Masker
        wake: asyncio.Event
        lock: threading.RLock

        def count(self, name: str) -> None: ...

        def _run(self, run_id: int) -> dict[str, Any]: ...

        def _status(self, run_id: int, state: str) -> None: ...

        def _conclude(
            self, run_id: int, conclusion: str, reason: str = "", *, logged: bool = False
        ) -> None: ...

        def _advance(self, run_id: int) -> None: ...
