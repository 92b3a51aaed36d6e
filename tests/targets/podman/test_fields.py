"""The checks on manifest values that become Podman names, paths and arguments (pure)."""

from __future__ import annotations

import pytest

from conveyor.core.ociref import reference_problem
from conveyor.targets.podman import fields
from conveyor.targets.podman.spec import SpecError


@pytest.mark.parametrize(
    "image",
    [
        "busybox",
        "busybox:1.36",
        "localhost/conveyor/busybox:latest",
        "localhost:5000/a/b_c__d-e.f:v1",
        "registry.example.com/team/app@sha256:" + "a" * 64,
        "app:v1@sha256:" + "0" * 64,
    ],
)
def test_image_references_in_the_oci_grammar_are_accepted(image: str) -> None:
    assert reference_problem(image) == ""


@pytest.mark.parametrize(
    "image",
    [
        "--privileged",
        "-v=/:/host",
        "Busybox",
        "busybox latest",
        "a/../b",
        "a//b",
        "busybox:",
        "busybox:-x",
        "busybox@sha256:short",
        "",
        "a" * 256,
    ],
)
def test_what_is_no_image_reference_is_refused(image: str) -> None:
    assert reference_problem(image) != ""


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (fields.label, "d/.."),
        (fields.label, "-x"),
        (fields.label, "a" * 64),
        (fields.label, "A"),
        (fields.subdomain, "a..b"),
        (fields.subdomain, "a_b"),
        (fields.port_name, "1234"),
        (fields.port_name, "a--b"),
        (fields.port_name, "a" * 16),
        (fields.relative_path, "../../etc"),
        (fields.relative_path, "/etc"),
        (fields.relative_path, "a/../../b"),
        (fields.relative_path, "a:rw"),
        (fields.mount_path, "relative"),
        (fields.mount_path, "/x:rw"),
        (fields.mount_path, "/x,z"),
        (fields.env_name, "A=B"),
        (fields.env_name, "A\nB"),
        (fields.port_number, "80"),
        (fields.port_number, 70000),
    ],
)
def test_values_that_would_leave_their_place_are_refused_with_the_path(
    check: object, value: object
) -> None:
    assert callable(check)
    with pytest.raises(SpecError) as caught:
        check(value, "spec.x")
    assert caught.value.path == "spec.x"


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (fields.label, "web-1"),
        (fields.subdomain, "my.config-v2"),
        (fields.port_name, "http"),
        (fields.relative_path, "conf/app.ini"),
        (fields.mount_path, "/etc/app"),
        (fields.env_name, "LOG_LEVEL"),
        (fields.port_number, 8080),
    ],
)
def test_ordinary_values_pass(check: object, value: object) -> None:
    assert callable(check)
    assert check(value, "spec.x") == value
