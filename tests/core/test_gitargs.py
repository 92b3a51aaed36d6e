"""The checks that stand between outside values and git's command line (issue 12)."""

from __future__ import annotations

import pytest

from conveyor.core.gitargs import (
    UnsafeArgument,
    commit_id,
    ref_name,
    remote_url_problem,
    repository_name_problem,
    revision,
)

SHA = "0123456789abcdef" * 2 + "01234567"


@pytest.mark.parametrize(
    "ref", ["main", "feature/x-1", "v1.2.3", "refs/heads/main", "refs/pull/7/merge", "a-"]
)
def test_ref_names_git_accepts_pass(ref: str) -> None:
    assert ref_name(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "--upload-pack=touch /tmp/x",
        "-b",
        "feature/-x",
        "a..b",
        "HEAD~1",
        "a^{tree}",
        "a:b",
        "a b",
        "a@{1}",
        ".hidden",
        "x/.y",
        "x.lock",
        "x.lock/y",
        "a//b",
        "/a",
        "a/",
        "a.",
        "@",
        "",
        "a\nb",
    ],
)
def test_ref_names_that_are_options_or_expressions_are_refused(ref: str) -> None:
    with pytest.raises(UnsafeArgument):
        ref_name(ref)


def test_revision_is_a_ref_a_full_commit_id_or_head() -> None:
    assert revision("HEAD") == "HEAD"
    assert revision(SHA) == SHA
    assert revision("v1") == "v1"
    with pytest.raises(UnsafeArgument):
        revision("--output=/tmp/x")
    assert commit_id(SHA) == SHA
    for bad in ("--orphan", SHA[:39], SHA.upper(), SHA + "0"):
        with pytest.raises(UnsafeArgument):
            commit_id(bad)


@pytest.mark.parametrize(
    ("url", "local", "allowed"),
    [
        ("https://github.com/o/r.git", False, True),
        ("ssh://git@host/o/r", False, True),
        ("git@github.com:o/r.git", False, True),
        ("/srv/git/r.git", True, True),
        ("file:///srv/git/r.git", True, True),
        ("/srv/git/r.git", False, False),
        ("file:///etc", False, False),
        ("--upload-pack=touch /tmp/x", True, False),
        ("-u", True, False),
        ("ext::sh -c touch% /tmp/x", True, False),
        ("fd::3", True, False),
        ("ssh://-oProxyCommand=x/r", False, False),
        ("-oProxyCommand=x:r", True, False),
        ("ftp://host/r", False, False),
        ("https://h/r\nx", False, False),
        ("", True, False),
    ],
)
def test_remote_urls_by_scheme(url: str, local: bool, allowed: bool) -> None:
    assert (remote_url_problem(url, local=local) == "") is allowed


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("acme/app", False),
        ("Acme-Corp/my_repo.v2", False),
        ("acme/app.git", False),
        ("acme/-x", False),
        ("acme/.hidden", True),
        ("acme/..", True),
        ("acme/.", True),
        ("acme/a b", True),
        ("acme/a/b", True),
        ("-acme/app", True),
        ("ac--me/app", True),
        ("acme-/app", True),
        ("ac_me/app", True),
        ("acme", True),
        ("a" * 40 + "/x", True),
        ("acme/" + "x" * 101, True),
        ("acme/" + "x" * 100, False),
    ],
)
def test_repository_names_follow_github(name: str, problem: bool) -> None:
    assert bool(repository_name_problem(name)) is problem
