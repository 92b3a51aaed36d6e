"""The registered children of apps of apps, kept in the store across restarts (issue 14).

`Children` lives in memory; this writes its registered children (each with the document
it was read from) to one store setting when they change, and reads them back when a
`Reconciler` starts, so a child runs before its parent renders again and one the parent
stopped rendering while Conveyor was down is still removed. Called by
`reconcile.reconciler`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from conveyor.core.errors import UserError
from conveyor.reconcile.applications import parse_document
from conveyor.reconcile.children import Child, Children
from conveyor.store import Store

log = logging.getLogger(__name__)
SETTING = "app-of-apps"


class ChildStore:
    """Reads and writes one `Children` registry to the store setting `app-of-apps`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._saved = ""

    def restore(self) -> Children:
        """The children registered before a restart; an entry that no longer parses is
        logged and left out (its parent registers it again when it renders)."""
        registry = Children()
        text = self.store.setting(SETTING) or ""
        self._saved = text
        for parent, entry in (json.loads(text) if text else {}).items():
            kids = {}
            for name, item in (entry.get("children") or {}).items():
                try:
                    app = parse_document(json.loads(item["document"]), item["file"])
                except (UserError, ValueError, KeyError) as exc:
                    log.warning(
                        "app %s: child %s not restored (%s); its parent "
                        "registers it again when it renders",
                        parent,
                        name,
                        exc,
                    )
                    continue
                kids[name] = Child(app=replace(app, parent=parent), document=item["document"])
            registry.adopt(parent, tuple(entry.get("finalizers") or ()), kids)
        return registry

    def save(self, registry: Children) -> None:
        """Write the registered children when they changed since the last write."""
        data: dict[str, Any] = {
            parent: {
                "finalizers": list(finalizers),
                "children": {
                    n: {"file": c.app.file, "document": c.document} for n, c in kids.items()
                },
            }
            for parent, (finalizers, kids) in registry.entries().items()
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        if text != self._saved:
            self.store.set_setting(SETTING, text)
            self._saved = text
