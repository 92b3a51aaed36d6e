"""Choosing the connection of a Kubernetes target: kubeconfig file + context, or in-cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conveyor.clients import kubeconfig
from conveyor.clients.kubeconfig import KubeConfigError


def _write(tmp_path: Path, contexts: list[str], current: str | None = None) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
    }
    if current:
        doc["current-context"] = current
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_named_context_is_used(tmp_path: Path) -> None:
    path = _write(tmp_path, ["dev", "prod"], current="dev")
    config = kubeconfig.load(str(path), "prod")
    assert config.context_name == "prod"
    assert config.cluster.server == "https://10.0.0.1:6443"


def test_current_context_is_the_default(tmp_path: Path) -> None:
    path = _write(tmp_path, ["dev", "prod"], current="dev")
    assert kubeconfig.load(str(path)).context_name == "dev"


def test_unknown_context_names_the_file_and_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, ["dev"], current="dev")
    with pytest.raises(KubeConfigError) as caught:
        kubeconfig.load(str(path), "staging")
    text = str(caught.value)
    assert str(path) in text and "'staging'" in text and "known: dev" in text


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="cannot read kubeconfig") as caught:
        kubeconfig.load(str(tmp_path / "nope"), None)
    assert str(tmp_path / "nope") in str(caught.value)


def test_context_without_a_current_one_asks_for_a_context(tmp_path: Path) -> None:
    path = _write(tmp_path, ["a"])
    with pytest.raises(KubeConfigError, match="no current-context"):
        kubeconfig.load(str(path))


def test_context_alone_reads_the_file_KUBECONFIG_names(tmp_path: Path) -> None:
    path = _write(tmp_path, ["x"])
    config = kubeconfig.load(None, "x", environ={"KUBECONFIG": str(path)})
    assert config.context_name == "x"


def test_in_cluster_reads_the_service_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "ca.crt").write_text("not used until a request is made")
    (tmp_path / "namespace").write_text("conveyor\n")
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    config = kubeconfig.load(service_account=tmp_path, environ=env)
    assert config.cluster.server == "https://10.96.0.1:443"
    assert config.namespace == "conveyor"
    assert config.user is not None and config.user.token_file == str(tmp_path / "token")


def test_outside_a_cluster_without_kubeconfig_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as caught:
        kubeconfig.load(service_account=tmp_path, environ={})
    text = str(caught.value)
    assert "KUBERNETES_SERVICE_HOST" in text and str(tmp_path / "token") in text
    assert "kubeconfig:" in text
