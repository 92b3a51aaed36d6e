"""`hashFiles`: patterns under the workspace, `!` excludes, SHA-256 of per-file SHA-256s."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conveyor.workflow.expr import EvalContext, compile_expression, hash_files_function
from conveyor.workflow.expr.hashfiles import hash_files


def expected(*files: Path) -> str:
    total = hashlib.sha256()
    for path in files:
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for name, text in {
        "package-lock.json": "1",
        "a/package-lock.json": "2",
        "a/b/package-lock.json": "3",
        "a/b/other.txt": "4",
        "vendor/package-lock.json": "5",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("patterns", "names"),
    [
        (["package-lock.json"], ["package-lock.json"]),
        (
            ["**/package-lock.json"],
            [
                "a/b/package-lock.json",
                "a/package-lock.json",
                "package-lock.json",
                "vendor/package-lock.json",
            ],
        ),
        (
            ["**/package-lock.json", "!vendor/**"],
            ["a/b/package-lock.json", "a/package-lock.json", "package-lock.json"],
        ),
        (["a"], ["a/b/other.txt", "a/b/package-lock.json", "a/package-lock.json"]),
        (["a/*/*.txt"], ["a/b/other.txt"]),
        (["**/package-lock.json\n!a/**"], ["package-lock.json", "vendor/package-lock.json"]),
    ],
)
def test_hash_files(workspace: Path, patterns: list[str], names: list[str]) -> None:
    assert hash_files(workspace, patterns) == expected(*(workspace / n for n in names))


def test_walk_order_is_depth_first_with_sorted_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "z.txt").write_text("1")
    (tmp_path / "a-b.txt").write_text("2")
    (tmp_path / "#c.txt").write_text("3")
    files = [tmp_path / "#c.txt", tmp_path / "a" / "z.txt", tmp_path / "a-b.txt"]
    assert hash_files(tmp_path, ["**/*.txt", "# a comment line"]) == expected(*files)


def test_nothing_matches_gives_empty_string(workspace: Path) -> None:
    assert hash_files(workspace, ["**/*.nope"]) == ""
    assert hash_files(workspace, ["/etc/passwd"]) == ""  # outside the workspace


def test_as_an_extension_function(workspace: Path) -> None:
    ctx = EvalContext({}, {"hashFiles": hash_files_function(workspace)})
    value = compile_expression("hashFiles('**/package-lock.json', '!vendor/**')").evaluate(ctx)
    assert value == hash_files(workspace, ["**/package-lock.json", "!vendor/**"])
    assert len(str(value)) == 64
