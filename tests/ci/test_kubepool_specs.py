"""The runner pool's config file and the translation of a job's services into a pod spec
(pure parts of `ci.kubepool_config` and `ci.kubepool_pods`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conveyor.ci.kubepool_config import KubePoolConfigError, load_config, parse_config
from conveyor.ci.kubepool_fields import PodSpecError
from conveyor.ci.kubepool_job import services_containers
from conveyor.workflow.model import Container, Job

GOOD: dict[str, Any] = {
    "server": "http://conveyor:8080",
    "templates": [{"name": "linux", "labels": ["self-hosted"], "image": "img:1", "max": 3}],
}


def with_template(**changes: Any) -> dict[str, Any]:
    return {**GOOD, "templates": [{**GOOD["templates"][0], **changes}]}


def test_a_good_config_gives_templates_with_their_limits() -> None:
    config = parse_config(GOOD, where="pool.yaml")
    [template] = config.templates
    assert (template.name, template.maximum, template.minimum) == ("linux", 3, 0)
    assert template.namespace == "default"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_template(min=4), "min (4) is above max (3)"),
        (with_template(min=1), "min > 0 needs scope"),
        (with_template(name="Linux_1"), "lowercase letters"),
        (with_template(nodeselector={"a": "b"}), "templates.0.nodeselector"),
        (with_template(labels=[]), "templates.0.labels"),
        (with_template(scope="everything", min=1), "invalid scope 'everything'"),
        ({**GOOD, "server": "conveyor:8080"}, "server"),
        ({**GOOD, "templates": GOOD["templates"] * 2}, "two templates share a name"),
    ],
)
def test_a_bad_config_is_refused_naming_the_file_and_field(raw: Any, message: str) -> None:
    with pytest.raises(KubePoolConfigError, match=r"pool\.yaml") as caught:
        parse_config(raw, where="pool.yaml")
    assert message in str(caught.value)


def test_an_unreadable_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubePoolConfigError, match=r"missing\.yaml: cannot read"):
        load_config(tmp_path / "missing.yaml")


def job(**services: Container) -> Job:
    return Job(id="build", runs_on=["self-hosted"], services=services)


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (Container(image="web", ports=("8080:80",)), "maps host port 8080 to 80"),
        (Container(image="web", ports=("http",)), "is not PORT"),
        (Container(image="${{ matrix.image }}"), "expressions"),
        (Container(image="web", options="--health-cmd true"), "services.web.options"),
        (Container(image="web", volumes=("/a:/b",)), "services.web.volumes"),
    ],
)
def test_a_service_that_cannot_be_a_pod_container_is_refused(
    service: Container, message: str
) -> None:
    with pytest.raises(PodSpecError, match=r"jobs\.build\.services") as caught:
        services_containers(job(web=service))
    assert message in str(caught.value)


def test_a_service_port_written_twice_the_same_is_its_container_port() -> None:
    [redis] = services_containers(job(Redis_Cache=Container(image="redis", ports=("6379:6379",))))
    assert redis["name"] == "svc-redis-cache"
    assert redis["ports"] == [{"containerPort": 6379, "protocol": "TCP"}]
