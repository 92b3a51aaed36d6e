"""The pure parts of the Applications pages: side-by-side lining up, tree nesting from
depth-first rows, summaries and events."""

from __future__ import annotations

import pytest

from conveyor.server.ui import apptree, sidebyside, treehtml


def cells(rows: list[sidebyside.Row]) -> list[tuple[str, str, str, str] | int]:
    return [r.folded or (r.left.kind, r.left.text, r.right.kind, r.right.text) for r in rows]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("a\nb\n", "a\nc\n", [("same", "a", "same", "a"), ("del", "b", "add", "c")]),
        ("a\n", "a\nb\n", [("same", "a", "same", "a"), ("gap", "", "add", "b")]),
        ("a\nb\n", "b\n", [("del", "a", "gap", ""), ("same", "b", "same", "b")]),
        ("", "x\n", [("gap", "", "add", "x")]),
        ("x\n", "", [("del", "x", "gap", "")]),
    ],
    ids=["changed-line", "added-line", "removed-line", "created", "deleted"],
)
def test_lines_are_paired_side_by_side(before: str, after: str, expected: list[object]) -> None:
    assert cells(sidebyside.rows(before, after)) == expected


def test_long_unchanged_runs_fold_around_each_change() -> None:
    same = [f"line{i}" for i in range(20)]
    before = "\n".join([*same, "old", *same])
    after = "\n".join([*same, "new", *same])
    table = sidebyside.rows(before, after)
    assert [r.folded for r in table if r.folded] == [17, 17]
    changed = [r for r in table if r.left.kind == "del"]
    assert changed[0].left.number == 21 and changed[0].right.number == 21
    assert len(sidebyside.rows(before, after, context=None)) == 41


def test_depth_first_rows_nest_by_depth() -> None:
    rows = [
        {"name": "a", "depth": 0},
        {"name": "a1", "depth": 1},
        {"name": "a1x", "depth": 2},
        {"name": "a2", "depth": 1},
        {"name": "b", "depth": 0},
    ]

    def shape(nodes: list[apptree.Node]) -> list[object]:
        return [(n.row["name"], shape(n.children)) for n in nodes]

    assert shape(apptree.tree(rows)) == [
        ("a", [("a1", [("a1x", [])]), ("a2", [])]),
        ("b", []),
    ]


def test_the_tree_html_escapes_every_value_and_links_objects() -> None:
    rows = [
        {
            "depth": 0,
            "role": "object",
            "kind": "ConfigMap",
            "name": "<b>x</b>",
            "ref": "/ConfigMap/prod/<b>x</b>",
            "sync": "Synced",
            "health": "Healthy",
            "message": "<script>m</script>",
        },
        {
            "depth": 1,
            "role": "container",
            "kind": "Container",
            "name": "c",
            "ref": "",
            "image": '"><img src=x>',
        },
    ]
    html = str(treehtml.render(apptree.tree(rows), app_url="/apps/web"))
    assert "<b>" not in html and "<script>" not in html and "<img" not in html
    assert '<a href="/apps/web/objects?ref=/ConfigMap/prod/%3Cb%3Ex%3C/b%3E">' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "✓ Synced" in html
    assert html.startswith('<ul class="tree"><li class="node node-object"><details open>')


def test_conditions_needing_a_look_and_routine_results_counted() -> None:
    status = {
        "name": "web",
        "sync": {"status": "OutOfSync", "revision": "abc"},
        "health": {"status": "Healthy"},
        "conditions": [
            {"type": "Ready", "status": "False", "message": "out of sync"},
            {"type": "Reconciling", "status": "False"},
            {"type": "Stalled", "status": "True"},
        ],
        "operation": {
            "finished": 10.0,
            "results": [
                {"code": "Synced", "object": "a"},
                {"code": "Synced", "object": "b"},
                {"code": "SyncFailed", "object": "c", "message": "refused"},
            ],
        },
        "history": [{"id": 1, "finished": 5.0, "result": "Failed", "initiatedBy": "me"}],
    }
    summary = apptree.summary(status)
    assert (summary.attention, summary.last_sync, summary.message) == (2, 10.0, "out of sync")
    events = [(e.outcome, e.object, e.message) for e in apptree.events(status)]
    assert ("SyncFailed", "c", "refused") in events and ("Synced", "", "2 objects") in events
    assert events[-1][0] == "Failed"  # the history entry, oldest, last
