"""Hosted repositories: bare repositories under `<data>/git/<owner>/<name>.git`, and the
mirrors of repositories followed through GitHub webhooks (`<data>/mirrors`).

`HostedRepos` belongs to `CIService` (`repo_path`, `create_repo`, `repos` for the server's
routes); `ci.runworkflows` reads runs' commits where `git_dir_of` says, and new runs get
`clone_url` (`ci.newruns`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conveyor.ci.deps import ServiceConfig
from conveyor.ci.errors import CIError, NotFound
from conveyor.ci.pushspool import install_hook
from conveyor.core.gitargs import repository_name_problem


class HostedRepos:
    """Where repositories live and how runners clone them."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config

    def path(self, full_name: str) -> Path:
        owner, _, name = full_name.partition("/")
        if not owner or not name or ".." in full_name or "/" in name:
            raise NotFound(f"no such repository {full_name!r}")
        return self.config.git_root / owner / f"{name.removesuffix('.git')}.git"

    def git_dir_of(self, full_name: str) -> Path:
        """Where a run's commits are: the hosted repository, else the mirror of a repository
        followed through GitHub webhooks (`<data>/mirrors/<owner>/<name>.git`)."""
        hosted = self.path(full_name)
        mirror = self.config.data_dir / "mirrors" / f"{full_name}.git"
        return mirror if not hosted.exists() and mirror.exists() else hosted

    def create(self, full_name: str) -> Path:
        """A hosted bare repository; the name follows GitHub's rules (else `CIError`, 400)."""
        problem = repository_name_problem(full_name)
        if problem:
            raise CIError(f"repository name {full_name[:120]!r} {problem}")
        path = self.path(full_name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    "git",
                    "init",
                    "--quiet",
                    "--bare",
                    "--initial-branch=main",
                    "--end-of-options",
                    str(path),
                ],
                check=True,
            )
        install_hook(path)
        return path

    def names(self) -> list[str]:
        root = self.config.git_root
        return sorted(
            f"{p.parent.name}/{p.name.removesuffix('.git')}" for p in root.glob("*/*.git")
        )

    def clone_url(self, full_name: str) -> str:
        base = self.config.public_url.rstrip("/")
        return f"{base}/git/{full_name}.git" if base else str(self.path(full_name))
