"""Write-back against real Git remotes: a bare repo over file:// and the same served by
`git http-backend` over HTTP on 127.0.0.1 (conveyor.server.githttp)."""

from __future__ import annotations

import random
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from conveyor.clients.gitwrite import Remote
from conveyor.promote import trailers
from conveyor.promote.errors import ContentConflict, PromoteInputError
from conveyor.promote.imageref import parse_image
from conveyor.promote.planner import EditSpec
from conveyor.promote.service import history, promote
from conveyor.promote.writeback import Status, WriteRequest
from conveyor.server.githttp import GitHttpServer
from tests.gitutil import GitFailed, commit, git, init
from tests.promote.conftest import DEPLOY, TOKEN, default_files, hand_commit, refs, seed, show


def request(
    url: str, tmp_path: Path, name: str = "svc0", tag: str = "1.1.0", **kw: object
) -> WriteRequest:
    spec = EditSpec(
        image=parse_image(f"ghcr.io/acme/{name}"), tag=tag, env=str(kw.pop("env", "dev"))
    )
    return WriteRequest(
        remote=Remote.parse(url, TOKEN), spec=spec, cache_root=tmp_path / "cache", **kw
    )  # type: ignore[arg-type]


def test_promote_commits_exact_bytes_with_trailers(
    remote_repo: tuple[Path, str], tmp_path: Path
) -> None:
    bare, url = remote_repo
    out = promote(
        request(url, tmp_path, source_commit="a" * 40, run="https://ci/run/1", build_number=12)
    )
    assert out.status == Status.PROMOTED and out.attempts == 1
    assert show(bare, "main:envs/dev/svc0.yaml") == DEPLOY.format(name="svc0", tag="1.1.0")
    assert show(bare, "main:envs/staging/svc0.yaml") == DEPLOY.format(name="svc0", tag="1.0.0")
    log = show(bare, "--no-patch")  # HEAD of the bare repo: main
    assert "Promote ghcr.io/acme/svc0:1.1.0 to dev" in log
    for key, value in [
        (trailers.IMAGE, "ghcr.io/acme/svc0:1.1.0"),
        (trailers.ENVIRONMENT, "dev"),
        (trailers.SOURCE_COMMIT, "a" * 40),
        (trailers.RUN, "https://ci/run/1"),
        (trailers.BUILD_NUMBER, "12"),
    ]:
        assert f"{key}: {value}" in log


def test_noop_makes_no_commit(remote_repo: tuple[Path, str], tmp_path: Path) -> None:
    bare, url = remote_repo
    before = refs(bare)
    out = promote(request(url, tmp_path, tag="1.0.0"))
    assert out.status == Status.NOOP and out.commit is None
    assert refs(bare) == before


def test_rejected_push_reapplies_on_new_tip(remote_repo: tuple[Path, str], tmp_path: Path) -> None:
    bare, url = remote_repo
    promote(request(url, tmp_path, name="svc0", tag="1.1.0"))  # the cache now knows the tip
    other = DEPLOY.format(name="svc1", tag="1.0.0").replace("# svc1", "# svc1 (edited)")
    hand = hand_commit(bare, "envs/dev/svc1.yaml", other)
    out = promote(request(url, tmp_path, name="svc2", tag="2.0.0"))
    assert out.status == Status.PROMOTED
    assert out.attempts == 2 and out.base == hand  # stale tip rejected, re-applied on hand's
    assert show(bare, "main:envs/dev/svc1.yaml") == other  # nobody's work lost
    assert show(bare, "main:envs/dev/svc2.yaml") == DEPLOY.format(name="svc2", tag="2.0.0")
    assert show(bare, "main:envs/dev/svc0.yaml") == DEPLOY.format(name="svc0", tag="1.1.0")


def test_same_field_changed_by_hand_is_a_conflict(
    remote_repo: tuple[Path, str], tmp_path: Path
) -> None:
    bare, url = remote_repo
    promote(request(url, tmp_path, name="svc1", tag="1.1.0"))
    hand_commit(bare, "envs/dev/svc0.yaml", DEPLOY.format(name="svc0", tag="1.0.1-hotfix"))
    before = refs(bare)
    with pytest.raises(
        ContentConflict,
        match=r"svc0.yaml:11:16: changed by hand to "
        r"'ghcr.io/acme/svc0:1.0.1-hotfix'",
    ):
        promote(request(url, tmp_path, name="svc0", tag="1.2.0"))
    assert refs(bare) == before


