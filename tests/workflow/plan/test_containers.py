"""`container:`, `services:` and `services.<id>:` evaluated at job start, expression keys
and `${{ insert }}` included (`conveyor.workflow.plan.containers`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.workflow.expr import EvalContext
from conveyor.workflow.load import load_workflow
from conveyor.workflow.plan.containers import (
    ContainerError,
    ContainerSpec,
    resolve,
    resolve_services,
)

CTX = EvalContext(
    contexts={
        "matrix": {"image": "alpine:3", "key": "options"},
        "vars": {"C": '{"image": "busybox", "env": {"A": "1"}, "ports": ["80"]}'},
        "secrets": {"PW": "hunter2"},
    }
)


def _job(tmp_path: Path, job: str) -> object:
    path = tmp_path / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(f"on: push\njobs:\n  a:\n    runs-on: x\n{job}    steps:\n      - run: echo\n")
    return load_workflow(path, root=tmp_path).jobs[0]


def test_an_inserted_container_mapping_gives_the_image_and_its_properties(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    container:\n      ${{ insert }}: ${{ fromJSON(vars.C) }}\n"
        "      ${{ matrix.key }}: --cpus 1\n",
    )
    spec = resolve(job.container, CTX, where="jobs.a.container")  # type: ignore[attr-defined]
    assert spec == ContainerSpec(image="busybox", env={"A": "1"}, ports=("80",), options="--cpus 1")


def test_a_service_with_an_insert_in_its_credentials_is_evaluated_whole(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    services:\n      db:\n        image: ${{ matrix.image }}\n        credentials:\n"
        '          username: u\n          ${{ insert }}: ${{ fromJSON(\'{"password":"x"}\') }}\n',
    )
    spec = resolve(job.services["db"], CTX, where="jobs.a.services.db")  # type: ignore[attr-defined]
    assert spec.image == "alpine:3"
    assert spec.credentials == {"username": "u", "password": "x"}


def test_a_written_out_container_evaluates_each_property_once(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    container:\n      image: ${{ matrix.image }}\n      env:\n"
        "        B: '${{ matrix.key }}-x'\n",
    )
    spec = resolve(job.container, CTX, where="jobs.a.container")  # type: ignore[attr-defined]
    assert spec == ContainerSpec(image="alpine:3", env={"B": "options-x"})


def test_a_container_expression_giving_a_string_is_the_image(tmp_path: Path) -> None:
    job = _job(tmp_path, "    container: ${{ matrix.image }}\n")
    assert resolve(job.container, CTX, where="c").image == "alpine:3"  # type: ignore[attr-defined]


def test_a_key_that_is_no_container_property_after_evaluation_is_an_error(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    container:\n      image: x\n      ${{ insert }}: ${{ fromJSON('{\"cpus\":1}') }}\n",
    )
    with pytest.raises(ContainerError, match="Unexpected value 'cpus'"):
        resolve(job.container, CTX, where="jobs.a.container")  # type: ignore[attr-defined]


def _services(job: object) -> dict[str, ContainerSpec]:
    return resolve_services(
        job.services,  # type: ignore[attr-defined]
        job.services_template,  # type: ignore[attr-defined]
        CTX,
        where="jobs.a",
    )


def test_a_service_entrypoint_and_command_are_evaluated(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    services:\n      web:\n        image: x\n        entrypoint: /bin/sh\n"
        '        command: -c "echo ${{ matrix.key }}"\n',
    )
    spec = _services(job)["web"]
    assert (spec.entrypoint, spec.command) == ("/bin/sh", '-c "echo options"')


def test_an_evaluated_service_may_name_entrypoint_and_command(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    services:\n      web:\n        image: x\n"
        '        ${{ insert }}: ${{ fromJSON(\'{"entrypoint":"/bin/env","command":"a b"}\') }}\n',
    )
    spec = _services(job)["web"]
    assert (spec.entrypoint, spec.command) == ("/bin/env", "a b")


def test_an_evaluated_job_container_may_not_name_an_entrypoint(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        "    container:\n      image: x\n"
        '      ${{ insert }}: ${{ fromJSON(\'{"entrypoint":"/bin/env"}\') }}\n',
    )
    with pytest.raises(ContainerError, match="Unexpected value 'entrypoint'"):
        resolve(job.container, CTX, where="jobs.a.container")  # type: ignore[attr-defined]


def test_services_written_as_one_expression_are_evaluated_whole(tmp_path: Path) -> None:
    job = _job(
        tmp_path,
        '    services: ${{ fromJSON(format(\'{{"db":{0},"cache":"redis:7"}}\', vars.C)) }}\n',
    )
    services = _services(job)
    assert services == {
        "db": ContainerSpec(image="busybox", env={"A": "1"}, ports=("80",)),
        "cache": ContainerSpec(image="redis:7"),
    }


def test_services_evaluating_to_no_mapping_are_an_error(tmp_path: Path) -> None:
    job = _job(tmp_path, "    services: ${{ matrix.image }}\n")
    with pytest.raises(ContainerError, match=r"jobs\.a\.services evaluated to str"):
        _services(job)
