"""Custom health checks in conveyor.yaml, in the keys Argo CD users already have in their
argocd-cm: the split `resource.customizations.health.<group>_<Kind>` keys and the nested
`resource.customizations` block, checked at load with the key and line named."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from conveyor.reconcile.config import load_config
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.health import Checker
from conveyor.reconcile.model import HealthStatus

DEGRADED = 'return {status = "Degraded", message = "from " .. obj.kind}'


def _load(tmp_path: Path, text: str) -> Checker:
    path = tmp_path / "conveyor.yaml"
    path.write_text(dedent(text))
    return Checker(load_config(path).health)


def _load_error(tmp_path: Path, text: str) -> ApplicationInvalid:
    with pytest.raises(ApplicationInvalid) as caught:
        _load(tmp_path, text)
    return caught.value


def _obj(api_version: str, kind: str) -> dict[str, object]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}


def test_split_keys_as_in_argocd_cm(tmp_path: Path) -> None:
    checker = _load(
        tmp_path,
        """
        targets: [{name: memory, type: memory}]
        resource.customizations.health.cert-manager.io_Certificate: |
          return {status = "Degraded", message = "from " .. obj.kind}
        resource.customizations.useOpenLibs.cert-manager.io_Certificate: "true"
        resource.customizations.health.ConfigMap: |
          return {status = "Suspended"}
        """,
    )
    cert = checker.assess(_obj("cert-manager.io/v1", "Certificate"))
    assert (cert.status, cert.message) == (HealthStatus.DEGRADED, "from Certificate")
    assert checker.assess(_obj("v1", "ConfigMap")).status == HealthStatus.SUSPENDED


def test_the_nested_block_as_yaml_text_with_wildcards(tmp_path: Path) -> None:
    checker = _load(
        tmp_path,
        """
        resource.customizations: |
          "*.crossplane.io/*":
            health.lua: |
              return {status = "Progressing"}
          argoproj.io/Application:
            health.lua.useOpenLibs: true
            health.lua: |
              return {status = "Suspended"}
        """,
    )
    aws = checker.assess(_obj("ec2.aws.crossplane.io/v1beta1", "Instance"))
    assert aws.status == HealthStatus.PROGRESSING
    app = checker.assess(_obj("argoproj.io/v1alpha1", "Application"))
    assert app.status == HealthStatus.SUSPENDED


def test_the_nested_block_as_a_mapping_and_split_keys_win(tmp_path: Path) -> None:
    checker = _load(
        tmp_path,
        """
        resource.customizations:
          example.com/Widget:
            health.lua: return {status = "Healthy"}
        resource.customizations.health.example.com_Widget: |
          return {status = "Degraded"}
        """,
    )
    assert checker.assess(_obj("example.com/v1", "Widget")).status == HealthStatus.DEGRADED


def test_a_script_with_bad_syntax_is_an_error_naming_file_line_and_key(tmp_path: Path) -> None:
    error = _load_error(
        tmp_path,
        """
        targets: [{name: memory, type: memory}]
        resource.customizations.health.example.com_Widget: |
          hs = {}
          if obj.status ~= nil then
            hs.status = "Healthy"
          return hs
        """,
    )
    assert str(error.location) == f"{tmp_path / 'conveyor.yaml'}:3:1"
    assert error.message.startswith(
        "resource.customizations.health.example.com_Widget: Lua syntax error: "
        "example.com/Widget:5: 'end' expected (to close 'if' at line 2) near '<eof>'"
    )


def test_a_bad_script_in_the_nested_text_points_at_its_line(tmp_path: Path) -> None:
    error = _load_error(
        tmp_path,
        """
        state: s.db
        resource.customizations: |
          example.com/Widget:
            health.lua: |
              return {status = }
        """,
    )
    assert error.location is not None and error.location.line == 5
    assert "resource.customizations: example.com/Widget: Lua syntax error" in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "resource.customizations.ignoreDifferences.apps_Deployment: 'jsonPointers: [/x]'",
            "Conveyor reads only health customizations, not 'ignoreDifferences'",
        ),
        (
            "resource.customizations.health.a_b_c: 'return {}'",
            "'a_b_c' is not <group>_<Kind> or <Kind>",
        ),
        ("resource.customizations.health.x_Y: 42", "expected the Lua script as text"),
        (
            "resource.customizations.useOpenLibs.x_Y: maybe",
            "useOpenLibs must be true or false",
        ),
        (
            "resource.customizations: {x/Y: {actions: 'a'}}",
            "Conveyor reads only health.lua here, not 'actions'",
        ),
        ("resource.customizations: [1, 2]", "must map group/Kind to customizations"),
    ],
)
def test_customizations_conveyor_does_not_read_are_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    assert message in _load_error(tmp_path, text + "\n").message


def test_a_config_without_customizations_has_built_in_health_only(tmp_path: Path) -> None:
    checker = _load(tmp_path, "targets: [{name: memory, type: memory}]\n")
    assert checker.scripts == ()
