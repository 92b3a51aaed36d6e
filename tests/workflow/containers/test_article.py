"""The article's reusable-build.yml + main.yml pair, run for real against a local registry.

Adaptations of the published files (all minimal, each explained where it is made):
- the image name points at the test registry (`127.0.0.1:<port>/my-org/my-app`);
- main.yml passes DOCKER_USERNAME/DOCKER_PASSWORD to the callee, which does not declare
  them: GitHub rejects such a call and so does Conveyor's loader, so the copy of
  reusable-build.yml here declares them under `on.workflow_call.secrets`;
- the login step names the same registry (`registry:`), as the image name now points there;
- the callee also exports the build step's `digest` as a workflow output, so the test can
  compare it with the registry's manifest digest.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from conveyor.workflow.run.actions.store import ActionStore
from tests.workflow.containers.conftest import Repo, git

SEED = Path("/work/shared/seed/workflows")
CALLEE_SECRETS = """\
    secrets:  # added: main.yml passes these and GitHub requires them declared
      DOCKER_USERNAME:
        required: true
      DOCKER_PASSWORD:
        required: true
"""
CALLEE_DIGEST = """\
      digest:  # added: the pushed image's digest
        value: ${{ jobs.build_and_push.outputs.digest }}
"""

GIT_SYNC_STANDIN = """\
name: "git-sync stand-in: commit and push the workspace"
inputs:
  repository: {required: true}
  branch: {required: true}
  message: {required: true}
  user_email: {required: true}
  user_name: {required: true}
  token: {required: false}
runs:
  using: composite
  steps:
    - shell: sh
      run: |
        git -c user.email="${{ inputs.user_email }}" -c user.name="${{ inputs.user_name }}" \\
          commit -qam "${{ inputs.message }}"
        git push -q origin HEAD:${{ inputs.branch }}
"""


def _sources(registry: str) -> dict[str, str]:
    callee = (SEED / "reusable-build.yml").read_text()
    callee = callee.replace(
        "    outputs:\n      image_tag:",
        CALLEE_SECRETS + "    outputs:\n" + CALLEE_DIGEST + "      image_tag:",
    )
    callee = callee.replace(
        "    outputs:\n      full_image_tag:",
        "    outputs:\n      digest: ${{ steps.build_image.outputs.digest }}\n"
        "      full_image_tag:",
    )
    callee = callee.replace(
        "        uses: docker/login-action@v3\n        with:\n",
        f"        uses: docker/login-action@v3\n        with:\n          registry: {registry}\n",
    )
    caller = (
        (SEED / "main.yml").read_text().replace("my-org/my-app\n", f"{registry}/my-org/my-app\n")
    )
    return {
        ".github/workflows/reusable-build.yml": callee,
        ".github/workflows/main.yml": caller,
    }


def _gitops(tmp: Path) -> Path:
    """A bare `my-org/gitops-config` with k8s/deployment.yaml, as checkout finds it."""
    work = tmp / "gitops-work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "k8s").mkdir()
    (work / "k8s/deployment.yaml").write_text("spec:\n  image: my-org/my-app:old\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "init")
    bare = tmp / "repos/my-org/gitops-config.git"
    bare.parent.mkdir(parents=True)
    git(tmp, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def test_missing_git_sync_says_how_to_vendor_it(repo: Repo, tmp_path: Path) -> None:
    repo.write(_sources("127.0.0.1:5999")).write({"Dockerfile": "FROM scratch\n"}).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(tmp_path / "store")})
    assert out.code == 2
    assert "stefanprodan/git-sync@v2" in out.stderr
    assert "conveyor actions vendor stefanprodan/git-sync@v2 --from" in out.stderr


def test_article_pipeline_pushes_and_updates_the_config_repo(
    repo: Repo, tmp_path: Path, registry: str, busybox: str
) -> None:
    bare = _gitops(tmp_path)
    standin = tmp_path / "git-sync-src"
    standin.mkdir()
    (standin / "action.yml").write_text(GIT_SYNC_STANDIN)
    store = tmp_path / "store"

    ActionStore(store).vendor("stefanprodan/git-sync@v2", str(standin))
    dockerfile = f"FROM {busybox}\nRUN echo hello > /hello.txt\n"
    repo.write(_sources(registry)).write({"Dockerfile": dockerfile}).commit()
    sha = git(repo.root, "rev-parse", "HEAD")
    out = repo.run(
        "--secret",
        "DOCKER_USERNAME=ci",
        "--secret",
        "DOCKER_PASSWORD=pw",
        "--secret",
        "GITOPS_REPO_TOKEN=tok",
        env={"CONVEYOR_ACTIONS": str(store), "CONVEYOR_REPOSITORIES": str(tmp_path / "repos")},
    )
    assert out.code == 0, out.stdout + out.stderr
    jobs = out.jobs()
    build = jobs["call_build"]
    digest = build["outputs"]["digest"]
    assert digest.startswith("sha256:")
    assert build["outputs"]["image_tag"] == f"{registry}/my-org/my-app:{sha}"
    request = urllib.request.Request(
        f"http://{registry}/v2/my-org/my-app/manifests/{sha}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json"
        },
        method="HEAD",
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Docker-Content-Digest"] == digest
    deployed = git(bare, "show", "main:k8s/deployment.yaml")
    assert deployed == f"spec:\n  image: {registry}/my-org/my-app:{sha}"
    assert "[skip ci]" in git(bare, "log", "-1", "--format=%s", "main")
