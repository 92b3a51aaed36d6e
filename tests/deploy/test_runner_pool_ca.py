"""The Helm chart's `runners.podPool.caBundle` and template `imagePullSecrets`: rendered
into the pool's config file, which the pool's own parser accepts (the pods then mount the
CA: `tests/ci/test_kubepool_tls.py`). Rendered offline with the chart's templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conveyor.ci.kubepool_config import CaBundle, load_config
from conveyor.clients import helm
from tests.deploy.rendering import default_values, render_chart
from tests.deploy.test_sharding_and_pool import one


def pool_config(tmp_path: Path, **pool: Any) -> Path:
    values = {**default_values(), "runners": {"podPool": {"enabled": True, **pool}}}
    items = render_chart(values)
    path = tmp_path / "runners.yaml"
    path.write_text(one(items, "ConfigMap", "conveyor-server-runner-pool")["data"]["runners.yaml"])
    return path


def test_a_ca_bundle_and_pull_secrets_reach_the_pools_config(tmp_path: Path) -> None:
    template = {
        "name": "linux",
        "labels": ["self-hosted"],
        "namespace": "ci",
        "imagePullSecrets": ["registry-login"],
    }
    path = pool_config(
        tmp_path, caBundle={"configMap": "conveyor-ca", "key": "ca.crt"}, templates=[template]
    )
    config = load_config(path)
    assert config.ca_bundle == CaBundle(kind="configMap", name="conveyor-ca", key="ca.crt")
    assert config.templates[0].image_pull_secrets == ("registry-login",)


def test_without_a_ca_bundle_the_config_has_none(tmp_path: Path) -> None:
    assert load_config(pool_config(tmp_path)).ca_bundle is None


def test_the_values_schema_refuses_an_unknown_ca_bundle_key(tmp_path: Path) -> None:
    with pytest.raises(helm.HelmError, match="podPool/caBundle"):
        pool_config(tmp_path, caBundle={"configmap": "conveyor-ca"})
