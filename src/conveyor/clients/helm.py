"""Helm through `helm-python-sdk` (Helm's Go library, v4 SDK, loaded in-process): load and
render a chart offline, pull a chart from an HTTP repository or an OCI registry, build a
chart's dependencies, parse `--set` expressions.

A thin adapter: no Argo CD semantics here (that is `reconcile.render_helm`). Every
`helm_python` error becomes a `HelmError` carrying the chart file, line and column Helm
reported, when it reported one. The calls block (the Go library does the work in the
calling thread); callers run them in a worker thread. `render` goes through the SDK's
`helm_render` entry point directly, since `Chart.render` does not pass the `kube_version`
and `api_versions` options the library accepts (`.Capabilities`). Called by `reconcile.render_helm`,
`reconcile.helmvalues` and `reconcile.charts`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import helm_python

from conveyor.clients.errors import ClientError

#: `chart/templates/x.yaml:12:5` at the start of Helm's render and parse messages.
_WHERE = re.compile(r"(?P<file>[\w.@/-]+\.(?:ya?ml|tpl|txt|json)):(?P<line>\d+)(?::(?P<col>\d+))?")
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class HelmError(ClientError):
    """A Helm library call failed; `file`/`line`/`col` locate a template error (0 ⇒ unknown)."""

    def __init__(self, message: str, *, file: str = "", line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.col = col


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartOutput:
    """A rendered chart: template path → text (Helm's keys, `chart/templates/x.yaml`),
    and the CRD files of `crds/` directories (chart and subcharts) as (path, text)."""

    templates: tuple[tuple[str, str], ...]
    crds: tuple[tuple[str, str], ...]
    name: str
    version: str


def _mapped(exc: helm_python.HelmError) -> HelmError:
    detail = " ".join(str(exc.detail or exc).split())
    found = _WHERE.search(str(exc.detail or ""))
    if found is None:
        return HelmError(detail)
    return HelmError(
        detail,
        file=found["file"],
        line=int(found["line"]),
        col=int(found["col"] or 0),
    )


@contextmanager
def _helm() -> Iterator[None]:
    try:
        yield
    except helm_python.HelmError as exc:
        raise _mapped(exc) from exc


def render(
    chart_dir: Path,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str = "",
    api_versions: Sequence[str] = (),
    validate_schema: bool = True,
) -> ChartOutput:
    """`helm template`'s rendering of the chart at `chart_dir` (blocking). Values are
    checked against `values.schema.json` unless `validate_schema` is false."""
    if not validate_schema:
        with tempfile.TemporaryDirectory(prefix="conveyor-helm-") as tmp:
            copy = Path(tmp) / chart_dir.name
            _copy_without_schemas(chart_dir, copy)
            return render(
                copy,
                values,
                release=release,
                namespace=namespace,
                kube_version=kube_version,
                api_versions=api_versions,
            )
    opts: dict[str, Any] = {"name": release, "namespace": namespace}
    if kube_version:
        opts["kube_version"] = kube_version
    if api_versions:
        opts["api_versions"] = list(api_versions)
    with _helm(), helm_python.Chart.load(chart_dir) as chart:
        rendered = helm_python._native.call_string(
            "helm_render", chart._raw(), json.dumps(values), json.dumps(opts)
        )
        templates: dict[str, str] = json.loads(rendered)
        crds = tuple((c["filename"], c["data"]) for c in chart.crds)
        meta = chart.metadata
    return ChartOutput(
        templates=tuple(sorted(templates.items())),
        crds=crds,
        name=str(meta.get("name", "")),
        version=str(meta.get("version", "")),
    )


def _copy_without_schemas(source: Path, into: Path) -> None:
    """The chart with every `values.schema.json` removed, subchart archives expanded so
    theirs go too: how `skipSchemaValidation` is done, the SDK's render having no switch."""
    shutil.copytree(source, into, symlinks=False)
    _strip_schemas(into)


def _strip_schemas(chart_dir: Path) -> None:
    (chart_dir / "values.schema.json").unlink(missing_ok=True)
    for archive in sorted(chart_dir.glob("charts/*.tgz")):
        with _helm():
            helm_python.expand(archive.parent, archive)
        archive.unlink()
    for sub in sorted(p for p in chart_dir.glob("charts/*") if p.is_dir()):
        _strip_schemas(sub)


def missing_dependencies(chart_dir: Path) -> list[str]:
    """Names of the dependencies `Chart.yaml` declares that `charts/` does not hold."""
    with _helm():
        deps = helm_python.dependency_list(chart_dir)
    return [str(d.get("name")) for d in deps if d.get("status") != "ok"]


def dependency_build(chart_dir: Path) -> None:
    """`helm dependency build`: fill `charts/` from `Chart.lock` (or resolve, without one)."""
    with _helm():
        helm_python.dependency_build(chart_dir, plain_http=_has_loopback_repos(chart_dir))


def _has_loopback_repos(chart_dir: Path) -> bool:
    text = (chart_dir / "Chart.yaml").read_text(errors="replace")
    return any(f"oci://{host}" in text for host in _LOOPBACK)


def plain_http(url: str) -> bool:
    """Registries on the loopback interface are spoken to in plain HTTP (as Docker treats
    localhost registries); every other registry over HTTPS."""
    host = urlsplit(url if "://" in url else f"oci://{url}").hostname or ""
    return host in _LOOPBACK or host == "::1"


def pull(
    chart: str,
    *,
    repo_url: str,
    version: str,
    destination: Path,
    username: str | None = None,
    password: str | None = None,
) -> Path:
    """Download `chart` at `version` (exact or a semver range, which Helm resolves) into
    `destination`, which must be empty; returns the `.tgz`. `repo_url` is an HTTP(S)
    repository, or `oci://host/path` for a registry (the chart is then `repo_url/chart`)."""
    oci = repo_url.startswith("oci://")
    with _helm():
        helm_python.pull(
            f"{repo_url.rstrip('/')}/{chart}" if oci else chart,
            repo_url=None if oci else repo_url,
            version=version or None,
            destination=destination,
            plain_http=oci and plain_http(repo_url),
            username=username,
            password=password,
        )
    archives = sorted(destination.glob("*.tgz"))
    if len(archives) != 1:
        raise HelmError(f"pulling {chart} {version} from {repo_url} left {len(archives)} archives")
    return archives[0]


def expand(archive: Path, destination: Path) -> Path:
    """Unpack a chart archive; returns the chart's directory (`destination/<name>`)."""
    destination.mkdir(parents=True, exist_ok=True)
    with _helm():
        helm_python.expand(destination, archive)
    dirs = [p for p in destination.iterdir() if p.is_dir()]
    if len(dirs) != 1:
        raise HelmError(f"{archive.name} does not hold one chart directory")
    return dirs[0]


def parse_set(expression: str, *, as_string: bool = False) -> dict[str, Any]:
    """Helm's `--set` (or, with `as_string`, `--set-string`) parser."""
    with _helm():
        if as_string:
            return helm_python.parse_set_string_values(expression)
        return helm_python.parse_set_string(expression)


def values_from_yaml(text: str) -> dict[str, Any]:
    """A values document as Helm reads it (`-f`)."""
    with _helm():
        return helm_python.values_from_yaml(text)


def parse_set_file(expression: str) -> dict[str, Any]:
    """Helm's `--set-file name=path` parser: the value is the file's text."""
    with _helm():
        return helm_python.parse_set_file(expression)


def validate_release_name(name: str) -> None:
    """Helm's release name rule (at most 53 characters, a DNS label)."""
    with _helm():
        helm_python.validate_release_name(name)
