"""Built-ins in workflows: setup-python / setup-node from host toolchains, setup-buildx
outputs, metadata-action tags."""

from __future__ import annotations

import json
import subprocess
import sys

from conveyor.clients.podman import Podman
from tests.workflow.containers.conftest import Repo
from tests.workflow.run.conftest import workflow

HOST_PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_setup_toolchains_and_docker_metadata(repo: Repo) -> None:
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - id: py
            uses: actions/setup-python@v5
            with:
              python-version: "{HOST_PY}"
          - id: node
            uses: actions/setup-node@v4
            with:
              node-version: 20.x
          - id: which
            run: |
              echo "py=$(python --version)" >> "$GITHUB_OUTPUT"
              echo "loc=$pythonLocation" >> "$GITHUB_OUTPUT"
          - id: bx
            uses: docker/setup-buildx-action@v3
          - id: meta
            uses: docker/metadata-action@v5
            with:
              images: registry.example/app
              tags: |
                type=ref,event=branch
                type=sha
        outputs:
          pyver: ${{{{ steps.py.outputs.python-version }}}}
          nodever: ${{{{ steps.node.outputs.node-version }}}}
          py: ${{{{ steps.which.outputs.py }}}}
          loc: ${{{{ steps.which.outputs.loc }}}}
          driver: ${{{{ steps.bx.outputs.driver }}}}
          tags: ${{{{ join(fromJSON(steps.meta.outputs.json).tags, ' ') }}}}
          version: ${{{{ steps.meta.outputs.version }}}}
    """
    repo.write(workflow(text)).commit()
    out = repo.run()
    assert out.code == 0, out.stdout + out.stderr
    got = out.jobs()["j"]["outputs"]
    assert got["pyver"].startswith(HOST_PY + ".")
    assert got["py"] == f"Python {got['pyver']}"
    assert got["loc"]
    assert got["nodever"].startswith("v20.")
    assert got["driver"] == "podman"
    tags = got["tags"].split()
    assert tags[0] == "registry.example/app:main"
    assert tags[1].startswith("registry.example/app:sha-") and len(tags[1]) == 32
    assert got["version"] == "main"


def test_setup_python_without_a_matching_host_python_fails_clearly(repo: Repo) -> None:
    text = """
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/setup-python@v5
            with:
              python-version: "2.6"
    """
    repo.write(workflow(text)).commit()
    out = repo.run()
    assert out.code == 1
    assert "The version '2.6' with architecture 'x64' was not found" in out.stdout + out.stderr


def test_build_push_target_build_args_labels_without_push(repo: Repo, busybox: str) -> None:
    dockerfile = (
        f"FROM {busybox} AS base\nARG FLAVOUR=plain\nRUN echo $FLAVOUR > /flavour\n"
        "FROM base AS final\nRUN echo final > /stage\n"
    )
    tag = f"localhost/conveyor-test/built:{repo.root.parent.name[-12:].lower()}"
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - id: b
            uses: docker/build-push-action@v5
            with:
              context: .
              file: build/Containerfile
              target: base
              tags: {tag}
              build-args: FLAVOUR=spicy
              labels: |
                org.example.team=ci
              cache-from: type=gha
              push: false
        outputs:
          imageid: ${{{{ steps.b.outputs.imageid }}}}
          digest: ${{{{ steps.b.outputs.digest }}}}
          metadata: ${{{{ steps.b.outputs.metadata }}}}
    """
    repo.write({**workflow(text), "build/Containerfile": dockerfile}).commit()
    out = repo.run()
    assert out.code == 0, out.stdout + out.stderr
    got = out.jobs()["j"]["outputs"]
    assert got["imageid"].startswith("sha256:")
    assert got["digest"] == ""
    assert json.loads(got["metadata"])["image.name"] == tag
    env = dict(Podman().env)
    run = subprocess.run(
        ["podman", "run", "--rm", tag, "sh", "-c", "cat /flavour; test ! -e /stage"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.stdout.strip() == "spicy", run.stderr
    inspect = subprocess.run(
        ["podman", "image", "inspect", tag, "--format", "{{json .Labels}}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(inspect.stdout)["org.example.team"] == "ci"
    subprocess.run(["podman", "rmi", "-f", tag], env=env, capture_output=True, check=False)
