"""GitHub's filter patterns: the docs' cheat-sheet examples, negation order, bad patterns."""

from __future__ import annotations

import pytest

from conveyor.workflow.plan.errors import PlanError
from conveyor.workflow.plan.globs import compile_pattern, filter_matches, match, pattern_error

# (pattern, value, matches) — every example of docs.github.com "Filter pattern cheat sheet"
# plus the counter-examples each description implies.
CHEAT_SHEET = [
    ("feature/*", "feature/my-branch", True),
    ("feature/*", "feature/your-branch", True),
    ("feature/*", "feature/beta-a/my-branch", False),
    ("feature/**", "feature/beta-a/my-branch", True),
    ("feature/**", "feature/your-branch", True),
    ("feature/**", "feature/mona/the/octocat", True),
    ("main", "main", True),
    ("main", "mainline", False),
    ("releases/mona-the-octocat", "releases/mona-the-octocat", True),
    ("*", "main", True),
    ("*", "releases", True),
    ("*", "releases/v1", False),
    ("**", "all/the/branches", True),
    ("**", "every/tag", True),
    ("*feature", "mona-feature", True),
    ("*feature", "feature", True),
    ("*feature", "ver-10-feature", True),
    ("*feature", "feature-x", False),
    ("v2*", "v2", True),
    ("v2*", "v2.0", True),
    ("v2*", "v2.9", True),
    ("v2*", "v3.0", False),
    ("v[12].[0-9]+.[0-9]+", "v1.10.1", True),
    ("v[12].[0-9]+.[0-9]+", "v2.0.0", True),
    ("v[12].[0-9]+.[0-9]+", "v3.0.0", False),
    ("v[12].[0-9]+.[0-9]+", "v1..1", False),
    ("*", "README.md", True),
    ("*", "server.rb", True),
    ("*", "docs/README.md", False),
    ("*.jsx?", "page.js", True),
    ("*.jsx?", "page.jsx", True),
    ("*.jsx?", "page.jsxx", False),
    ("**", "all/the/files.md", True),
    ("*.js", "app.js", True),
    ("*.js", "index.js", True),
    ("*.js", "js/index.js", False),
    ("**.js", "index.js", True),
    ("**.js", "js/index.js", True),
    ("**.js", "src/js/app.js", True),
    ("docs/*", "docs/README.md", True),
    ("docs/*", "docs/file.txt", True),
    ("docs/*", "docs/mona/octocat.txt", False),
    ("docs/**", "docs/README.md", True),
    ("docs/**", "docs/mona/octocat.txt", True),
    ("docs/**", "other/docs/x.md", False),
    ("docs/**/*.md", "docs/README.md", True),
    ("docs/**/*.md", "docs/mona/hello-world.md", True),
    ("docs/**/*.md", "docs/a/markdown/file.md", True),
    ("docs/**/*.md", "docs/a/file.txt", False),
    ("**/docs/**", "docs/hello.md", True),
    ("**/docs/**", "dir/docs/my-file.txt", True),
    ("**/docs/**", "space/docs/plan/space.doc", True),
    ("**/docs/**", "mydocs/x", False),
    ("**/README.md", "README.md", True),
    ("**/README.md", "js/README.md", True),
    ("**/README.md", "js/NOTREADME.md", False),
    ("**/*src/**", "a/src/app.js", True),
    ("**/*src/**", "my-src/code/js/app.js", True),
    ("**/*src/**", "source/app.js", False),
    ("**/*-post.md", "my-post.md", True),
    ("**/*-post.md", "path/their-post.md", True),
    ("**/migrate-*.sql", "migrate-10909.sql", True),
    ("**/migrate-*.sql", "db/migrate-v1.0.sql", True),
    ("**/migrate-*.sql", "db/sept/migrate-v1.sql", True),
    ("[CB]at", "Cat", True),
    ("[CB]at", "Bat", True),
    ("[CB]at", "Rat", False),
    ("[1-2]00", "100", True),
    ("[1-2]00", "200", True),
    ("[1-2]00", "300", False),
    ("Octo*", "Octocat", True),
    # `?` makes the preceding character optional; the old docs' "Octoc?t matches Octocat"
    # was confirmed a docs bug by GitHub's developers (github/docs#3377).
    ("Octoc?t", "Octocat", False),
    ("Octoc?t", "Octoct", True),
    ("Octoc?t", "Octot", True),
    ("Octoc?t", "Octocxt", False),  # `?` is not "any one character"
    ("ab+c", "abbbc", True),
    ("ab+c", "ac", False),
    ("?x", "?x", True),  # a leading quantifier is literal
    # doubled quantifiers combine instead of nesting (no exponential backtracking)
    ("a++b", "aab", True),
    ("a++b", "a" * 40 + "c", False),
    ("a+?b", "b", True),
    ("a?+b", "aaab", True),
    ("*+x", "abx", True),
    ("*+x", "a/x", False),
    ("**?x", "a/x", True),
    ("a.b", "axb", False),  # `.` is literal
    ("\\*", "*", True),
    ("\\*", "x", False),
]


@pytest.mark.parametrize(("pattern", "value", "expected"), CHEAT_SHEET)
def test_cheat_sheet(pattern: str, value: str, expected: bool) -> None:
    assert match(pattern, value) is expected


# (patterns, value, matches): order matters and the last matching pattern decides.
LISTS = [
    (["*.md", "!README.md"], "hello.md", True),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "docs/hello.md", False),
    (["*.md", "!README.md", "README*"], "hello.md", True),
    (["*.md", "!README.md", "README*"], "README.md", True),
    (["*.md", "!README.md", "README*"], "README.doc", True),
    (["!README.md"], "README.md", False),
    (["!README.md"], "other.md", False),  # only negations: nothing matches
    (["releases/**", "!releases/**-alpha"], "releases/v1", True),
    (["releases/**", "!releases/**-alpha"], "releases/v1-alpha", False),
    (["!releases/**-alpha", "releases/**"], "releases/v1-alpha", True),
    ([], "main", False),
]


@pytest.mark.parametrize(("patterns", "value", "expected"), LISTS)
def test_lists_last_match_wins(patterns: list[str], value: str, expected: bool) -> None:
    assert filter_matches(patterns, value) is expected


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("v[0-9", "missing ']'"),
        ("v[]", "empty brackets"),
        ("v[a-Z]", "range 'a-Z'"),
        ("v[_]", "'_' inside brackets"),
        ("trailing\\", "nothing after"),
    ],
)
def test_malformed_patterns_are_reported(pattern: str, problem: str) -> None:
    with pytest.raises(PlanError, match=problem):
        compile_pattern(pattern)
    error = pattern_error("!" + pattern)
    assert error is not None
    assert problem in error


def test_valid_pattern_has_no_error() -> None:
    assert pattern_error("!releases/**") is None
