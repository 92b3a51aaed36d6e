"""The `operation` block of an app's status, built from a stored sync operation. Pure.

One function turns an `OperationRecord` into what the status shows, and the operation's
message is derived from its per-object results, which the store keeps. `steps.run_sync`
uses it for the sync it just finished and `restore.load_runtime` for the last one a
previous process finished, so a reloaded status says exactly what the live one said
(issue 11: a second `conveyor reconcile --once` printed `SyncFailed:` with no message,
because the reload wrote `""` where the message had been). `outcome` is the same
operation as the typed `Outcome` the status conditions are computed from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.reconcile.model import OperationState, Outcome, Reason, ResultCode
from conveyor.store import OperationRecord

_FAILED = (str(ResultCode.SYNC_FAILED), str(ResultCode.HOOK_FAILED))


def message(results: Sequence[Mapping[str, Any]]) -> str:
    """The first failure as `<object>: <message>`, else what was applied and pruned."""
    failures = [r for r in results if r.get("code") in _FAILED]
    if failures:
        first = failures[0]
        return f"{first.get('object', first.get('ref', '?'))}: {first.get('message', '')}"
    applied = sum(r.get("code") == ResultCode.SYNCED for r in results)
    pruned = sum(r.get("code") == ResultCode.PRUNED for r in results)
    return f"{applied} applied, {pruned} pruned"


def outcome(op: OperationRecord) -> Outcome:
    """A finished operation as an outcome: Succeeded, or SyncFailed with its first failure."""
    reason = Reason.SUCCEEDED if op.state == OperationState.SUCCEEDED else Reason.SYNC_FAILED
    return Outcome(reason=reason, message=message(op.results))


def view(op: OperationRecord) -> dict[str, Any]:
    """The status document's `operation` for a finished operation."""
    return {
        "id": op.id,
        "phase": op.state,
        "revision": op.revision,
        "digest": op.digest,
        "started": op.started,
        "finished": op.finished,
        "initiatedBy": op.initiated_by,
        "reason": op.reason,
        "message": message(op.results),
        "results": list(op.results),
    }
