"""Reads GitHub's workflow-reader test cases (`../shared/testdata/github-languageservices/`).

A case file is sections separated by `---` lines: options, the workflow, then any number of
(called workflow name, called workflow text) pairs, then the expected JSON (`jobs` for valid
cases, `errors` with `(Line: L, Col: C)` for invalid ones).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SHARED = Path(__file__).resolve().parents[4] / "shared"
if not SHARED.is_dir():  # in CI the sibling checkout is next to the repository
    SHARED = Path(__file__).resolve().parents[3].parent / "shared"
CASES_DIR = SHARED / "testdata" / "github-languageservices" / "workflow-reader"
_POSITION = re.compile(r"\(Line: (\d+), Col: (\d+)\): (.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedError:
    line: int
    col: int
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    name: str
    options: dict[str, Any]
    workflow: str
    callees: dict[str, str] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[ExpectedError]:
        found = []
        for item in self.expected.get("errors", []):
            text = item["Message"]
            match = _POSITION.search(text)
            if match:
                found.append(ExpectedError(line=int(match[1]), col=int(match[2]), message=match[3]))
            else:
                found.append(ExpectedError(line=0, col=0, message=text.split(": ", 1)[-1]))
        return found


def read_case(path: Path) -> Case:
    sections = re.split(r"^---[ \t]*$\n?", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    options = yaml.safe_load(sections[0]) or {}
    callees = {sections[i].strip(): sections[i + 1] for i in range(2, len(sections) - 1, 2)}
    return Case(
        name=path.name,
        options=options,
        workflow=sections[1],
        callees=callees,
        expected=json.loads(sections[-1]),
    )


def all_cases() -> list[Path]:
    return sorted(CASES_DIR.glob("*.yml"))
