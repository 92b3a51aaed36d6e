"""Which replica owns which app: deterministic, balanced, minimal movement (pure)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conveyor.reconcile.sharding import AppLink, assign, owner, shard_keys

APPS = [f"app-{i:04d}" for i in range(1000)]


def members(n: int) -> list[str]:
    return [f"conveyor-reconciler-{i}_{i * 7919:x}" for i in range(n)]


def test_owner_is_the_same_in_another_process_and_for_any_member_order() -> None:
    here = {key: owner(key, members(5)) for key in APPS[:50]}
    assert {key: owner(key, list(reversed(members(5)))) for key in APPS[:50]} == here
    code = (
        "import json; from conveyor.reconcile.sharding import owner; "
        f"print(json.dumps({{k: owner(k, {members(5)!r}) for k in {APPS[:50]!r}}}))"
    )
    # another interpreter with another hash seed computes the same owners
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout
    assert json.loads(out) == here


def test_no_members_own_nothing_and_one_member_owns_everything() -> None:
    assert owner("web", []) is None
    assert set(assign(APPS, ["only"]).values()) == {"only"}


@pytest.mark.parametrize("n", range(3, 11))
def test_a_thousand_apps_spread_evenly_over_three_to_ten_members(n: int) -> None:
    counts: dict[str | None, int] = dict.fromkeys(members(n), 0)
    for who in assign(APPS, members(n)).values():
        counts[who] += 1
    # an ideal share is 1000/n; a uniform hash stays within ~3 standard deviations
    assert min(counts.values()) > 0
    assert max(counts.values()) / min(counts.values()) < 1.6, counts


@pytest.mark.parametrize("n", [3, 5, 9])
def test_a_member_joining_takes_only_about_its_share(n: int) -> None:
    before = assign(APPS, members(n))
    after = assign(APPS, members(n + 1))
    moved = [key for key in APPS if before[key] != after[key]]
    newcomer = members(n + 1)[-1]
    assert all(after[key] == newcomer for key in moved)  # nobody else's apps moved
    assert abs(len(moved) - len(APPS) / (n + 1)) < 0.3 * len(APPS) / (n + 1)


@pytest.mark.parametrize("n", [3, 5, 10])
def test_a_member_leaving_hands_over_only_its_own_apps(n: int) -> None:
    before = assign(APPS, members(n))
    gone = members(n)[1]
    after = assign(APPS, [m for m in members(n) if m != gone])
    moved = {key for key in APPS if before[key] != after[key]}
    assert moved == {key for key in APPS if before[key] == gone}
    assert abs(len(moved) - len(APPS) / n) < 0.3 * len(APPS) / n


def test_children_and_dependencies_share_one_shard_key() -> None:
    keys = shard_keys(
        [
            AppLink("root"),
            AppLink("child-a", parent="root"),
            AppLink("child-b", parent="root"),
            AppLink("web", depends_on=("db",)),
            AppLink("db"),
            AppLink("api", depends_on=("web",)),
            AppLink("lonely"),
        ]
    )
    assert keys["child-a"] == keys["child-b"] == keys["root"] == "child-a"
    assert keys["web"] == keys["db"] == keys["api"] == "api"
    assert keys["lonely"] == "lonely"


def test_shard_keys_do_not_depend_on_the_order_apps_are_listed() -> None:
    apps = [AppLink("z", depends_on=("m",)), AppLink("m", parent="b"), AppLink("b"), AppLink("q")]
    assert shard_keys(apps) == shard_keys(list(reversed(apps)))
