"""A job's `container:` as a container of its Kubernetes runner pod (`ci.kubepool_job`,
`ci.kubepool_container`): the pod spec the pool would send, built from the job (pure; the
same spec through kmock's emulator is in `test_kubepool_containers`)."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.ci.kubepool_config import parse_config
from conveyor.ci.kubepool_fields import PodSpecError
from conveyor.ci.kubepool_job import ACTIONS_DIR, WORK_DIR, job_pod, needs_containers
from conveyor.ci.kubepool_pods import runner_pod
from conveyor.runners.sibling_protocol import CONTROL_DIR, loop_command
from conveyor.workflow.model import Container, Job

CONFIG = {
    "server": "https://conveyor.example",
    "templates": [
        {"name": "k", "labels": ["k8s"], "image": "conveyor:1", "imagePullSecrets": ["reg"]}
    ],
}


def pod_of(container: Container, **services: Container) -> dict[str, Any]:
    job = Job(id="build", runs_on=["k8s"], container=container, services=services)
    template = parse_config(CONFIG, where="test").templates[0]
    return runner_pod(
        template, runner="k-1", pool_id="p", server="https://c", unit_id=7, job=job_pod(job)
    )


def mounts(container: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {
        m["mountPath"]: (m["name"], m.get("readOnly", False)) for m in container["volumeMounts"]
    }


def test_the_job_container_shares_the_work_and_control_directories_at_the_same_paths() -> None:
    pod = pod_of(Container(image="node:20", env={"TOKEN": "${{ secrets.TOKEN }}"}))
    agent, box = pod["spec"]["containers"]
    assert (box["name"], box["image"]) == ("job", "node:20")
    assert box["command"] == loop_command(CONTROL_DIR)
    assert "args" not in box and "env" not in box  # env goes with each step, evaluated
    assert mounts(agent)[WORK_DIR] == mounts(box)[WORK_DIR] == ("work", False)
    assert mounts(agent)[CONTROL_DIR] == mounts(box)[CONTROL_DIR] == ("executor", False)
    assert mounts(agent)[ACTIONS_DIR] == ("actions", False)
    assert mounts(box)[ACTIONS_DIR] == ("actions", True)
    assert mounts(box)["/github/home"] == ("github-home", False)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert set(volumes) == {"work", "executor", "actions", "github-home"}
    assert all(v["emptyDir"] == {} for v in volumes.values())
    assert agent["args"][-2:] == ["--sibling-job-container", CONTROL_DIR]
    assert {"name": "CONVEYOR_ACTIONS", "value": ACTIONS_DIR} in agent["env"]
    assert pod["spec"]["imagePullSecrets"] == [{"name": "reg"}]


def test_options_ports_and_named_volumes_become_fields_of_the_container() -> None:
    spec = Container(
        image="app:1",
        options="--cpus 1.5 --memory=512m --user 1000:2000 --privileged --cap-add sys_ptrace",
        ports=("8080", "9090:9090/udp"),
        volumes=("cache:/cache:ro", "/scratch"),
    )
    pod = pod_of(spec, web=Container(image="web:1", ports=("80",)))
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert names == ["runner", "svc-web", "job"]
    agent, _, box = pod["spec"]["containers"]
    assert agent["args"][-3:] == ["--sidecar-services", "--sibling-job-container", CONTROL_DIR]
    assert box["resources"] == {"limits": {"cpu": "1.5", "memory": "512Mi"}}
    assert box["securityContext"] == {
        "runAsUser": 1000,
        "runAsGroup": 2000,
        "privileged": True,
        "capabilities": {"add": ["SYS_PTRACE"]},
    }
    assert box["ports"] == [
        {"containerPort": 8080, "protocol": "TCP"},
        {"containerPort": 9090, "protocol": "UDP"},
    ]
    assert mounts(box)["/cache"] == ("vol-cache", True)
    assert mounts(box)["/scratch"] == ("vol-1", False)
    volumes = {v["name"] for v in pod["spec"]["volumes"]}
    assert {"vol-cache", "vol-1"} <= volumes


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (Container(image="a", options="--network host"), "options", "'--network host' cannot"),
        (Container(image="a", options="--user runner"), "options", "numeric user ids"),
        (Container(image="a", options="-e A=1"), "options", "variables go under `env:`"),
        (Container(image="a", volumes=("/var/run/x.sock:/x",)), "volumes", "path of the machine"),
        (Container(image="a", volumes=("v:/x:z",)), "volumes", "mode 'z'"),
        (Container(image="a", credentials={"username": "u"}), "credentials", "imagePullSecrets"),
        (Container(image="${{ matrix.image }}"), "", "expressions"),
        (Container(image="a", ports=("8080:80",)), "ports", "maps host port 8080"),
    ],
)
def test_what_a_pod_spec_cannot_express_is_refused_naming_the_field(
    spec: Container, field: str, message: str
) -> None:
    where = "jobs.build.container" + (f".{field}" if field else "")
    with pytest.raises(PodSpecError, match=where.replace(".", r"\.")) as caught:
        pod_of(spec)
    assert message in str(caught.value)


def test_a_job_container_and_a_service_on_one_port_are_refused() -> None:
    with pytest.raises(PodSpecError, match=r"services\.web and container both listen on port 80"):
        pod_of(Container(image="a", ports=("80",)), web=Container(image="w", ports=("80",)))


def test_an_empty_image_is_no_job_container() -> None:
    pod = pod_of(Container(image=""))
    assert [c["name"] for c in pod["spec"]["containers"]] == ["runner"]
    assert "--sibling-job-container" not in pod["spec"]["containers"][0]["args"]


def test_only_jobs_with_containers_or_services_need_a_pod_of_their_own() -> None:
    assert not needs_containers(Job(id="a", runs_on=["k8s"]))
    assert needs_containers(Job(id="a", runs_on=["k8s"], container=Container(image="x")))
    assert needs_containers(Job(id="a", runs_on=["k8s"], services={"s": Container(image="x")}))
