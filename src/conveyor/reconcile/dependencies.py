"""`spec.dependsOn` between apps: the cycles that block them. Pure.

Called by `reconcile.reconciler` whenever its set of apps changes.
"""

from __future__ import annotations

import graphlib
from collections.abc import Sequence

from conveyor.reconcile.appmodel import Application


def dependency_cycles(apps: Sequence[Application]) -> dict[str, str]:
    """Apps that sit on a dependsOn cycle, with a message naming the cycle."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for app in apps:
        sorter.add(app.name, *app.depends_on)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        message = "dependsOn cycle: " + " → ".join(cycle) + " (remove one dependency)"
        return dict.fromkeys(cycle, message)
    return {}