def test_only_if_newer_by_build_number(remote_repo: tuple[Path, str], tmp_path: Path) -> None:
    bare, url = remote_repo
    assert (
        promote(request(url, tmp_path, tag="b5", build_number=5, only_if_newer=True)).status
        == Status.PROMOTED
    )
    late = promote(request(url, tmp_path, tag="b3", build_number=3, only_if_newer=True))
    assert late.status == Status.SKIPPED and "build 3 vs current build 5" in late.reason
    assert (
        promote(request(url, tmp_path, tag="b7", build_number=7, only_if_newer=True)).status
        == Status.PROMOTED
    )
    assert "ghcr.io/acme/svc0:b7" in show(bare, "main:envs/dev/svc0.yaml")


def test_only_if_newer_by_semver_refuses_rollback(
    remote_repo: tuple[Path, str], tmp_path: Path
) -> None:
    _, url = remote_repo
    promote(request(url, tmp_path, tag="1.4.0"))
    out = promote(request(url, tmp_path, tag="1.3.9", only_if_newer=True))
    assert out.status == Status.SKIPPED


def test_approval_stage_refuses_direct_commit(
    remote_repo: tuple[Path, str], tmp_path: Path
) -> None:
    bare, url = remote_repo
    before = refs(bare)
    with pytest.raises(PromoteInputError, match="requires approval"):
        promote(request(url, tmp_path, env="prod"))
    assert refs(bare) == before
    assert promote(request(url, tmp_path, env="prod", force=True)).status == Status.PROMOTED


def test_history_newest_first(remote_repo: tuple[Path, str], tmp_path: Path) -> None:
    _, url = remote_repo
    for tag in ("1.1.0", "1.2.0"):
        promote(request(url, tmp_path, tag=tag))
    promote(request(url, tmp_path, name="svc1", tag="9.0.0"))
    entries = history(
        Remote.parse(url),
        env="dev",
        image=parse_image("ghcr.io/acme/svc0"),
        cache_root=tmp_path / "cache",
    )
    assert [e.image for e in entries] == ["ghcr.io/acme/svc0:1.2.0", "ghcr.io/acme/svc0:1.1.0"]


def test_http_push_without_token_is_refused_and_masked(tmp_path: Path, server: object) -> None:
    assert isinstance(server, GitHttpServer)
    bare = seed(server.root, default_files())
    before = refs(bare)
    req = request(f"{server.url}/cfg.git", tmp_path)
    with pytest.raises(PromoteInputError, match="authentication refused") as info:
        promote(
            WriteRequest(
                remote=Remote.parse(f"{server.url}/cfg.git", "wrong-token-xyz"),
                spec=req.spec,
                cache_root=tmp_path / "c2",
            )
        )
    assert "wrong-token-xyz" not in str(info.value)
    url_with_token = server.url.replace("http://", "http://u:wrong-token-xyz@") + "/cfg.git"
    with pytest.raises(PromoteInputError) as info:
        promote(
            WriteRequest(
                remote=Remote.parse(url_with_token), spec=req.spec, cache_root=tmp_path / "c3"
            )
        )
    assert "wrong-token-xyz" not in str(info.value)
    assert refs(bare) == before


def test_unreachable_remote_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(PromoteInputError, match="check --repo"):
        promote(request("http://127.0.0.1:9/none.git", tmp_path))
    with pytest.raises(PromoteInputError, match="does not appear to be a git repository"):
        promote(request(str(tmp_path / "missing"), tmp_path))


@pytest.mark.parametrize("shared", [True, False], ids=["shared-cache", "own-caches"])
def test_concurrent_promotions_all_land(tmp_path: Path, server: object, shared: bool) -> None:
    assert isinstance(server, GitHttpServer)
    bare = seed(server.root, default_files(services=8))
    url = f"{server.url}/cfg.git"
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            root = tmp_path / ("cache" if shared else f"cache{i}")
            req = request(url, tmp_path, name=f"svc{i}", tag=f"2.0.{i}", max_attempts=30)
            out = promote(replace(req, cache_root=root, shared_cache=shared))
            assert out.status == Status.PROMOTED
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for i in range(8):
        assert f"ghcr.io/acme/svc{i}:2.0.{i}" in show(bare, f"main:envs/dev/svc{i}.yaml")
    entries = history(Remote.parse(url), env="dev", cache_root=tmp_path / "h")
    assert len(entries) == 8


