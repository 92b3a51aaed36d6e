"""Render a Helm chart as Argo CD does (`helm template`), with Helm's own library.

`render_helm` composes the values (`helmvalues`), renders in a worker thread bounded by
time and output size, and returns the objects `helm template` prints: the chart's and its
subcharts' `crds/` files first (Argo CD passes `--include-crds` unless `helm.skipCrds`),
then every template's objects in template-path order. `NOTES.txt`, partials (`_*.tpl`)
and empty documents are left out, as Helm does; Helm test hooks are left out with
`helm.skipTests` (without it they are rendered, and `ordering` never applies them, as
Argo CD). The release name is `helm.releaseName`, else the Application's name; the
release namespace `helm.namespace`, else the destination namespace. `apiVersions` and
`kubeVersion` set `.Capabilities`. Template and values errors name the chart file, line
and column Helm reports. Called by `reconcile.render.RenderCache`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from conveyor.clients import helm
from conveyor.core.location import Location
from conveyor.reconcile import helmhooks, helmvalues
from conveyor.reconcile.appmodel import HelmSpec, Source
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.manifests import parse_manifests
from conveyor.reconcile.sources import Checkout
from conveyor.targets.base import Manifest

MAX_OUTPUT = 64 * 1024 * 1024  # characters of rendered text, as a bound on a runaway chart
_WHERE = re.compile(r"^\S+:\d+(?::\d+)?\s*")


@dataclass(frozen=True, slots=True, kw_only=True)
class HelmRequest:
    """One render: the chart directory, where relative paths point, the release."""

    spec: HelmSpec
    places: helmvalues.Places
    release: str
    namespace: str


def helm_request(
    source: Source,
    *,
    root: Path,
    path: str,
    refs: Mapping[str, Checkout],
    release: str,
    namespace: str,
) -> HelmRequest:
    """What to render for a Helm `source` whose files are at `root / path`."""
    chart_dir = root / path if path not in ("", ".") else root
    shown = source.chart or path
    if not (chart_dir / "Chart.yaml").is_file():
        raise RenderError(
            f"{shown} is not a Helm chart: it has no Chart.yaml",
            hint="point spec.source.path at a chart directory, or remove spec.source.helm",
        )
    name = source.helm.release_name or release
    try:
        helm.validate_release_name(name)
    except helm.HelmError as exc:
        raise RenderError(
            f"{shown}: Helm release name {name!r} is invalid: {exc}",
            hint="set spec.source.helm.releaseName (at most 53 characters, a DNS label)",
        ) from exc
    places = helmvalues.Places(
        chart_dir=chart_dir,
        repo_root=root,
        refs={ref: checkout.root for ref, checkout in refs.items()},
        shown=shown,
    )
    return HelmRequest(
        spec=source.helm,
        places=places,
        release=name,
        namespace=source.helm.namespace or namespace,
    )


async def render_helm(
    request: HelmRequest, *, timeout: float, max_output: int = MAX_OUTPUT
) -> list[Manifest]:
    """The chart's objects; composing values, rendering and parsing run in a worker
    thread, bounded by `timeout` seconds and `max_output` characters of rendered text."""
    chart_name = _chart_name(request.places)
    work = asyncio.to_thread(_render, request, chart_name, max_output)
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise RenderError(
            f"{request.places.shown}: Helm did not render within {timeout:g} s",
            hint="look for a template that loops for ever",
        ) from None
    except helm.HelmError as exc:
        raise _render_error(exc, chart_name, request.places.shown) from exc


def _render(request: HelmRequest, chart_name: str, max_output: int) -> list[Manifest]:
    """In the worker thread: values (files are read here too), Helm's render, parsing."""
    spec = request.spec
    output = helm.render(
        request.places.chart_dir,
        helmvalues.compose(spec, request.places),
        release=request.release,
        namespace=request.namespace,
        kube_version=spec.kube_version,
        api_versions=spec.api_versions,
        validate_schema=not spec.skip_schema_validation,
    )
    size = sum(len(text) for _, text in output.templates) + sum(len(t) for _, t in output.crds)
    if size > max_output:
        raise RenderError(
            f"{request.places.shown}: Helm rendered {size} characters, over the bound of "
            f"{max_output}",
            hint="split the chart into several applications",
        )
    shown = _shower(chart_name, request.places.shown)
    files = [*(() if spec.skip_crds else output.crds), *output.templates]
    manifests: list[Manifest] = []
    for path, text in files:
        if path.endswith("NOTES.txt") or Path(path).name.startswith("_"):
            continue
        manifests.extend(parse_manifests(text, shown(path)))
    if spec.skip_tests:
        manifests = [m for m in manifests if not helmhooks.is_test(_notes(m))]
    return manifests


def _chart_name(places: helmvalues.Places) -> str:
    chart_file = places.chart_dir / "Chart.yaml"
    try:
        meta = yaml.safe_load(chart_file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(
            f"{places.shown}/Chart.yaml cannot be read: {exc}",
            hint="a Helm source needs a chart directory with a valid Chart.yaml",
        ) from exc
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise RenderError(
            f"{places.shown}/Chart.yaml has no name", hint="add `name:` to Chart.yaml"
        )
    return name


def _shower(chart_name: str, shown: str) -> Callable[[str], str]:
    """Helm's `chart/templates/x.yaml` as the user knows it: `<path>/templates/x.yaml`."""
    prefix = f"{chart_name}/"

    def show(path: str) -> str:
        return f"{shown}/{path[len(prefix) :]}" if path.startswith(prefix) else path

    return show


def _render_error(exc: helm.HelmError, chart_name: str, shown: str) -> RenderError:
    show = _shower(chart_name, shown)
    message = _WHERE.sub("", str(exc), count=1) if exc.file else str(exc)
    message = re.sub(rf"(?<![\w./-]){re.escape(chart_name)}/", f"{shown}/", message)
    if exc.file:
        where = Location(file=show(exc.file), line=exc.line, col=exc.col)
        return RenderError(message, location=where, hint="fix the template or the values")
    return RenderError(f"{shown}: {message}", hint="fix the chart or the values")


def _notes(obj: Manifest) -> Mapping[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})
