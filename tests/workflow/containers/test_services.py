"""`services:` and `container:` jobs through real Podman: one network and one job container
per job, services by name or mapped port, health checks waited on, all torn down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conveyor.clients.podman import Podman
from tests.workflow.containers.conftest import Repo
from tests.workflow.run.conftest import workflow

HEALTH = (
    '--health-cmd "wget -q -O /dev/null http://127.0.0.1:80/" '
    "--health-interval 1s --health-retries 20"
)

SERVICES = f"""
on: push
jobs:
  host:
    runs-on: ubuntu-latest
    services:
      web:
        image: IMAGE
        ports: ["80"]
        options: >-
          {HEALTH}
    steps:
      - id: get
        run: |
          port="${{{{ job.services.web.ports['80'] }}}}"
          body=$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$port/').read().decode().strip())")
          echo "body=$body" >> "$GITHUB_OUTPUT"
    outputs:
      body: ${{{{ steps.get.outputs.body }}}}
  boxed:
    runs-on: ubuntu-latest
    container:
      image: BUSYBOX
      env:
        FROM_CONTAINER: yes
    services:
      web:
        image: IMAGE
        options: >-
          {HEALTH}
    steps:
      - id: get
        run: |
          echo "body=$(wget -q -O - http://web/)" >> "$GITHUB_OUTPUT"
          echo "where=$FROM_CONTAINER $(cat /etc/hostname | wc -c)" >> "$GITHUB_OUTPUT"
          echo "NEXT=from-env-file" >> "$GITHUB_ENV"
      - id: env
        shell: sh
        run: echo "next=$NEXT" >> "$GITHUB_OUTPUT"
      - run: echo "in the workspace" > made-in-container.txt
    outputs:
      body: ${{{{ steps.get.outputs.body }}}}
      where: ${{{{ steps.get.outputs.where }}}}
      next: ${{{{ steps.env.outputs.next }}}}
"""


def _containers(home: Path) -> set[str]:
    """Job containers (and services) of runs under `home` that still exist."""
    out = subprocess.run(
        ["podman", "ps", "-a", "--format", '{{.Names}} {{index .Labels "io.conveyor.job-dir"}}'],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "CONTAINERS_CONF": "/dev/null"},
    )
    found = set()
    for line in out.stdout.splitlines():
        name, _, job_dir = line.partition(" ")
        if job_dir.startswith(str(home)):
            found.add(name)
    return found


def test_services_from_host_and_container_jobs(repo: Repo, busybox: str, httpd_image: str) -> None:
    text = SERVICES.replace("IMAGE", httpd_image).replace("BUSYBOX", busybox)
    repo.write(workflow(text)).commit()
    out = repo.run()
    assert out.code == 0, out.stdout + out.stderr
    jobs = out.jobs()
    assert jobs["host"]["outputs"]["body"] == "hello-from-service"
    assert jobs["boxed"]["outputs"]["body"] == "hello-from-service"
    assert jobs["boxed"]["outputs"]["where"].startswith("yes ")
    assert jobs["boxed"]["outputs"]["next"] == "from-env-file"
    assert _containers(repo.home) == set()  # everything torn down


def test_unhealthy_service_fails_the_job_before_steps(repo: Repo, httpd_image: str) -> None:
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        services:
          web:
            image: {httpd_image}
            options: --health-cmd "false" --health-interval 100ms --health-retries 2
        steps:
          - run: echo should-not-run
    """
    repo.write(workflow(text)).commit()
    out = repo.run()
    assert out.code == 1
    assert "unhealthy" in out.stdout + out.stderr
    assert "should-not-run" not in out.stdout


def test_ctrl_c_tears_the_job_containers_down(repo: Repo, busybox: str, httpd_image: str) -> None:
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        container: {busybox}
        services:
          web:
            image: {httpd_image}
        steps:
          - run: touch started && sleep 60
    """
    repo.write(workflow(text)).commit()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conveyor.app", "run"],
        cwd=repo.root,
        env={**os.environ, "CONVEYOR_HOME": str(repo.home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 60
    while not list(repo.home.glob("runs/*/_work/*/workspace/started")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    assert _containers(repo.home)  # the job container and the service run
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert _containers(repo.home) == set()


def test_container_image_pulled_from_a_registry_with_credentials(
    repo: Repo, busybox: str, registry: str
) -> None:
    remote = f"{registry}/test/pulled-busybox:{os.getpid()}"

    podman = dict(Podman().env)
    for args in (
        ["tag", busybox, remote],
        ["push", "-q", "--tls-verify=false", remote],
        ["rmi", remote],
    ):
        subprocess.run(["podman", *args], check=True, env=podman, capture_output=True)
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        container:
          image: {remote}
          credentials:
            username: u
            password: ${{{{ secrets.PW }}}}
        steps:
          - run: test -f /run/.containerenv && test "$HOME" = /github/home
    """
    repo.write(workflow(text)).commit()
    out = repo.run("--secret", "PW=pw")
    assert out.code == 0, out.stdout + out.stderr


SERVE = '-c "mkdir -p /w && echo from-$0 > /w/index.html && exec httpd -f -p 80 -h /w"'
FETCH = (
    'python3 -c "import sys, urllib.request as u; '
    "print(u.urlopen('http://127.0.0.1:' + sys.argv[1] + '/').read().decode().strip())\""
)
ENTRYPOINT = f"""
on: push
jobs:
  written:
    runs-on: ubuntu-latest
    services:
      web:
        image: IMAGE
        ports: ["80"]
        entrypoint: /bin/sh
        command: {SERVE} written
        options: >-
          {HEALTH}
    steps:
      - id: get
        run: echo "body=$({FETCH} ${{{{ job.services.web.ports['80'] }}}})" >> "$GITHUB_OUTPUT"
    outputs:
      body: ${{{{ steps.get.outputs.body }}}}
  whole:
    runs-on: ubuntu-latest
    services: ${{{{ fromJSON(vars.SERVICES) }}}}
    steps:
      - id: get
        run: echo "body=$({FETCH} ${{{{ job.services.web.ports['80'] }}}})" >> "$GITHUB_OUTPUT"
    outputs:
      body: ${{{{ steps.get.outputs.body }}}}
"""


def test_service_entrypoint_and_command_replace_the_images_own(
    repo: Repo, httpd_image: str
) -> None:
    """`entrypoint:` replaces the image's ENTRYPOINT and `command:` its CMD (the image alone
    would serve hello-from-service); the same through `services: ${{ fromJSON(...) }}`."""
    whole = {
        "web": {
            "image": httpd_image,
            "ports": ["80"],
            "entrypoint": "/bin/sh",
            "command": f"{SERVE} whole",
            "options": HEALTH,
        }
    }
    repo.write(workflow(ENTRYPOINT.replace("IMAGE", httpd_image))).commit()
    out = repo.run("--var", f"SERVICES={json.dumps(whole)}")
    assert out.code == 0, out.stdout + out.stderr
    jobs = out.jobs()
    assert jobs["written"]["outputs"]["body"] == "from-written"
    assert jobs["whole"]["outputs"]["body"] == "from-whole"
    assert _containers(repo.home) == set()