def test_large_push_uses_chunked_body(tmp_path: Path, server: object) -> None:
    assert isinstance(server, GitHttpServer)
    files = default_files()
    rng = random.Random(7)
    files["envs/dev/big.yaml"] = (
        "data: "
        + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(3_000_000))
        + "\n"
    )
    bare = seed(
        server.root,
        {
            "promotion.yaml": files["promotion.yaml"],
            "envs/dev/svc0.yaml": files["envs/dev/svc0.yaml"],
        },
    )
    work = tmp_path / "w"
    url = server.url.replace("http://", f"http://x:{TOKEN}@") + "/cfg.git"
    git(tmp_path, "clone", "-q", url, str(work))
    commit(work, "big", {"big.yaml": files["envs/dev/big.yaml"]})
    git(work, "push", "-q", "origin", "main")  # > 1 MiB: git sends a chunked POST
    assert show(bare, "main:big.yaml") == files["envs/dev/big.yaml"]


def test_only_if_newer_by_commit_ancestry(remote_repo: tuple[Path, str], tmp_path: Path) -> None:
    app = init(tmp_path / "app")
    shas = [commit(app, f"c{i}") for i in range(3)]
    bare, url = remote_repo
    first = replace(request(url, tmp_path, tag=shas[0]), app_repo=app)
    with pytest.raises(PromoteInputError, match=r"cannot order '1\.0\.0'"):
        promote(replace(first, only_if_newer=True))  # semver → SHA: refuses to guess
    assert promote(first).status == Status.PROMOTED
    newer = replace(first, spec=replace(first.spec, tag=shas[2]), only_if_newer=True)
    assert promote(newer).status == Status.PROMOTED
    out = promote(replace(newer, spec=replace(newer.spec, tag=shas[1])))
    assert out.status == Status.SKIPPED and "commit" in out.reason
    assert f"svc0:{shas[2]}" in show(bare, "main:envs/dev/svc0.yaml")


def test_only_if_newer_by_source_commit(remote_repo: tuple[Path, str], tmp_path: Path) -> None:
    app = init(tmp_path / "app")
    shas = [commit(app, f"c{i}") for i in range(2)]
    _, url = remote_repo
    green = replace(request(url, tmp_path, tag="green"), app_repo=app, source_commit=shas[1])
    assert promote(green).status == Status.PROMOTED
    blue = replace(
        green, spec=replace(green.spec, tag="blue"), source_commit=shas[0], only_if_newer=True
    )
    out = promote(blue)
    assert out.status == Status.SKIPPED and "source commit" in out.reason


