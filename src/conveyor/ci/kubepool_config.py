"""The Kubernetes runner pool's configuration: pod templates selected by `runs-on` labels.

Read from a YAML file by `load_config` (the boundary: pydantic refuses unknown keys and wrong
types, naming the file and the field) into frozen values that `ci.kubepool` and
`ci.kubepool_pods` use. A file looks like::

    server: https://conveyor.example       # the URL the pods' agents reach the server at
    caBundle: {configMap: conveyor-ca, key: ca.crt}  # optional: the CA of a private https
                                            # server's certificate (or secret: NAME), given
                                            # to the pods' agents as --ca-file
    kubeconfig: /etc/conveyor/kubeconfig    # optional; with context: optional too; neither:
    context: ci-cluster                     # in-cluster (service account), else ~/.kube/config
    templates:
      - name: linux                         # DNS-1123 label: pod names start with it
        labels: [self-hosted, linux]        # a job whose runs-on these labels cover
        namespace: ci
        image: registry.example/conveyor:1  # an image with `conveyor` on its PATH
        resources: {limits: {cpu: "2", memory: 4Gi}}
        nodeSelector: {kubernetes.io/os: linux}
        serviceAccountName: runner          # optional
        imagePullSecrets: [registry-login]  # optional: Secrets the pods' images are pulled with
        min: 0
        max: 10
        scope: org:acme                     # required when min > 0 (warm pods)
        startTimeout: 600                   # s a job's pod may stay Pending (then it fails)

Pure: no I/O but reading the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from conveyor.ci.errors import CIError
from conveyor.ci.runnerscope import check_registration

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$")


class KubePoolConfigError(CIError):
    """The pool's configuration file cannot be used; the message names the file and field."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PodTemplate:
    """One kind of runner pod and the jobs it serves."""

    name: str
    labels: tuple[str, ...]
    namespace: str
    image: str
    resources: Mapping[str, Any] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    service_account: str = ""
    image_pull_secrets: tuple[str, ...] = ()
    minimum: int = 0
    maximum: int = 1
    scope: str = ""  # the registration scope of warm pods (min > 0); job pods: the job's repo
    start_timeout: float = 600.0  # seconds a job's pod may stay Pending before its job fails


@dataclass(frozen=True, slots=True, kw_only=True)
class CaBundle:
    """Where the runner pods find the CA that signed the server's certificate: a key of a
    ConfigMap (`kind` "configMap") or of a Secret ("secret") in each template's namespace."""

    kind: str
    name: str
    key: str = "ca.crt"


@dataclass(frozen=True, slots=True, kw_only=True)
class KubePoolConfig:
    server: str
    templates: tuple[PodTemplate, ...]
    ca_bundle: CaBundle | None = None
    kubeconfig: Path | None = None  # relative paths are relative to the config file
    context: str = ""


class _Template(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    labels: list[str] = Field(min_length=1)
    namespace: str = "default"
    image: str = Field(min_length=1)
    resources: dict[str, dict[str, str]] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict, alias="nodeSelector")
    service_account: str = Field("", alias="serviceAccountName")
    image_pull_secrets: list[str] = Field(default_factory=list, alias="imagePullSecrets")
    min: int = Field(0, ge=0)
    max: int = Field(1, ge=0)
    scope: str = ""
    start_timeout: float = Field(600.0, gt=0, alias="startTimeout")

    @model_validator(mode="after")
    def _sound(self) -> _Template:
        if not _DNS_LABEL.match(self.name):
            raise ValueError(
                f"name {self.name!r}: lowercase letters, digits and '-', at most 20 characters "
                "(pod names are made from it)"
            )
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.min and not self.scope:
            raise ValueError("min > 0 needs scope: (org:<owner> or repo:<owner>/<name>)")
        if self.scope:  # the same rules as an admin's registration
            check_registration(f"{self.name}-x", self.labels, self.scope)
        return self


class _CaBundle(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    config_map: str = Field("", alias="configMap")
    secret: str = ""
    key: str = Field("ca.crt", min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> _CaBundle:
        if bool(self.config_map) == bool(self.secret):
            raise ValueError("name exactly one of configMap: NAME or secret: NAME")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    server: str = Field(pattern=r"^https?://")
    templates: list[_Template] = Field(min_length=1)
    kubeconfig: str = ""
    context: str = ""
    ca_bundle: _CaBundle | None = Field(None, alias="caBundle")

    @model_validator(mode="after")
    def _https_for_a_ca(self) -> _File:
        if self.ca_bundle is not None and not self.server.startswith("https://"):
            raise ValueError(
                f"caBundle: the server {self.server} is not https; a CA is for https servers "
                "(give an https:// server or remove caBundle)"
            )
        return self


def load_config(path: Path) -> KubePoolConfig:
    """The pool's configuration from `path`; `KubePoolConfigError` says what is wrong where."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KubePoolConfigError(f"{path}: cannot read the runner pool config: {exc}") from exc
    return parse_config(raw, where=str(path), base=path.parent)


def parse_config(raw: Any, *, where: str, base: Path | None = None) -> KubePoolConfig:
    """The configuration from parsed YAML (`where` names its file in errors, `base` is the
    directory a relative `kubeconfig` is taken from)."""
    try:
        model = _File.model_validate(raw)
    except (ValidationError, CIError) as exc:
        raise KubePoolConfigError(f"{where}: {_explain(exc)}") from None
    names = [t.name for t in model.templates]
    if len(set(names)) != len(names):
        raise KubePoolConfigError(f"{where}: templates: two templates share a name: {names}")
    kubeconfig = None
    if model.kubeconfig:
        kubeconfig = (base or Path()) / model.kubeconfig
        if not kubeconfig.is_file():
            raise KubePoolConfigError(f"{where}: kubeconfig: no file {kubeconfig}")
    return KubePoolConfig(
        server=model.server.rstrip("/"),
        templates=tuple(_template(t) for t in model.templates),
        kubeconfig=kubeconfig,
        context=model.context,
        ca_bundle=_ca_bundle(model.ca_bundle),
    )


def _ca_bundle(raw: _CaBundle | None) -> CaBundle | None:
    if raw is None:
        return None
    if raw.config_map:
        return CaBundle(kind="configMap", name=raw.config_map, key=raw.key)
    return CaBundle(kind="secret", name=raw.secret, key=raw.key)


def _explain(exc: Exception) -> str:
    if not isinstance(exc, ValidationError):
        return str(exc)
    first = exc.errors()[0]
    place = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{place}: {first['msg']} (fix it in the file and start again)"


def _template(t: _Template) -> PodTemplate:
    return PodTemplate(
        name=t.name,
        labels=tuple(t.labels),
        namespace=t.namespace,
        image=t.image,
        resources=t.resources,
        node_selector=t.node_selector,
        service_account=t.service_account,
        image_pull_secrets=tuple(t.image_pull_secrets),
        minimum=t.min,
        maximum=t.max,
        scope=t.scope,
        start_timeout=t.start_timeout,
    )
