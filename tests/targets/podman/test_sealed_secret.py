"""A SealedSecret on the real Podman target, as users run it (issue 17): `conveyor seal
keygen` for the target, `conveyor seal` of a Secret into the config repo, then `conveyor
reconcile --once`. The container gets the plain value (an env var from `secretKeyRef`);
the value is nowhere else: not in the command's output, the state database, the Git
mirrors and exports, or any other file Conveyor wrote outside the target's own state (which
holds the Secret, as etcd does on a cluster) and Podman's containers."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import yaml

from conveyor.targets.podman.names import TARGET_LABEL
from tests.app.test_cmd_seal import conveyor
from tests.gitutil import git

from .conftest import WEB_IMAGE, Env
from .manifests import deployment
from .test_once_cli import Once
from .test_reconciler_e2e import config_repo
from .test_rollout import ROOT

VALUE = "podman-sealed-value-3c9e"


def sealed_into(work: Path, config: Path, target: str, plain_dir: Path) -> None:
    plain_dir.mkdir()
    secret = plain_dir / "db.yaml"
    secret.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db", "namespace": "demo"},
                "stringData": {"password": VALUE},
            }
        )
    )
    made = conveyor("seal", "keygen", "--config", str(config), "--target", target, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    sealed = conveyor("seal", str(secret), "--config", str(config), "--target", target, cwd=ROOT)
    assert sealed.returncode == 0, sealed.stderr
    (work / "app").mkdir(exist_ok=True)
    (work / "app" / "db.json").write_text(sealed.stdout)


def publish_web(work: Path) -> None:
    env = [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
    ]
    web = deployment("web", image=f"{WEB_IMAGE}:v1", replicas=1, extra_container={"env": env})
    del web["metadata"]["namespace"]
    web["metadata"]["labels"] = {}
    (work / "app" / "web.yaml").write_text(yaml.safe_dump(web))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "web with a sealed secret")
    git(work, "push", "-q", "origin", "HEAD:main")


def files_with(root: Path, skip: tuple[Path, ...], *forms: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or any(path.is_relative_to(s) for s in skip):
            continue
        data = path.read_bytes()
        found += [f"{path}: {form}" for form in forms if form.encode() in data]
    return found


def test_a_sealed_secret_reaches_the_container_and_nowhere_else(env: Env, tmp_path: Path) -> None:
    origin, work = config_repo(tmp_path)
    once = Once.make(env, tmp_path, origin)
    config = tmp_path / "conveyor.yaml"
    sealed_into(work, config, env.name, tmp_path / "plain")
    assert (tmp_path / "sealed-secrets" / env.name).is_dir()  # the default, beside state
    publish_web(work)

    code, out, err = asyncio.run(once.run())
    assert code == 0, out + err
    ids = asyncio.run(
        env.podman.run("ps", "-q", "--filter", f"label={TARGET_LABEL}={env.name}")
    ).stdout.split()
    assert ids
    shown = asyncio.run(
        env.podman.run("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", ids[0])
    )
    assert f"DB_PASSWORD={VALUE}" in shown.stdout.splitlines()

    forms = (VALUE, base64.b64encode(VALUE.encode()).decode())
    assert [f for f in forms if f in out + err] == []
    skip = (tmp_path / "plain", env.state_dir)
    assert files_with(tmp_path, skip, *forms) == []
    assert files_with(tmp_path / "plain", (), *forms)  # the scan does see a value where it is