def test_concurrent_same_image_ends_at_highest_build(tmp_path: Path, server: object) -> None:
    assert isinstance(server, GitHttpServer)
    bare = seed(server.root, default_files(services=1))
    url = f"{server.url}/cfg.git"
    builds = [3, 6, 1, 5, 2, 4]
    outcomes: dict[int, Status] = {}

    def one(build: int) -> None:
        req = request(url, tmp_path, tag=f"b{build}", build_number=build, only_if_newer=True)
        outcomes[build] = promote(req).status

    threads = [threading.Thread(target=one, args=(b,)) for b in builds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "ghcr.io/acme/svc0:b6" in show(bare, "main:envs/dev/svc0.yaml")
    assert outcomes[6] == Status.PROMOTED
    landed = {b for b, s in outcomes.items() if s == Status.PROMOTED}
    entries = history(Remote.parse(url), env="dev", cache_root=tmp_path / "h")
    assert {int(e.build_number or 0) for e in entries} == landed
    assert [int(e.build_number or 0) for e in entries] == sorted(landed, reverse=True)


def test_failed_group_push_leaves_nothing_to_land_later(tmp_path: Path, server: object) -> None:
    assert isinstance(server, GitHttpServer)
    bare = seed(server.root, default_files())
    url = f"{server.url}/cfg.git"
    bad = WriteRequest(
        remote=Remote.parse(url, "bad-token"),
        spec=request(url, tmp_path).spec,
        cache_root=tmp_path / "cache",
    )
    with pytest.raises(PromoteInputError, match="authentication refused"):
        promote(bad)
    out = promote(request(url, tmp_path, name="svc1", tag="3.0.0"))  # same cache, good token
    assert out.status == Status.PROMOTED
    assert "svc0:1.0.0" in show(bare, "main:envs/dev/svc0.yaml")  # the failed one never landed
    assert "svc1:3.0.0" in show(bare, "main:envs/dev/svc1.yaml")


def test_hand_edit_elsewhere_in_the_same_file_is_kept(
    remote_repo: tuple[Path, str], tmp_path: Path
) -> None:
    bare, url = remote_repo
    promote(request(url, tmp_path, name="svc1", tag="1.1.0"))  # the cache now knows the tip
    edited = DEPLOY.format(name="svc0", tag="1.0.0").replace(
        "# svc0: managed by Conveyor", "# svc0: owned by team A"
    )
    hand_commit(bare, "envs/dev/svc0.yaml", edited)
    out = promote(request(url, tmp_path, name="svc0", tag="1.2.0"))
    assert out.status == Status.PROMOTED and out.attempts == 2
    assert show(bare, "main:envs/dev/svc0.yaml") == edited.replace("svc0:1.0.0", "svc0:1.2.0")


def test_group_commit_converges_with_an_outside_writer(tmp_path: Path, server: object) -> None:
    """Shared-cache promotions race a writer on another "machine" (its own clone): the
    outside pushes reject chains, chains are dropped and re-applied, nothing is lost."""
    assert isinstance(server, GitHttpServer)
    files = default_files(services=6)
    files["notes.txt"] = "0\n"
    bare = seed(server.root, files)
    url = f"{server.url}/cfg.git"
    outside = tmp_path / "outside"
    git(tmp_path, "clone", "-q", url.replace("http://", f"http://x:{TOKEN}@"), str(outside))
    errors: list[BaseException] = []

    def promoter(i: int) -> None:
        try:
            req = request(url, tmp_path, name=f"svc{i}", tag=f"5.0.{i}", max_attempts=50)
            assert promote(req).status == Status.PROMOTED
        except BaseException as exc:
            errors.append(exc)

    def writer() -> None:
        for n in range(1, 4):
            while True:  # a human: pull, edit, push, retry on rejection
                git(outside, "pull", "-q", "--rebase", "origin", "main")
                commit(outside, f"n{n}", {"notes.txt": f"{n}\n"})
                try:
                    git(outside, "push", "-q", "origin", "main")
                    break
                except GitFailed:
                    git(outside, "reset", "-q", "--hard", "origin/main")

    threads = [threading.Thread(target=promoter, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert show(bare, "main:notes.txt") == "3\n"
    for i in range(6):
        assert f"svc{i}:5.0.{i}" in show(bare, f"main:envs/dev/svc{i}.yaml")
    assert len(history(Remote.parse(url), env="dev", cache_root=tmp_path / "h")) == 6


def test_private_http_remote_needs_the_token_to_fetch(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    bare = seed(tmp_path / "srv", default_files())
    with GitHttpServer(tmp_path / "srv", tokens={TOKEN: "ci"}, private=True) as srv:
        url = f"{srv.url}/cfg.git"
        anonymous = WriteRequest(
            remote=Remote.parse(url), spec=request(url, tmp_path).spec, cache_root=tmp_path / "anon"
        )
        with pytest.raises(PromoteInputError, match="authentication refused"):
            promote(anonymous)
        assert promote(request(url, tmp_path)).status == Status.PROMOTED
    assert "svc0:1.1.0" in show(bare, "main:envs/dev/svc0.yaml")


def test_a_remote_recreated_under_the_same_url_is_not_a_hand_edit(
    remote_repo: tuple[Path, str], tmp_path: Path
) -> None:
    """`make up` after wiping the platform serves a new config repo at the same URL; the
    machine's shared promotion cache still knows the old one's tip. That stale tip is not
    the remote's history, so nothing on the new remote was "changed by hand"."""
    bare, url = remote_repo
    assert promote(request(url, tmp_path, tag="1.1.0")).status == Status.PROMOTED
    assert promote(request(url, tmp_path, tag="1.2.0")).status == Status.PROMOTED
    shutil.rmtree(bare)
    shutil.rmtree(bare.parent / f"{bare.name}.seed")
    seed(bare.parent, default_files())  # the same URL, a new repository
    out = promote(request(url, tmp_path, tag="2.0.0"))
    assert out.status == Status.PROMOTED
    assert show(bare, "main:envs/dev/svc0.yaml") == DEPLOY.format(name="svc0", tag="2.0.0")
