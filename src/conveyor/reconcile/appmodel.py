"""The parsed Application, as frozen values (issue 14): what `applications` reads from Git
and every reconcile step, renderer and status view consumes.

The shapes follow Argo CD's `ApplicationSpec` field for field, in snake case. Maps are
kept as sorted tuples of pairs and free-form objects (`helm.valuesObject`,
`kustomize.patches`) as canonical JSON text, so an Application is hashable and equal
specs compare equal. Pure data: no I/O, no parsing (that is `applications`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conveyor.reconcile.diff import IgnoreRule

Pairs = tuple[tuple[str, str], ...]
#: Argo CD's in-cluster destination (`https://kubernetes.default.svc`): where the platform
#: runs. A target of that name, else the config's first target (`steps.Env.target_named`).
IN_CLUSTER_TARGET = "in-cluster"


class SourceKind(StrEnum):
    """Argo CD's source types; DETECT means "look at the files" (kustomization ⇒
    kustomize, `Chart.yaml` ⇒ helm, else directory)."""

    DETECT = ""
    DIRECTORY = "directory"
    KUSTOMIZE = "kustomize"
    HELM = "helm"


@dataclass(frozen=True, slots=True, kw_only=True)
class HelmParameter:
    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HelmFileParameter:
    name: str
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HelmSpec:
    """`spec.source.helm`; `values_object` is canonical JSON (`{}` when unset)."""

    value_files: tuple[str, ...] = ()
    ignore_missing_value_files: bool = False
    values: str = ""
    values_object: str = ""
    parameters: tuple[HelmParameter, ...] = ()
    file_parameters: tuple[HelmFileParameter, ...] = ()
    release_name: str = ""  # "" ⇒ the Application's name, as Argo CD
    namespace: str = ""  # "" ⇒ the destination namespace
    skip_crds: bool = False
    skip_tests: bool = False
    skip_schema_validation: bool = False
    pass_credentials: bool = False
    version: str = ""  # "v3" only; Helm 2 is gone from Argo CD too
    api_versions: tuple[str, ...] = ()
    kube_version: str = ""

    def values_object_data(self) -> dict[str, Any]:
        data = json.loads(self.values_object) if self.values_object else {}
        return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class KustomizeReplica:
    name: str
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class KustomizeSpec:
    """`spec.source.kustomize`; `patches` is canonical JSON of Kustomize's `patches` list."""

    name_prefix: str = ""
    name_suffix: str = ""
    namespace: str = ""
    images: tuple[str, ...] = ()
    common_labels: Pairs = ()
    common_annotations: Pairs = ()
    force_common_labels: bool = False
    force_common_annotations: bool = False
    label_without_selector: bool = False
    replicas: tuple[KustomizeReplica, ...] = ()
    patches: str = ""
    components: tuple[str, ...] = ()
    ignore_missing_components: bool = False
    api_versions: tuple[str, ...] = ()
    kube_version: str = ""

    @property
    def empty(self) -> bool:
        return self == KustomizeSpec()

    def patches_data(self) -> list[Any]:
        data = json.loads(self.patches) if self.patches else []
        return data if isinstance(data, list) else []


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonnetVar:
    """An `extVars` / `tlas` entry; `code` means the value is Jsonnet code, not a string."""

    name: str
    value: str
    code: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonnetSpec:
    ext_vars: tuple[JsonnetVar, ...] = ()
    tlas: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectorySpec:
    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: JsonnetSpec = JsonnetSpec()


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One `spec.source` (or one entry of `spec.sources`).

    `chart` set ⇒ a chart from a Helm repository (`repo_url` is the repository, or
    `oci://…`) at version `target_revision`; otherwise `path` in the Git repository.
    `ref` names the source for `$ref/…` value files of other sources; a source with a
    `ref` and no `path` or `chart` renders nothing of its own (Argo CD's rule).
    """

    repo_url: str
    path: str = "."
    target_revision: str = "HEAD"
    chart: str = ""
    ref: str = ""
    name: str = ""
    kind: SourceKind = SourceKind.DETECT
    directory: DirectorySpec = DirectorySpec()
    kustomize: KustomizeSpec = KustomizeSpec()
    helm: HelmSpec = HelmSpec()

    @property
    def renders(self) -> bool:
        """False for a `ref`-only source: it lends files and renders nothing itself."""
        return not (self.ref and not self.chart and self.path in ("", "."))

    # The directory fields are read in many places; these keep those reads short.
    @property
    def recurse(self) -> bool:
        return self.directory.recurse

    @property
    def include(self) -> str:
        return self.directory.include

    @property
    def exclude(self) -> str:
        return self.directory.exclude

    def cache_key(self) -> str:
        """Canonical text of everything that changes this source's render (computed once
        per distinct source: every pass asks for it)."""
        return _cache_key(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    limit: int = 0  # -1 ⇒ retry for ever (Argo CD)
    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedNamespaceMetadata:
    labels: Pairs = ()
    annotations: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncPolicy:
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    sync_options: tuple[str, ...] = ()
    retry: Retry = Retry()
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None

    def option(self, name: str) -> str | None:
        """The value of sync option `name` (`PruneLast=true` → "true"), None when unset."""
        for item in self.sync_options:
            key, _, value = item.partition("=")
            if key == name:
                return value
        return None

    def enabled(self, name: str) -> bool:
        return (self.option(name) or "").lower() == "true"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decryption:
    """Where the age identities for an app's SOPS-encrypted manifests come from (issue 17):
    `key_file` (a file on the reconciler's machine, mode 0600) and/or the `*.agekey` keys of
    the Secret `secret_name` in `secret_namespace` on the app's target (Flux's
    `spec.decryption.secretRef`). `SOPS_AGE_KEY_FILE` of the reconciler's process is used
    as well, with or without this block (`reconcile.decrypt`)."""

    key_file: str = ""
    secret_name: str = ""
    secret_namespace: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    name: str
    sources: tuple[Source, ...]
    target: str
    namespace: str
    sync_policy: SyncPolicy
    ignore_differences: tuple[IgnoreRule, ...] = ()
    depends_on: tuple[str, ...] = ()
    file: str = ""
    project: str = "default"
    revision_history_limit: int = 10
    finalizers: tuple[str, ...] = ()
    labels: Pairs = ()
    annotations: Pairs = ()
    info: Pairs = ()
    parent: str = ""  # the app that rendered this one (app of apps), "" for files
    multi_source: bool = field(default=False)
    # What the document was: an Argo CD Application, or a Flux Kustomization read onto
    # the same model (`reconcile.flux`), with the Flux fields that have no Argo CD twin.
    origin: str = "Application"
    substitutions: Pairs = ()  # Flux postBuild.substitute
    interval: float = 0.0  # seconds between reconciles; 0 ⇒ the loop's interval
    suspended: bool = False  # Flux spec.suspend / Argo CD's skip-reconcile annotation
    decryption: Decryption | None = None  # spec.decryption (SOPS, issue 17)

    @property
    def source(self) -> Source:
        """The first source that renders (the only one for a single-source app)."""
        return next((s for s in self.sources if s.renders), _NO_SOURCE)

    @property
    def rendering_sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.renders)

    @property
    def git_urls(self) -> tuple[str, ...]:
        """The Git repositories this app reads (charts from Helm repositories are not Git)."""
        return tuple(dict.fromkeys(s.repo_url for s in self.sources if not s.chart))

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


_NO_SOURCE = Source(repo_url="")  # the source of an app read from an invalid document


@functools.lru_cache(maxsize=65_536)
def _cache_key(source: Source) -> str:
    return json.dumps(_plain(source), sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """Dataclasses to dicts for canonical JSON (`dataclasses.asdict` minus its deep copies)."""
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return {name: _plain(getattr(value, name)) for name in fields}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
