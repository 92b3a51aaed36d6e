"""--mode pull-request against a local Git HTTP remote and a fake GitHub API that checks
every call against GitHub's documented contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.clients.gitwrite import Remote
from conveyor.promote.errors import PromoteInputError
from conveyor.promote.imageref import parse_image
from conveyor.promote.planner import EditSpec
from conveyor.promote.pullrequest import PullRequestOptions, branch_name, repo_of
from conveyor.promote.service import Mode, promote
from conveyor.promote.writeback import Status, WriteRequest
from conveyor.server.githttp import GitHttpServer
from tests.gitutil import git
from tests.promote.conftest import DEPLOY, TOKEN, default_files, hand_commit, refs, seed, show
from tests.promote.fake_github import FakeGitHub

GH_TOKEN = "ghp_faketoken123"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, str, FakeGitHub]]:
    (tmp_path / "srv").mkdir()
    bare = seed(tmp_path / "srv", default_files(), name="acme/cfg.git")
    with (
        GitHttpServer(tmp_path / "srv", tokens={TOKEN: "ci"}) as srv,
        FakeGitHub("acme", "cfg", GH_TOKEN) as gh,
    ):
        yield bare, f"{srv.url}/acme/cfg.git", gh


def req(url: str, tmp_path: Path, tag: str, env: str = "prod") -> WriteRequest:
    spec = EditSpec(image=parse_image("ghcr.io/acme/svc0"), tag=tag, env=env)
    return WriteRequest(remote=Remote.parse(url, TOKEN), spec=spec, cache_root=tmp_path / "c")


def test_opens_then_reuses_one_pr_per_env_and_image(
    setup: tuple[Path, str, FakeGitHub], tmp_path: Path
) -> None:
    bare, url, gh = setup
    main_before = show(bare, "main:envs/prod/svc0.yaml")
    options = PullRequestOptions(api_url=gh.url, token=GH_TOKEN)
    first = promote(req(url, tmp_path, "1.1.0"), mode=Mode.PULL_REQUEST, pr=options)
    assert first.status == Status.PULL_REQUEST
    assert first.extra["branch"] == "conveyor/promote/prod/svc0-1.1.0"
    assert first.extra["url"] == "https://github.test/acme/cfg/pull/1"
    assert [c[:2] for c in gh.calls] == [
        ("GET", "/repos/acme/cfg/pulls"),
        ("POST", "/repos/acme/cfg/pulls"),
    ]
    post = gh.calls[1][2]
    assert post is not None and post["head"] == first.extra["branch"] and post["base"] == "main"
    assert post["title"] == "Promote ghcr.io/acme/svc0:1.1.0 to prod"
    assert "ghcr.io/acme/svc0:1.1.0" in show(bare, f"{first.extra['branch']}:envs/prod/svc0.yaml")
    assert show(bare, "main:envs/prod/svc0.yaml") == main_before  # approval env untouched

    second = promote(req(url, tmp_path, "1.2.0"), mode=Mode.PULL_REQUEST, pr=options)
    assert second.extra["branch"] == first.extra["branch"]  # reused, no second PR
    assert second.extra["reused"] == "true"
    assert [c[0] for c in gh.calls[2:]] == ["GET", "PATCH"]
    assert len(gh.pulls) == 1 and gh.pulls[0]["title"].endswith("svc0:1.2.0 to prod")
    assert "ghcr.io/acme/svc0:1.2.0" in show(bare, f"{first.extra['branch']}:envs/prod/svc0.yaml")
    assert not gh.problems


def test_failed_pr_creation_leaves_no_stray_branch(
    setup: tuple[Path, str, FakeGitHub], tmp_path: Path
) -> None:
    bare, url, gh = setup
    gh.fail_create = True
    before = refs(bare)
    with pytest.raises(PromoteInputError, match="422"):
        promote(
            req(url, tmp_path, "1.1.0"),
            mode=Mode.PULL_REQUEST,
            pr=PullRequestOptions(api_url=gh.url, token=GH_TOKEN),
        )
    assert refs(bare) == before


def test_bad_token_is_refused_and_masked(
    setup: tuple[Path, str, FakeGitHub], tmp_path: Path
) -> None:
    bare, url, gh = setup
    before = refs(bare)
    with pytest.raises(PromoteInputError, match="401") as info:
        promote(
            req(url, tmp_path, "1.1.0"),
            mode=Mode.PULL_REQUEST,
            pr=PullRequestOptions(api_url=gh.url, token="ghp_wrong_one"),
        )
    assert "ghp_wrong_one" not in str(info.value)
    assert refs(bare) == before


def test_other_remotes_get_branch_and_compare_url(
    setup: tuple[Path, str, FakeGitHub], tmp_path: Path
) -> None:
    bare, url, gh = setup
    out = promote(req(url, tmp_path, "1.1.0", env="dev"), mode=Mode.PULL_REQUEST)
    assert out.extra["url"].endswith("/acme/cfg/compare/main...conveyor/promote/dev/svc0-1.1.0")
    assert "svc0:1.1.0" in show(bare, "conveyor/promote/dev/svc0-1.1.0:envs/dev/svc0.yaml")
    assert not gh.calls


@pytest.mark.parametrize(
    ("url", "owner", "name", "web"),
    [
        ("https://github.com/acme/cfg.git", "acme", "cfg", "https://github.com/acme/cfg"),
        ("git@github.com:acme/cfg.git", "acme", "cfg", "https://github.com/acme/cfg"),
        ("http://127.0.0.1:8080/org/sub/cfg", "sub", "cfg", "http://127.0.0.1:8080/org/sub/cfg"),
    ],
)
def test_repo_of(url: str, owner: str, name: str, web: str) -> None:
    repo = repo_of(url)
    assert repo is not None and (repo.owner, repo.name, repo.web) == (owner, name, web)
    assert repo_of("/srv/git/cfg.git") is None


def test_branch_name_uses_digest_when_no_tag(tmp_path: Path) -> None:
    spec = EditSpec(image=parse_image("ghcr.io/acme/web"), digest="sha256:" + "ab" * 32, env="prod")
    request = WriteRequest(remote=Remote.parse("/x"), spec=spec)
    assert branch_name(request) == "conveyor/promote/prod/web-abababababab"


def test_pr_branch_starts_from_the_current_main(
    setup: tuple[Path, str, FakeGitHub], tmp_path: Path
) -> None:
    bare, url, gh = setup
    assert promote(req(url, tmp_path, "1.1.0", env="dev")).status == Status.PROMOTED
    hand = hand_commit(bare, "envs/dev/svc1.yaml", DEPLOY.format(name="svc1", tag="7.0.0"))
    out = promote(
        req(url, tmp_path, "1.3.0"),
        mode=Mode.PULL_REQUEST,
        pr=PullRequestOptions(api_url=gh.url, token=GH_TOKEN),
    )
    parent = git(bare, "rev-parse", f"{out.extra['branch']}^")
    assert parent == hand
