"""Golden tests: every editor on real-world-shaped files, asserting the exact output bytes.

Each `golden/<case>/` holds `input.yaml`, `case.json` (editor and arguments) and
`expected.yaml`. Besides byte equality, every line that differs must be a line holding a
changed scalar (or an added/removed `images:` key), so nothing else can drift.
Regenerate after a deliberate change with `CONVEYOR_REGOLD=1` and review the diff.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from conveyor.promote import kustomize, paths, workloads
from conveyor.promote.imageref import parse_image
from conveyor.promote.workloads import EditResult

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.json").exists())


def run_case(case: dict[str, str], text: str) -> EditResult:
    editor = case["editor"]
    if editor == "path":
        return paths.set_value(
            text, "input.yaml", paths.parse_path(case["path"]), case["value"], shown=case["path"]
        )
    image = parse_image(case["image"])
    module = workloads if editor == "workloads" else kustomize
    return module.set_image(
        text, "input.yaml", image, tag=case.get("tag"), digest=case.get("digest")
    )


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    folder = GOLDEN / name
    case = json.loads((folder / "case.json").read_text())
    raw = (folder / "input.yaml").read_bytes()
    result = run_case(case, raw.decode("utf-8"))
    out = result.text.encode("utf-8")
    expected_file = folder / "expected.yaml"
    if os.environ.get("CONVEYOR_REGOLD"):
        expected_file.write_bytes(out)
    assert out == expected_file.read_bytes()
    assert result.changed


@pytest.mark.parametrize("name", CASES)
def test_only_changed_lines_differ(name: str) -> None:
    folder = GOLDEN / name
    before = (folder / "input.yaml").read_bytes().decode().splitlines(keepends=True)
    after = (folder / "expected.yaml").read_bytes().decode().splitlines(keepends=True)
    case = json.loads((folder / "case.json").read_text())
    wanted = {v for k in ("tag", "digest", "value") if (v := case.get(k))}
    for line in difflib.ndiff(before, after):
        if line.startswith("+ "):
            assert any(w in line for w in wanted) or "name:" in line or "images:" in line, line
        if line.startswith("- "):  # a removed line held the old version of a changed field
            assert any(k in line for k in ("image", "newTag", "digest", "tag", "name:")), line
    crlf_in = b"\r\n" in (folder / "input.yaml").read_bytes()
    assert (b"\r\n" in (folder / "expected.yaml").read_bytes()) == crlf_in
    if crlf_in:
        assert b"\n" not in (folder / "expected.yaml").read_bytes().replace(b"\r\n", b"")


@pytest.mark.parametrize("name", CASES)
def test_second_run_is_a_noop(name: str) -> None:
    folder = GOLDEN / name
    case = json.loads((folder / "case.json").read_text())
    expected = (folder / "expected.yaml").read_bytes().decode()
    again = run_case(case, expected)
    assert again.text == expected
    assert not again.changed
