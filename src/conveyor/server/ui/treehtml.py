"""The resource tree of an application page as HTML, rendered in Python: an app of 1,000
objects has some 1,250 nodes, and a Jinja macro call per node and badge made that page
miss its second (issue 15; `bench/ui_app_tree.py`). This is an escaping renderer
(`pages` module docstring): every value from the reconciler passes through
`markupsafe.escape`; only the fixed markup here is trusted. Status badges come from the
`status` macro of `macros.html` (one call per distinct value), so colour and text stay
one rule.

Markup: nested `<ul class="tree">`; a node with children is `<details open>` whose
`<summary>` holds its line (keyboard: Tab to it, Enter or Space folds it), a leaf is a
`<span class="leaf">`. Objects and replicas link to the object page. Called by
`routes_apps`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

from conveyor.server.ui.apptree import Node
from conveyor.server.ui.pages import ENV


def render(roots: list[Node], *, app_url: str) -> Markup:
    """The tree under `roots`; links go to `app_url`/objects?ref=…"""
    macro = ENV.get_template("macros.html").module.status  # type: ignore[attr-defined]
    badges: dict[str, str] = {}

    def badge(value: str) -> str:
        if value not in badges:
            badges[value] = str(macro(value))
        return badges[value]

    out: list[str] = []
    _nodes(roots, out, badge, app_url)
    return Markup("".join(out))  # every value in it passed through escape()


def _nodes(nodes: list[Node], out: list[str], badge: Callable[[str], str], url: str) -> None:
    out.append('<ul class="tree">' if not out else "<ul>")
    for node in nodes:
        row = node.row
        out.append(f'<li class="node node-{escape(row.get("role", ""))}">')
        line = _line(row, badge, url)
        if node.children:
            out.append(f"<details open><summary>{line}</summary>")
            _nodes(node.children, out, badge, url)
            out.append("</details>")
        else:
            out.append(f'<span class="leaf">{line}</span>')
        out.append("</li>")
    out.append("</ul>")


def _line(row: Mapping[str, Any], badge: Callable[[str], str], url: str) -> str:
    parts = [f'<span class="node-kind">{escape(row.get("kind", ""))}</span> ']
    name = escape(row.get("name", ""))
    if row.get("ref"):
        href = f"{url}/objects?ref={urllib.parse.quote(str(row['ref']), safe='/')}"
        parts.append(f'<a href="{escape(href)}">{name}</a>')
    else:
        parts.append(f'<span class="node-name">{name}</span>')
    for key in ("sync", "health"):
        if row.get(key):
            parts.append(" " + badge(str(row[key])))
    if row.get("image"):
        parts.append(f' <span class="mono">{escape(row["image"])}</span>')
    restarts = int(row.get("restarts") or 0)
    if restarts:
        parts.append(
            f' <span class="muted">{restarts} restart{"s" if restarts != 1 else ""}</span>'
        )
    if row.get("role") == "replica":
        parts.append(' <span class="muted">replica</span>')
    if row.get("message"):
        parts.append(f' <span class="node-msg muted">{escape(row["message"])}</span>')
    return "".join(parts)
