"""The Kubernetes runner pool against kmock's KubernetesEmulator (no kubelet, no scheduler,
no garbage collector: pods never run here; the tests play the kubelet with `set_phase` and
the runner in the pod with `service.poll`/`complete`). What the pod runs is tested against a
real server in `tests/server/test_kubepool_agent.py`; failures in `test_kubepool_failures`."""

from __future__ import annotations

from pathlib import Path

from conveyor.ci.kubepool import KubePool
from conveyor.ci.service import CIService
from conveyor.server.auth import Auth, Role
from tests.ci.helpers import unit_states
from tests.ci.kubeemu import PODS, SECRETS, UidEmulator, objects, set_phase
from tests.ci.kubepoolworld import CONFIG, NS, commit, finish, jobs, run_pool


def test_a_queued_job_gets_a_pod_with_the_template_spec_and_a_token_secret(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(1))
        await pool.step()
        pods = objects(emulator, PODS, NS)
        assert len(pods) == 1
        name, pod = next(iter(pods.items()))
        spec = pod["spec"]
        agent = spec["containers"][0]
        assert agent["image"] == "registry.example/conveyor:1"
        assert agent["command"] == ["conveyor", "runner"]
        assert agent["args"][:3] == ["--server", "https://conveyor.example", "--ephemeral"]
        assert agent["resources"] == {"limits": {"cpu": "2", "memory": "4Gi"}}
        ref = agent["env"][0]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{name}-token", "key": "token"}
        assert spec["restartPolicy"] == "Never"
        assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
        assert spec["automountServiceAccountToken"] is False
        assert pod["metadata"]["labels"]["conveyor.dev/runner-template"] == "linux"
        secret = objects(emulator, SECRETS, NS)[f"{name}-token"]
        owner = secret["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"]) == ("Pod", name)
        assert owner["uid"] == pod["metadata"]["uid"]
        auth = Auth(service.store)
        principal = auth.check(secret["stringData"]["token"])
        assert principal is not None and principal.role is Role.RUNNER
        identity = auth.runner(principal)
        assert identity is not None and identity.name == name
        assert identity.scope == "repo:acme/app"

    run_pool(service, scenario)


def test_pods_follow_queue_depth_within_max_and_go_back_to_zero(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await pool.step()
        assert objects(emulator, PODS, NS) == {}  # nothing queued: zero pods
        [run_id] = await commit(service, tmp_path, jobs(3))
        await pool.step()
        await pool.step()
        assert len(objects(emulator, PODS, NS)) == 2  # three jobs, max 2
        for name in list(objects(emulator, PODS, NS)):
            await finish(service, emulator, name)
        await pool.step()  # both reaped, the third job gets a pod
        assert len(objects(emulator, PODS, NS)) == 1
        [last] = objects(emulator, PODS, NS)
        await finish(service, emulator, last)
        await pool.step()
        assert objects(emulator, PODS, NS) == {}
        assert objects(emulator, SECRETS, NS) == {}
        states = unit_states(service, run_id)
        assert {s for s, _ in states.values()} == {"completed"}

    run_pool(service, scenario)


def test_a_finished_pod_loses_its_secret_and_its_registration(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(1))
        await pool.step()
        [name] = objects(emulator, PODS, NS)
        token = objects(emulator, SECRETS, NS)[f"{name}-token"]["stringData"]["token"]
        set_phase(emulator, NS, name, "Failed")
        await pool.step()
        assert name not in objects(emulator, PODS, NS)
        assert f"{name}-token" not in objects(emulator, SECRETS, NS)
        assert Auth(service.store).check(token) is None  # the credential is revoked
        assert service.store.access.runner_registration(name) is None

    run_pool(service, scenario)


def test_a_pod_whose_job_another_runner_took_is_deleted(service: CIService, tmp_path: Path) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(1))
        await pool.step()
        [name] = objects(emulator, PODS, NS)
        got = await service.poll("elsewhere", labels=["self-hosted", "k8s"], timeout=0)
        assert got is not None
        await pool.step()
        assert objects(emulator, PODS, NS) == {}
        assert service.store.access.runner_registration(name) is None

    run_pool(service, scenario)


SERVICES = """    services:
      redis:
        image: redis:7
        ports: ["6379"]
        env: {MODE: test}
      db:
        image: postgres:16
        ports: ["5432:5432"]
        command: -c fsync=off
"""


def test_services_become_containers_of_the_runner_pod(service: CIService, tmp_path: Path) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(1, SERVICES))
        await pool.step()
        [pod] = objects(emulator, PODS, NS).values()
        names = [c["name"] for c in pod["spec"]["containers"]]
        assert names == ["runner", "svc-redis", "svc-db"]
        redis, db = pod["spec"]["containers"][1:]
        assert redis["image"] == "redis:7"
        assert redis["ports"] == [{"containerPort": 6379, "protocol": "TCP"}]
        assert redis["env"] == [{"name": "MODE", "value": "test"}]
        assert db["args"] == ["-c", "fsync=off"]
        assert pod["spec"]["containers"][0]["args"][-1] == "--sidecar-services"

    run_pool(service, scenario)


def test_a_job_whose_services_cannot_share_a_pod_fails_with_the_reason(
    service: CIService, tmp_path: Path
) -> None:
    clash = """    services:
      a: {image: web:1, ports: ["8080"]}
      b: {image: web:2, ports: ["8080"]}
"""

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        [run_id] = await commit(service, tmp_path, jobs(1, clash))
        await pool.step()
        assert objects(emulator, PODS, NS) == {}
        assert objects(emulator, SECRETS, NS) == {}
        assert unit_states(service, run_id)["j0"] == ("completed", "failure")
        unit = service.store.units(run_id=run_id)[0]
        assert "a and b both listen on port 8080" in unit["reason"]

    run_pool(service, scenario)


def test_warm_pods_stay_at_min_without_jobs(service: CIService) -> None:
    warm = {
        **CONFIG,
        "templates": [{**CONFIG["templates"][0], "min": 1, "scope": "org:acme"}],  # type: ignore[dict-item]
    }

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await pool.step()
        await pool.step()
        [name] = objects(emulator, PODS, NS)
        registration = service.store.access.runner_registration(name)
        assert registration is not None and registration["scope"] == "org:acme"

    run_pool(service, scenario, warm)


def test_a_job_pod_takes_its_own_job_only(service: CIService, tmp_path: Path) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(2))
        await pool.step()
        pods = objects(emulator, PODS, NS)
        units = {int(p["metadata"]["annotations"]["conveyor.dev/unit"]) for p in pods.values()}
        assert len(units) == 2
        name, pod = next(iter(pods.items()))
        own = int(pod["metadata"]["annotations"]["conveyor.dev/unit"])
        [other] = units - {own}
        labels = ["self-hosted", "k8s"]
        assert await service.poll(name, labels=labels, timeout=0, only_unit=other + 100) is None
        got = await service.poll(name, labels=labels, timeout=0, only_unit=own)
        assert got is not None and got["unit_id"] == own

    run_pool(service, scenario)
