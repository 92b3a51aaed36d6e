"""Docker actions, `docker://` steps and `--runner podman` through real Podman."""

from __future__ import annotations

from pathlib import Path

from conveyor.workflow.run.actions.store import ActionStore
from tests.workflow.containers.conftest import Repo
from tests.workflow.run.conftest import workflow

ACTION = """\
name: dock
inputs:
  greeting: {default: hello}
runs:
  using: docker
  image: Dockerfile
  args: ["${{ inputs.greeting }}", "second arg"]
  pre-entrypoint: /pre.sh
  post-entrypoint: /post.sh
"""
ENTRY = """#!/bin/sh
echo "ARGS=$1|$2 cwd=$(pwd) ws=$GITHUB_WORKSPACE input=$INPUT_GREETING marker=$(cat marker.txt)"
echo "said=$1" >> "$GITHUB_OUTPUT"
echo "FROM_ACTION=yes" >> "$GITHUB_ENV"
"""


def _vendor(tmp: Path, busybox: str) -> Path:
    src = tmp / "dock"
    src.mkdir()
    (src / "action.yml").write_text(ACTION)
    (src / "Dockerfile").write_text(
        f'FROM {busybox}\nCOPY entry.sh pre.sh post.sh /\nENTRYPOINT ["/entry.sh"]\n'
    )
    (src / "entry.sh").write_text(ENTRY)
    (src / "post.sh").write_text("#!/bin/sh\necho POST-ENTRYPOINT ran\n")
    (src / "pre.sh").write_text("#!/bin/sh\necho PRE-ENTRYPOINT ran\n")
    for name in ("entry.sh", "pre.sh", "post.sh"):
        (src / name).chmod(0o755)
    store = tmp / "store"
    ActionStore(store).vendor("acme/dock@v1", str(src))
    return store


def test_dockerfile_action_and_image_step(repo: Repo, tmp_path: Path, busybox: str) -> None:
    store = _vendor(tmp_path, busybox)
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - run: echo here > marker.txt
          - id: dock
            uses: acme/dock@v1
            with: {{greeting: hi}}
          - id: image
            uses: docker://{busybox}
            with:
              args: sh -c 'echo "v=$INPUT_NOTE $FROM_ACTION" >> "$GITHUB_OUTPUT"'
              note: noted
        outputs:
          said: ${{{{ steps.dock.outputs.said }}}}
          v: ${{{{ steps.image.outputs.v }}}}
    """
    repo.write(workflow(text)).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(store)})
    assert out.code == 0, out.stdout + out.stderr
    assert "ARGS=hi|second arg cwd=/github/workspace ws=/github/workspace input=hi marker=here" in (
        out.stderr
    )
    assert out.jobs()["j"]["outputs"] == {"said": "hi", "v": "noted yes"}
    log = out.stderr
    # pre-entrypoint at the job's start (before the first step), post-entrypoint at its end
    assert log.index("PRE-ENTRYPOINT ran") < log.index("Run echo here") < log.index("ARGS=")
    assert log.index("ARGS=") < log.index("POST-ENTRYPOINT ran")


def test_podman_runner_runs_the_job_in_the_mapped_image(repo: Repo, busybox: str) -> None:
    text = """
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - id: where
            run: |
              test -f /run/.containerenv && echo "in=container" >> "$GITHUB_OUTPUT"
              echo "shell=$(readlink /proc/$$/exe)" >> "$GITHUB_OUTPUT"
        outputs:
          in: ${{ steps.where.outputs.in }}
          shell: ${{ steps.where.outputs.shell }}
    """
    repo.write(workflow(text)).commit()
    out = repo.run("--runner", "podman", "-P", f"ubuntu-latest={busybox}")
    assert out.code == 0, out.stdout + out.stderr
    assert out.jobs()["j"]["outputs"] == {"in": "container", "shell": "/bin/busybox"}
