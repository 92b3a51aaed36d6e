"""The scripted tour of the running platform: one method per stage of the article's loop.

`Tour(info)` drives and observes a `conveyor up`: `commit()` pushes a new version of
`demo/app`; `wait_run()` finds the CI run of that commit; `wait_image()` sees the image in
the registry; `wait_served(env, version)` waits until an environment's URL serves it (and
its Application is Synced and Healthy); `wait_approval()` sees the run wait for the prod
environment, `approve()` approves it; `kill_one(env)` kills a container by hand and
`wait_healed(env)` waits for the replacement; `rollback_revert(env)` runs `conveyor app
rollback --revert`. Every step returns what it saw and is timed into `self.steps`.

Called by `conveyor demo` (printing as it goes), the end-to-end test (asserting after each
step) and `bench/commit_to_running.py` (timing commit → dev serves).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from conveyor.app import overview, seed
from conveyor.app.api import Api, wait_for
from conveyor.app.platform import PlatformInfo
from conveyor.core.errors import ConveyorError

T = TypeVar("T")
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Demo Developer",
    "GIT_AUTHOR_EMAIL": "dev@conveyor.invalid",
    "GIT_COMMITTER_NAME": "Demo Developer",
    "GIT_COMMITTER_EMAIL": "dev@conveyor.invalid",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    seconds: float
    detail: str
    ended: float = 0.0  # time.time() when the step was seen done (the trace test's clock)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pushed:
    sha: str
    version: str
    push_started: float  # time.time() right before `git push`
    pushed_at: float  # time.time() right after `git push` returned


class TourError(ConveyorError):
    """A stage of the tour did not happen in time (the message says which and what was seen)."""


class Tour:
    def __init__(
        self,
        info: PlatformInfo,
        *,
        timeout: float = 180.0,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.info = info
        self.token = info.token()
        self.api = Api(info.server_url, self.token)
        self.timeout = timeout
        self.echo = echo or (lambda _line: None)
        self.steps: list[Step] = []
        self._work = Path(tempfile.mkdtemp(prefix="conveyor-tour-"))

    def close(self) -> None:
        self.api.close()
        subprocess.run(["rm", "-rf", str(self._work)], check=False)

    def _timed(self, name: str, action: Callable[[], T], detail: Callable[[T], str]) -> T:
        started = time.monotonic()
        self.echo(f"… {name}")
        try:
            value = action()
        except ConveyorError as exc:
            raise TourError(f"{name}: {exc}") from exc
        step = Step(
            name=name, seconds=time.monotonic() - started, detail=detail(value), ended=time.time()
        )
        self.steps.append(step)
        self.echo(f"✓ {name} ({step.seconds:.1f}s){': ' + step.detail if step.detail else ''}")
        return value

    # -- the developer ----------------------------------------------------------------------
    def _git(self, *args: str, cwd: Path) -> str:
        env = {**seed.auth_env(self.token), **_IDENTITY}
        proc = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise TourError(f"git {args[0]}: {proc.stderr.strip().replace(self.token, '***')}")
        return proc.stdout.strip()

    def commit(self, version: str | None = None) -> Pushed:
        """Clone (or update) demo/app, write `site/version`, commit and push to main."""

        def push() -> Pushed:
            clone = self._work / "app"
            if not clone.exists():
                self._git(
                    "clone",
                    "-q",
                    "--end-of-options",
                    self.info.git_url(self.info.app_repo),
                    str(clone),
                    cwd=self._work,
                )
            else:
                self._git("pull", "-q", "--rebase", "origin", "main", cwd=clone)
            new = version or f"v{time.strftime('%H%M%S')}-{os.urandom(2).hex()}"
            (clone / "site" / "version").write_text(new + "\n")
            self._git("commit", "-q", "-am", f"Release {new}", cwd=clone)
            push_started = time.time()
            self._git("push", "-q", "origin", "HEAD:main", cwd=clone)
            pushed_at = time.time()
            return Pushed(
                sha=self._git("rev-parse", "HEAD", cwd=clone),
                version=new,
                push_started=push_started,
                pushed_at=pushed_at,
            )

        return self._timed("commit to demo/app", push, lambda p: f"{p.sha[:12]} {p.version}")

    # -- CI -----------------------------------------------------------------------------------
    def find_run(self, sha: str) -> dict[str, Any] | None:
        for run in self.api.runs(repo=self.info.app_repo, limit=50):
            if run.get("sha") == sha and run.get("event") == "push":
                return run
        return None

    def wait_run(self, sha: str) -> dict[str, Any]:
        return self._timed(
            "CI run queued for the push",
            lambda: wait_for(
                f"a run for {sha[:12]}", lambda: self.find_run(sha), timeout=self.timeout
            ),
            lambda run: f"run #{run['id']} ({run.get('workflow_name', '')})",
        )

    def image_pushed(self, sha: str) -> bool:
        url = f"http://{self.info.registry}/v2/demo/app/tags/list"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return sha in (json.loads(response.read()).get("tags") or [])
        except (OSError, ValueError):
            return False

    def wait_image(self, sha: str) -> str:
        image = f"{self.info.registry}/demo/app:{sha}"
        return self._timed(
            "image built and pushed",
            lambda: (
                wait_for(
                    f"{image} in the registry",
                    lambda: self.image_pushed(sha) or None,
                    timeout=self.timeout,
                )
                and image
            ),
            lambda image: image,
        )

    def run_view(self, run_id: int) -> dict[str, Any]:
        return self.api.run(run_id)

    def wait_run_concluded(self, run_id: int) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            run = self.api.run(run_id)
            return run if run.get("status") == "completed" else None

        return self._timed(
            "CI run completed",
            lambda: wait_for(f"run #{run_id} to complete", done, timeout=self.timeout),
            lambda run: str(run.get("conclusion")),
        )

    # -- environments -------------------------------------------------------------------------
    def env_view(self, env: str) -> overview.EnvView:
        for view in overview.environments(self.info):
            if view.env == env:
                return view
        raise TourError(f"no environment {env!r}")

    def served(self, env: str) -> str:
        return overview.served_version(self.info.environments[env])

    def wait_served(self, env: str, version: str, *, why: str = "") -> overview.EnvView:
        def serving() -> overview.EnvView | None:
            if self.served(env) != version:
                return None
            view = self.env_view(env)
            return view if view.sync == "Synced" and view.health == "Healthy" else None

        return self._timed(
            why or f"{env} serves {version}",
            lambda: wait_for(
                f"{env} to serve {version} (serves {self.served(env)!r})",
                serving,
                timeout=self.timeout,
            ),
            _served_line,
        )

    # -- approvals ----------------------------------------------------------------------------
    def pending(self, run_id: int, env: str) -> dict[str, Any] | None:
        for item in self.api.pending_approvals():
            if item.get("run_id") == run_id and item.get("environment") == env:
                return item
        return None

    def wait_approval(self, run_id: int, env: str = "prod") -> dict[str, Any]:
        return self._timed(
            f"run #{run_id} waits for approval to {env}",
            lambda: wait_for(
                f"a pending approval of {env}",
                lambda: self.pending(run_id, env),
                timeout=self.timeout,
            ),
            lambda _item: f"approve with: conveyor approve {run_id} --env {env}",
        )

    def approve(self, run_id: int, env: str = "prod") -> None:
        self._timed(
            f"approve {env}",
            lambda: self.api.approve(run_id, env, comment="approved by conveyor demo"),
            lambda _none: "",
        )

    # -- operations ---------------------------------------------------------------------------
    def _podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        from conveyor.clients.podman_host import write_config

        env = {**os.environ, **write_config(Path(self.info.state_dir) / "podman")}
        return subprocess.run(
            ["podman", *args], env=env, capture_output=True, text=True, check=False, timeout=60
        )

    def kill_one(self, env: str, image: str = "") -> tuple[str, int]:
        """`podman kill` one running container of `env` (running `image`, if given); returns
        its name and start time. A container that vanished meanwhile (a replica the
        rollout was just removing) is skipped for another."""

        def candidates() -> list[Any]:
            rows = overview.containers_by_namespace().get(f"demo-{env}", [])
            return [
                r
                for r in rows
                if r.get("State") == "running" and (not image or r.get("Image") == image)
            ]

        def kill() -> tuple[str, int]:
            problem = f"no running container in {env}"
            for _attempt in range(10):
                running = candidates()
                if running:
                    row = running[0]
                    name = str(row["Names"][0])
                    done = self._podman("kill", "--", name)
                    if done.returncode == 0:
                        return name, int(row.get("StartedAt") or 0)
                    problem = f"podman kill {name}: {done.stderr.strip()}"
                time.sleep(0.3)
            raise TourError(problem)

        return self._timed(f"kill a {env} container by hand", kill, lambda killed: killed[0])

    def wait_healed(
        self, env: str, killed: tuple[str, int], version: str, replicas: int = 2
    ) -> None:
        """The killed container was restarted or replaced, and `replicas` serve `version`."""
        name, started = killed

        def healed() -> bool:
            rows = overview.containers_by_namespace().get(f"demo-{env}", [])
            running = [r for r in rows if r.get("State") == "running"]
            again = [r for r in running if name in r.get("Names", [])]
            replaced = not any(name in r.get("Names", []) for r in rows)
            restarted = bool(again) and int(again[0].get("StartedAt") or 0) > started
            return (
                len(running) >= replicas and (replaced or restarted) and self.served(env) == version
            )

        self._timed(
            f"{env} healed",
            lambda: wait_for(
                f"{env} to run {replicas} replicas again", healed, timeout=self.timeout
            ),
            lambda _ok: f"{replicas} replicas running, serving {version}",
        )

    def config_head_subject(self) -> str:
        """The subject of the hosted config repo's main (what the reconciler deploys)."""
        clone = self._work / "config"
        if not clone.exists():
            url = self.info.git_url(self.info.config_repo)
            self._git(
                "clone", "-q", "--no-checkout", "--end-of-options", url, str(clone), cwd=self._work
            )
        else:
            self._git("fetch", "-q", "origin", "main", cwd=clone)
        return self._git("log", "-1", "--format=%s", "origin/main", cwd=clone)

    def rollback_revert(self, env: str, *, cli_timeout: float = 60.0) -> str:
        """`conveyor app rollback demo-<env> --revert`: a revert commit in demo/config.

        The CLI only commits and pushes the revert; the running reconciler deploys it (the
        hosted repo's push hook refreshes it). A CLI still busy after `cli_timeout` (a slow
        Git server) is stopped once its revert commit is on main."""

        def revert() -> str:
            argv = [
                sys.executable, "-m", "conveyor.app", "app", "rollback", self.info.app_name(env),
                "--revert", "--state", self.info.state_db,
                "--apps", self.info.git_url(self.info.config_repo),
                "--config", str(Path(self.info.state_dir) / "conveyor.yaml"),
            ]  # fmt: skip
            env_vars = {**seed.auth_env(self.token), "CONVEYOR_HOME": self.info.state_dir}
            proc = subprocess.Popen(
                argv, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            try:
                out, _ = proc.communicate(timeout=cli_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                subject = self.config_head_subject()
                if not subject.startswith(f"Revert {self.info.app_name(env)}"):
                    raise TourError(f"no revert after {cli_timeout:.0f}s") from None
                return f"{subject} (the CLI's own sync was still busy; the reconciler deploys it)"
            out = out.replace(self.token, "***").strip()
            if proc.returncode != 0:
                raise TourError(f"conveyor app rollback --revert failed: {out}")
            return next((line for line in out.splitlines() if "revert" in line), out[-200:])

        return self._timed(
            f"conveyor app rollback {self.info.app_name(env)} --revert", revert, lambda out: out
        )


def _served_line(view: overview.EnvView) -> str:
    images = overview.image_text(view.images, view.draining)
    return f"{view.url}/version, image {images}, revision {view.revision}"
