"""ApplicationSet template rendering, both styles (table-driven; pure)."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.reconcile.appset_generators import glob
from conveyor.reconcile.appset_template import TemplateError, render

FLAT = {"path": "clusters/east", "path.basename": "east", "path[0]": "clusters", "n": "3"}
NESTED: dict[str, Any] = {
    "path": {"path": "clusters/East_1", "basename": "East_1", "segments": ["clusters", "East_1"]},
    "replicas": 3,
    "debug": False,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{path.basename}}", "east"),
        ("{{ path.basename }}-{{path[0]}}", "east-clusters"),
        ("no template", "no template"),
        ("{{n}}", "3"),
    ],
)
def test_fasttemplate(text: str, expected: str) -> None:
    assert render(text, FLAT, go=False) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ .path.basename }}", "East_1"),
        ("{{.path.basename | lower}}", "east_1"),
        ("{{ .path.basename | normalize }}", "east-1"),
        ("{{ index .path.segments 0 }}", "clusters"),
        ("{{ .replicas }}/{{ .debug }}", "3/false"),
        ('{{ .path.basename | replace "_" "-" | upper }}', "EAST-1"),
        ('{{ .debug | default "off" }}', "off"),
        ("a  {{- .replicas -}}  b", "a3b"),
        ("{{ .path.basename | trunc 4 }}", "East"),
    ],
)
def test_go_template(text: str, expected: str) -> None:
    assert render(text, NESTED, go=True) == expected


@pytest.mark.parametrize(
    ("text", "go", "message"),
    [
        ("{{path.basenam}}", False, "names no parameter"),
        ("{{ .path.basenam }}", True, ".path.basenam is not a parameter"),
        ("{{ if .debug }}x{{ end }}", True, "not supported"),
        ("{{ .path.basename | sha256sum }}", True, "'sha256sum' is not available"),
        ("{{ index .path.segments 7 }}", True, "index 7 is not in"),
        ("{{ path.basename }}", True, "neither a field reference"),
    ],
)
def test_bad_references_are_errors(text: str, go: bool, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render({"spec": {"path": text}}, NESTED if go else FLAT, go=go)


def test_an_error_says_where_in_the_template() -> None:
    with pytest.raises(TemplateError) as caught:
        render({"spec": {"sources": [{"path": "ok"}, {"path": "{{x}}"}]}}, FLAT, go=False)
    assert caught.value.at == ("spec", "sources", 1, "path")


def test_keys_are_rendered_too() -> None:
    assert render({"{{path.basename}}": "v"}, FLAT, go=False) == {"east": "v"}


@pytest.mark.parametrize(
    ("pattern", "doublestar", "path", "matches"),
    [
        ("clusters/*", False, "clusters/east", True),
        ("clusters/*", False, "clusters/east/sub", False),
        ("clusters/[ew]*", False, "clusters/west", True),
        ("**/config.json", True, "config.json", True),
        ("**/config.json", True, "a/b/config.json", True),
        ("config/*.json", True, "config/a/b.json", False),
    ],
)
def test_glob_follows_go_path_match(
    pattern: str, doublestar: bool, path: str, matches: bool
) -> None:
    assert bool(glob(pattern, doublestar).fullmatch(path)) is matches
