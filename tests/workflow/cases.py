"""The behaviour fixture corpus: reading `case.yml` files and turning a fixture into a Git repo.

Used by `tests/workflow/test_fixtures.py` (runs each fixture through `conveyor run --json`),
`tests/workflow/test_corpus.py` (checks the corpus itself, engine or not) and
`tests/workflow/act/test_act_agrees.py` (runs the `act: true` fixtures through nektos/act).

A fixture is a directory under `tests/fixtures/workflows/<behaviour>/`: the files of a repository
(`.github/workflows/*.yml`, actions, sources) plus `case.yml`, which is not committed. The keys of
`case.yml` are listed in `CASE_KEYS` and `EXPECT_KEYS`; `{outdir}` in `args`, `setup` and `env`
values is replaced by a scratch directory outside the repository (for cross-job evidence such as
lock directories, and files that a killed process must never write).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.gitutil import Identity, commit, git_env, init

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows"

CASE_KEYS = frozenset(
    {"description", "event", "args", "branch", "setup", "payload", "env", "expect"}
    | {"act", "act_jobs"}
)
EXPECT_KEYS = frozenset(
    {
        "exit",
        "workflows",
        "jobs",
        "legs",
        "job_count",
        "stdout_contains",
        "stderr_contains",
        "stderr_not_contains",
        "log_contains",
        "log_not_contains",
        "annotations_absent",
        "run_dir_contains",
        "max_seconds",
        "settle",
        "outdir_absent",
        "outdir_contains",
    }
)
JOB_KEYS = frozenset({"result", "outputs", "steps", "annotations"})
RESULTS = frozenset({"success", "failure", "cancelled", "skipped"})

#: a variable set in the environment of `conveyor run`; no job may see it (host env not inherited)
HOST_MARKER = ("CONVEYOR_FIXTURE_HOST_MARKER", "host-env-leaked-7f3a")

GIT_IDENTITY = Identity(name="Fixture Author", email="author@example.com")


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One fixture directory and its parsed `case.yml`."""

    name: str
    directory: Path
    description: str
    event: str = "push"
    args: tuple[str, ...] = ()
    branch: str = "main"
    setup: str = ""
    payload: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    act: bool = False
    act_jobs: dict[str, str] | None = None


def load_case(directory: Path) -> Case:
    """Parse `directory/case.yml`; raise ValueError on unknown keys so typos never pass silently."""
    raw = yaml.safe_load((directory / "case.yml").read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{directory.name}/case.yml: expected a mapping")
    unknown = set(raw) - CASE_KEYS
    if unknown:
        raise ValueError(f"{directory.name}/case.yml: unknown keys {sorted(unknown)}")
    expect = raw.get("expect") or {}
    bad = set(expect) - EXPECT_KEYS
    if bad:
        raise ValueError(f"{directory.name}/case.yml: unknown expect keys {sorted(bad)}")
    return Case(
        name=directory.name,
        directory=directory,
        description=str(raw.get("description", "")),
        event=str(raw.get("event", "push")),
        args=tuple(str(a) for a in raw.get("args") or ()),
        branch=str(raw.get("branch", "main")),
        setup=str(raw.get("setup") or ""),
        payload=raw.get("payload"),
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
        expect=expect,
        act=bool(raw.get("act", False)),
        act_jobs=raw.get("act_jobs"),
    )


def all_cases() -> list[Case]:
    """Every fixture in the corpus, sorted by name."""
    return [load_case(d) for d in sorted(FIXTURES.iterdir()) if (d / "case.yml").is_file()]


def substitute(text: str, outdir: Path) -> str:
    """Replace the `{outdir}` placeholder."""
    return text.replace("{outdir}", str(outdir))


def build_repo(case: Case, root: Path) -> tuple[Path, Path]:
    """Copy the fixture to `root/repo` (without case.yml), commit it on `case.branch` and run
    `case.setup` there. Returns (repo, outdir)."""
    repo, outdir, home = root / "repo", root / "out", root / "home"
    outdir.mkdir(parents=True)
    home.mkdir()
    shutil.copytree(case.directory, repo, ignore=shutil.ignore_patterns("case.yml"))
    env = git_env(identity=GIT_IDENTITY, home=home, isolated=True)
    init(repo, branch=case.branch, env=env)
    commit(repo, f"fixture {case.name}", env=env)
    if case.setup:
        subprocess.run(
            ["bash", "-eo", "pipefail", "-c", substitute(case.setup, outdir)],
            cwd=repo,
            env=env,
            check=True,
            capture_output=True,
        )
    return repo, outdir


def write_payload(case: Case, root: Path) -> Path | None:
    """Write `case.payload` to a JSON file outside the repository (None if the case has none)."""
    if case.payload is None:
        return None
    path = root / "event.json"
    path.write_text(json.dumps(case.payload), encoding="utf-8")
    return path
