"""Which reconciler replica owns which application: rendezvous hashing over the members.

Pure: no I/O, no clock. `reconcile.membership` says who the live members are (the
replicas whose Leases have not expired); this module maps every application to one of
them so that

* every replica computes the same owner from the same member set (deterministic: a hash
  of the member's identity and the app's shard key, highest score wins);
* apps spread evenly over the members (each member's score is an independent uniform
  hash, so each gets ~1/n of the keys);
* a member that joins takes only the ~1/(n+1) keys it now wins, and a member that leaves
  gives only its own keys away: every other key keeps its owner (the property that lets
  `membership` hand over one member's apps without moving anyone else's).

Apps that must be reconciled by one process share a *shard key* (`shard_keys`): a child
app (app of apps) goes with its parent, which registers it, and `spec.dependsOn` links keep
an app with its dependencies, whose readiness the reconciler reads from its own run state.

Called by `reconcile.membership` (owner of a key) and `reconcile.reconciler` (shard keys of
its catalog); tested on its own in tests/reconcile/test_sharding.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AppLink:
    """What ties an app to others for sharding: its parent and what it depends on."""

    name: str
    parent: str | None = None
    depends_on: tuple[str, ...] = ()


def score(key: str, member: str) -> int:
    """The member's weight for `key`: a 64-bit BLAKE2b hash of both, stable across
    processes and Python versions (unlike `hash()`, which is salted per process)."""
    data = f"{member}\0{key}".encode()
    digest = hashlib.blake2b(data, digest_size=8, person=b"conveyor-shard")
    return int.from_bytes(digest.digest(), "big")


def owner(key: str, members: Sequence[str]) -> str | None:
    """The member that owns `key` (None when there are no members); ties, which need a
    64-bit collision, go to the smaller identity so every replica still agrees."""
    best: tuple[int, str] | None = None
    for member in members:
        candidate = (score(key, member), member)
        if best is None or candidate[0] > best[0] or (candidate[0] == best[0] and member < best[1]):
            best = candidate
    return None if best is None else best[1]


def assign(keys: Iterable[str], members: Sequence[str]) -> dict[str, str | None]:
    """Every key's owner among `members`."""
    unique = sorted(set(members))
    return {key: owner(key, unique) for key in keys}


def shard_keys(apps: Iterable[AppLink]) -> dict[str, str]:
    """Each app's shard key: the smallest name of the group its parent and `dependsOn`
    links connect it to (union-find), so linked apps land on one replica. A link to an app
    that is not defined still groups (the missing app's name is a key like any other)."""
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        root = name
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[name] != root:  # path compression
            parent[name], name = root, parent[name]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            parent[high] = low

    names = []
    for app in apps:
        names.append(app.name)
        find(app.name)
        for other in (*((app.parent,) if app.parent else ()), *app.depends_on):
            union(app.name, other)
    return {name: find(name) for name in names}
