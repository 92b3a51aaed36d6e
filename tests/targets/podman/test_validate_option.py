"""`Validate=false` on the Podman target (issue 14): a field the target does not know is
refused by default and let through (and ignored) when the sync option asks; what the
target reads is still checked either way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conveyor.targets.base import ApplyOptions, ObjectRef, TargetRejected
from conveyor.targets.podman.spec import SpecError
from conveyor.targets.podman.validate import validate

from .conftest import Env, free_port
from .manifests import deployment, service

NO_VALIDATION = ApplyOptions(validate=False)


def with_unknown_fields() -> dict[str, Any]:
    obj = deployment("web")
    obj["spec"]["template"]["spec"]["containers"][0]["futureField"] = {"on": True}
    obj["spec"]["template"]["spec"]["topologyHints"] = "zone"
    obj["spec"]["rolloutPlan"] = "canary"
    return obj


def test_unknown_fields_are_refused_unless_validation_is_off() -> None:
    obj = with_unknown_fields()
    with pytest.raises(SpecError, match="not supported by the podman target"):
        validate(obj, host_limits=frozenset(), previous=None)
    validate(obj, host_limits=frozenset(), previous=None, strict=False)


def test_validation_off_still_checks_the_fields_the_target_reads() -> None:
    obj = with_unknown_fields()
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "--privileged"
    with pytest.raises(SpecError, match="image"):
        validate(obj, host_limits=frozenset(), previous=None, strict=False)


def test_podman_applies_a_service_with_an_unknown_field_under_validate_false(env: Env) -> None:
    svc = service("web", free_port())
    svc["spec"]["loadBalancerClass"] = "example.com/lb"
    ref = ObjectRef.of(svc)

    async def scenario() -> None:
        target = env.make()
        try:
            with pytest.raises(TargetRejected, match="loadBalancerClass"):
                await target.apply(svc)
            live = await target.apply(svc, options=NO_VALIDATION)
            assert live["spec"]["loadBalancerClass"] == "example.com/lb"
            assert await target.get(ref) is not None
        finally:
            await target.aclose()
            target.stop_proxy()

    asyncio.run(scenario())
