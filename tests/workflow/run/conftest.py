"""Helpers for engine behaviour tests: real Git repositories, the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import gitutil


@dataclass
class Outcome:
    code: int
    data: dict[str, Any] | None
    stdout: str
    stderr: str

    def jobs(self) -> dict[str, dict[str, Any]]:
        assert self.data is not None, self.stderr
        return {j["name"]: j for w in self.data["workflows"] for j in w["jobs"]}

    def result(self, name: str) -> str:
        return str(self.jobs()[name]["result"])

    def steps(self, name: str) -> dict[str, dict[str, Any]]:
        return {s["id"]: s for s in self.jobs()[name]["steps"]}


class Repo:
    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.home = home

    def write(self, files: dict[str, str]) -> Repo:
        for name, text in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
            if name.endswith(".sh"):
                path.chmod(0o755)
        return self

    def commit(self) -> Repo:
        if not (self.root / ".git").exists():
            gitutil.init(self.root)
        gitutil.commit(self.root)
        return self

    def run(self, *args: str, env: dict[str, str] | None = None, json_out: bool = True) -> Outcome:
        argv = [sys.executable, "-m", "conveyor.app", "run", *args]
        if json_out:
            argv.append("--json")
        full_env = {**os.environ, "CONVEYOR_HOME": str(self.home), **(env or {})}
        proc = subprocess.run(
            argv,
            cwd=self.root,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=120,
            check=False,
        )
        data = None
        if json_out and proc.stdout.strip():
            data = json.loads(proc.stdout)
        return Outcome(code=proc.returncode, data=data, stdout=proc.stdout, stderr=proc.stderr)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    return Repo(root, tmp_path / "home")


def workflow(text: str) -> dict[str, str]:
    return {".github/workflows/ci.yml": text}
