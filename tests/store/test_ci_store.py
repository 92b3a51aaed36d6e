"""The CI stores on both dialects: every method's round trip, the values SQLite forgives and
PostgreSQL does not (NUL characters, Python booleans in integer columns, bytes), and the
writes that must stay atomic when several threads (or server processes) race on one row."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from tests.pg import Cluster

T = TypeVar("T")


def test_reopening_keeps_the_tables_and_rows(store: CIStore, database: str) -> None:
    """A restarted server opens the same database: CREATE TABLE IF NOT EXISTS, rows kept."""
    run_id = _run(store)
    again = CIStore(open_engine(database))
    assert again.run(run_id) is not None
    again.close()


def test_connections_the_server_dropped_are_replaced_not_failed(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """A PostgreSQL restart (or an idle timeout) closes pooled connections; the next
    request must get a fresh one instead of an error (pool_pre_ping)."""
    store = CIStore(open_engine(pg_url))
    store.access.add_token("d" * 64, name="admin", role="admin")
    pg_cluster.disconnect(pg_url.rsplit("/", 1)[1])
    assert store.access.token("d" * 64) is not None
    store.close()


def _race(count: int, action: Callable[[int], T]) -> list[T]:
    """Run `action(i)` in `count` threads released at once; their results in order."""
    barrier = threading.Barrier(count, timeout=60)

    def one(index: int) -> T:
        barrier.wait()
        return action(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _run(store: CIStore, repo: str = "acme/app", **values: object) -> int:
    base = {
        "repo": repo,
        "workflow_path": ".github/workflows/ci.yml",
        "workflow_name": "CI",
        "event": "push",
        "status": "queued",
        "created": 1.0,
    }
    return store.add_run({**base, **values})


def test_runs_round_trip_with_json_columns_and_numbering(store: CIStore) -> None:
    first = _run(store, payload={"ref": "refs/heads/main"}, labels=["ubuntu-latest"])
    second = _run(store, only_jobs=["build"])
    rerun = _run(store, rerun_of=first, run_number=1)
    other = _run(store, repo="acme/other")
    got = store.run(first)
    assert got is not None
    assert (got["payload"], got["labels"], got["only_jobs"]) == (
        {"ref": "refs/heads/main"},
        ["ubuntu-latest"],
        None,
    )
    numbers = {r["id"]: r["run_number"] for r in store.runs(limit=10)}
    assert numbers == {first: 1, second: 2, rerun: 1, other: 1}
    assert [r["id"] for r in store.runs(repo="acme/app")] == [rerun, second, first]
    store.update_run(second, status="completed", annotations=[{"line": 3}])
    assert [r["id"] for r in store.runs(status=["completed"])] == [second]
    assert store.run(second)["annotations"] == [{"line": 3}]  # type: ignore[index]
    assert store.run(10_000) is None


def test_concurrent_pushes_get_distinct_run_numbers(store: CIStore) -> None:
    """Counting then inserting in two statements hands two racing pushes one number."""
    ids = _race(6, lambda i: _run(store, repo="acme/busy"))
    numbers = sorted(store.run(i)["run_number"] for i in ids)  # type: ignore[index]
    assert numbers == [1, 2, 3, 4, 5, 6]


def test_python_booleans_are_stored_in_integer_flag_columns(store: CIStore) -> None:
    """SQLite takes True for an INTEGER; PostgreSQL rejects a boolean for an integer column."""
    run_id = _run(store, cancel_in_progress=True)
    store.update_run(run_id, cancel_in_progress=False)
    got = store.run(run_id)
    assert got is not None and got["cancel_in_progress"] == 0
    store.update_run(run_id, cancel_in_progress=True)
    got = store.run(run_id)
    assert got is not None and got["cancel_in_progress"] == 1


def test_nul_characters_in_logs_and_text_are_kept_readable(store: CIStore) -> None:
    """A step that prints binary output: PostgreSQL text cannot hold NUL, so it becomes U+FFFD
    on both dialects instead of failing the whole log batch there."""
    run_id = _run(store, reason="bad\x00reason")
    store.add_logs(run_id, [("build", "before\x00after"), ("build", "plain")])
    store.upsert_job(run_id, "build", status="completed", summary="sum\x00mary", steps=["\x00"])
    assert store.logs(run_id) == [("build", "before\ufffdafter"), ("build", "plain")]
    assert store.logs(run_id, job="other") == []
    (job,) = store.jobs(run_id)
    assert (job["summary"], job["steps"]) == ("sum\ufffdmary", ["\x00"])  # JSON keeps it escaped
    assert store.run(run_id)["reason"] == "bad\ufffdreason"  # type: ignore[index]


def test_jobs_are_upserted_by_run_and_name(store: CIStore) -> None:
    run_id = _run(store)
    store.upsert_job(run_id, "build", status="queued")
    store.upsert_job(run_id, "test", status="queued")
    store.upsert_job(run_id, "build", status="completed", outputs={"x": "1"})
    jobs = store.jobs(run_id)
    assert [(j["name"], j["status"], j["outputs"]) for j in jobs] == [
        ("build", "completed", {"x": "1"}),
        ("test", "queued", {}),
    ]


def test_claim_run_has_exactly_one_winner_among_racing_threads(store: CIStore) -> None:
    run_id = _run(store)
    won = _race(8, lambda i: store.claim_run(run_id, runner=f"r{i}", now=float(i)))
    assert won.count(True) == 1
    got = store.run(run_id)
    assert got is not None and got["status"] == "in_progress"
    assert got["runner"] == f"r{won.index(True)}"
    assert store.claim_run(run_id, runner="late", now=9.0) is False


def _unit(store: CIStore, run_id: int, job_id: str, **values: object) -> int:
    return store.add_unit({"run_id": run_id, "job_id": job_id, "status": "queued", **values})


def test_units_round_trip_and_guarded_updates(store: CIStore) -> None:
    run_id = _run(store)
    build = _unit(store, run_id, "build", labels=["ubuntu-latest"], matrix_filter=[["os", "a"]])
    test = _unit(store, run_id, "test", status="pending", cancel_in_progress=True)
    got = store.unit(build)
    assert got is not None and (got["labels"], got["matrix_filter"]) == (
        ["ubuntu-latest"],
        [["os", "a"]],
    )
    assert [u["id"] for u in store.units(run_id=run_id)] == [build, test]
    assert [u["id"] for u in store.units(status=["pending"])] == [test]
    assert store.update_unit(test, only_from=("pending",), status="queued") is True
    assert store.update_unit(test, only_from=("pending",), status="cancelled") is False
    assert store.update_unit(build, outputs={"x": "\x00"}, reason="r\x00") is True
    got = store.unit(build)
    assert got is not None and (got["outputs"], got["reason"]) == ({"x": "\x00"}, "r\ufffd")
    assert store.unit(10_000) is None


def test_claim_unit_has_exactly_one_winner_among_racing_threads(store: CIStore) -> None:
    unit_id = _unit(store, _run(store), "build")
    won = _race(8, lambda i: store.claim_unit(unit_id, runner=f"r{i}", now=float(i)))
    assert won.count(True) == 1
    got = store.unit(unit_id)
    assert got is not None and (got["status"], got["runner"]) == (
        "in_progress",
        f"r{won.index(True)}",
    )


def test_commit_statuses_replace_per_context_newest_last(store: CIStore) -> None:
    sha = "a" * 40
    store.set_status("acme/app", sha, "conveyor/CI", state="pending")
    store.set_status("acme/app", sha, "deployment/prod", state="pending", environment="prod")
    store.set_status("acme/app", sha, "conveyor/CI", state="success", description="done")
    got = [(s["context"], s["state"]) for s in store.statuses("acme/app", sha[:7])]
    assert got == [("deployment/prod", "pending"), ("conveyor/CI", "success")]
    assert len(store.statuses("acme/app", sha[:7].upper())) == 2  # as SQLite's LIKE did
    assert store.statuses("acme/app", "%") == []  # a prefix, not a pattern
    (ci,) = [s for s in store.statuses("acme/app", sha) if s["context"] == "conveyor/CI"]
    assert (ci["description"], ci["environment"]) == ("done", "")
    assert store.statuses("acme/app", "b" * 40) == []


def test_racing_writes_of_one_key_all_succeed_and_leave_one_row(store: CIStore) -> None:
    """Delete-then-insert races on PostgreSQL (both deletes see no row, the second insert
    violates the key); every keyed write must be one atomic statement."""
    sha = "c" * 40
    _race(6, lambda i: store.set_status("acme/app", sha, "ctx", state=f"s{i}"))
    _race(
        6, lambda i: store.access.see_runner("r1", labels=[f"l{i}"], kind="remote", ephemeral=True)
    )
    _race(6, lambda i: store.config.put_secret("repo:acme/app", "K", f"v{i}".encode()))
    _race(6, lambda i: store.config.put_variable("repo:acme/app", "V", f"v{i}"))
    _race(6, lambda i: store.config.put_environment("acme/app", "prod", reviewers=[f"u{i}"],
                                             wait_timer=i, branches=[]))  # fmt: skip
    requested = _race(6, lambda i: store.config.request_approval(7, "prod", state="pending"))
    assert len(store.statuses("acme/app", sha)) == 1
    assert len(store.access.runners()) == 1 and store.access.runners()[0]["ephemeral"] == 1
    assert list(store.config.secret_values("repo:acme/app")) == ["K"]
    assert list(store.config.variables("repo:acme/app")) == ["V"]
    assert len(store.config.environments("acme/app")) == 1
    assert len({r["id"] for r in requested}) == 1 and len(store.config.approvals()) == 1


def test_runners_are_listed_least_recently_seen_first(store: CIStore) -> None:
    store.access.see_runner("r1", labels=["a"], kind="local", ephemeral=False)
    store.access.see_runner("r2", labels=["b"], kind="remote", ephemeral=False)
    store.access.see_runner("r1", labels=["c"], kind="local", ephemeral=False)
    assert [(r["name"], r["labels"]) for r in store.access.runners()] == [
        ("r2", ["b"]),
        ("r1", ["c"]),
    ]


def test_tokens_secrets_and_variables(store: CIStore) -> None:
    store.access.add_token("d" * 64, name="admin", role="admin")
    assert store.access.token("d" * 64)["role"] == "admin"  # type: ignore[index]
    assert store.access.token("e" * 64) is None
    assert [t["name"] for t in store.access.tokens()] == ["admin"]
    blob = bytes(range(256))  # ciphertext is bytes: BLOB in SQLite, BYTEA in PostgreSQL
    store.config.put_secret("org:acme", "B", blob)
    store.config.put_secret("org:acme", "A", b"x")
    store.config.put_secret("org:acme", "A", b"y")
    assert store.config.secret_values("org:acme") == {"A": b"y", "B": blob}
    assert [s["name"] for s in store.config.secret_names("org:acme")] == ["A", "B"]
    assert (
        store.config.delete_secret("org:acme", "A"),
        store.config.delete_secret("org:acme", "A"),
    ) == (
        True,
        False,
    )
    store.config.put_variable("org:acme", "X", "1")
    store.config.put_variable("org:acme", "X", "2")
    assert store.config.variables("org:acme") == {"X": "2"}
    assert store.config.delete_variable("org:acme", "X") is True
    assert store.config.variables("org:acme") == {}


def test_environments_approvals_and_deployments(store: CIStore) -> None:
    store.config.put_environment(
        "acme/app", "prod", reviewers=["alice"], wait_timer=5, branches=["main"]
    )
    store.config.put_environment("acme/app", "dev", reviewers=[], wait_timer=0, branches=[])
    env = store.config.environment("acme/app", "prod")
    assert env is not None and (env["reviewers"], env["wait_timer"], env["branches"]) == (
        ["alice"],
        5.0,
        ["main"],
    )
    assert [e["name"] for e in store.config.environments("acme/app")] == ["dev", "prod"]
    assert store.config.environment("acme/app", "none") is None
    first = store.config.request_approval(1, "prod", state="pending")
    assert store.config.request_approval(1, "prod", state="approved")["id"] == first["id"]
    decided = _race(
        4, lambda i: store.config.decide(1, "prod", state="approved", by=f"u{i}", comment="")
    )
    assert decided.count(True) == 1
    assert [a["state"] for a in store.config.approvals(state="approved", run_id=1)] == ["approved"]
    assert store.config.approvals(state="pending") == []
    dep = store.config.add_deployment({"repo": "acme/app", "environment": "prod", "run_id": 1,
                                "state": "in_progress"})  # fmt: skip
    store.config.update_deployment(dep, state="success", url="http://x")
    (got,) = store.config.deployments("acme/app", environment="prod")
    assert (got["id"], got["state"], got["url"]) == (dep, "success", "http://x")
    assert store.config.deployments("acme/app", environment="dev") == []
