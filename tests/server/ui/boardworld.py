"""Real data for the board and journey tests: an app repository hosted by the UI's server
whose pushes start runs (runners played through `CIService.poll` / `complete`), a hosted
config repository with `promotion.yaml` (dev → staging → prod, prod by approval) and real
promotion commits written by `conveyor.promote.service.promote`, and a real
`conveyor reconcile --listen` daemon over the memory target deploying each stage.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from conveyor.ci.service import CIService
from conveyor.clients.gitwrite import Identity, Remote
from conveyor.promote.imageref import parse_image
from conveyor.promote.planner import EditSpec
from conveyor.promote.service import promote
from conveyor.promote.writeback import Status, WriteRequest
from tests.gitutil import commit, git, init

IMAGE = "registry.local/acme/web"
STAGES = ("dev", "staging", "prod")
PROMOTION = """stages:
  - name: dev
    paths: [envs/dev]
  - name: staging
    paths: [envs/staging]
  - name: prod
    rule: approval
    paths: [envs/prod]
"""
SHIP = """name: Ship
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  deploy-prod:
    needs: build
    runs-on: ubuntu-latest
    environment: prod
    steps: [{run: "true"}]
"""


def deployment(env: str, image: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": f"web-{env}"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "main", "image": image}]},
                },
            },
        }
    )


@dataclass
class World:
    service: CIService
    tmp: Path
    app_repo: str = "acme/web"
    config_repo: str = "acme/config"
    work: dict[str, Path] = field(default_factory=dict)

    # -- the app repository and its runs -------------------------------------------------

    def push_app(
        self, message: str = "change", *, branch: str = "main", pusher: str = "alice"
    ) -> tuple[str, list[int]]:
        """Commit to the app repository, push it to the server, hand the push to the CI
        service; the commit and its runs."""
        work = self._work(self.app_repo, {".github/workflows/ship.yml": SHIP})
        sha = commit(work, message, {"n": str(time.monotonic_ns())})
        git(work, "push", "-q", str(self.service.repo_path(self.app_repo)), f"HEAD:{branch}")
        runs = asyncio.run(
            self.service.handle_push(
                self.app_repo, ref=f"refs/heads/{branch}", before="0" * 40, after=sha, pusher=pusher
            )
        )
        return sha, runs

    def run_job(self, run_id: int, result: str = "success", **outputs: str) -> str:
        """A runner takes the next job of `run_id` and reports `result`; the job's name."""
        got = asyncio.run(self.service.poll("runner-1", labels=["ubuntu-latest"], timeout=0))
        assert got is not None and got["run_id"] == run_id, got
        job = {"result": result, "outputs": outputs}
        self.service.complete(run_id, "runner-1", {"result": result, "job": job})
        return str(got["job_id"])

    # -- the config repository ------------------------------------------------------------

    def seed_config(self, extra: dict[str, str] | None = None) -> Path:
        files = {"promotion.yaml": PROMOTION} | {
            f"envs/{env}/web.yaml": deployment(env, f"{IMAGE}:seed") for env in STAGES
        }
        work = self._work(self.config_repo, files | (extra or {}))
        commit(work, "seed")
        bare = self.service.repo_path(self.config_repo)
        git(work, "push", "-q", str(bare), "HEAD:main")
        return bare

    def promote(
        self, sha: str, env: str, *, run_id: int | None, tag: str | None = None, who: str = "CI"
    ) -> str:
        """A real promotion commit of `IMAGE:tag` into `env`, with the trailers CI writes."""
        bare = self.service.repo_path(self.config_repo)
        spec = EditSpec(image=parse_image(IMAGE), tag=tag or sha[:12], env=env)
        run = f"http://127.0.0.1:8080/{self.app_repo}/actions/runs/{run_id}" if run_id else None
        out = promote(
            WriteRequest(
                remote=Remote.parse(str(bare)),
                spec=spec,
                source_commit=sha,
                run=run,
                author=Identity(name=who, email="ci@example.invalid"),
                cache_root=self.tmp / "promote-cache",
                force=env == "prod",
            )
        )
        assert out.status == Status.PROMOTED and out.commit, out
        return out.commit

    def _work(self, repo: str, first_files: dict[str, str]) -> Path:
        if repo not in self.work:
            self.service.create_repo(repo)
            work = init(self.tmp / ("work-" + repo.replace("/", "-")))
            commit(work, "init", first_files)
            self.work[repo] = work
        return self.work[repo]


# -- a real reconciler ---------------------------------------------------------------------


@dataclass
class Reconciler:
    proc: subprocess.Popen[bytes]
    url: str
    token_file: Path
    log: Path

    def token(self) -> str:
        return self.token_file.read_text().strip()

    def refresh(self) -> None:
        for env in STAGES:
            reply = httpx.post(
                f"{self.url}/refresh/web-{env}", headers={"Authorization": f"Bearer {self.token()}"}
            )
            assert reply.status_code == 202, reply.text

    def statuses(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.url}/apps", headers={"Authorization": f"Bearer {self.token()}"})
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    def wait_revision(
        self, revision: str, *, apps: tuple[str, ...] = STAGES, health: str = "Healthy"
    ) -> dict[str, Any]:
        """Statuses once the apps of `apps` (every stage's) are synced to `revision` with
        `health` (30 s at most)."""
        deadline = time.monotonic() + 30
        while True:
            found = self.statuses() if self.token_file.exists() else {}
            done = [found.get(f"web-{e}", {}) for e in apps]
            if all(
                d.get("sync", {}).get("revision") == revision
                and d.get("health", {}).get("status") == health
                for d in done
            ):
                return found
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"not at {revision}: {found}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def start_reconciler(config_bare: Path, tmp: Path) -> Reconciler:
    """`conveyor reconcile --listen` over the file-backed memory target, with one app per
    stage (`web-dev` …) whose source is the stage's path in the hosted config repo."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = tmp / "reconciler"
    root.mkdir()
    settings = {
        "targets": [{"name": "memory", "type": "memory", "stateFile": str(root / "t.json")}],
        "state": str(root / "state.db"),
        "cache": str(root / "cache"),
    }
    (root / "conveyor.yaml").write_text(yaml.safe_dump(settings))
    apps = [_application(env, config_bare) for env in STAGES]
    (root / "apps.yaml").write_text(yaml.safe_dump_all(apps))
    script = "import sys; from conveyor.app import cmd_reconcile; cmd_reconcile.reconcile.main()"
    args = ["--apps", str(root / "apps.yaml"), "--config", str(root / "conveyor.yaml")]
    args += ["--interval", "1h", "--listen", f"127.0.0.1:{port}"]
    log = root / "loop.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Reconciler(
        proc=proc, url=f"http://127.0.0.1:{port}", token_file=root / "reconciler.token", log=log
    )


def _application(env: str, bare: Path) -> dict[str, Any]:
    return {
        "apiVersion": "conveyor.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"web-{env}"},
        "spec": {
            "source": {"repoURL": str(bare), "path": f"envs/{env}", "targetRevision": "main"},
            "destination": {"name": "memory", "namespace": f"web-{env}"},
            "syncPolicy": {"automated": {"prune": True}},
        },
    }
