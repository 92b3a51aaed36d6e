"""A server with a private CA: the pool's `caBundle` puts the CA into every runner pod (a
ConfigMap or Secret key mounted into the agent's container, given as `--ca-file`). The
pool's pods are checked against kmock's KubernetesEmulator (no kubelet there: nothing is
mounted); the mounted file is then played by the test's CA file, with the pod's command run
here against a real https server whose self-signed certificate the test makes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conveyor.ci.kubepool import KubePool
from conveyor.ci.kubepool_config import CaBundle, KubePoolConfigError, parse_config
from conveyor.ci.kubepool_pods import CA_FILE
from conveyor.ci.service import CIService
from tests.ci.kubeemu import PODS, UidEmulator, objects
from tests.ci.kubepoolworld import CONFIG, NS, commit, jobs, run_pool
from tests.security.test_tls import TlsServer, self_signed
from tests.server.conftest import free_port, push_workflows
from tests.server.test_kubepool_agent import pod_command, run_of

WITH_CA: dict[str, Any] = {**CONFIG, "caBundle": {"configMap": "conveyor-ca", "key": "root.pem"}}


def test_a_ca_bundle_names_a_configmap_or_a_secret_key() -> None:
    config = parse_config(WITH_CA, where="pool.yaml")
    assert config.ca_bundle == CaBundle(kind="configMap", name="conveyor-ca", key="root.pem")
    secret = parse_config({**CONFIG, "caBundle": {"secret": "ca"}}, where="pool.yaml")
    assert secret.ca_bundle == CaBundle(kind="secret", name="ca", key="ca.crt")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**CONFIG, "caBundle": {}}, "caBundle: Value error, name exactly one of"),
        ({**CONFIG, "caBundle": {"secret": "a", "configMap": "b"}}, "exactly one of"),
        ({**CONFIG, "caBundle": {"configmap": "a"}}, "caBundle.configmap"),
        (
            {**WITH_CA, "server": "http://conveyor:8080"},
            "the server http://conveyor:8080 is not https",
        ),
    ],
)
def test_a_bad_ca_bundle_is_refused_naming_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(KubePoolConfigError, match=r"pool\.yaml") as caught:
        parse_config(raw, where="pool.yaml")
    assert message in str(caught.value)


def test_every_runner_pod_mounts_the_ca_and_gives_it_to_its_agent(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(1, "    container: {image: node:20}\n"))
        await pool.step()
        [pod] = objects(emulator, PODS, NS).values()
        agent, box = pod["spec"]["containers"]
        assert agent["args"][-2:] == ["--ca-file", CA_FILE]
        mount = {"name": "server-ca", "mountPath": "/etc/conveyor/ca", "readOnly": True}
        assert mount in agent["volumeMounts"]
        assert all(m["name"] != "server-ca" for m in box["volumeMounts"])
        [volume] = [v for v in pod["spec"]["volumes"] if v["name"] == "server-ca"]
        assert volume["configMap"] == {
            "name": "conveyor-ca",
            "items": [{"key": "root.pem", "path": "ca.crt"}],
        }

    run_pool(service, scenario, WITH_CA)


WORKFLOW = """on: push
jobs:
  build:
    runs-on: [self-hosted, k8s]
    steps:
      - uses: actions/checkout@v4
      - run: test -f .github/workflows/b.yml && echo "cloned over https"
"""


def run_agent(
    argv: list[str], token: str, *, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONVEYOR_TOKEN": token}
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_a_pods_agent_trusts_a_private_ca_only_through_the_bundle(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    extra = ("--pool-min", "0", "--pool-max", "0", "--tls-cert", str(cert), "--tls-key", str(key))
    server = TlsServer(data=tmp_path / "server", port=free_port(), extra=extra, ca=cert)
    server.data.mkdir(parents=True)
    server.start()
    try:
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        os.environ["GIT_SSL_CAINFO"] = str(cert)  # the test's own `git push` only
        try:
            push_workflows(server, tmp_path, "acme/kp", {".github/workflows/b.yml": WORKFLOW})
        finally:
            os.environ.pop("GIT_SSL_CAINFO")
        [unit] = run_of(server)["units"]
        plain = pod_command(server, tmp_path, int(unit["id"]))
        with pytest.raises(subprocess.TimeoutExpired) as refused:  # it retries, refused
            run_agent(plain, token, timeout=8)
        assert b"certificate is not trusted: give --ca-file" in (refused.value.stderr or b"")
        bundle = CaBundle(kind="secret", name="conveyor-ca")
        argv = pod_command(server, tmp_path, int(unit["id"]), ca=bundle, paths={CA_FILE: str(cert)})
        assert argv[-2:] == ["--ca-file", str(cert)]
        done = run_agent(argv, token)
        assert done.returncode == 0, done.stderr[-2000:]
        run_id = int(server.runs("acme/kp")[0]["id"])
        assert server.wait_run(run_id)["conclusion"] == "success"
        assert "cloned over https" in server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    finally:
        server.stop()


def test_an_agent_given_a_ca_file_that_is_not_a_certificate_stops_with_the_reason(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate\n")
    conveyor = str(Path(sys.executable).parent / "conveyor")
    argv = [conveyor, "runner", "--server", "https://127.0.0.1:9"]
    for ca, message in (
        (bad, f"cannot use the CA file {bad}"),
        (tmp_path / "no.crt", "does not exist"),
    ):
        done = run_agent([*argv, "--ca-file", str(ca)], "token")
        assert done.returncode == 2  # a usage error, before any connection
        assert "--ca-file" in done.stderr and message in done.stderr
