"""Pure pieces of the built-ins, table-driven: metadata tags, cache lookup and eviction,
toolchain version specs, Docker durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.workflow.run.actions.builtins.cache_store import CacheStore, Entry, match, scopes
from conveyor.workflow.run.actions.builtins.metadata import sanitize, tags_for
from conveyor.workflow.run.actions.builtins.toolchain import matches
from conveyor.workflow.run.containers import seconds

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("rules", "ref", "event", "pr", "want"),
    [
        (["type=ref,event=branch"], "refs/heads/main", "push", "", ["main"]),
        (["type=ref,event=branch"], "refs/heads/feat/x", "push", "", ["feat-x"]),
        (["type=ref,event=branch"], "refs/tags/v1.2.3", "push", "", []),
        (["type=ref,event=tag"], "refs/tags/v1.2.3", "push", "", ["v1.2.3"]),
        (["type=ref,event=pr"], "refs/pull/7/merge", "pull_request", "7", ["pr-7"]),
        (["type=semver,pattern={{version}}"], "refs/tags/v1.2.3", "push", "", ["1.2.3"]),
        (["type=semver,pattern={{major}}.{{minor}}"], "refs/tags/v1.2.3", "push", "", ["1.2"]),
        (["type=semver,pattern={{major}}.{{minor}}"], "refs/tags/v1.2.3-rc.1", "push", "", []),
        (["type=semver,pattern={{version}}"], "refs/tags/v1.2.3-rc.1", "push", "", ["1.2.3-rc.1"]),
        (["type=semver,pattern={{version}}"], "refs/heads/main", "push", "", []),
        (["type=sha"], "refs/heads/main", "push", "", ["sha-0123456"]),
        (["type=sha,format=long,prefix="], "refs/heads/main", "push", "", [SHA]),
        (["type=raw,value=edge", "type=raw,value=edge"], "refs/heads/main", "push", "", ["edge"]),
        (["type=raw,value=x,enable=false"], "refs/heads/main", "push", "", []),
        (
            ["type=ref,event=branch,prefix=br-,suffix=-1"],
            "refs/heads/dev",
            "push",
            "",
            ["br-dev-1"],
        ),
    ],
)
def test_metadata_tag_rules(
    rules: list[str], ref: str, event: str, pr: str, want: list[str]
) -> None:
    assert tags_for(rules, ref=ref, sha=SHA, event=event, pr=pr) == want


def test_sanitize_ref_names() -> None:
    assert sanitize("feature/ABC_1.2") == "feature-ABC_1.2"


def _entry(key: str, scope: str, created: float, version: str = "v") -> Entry:
    return Entry(
        key=key,
        version=version,
        scope=scope,
        created=created,
        last_used=created,
        size=1,
        file=key,
    )


ENTRIES = [
    _entry("deps-a", "acme/app:refs/heads/main", 1),
    _entry("deps-b", "acme/app:refs/heads/main", 2),
    _entry("deps-c", "acme/app:refs/heads/sib", 3),
    _entry("deps-d", "acme/app:refs/heads/feat", 0.5),
    _entry("other", "acme/app:refs/heads/main", 9, version="w"),
    _entry("deps-z", "evil/repo:refs/heads/main", 99),
]


@pytest.mark.parametrize(
    ("keys", "scope", "want"),
    [
        (["deps-a"], "refs/heads/main", "deps-a"),  # exact beats newer prefix matches
        (["deps-", "x"], "refs/heads/main", "deps-b"),  # prefix: newest wins
        (["nope", "deps-"], "refs/heads/main", "deps-b"),  # restore-keys in order
        (["deps-c"], "refs/heads/feat", None),  # never a sibling branch's cache ...
        (["deps-c", "deps-"], "refs/heads/feat", "deps-d"),  # ... own ref first
        (["deps-x", "deps-b"], "refs/heads/other", "deps-b"),  # default-branch fallback
        (["other"], "refs/heads/main", None),  # another `path` list (version) never matches
        (["deps-z", "deps-"], "refs/heads/main", "deps-b"),  # never another repository's
    ],
)
def test_cache_lookup(keys: list[str], scope: str, want: str | None) -> None:
    found = match(
        ENTRIES, keys=keys, version="v", scopes=scopes(scope, "main", repository="acme/app")
    )
    assert (found.key if found else None) == want


def test_scopes_include_the_pull_request_base() -> None:
    assert scopes("refs/pull/3/merge", "main", "dev", repository="a/b") == [
        "a/b:refs/pull/3/merge",
        "a/b:refs/heads/dev",
        "a/b:refs/heads/main",
    ]


def test_cache_store_evicts_least_recently_used(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "cache", limit=250)
    for key in ("a", "b"):
        blob = tmp_path / f"{key}.tar"
        blob.write_bytes(b"x" * 100)
        assert store.save(key, "v", "refs/heads/main", blob)
    assert store.find(["a"], "v", ["refs/heads/main"]) is not None  # a is now the fresher
    blob = tmp_path / "c.tar"
    blob.write_bytes(b"x" * 100)
    store.save("c", "v", "refs/heads/main", blob)
    assert store.exists("a", "v", "refs/heads/main")
    assert not store.exists("b", "v", "refs/heads/main")
    again = tmp_path / "again.tar"
    again.write_bytes(b"y")
    assert not store.save("c", "v", "refs/heads/main", again)  # immutable


@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [
        ("3.11", (3, 11, 2), True),
        ("3.x", (3, 11, 2), True),
        ("3.12", (3, 11, 2), False),
        ("3.11.2", (3, 11, 2), True),
        (">=3.10", (3, 11, 2), True),
        (">=3.12", (3, 11, 2), False),
        ("20", (20, 20, 2), True),
        ("20.x", (20, 20, 2), True),
        ("v20", (20, 20, 2), True),
        ("22", (20, 20, 2), False),
        ("lts/*", (20, 20, 2), True),
        ("lts/iron", (20, 20, 2), False),
    ],
)
def test_toolchain_version_specs(spec: str, version: tuple[int, ...], ok: bool) -> None:
    assert matches(spec, version) is ok


@pytest.mark.parametrize(
    ("text", "want"),
    [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("", 30.0), ("2h", 7200.0)],
)
def test_docker_durations(text: str, want: float) -> None:
    assert seconds(text, 30.0) == want
