"""Helm charts render as Argo CD's `helm template` does, with Helm's own library: values
in Argo CD's precedence, release name and namespace defaults, CRDs, tests, schema, and
`.Capabilities`. The charts are written by `helmcharts`."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conveyor.reconcile import render_helm
from conveyor.reconcile.appmodel import (
    HelmFileParameter,
    HelmParameter,
    HelmSpec,
    Source,
    SourceKind,
)
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.render import RenderCache
from conveyor.reconcile.sources import Checkout
from conveyor.targets.base import Manifest

from .helmcharts import package, write_chart


def _render(
    root: Path,
    path: str = "chart",
    *,
    release: str = "web",
    namespace: str = "prod",
    refs: dict[str, Path] | None = None,
    **helm: Any,
) -> list[Manifest]:
    if "values_object" in helm:
        helm["values_object"] = json.dumps(helm["values_object"], sort_keys=True)
    source = Source(repo_url="repo", path=path, kind=SourceKind.HELM, helm=HelmSpec(**helm))
    lent = {
        name: Checkout(revision="r", root=where, path=".", key=f"k-{name}")
        for name, where in (refs or {}).items()
    }
    cache = RenderCache()
    rendered = asyncio.run(
        cache.render(source, root=root, key="k", refs=lent, release=release, namespace=namespace)
    )
    return list(rendered.manifests)


def _by_kind(manifests: list[Manifest], kind: str) -> Manifest:
    return next(m for m in manifests if m["kind"] == kind)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    write_chart(tmp_path / "chart")
    return tmp_path


def test_release_name_defaults_to_the_app_and_namespace_to_the_destination(chart: Path) -> None:
    out = _render(chart)
    assert sorted(m["kind"] for m in out) == ["ConfigMap", "Deployment"]  # no NOTES, no partial
    deployment = _by_kind(out, "Deployment")
    assert deployment["metadata"]["name"] == "web-web"
    assert deployment["metadata"]["labels"]["chart"] == "web-0.1.0"
    assert _by_kind(out, "ConfigMap")["metadata"]["namespace"] == "prod"


def test_release_name_and_namespace_from_the_helm_block(chart: Path) -> None:
    out = _render(chart, release_name="shop", namespace="other")
    assert _by_kind(out, "Deployment")["metadata"]["name"] == "shop-web"
    assert _by_kind(out, "ConfigMap")["metadata"]["namespace"] == "other"


def test_an_invalid_release_name_is_a_render_error(chart: Path) -> None:
    with pytest.raises(RenderError, match="release name 'Not_Valid' is invalid"):
        _render(chart, release_name="Not_Valid")


def test_value_files_merge_in_order_relative_to_the_chart(chart: Path) -> None:
    (chart / "chart" / "values-a.yaml").write_text("replicas: 2\nimage: {tag: '2.0'}\n")
    (chart / "chart" / "values-b.yaml").write_text("replicas: 3\n")
    out = _render(chart, value_files=("values-a.yaml", "values-b.yaml"))
    deployment = _by_kind(out, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2.0"


def test_a_value_file_from_the_repository_root_and_from_a_parent(chart: Path) -> None:
    (chart / "envs").mkdir()
    (chart / "envs" / "prod.yaml").write_text("greeting: from-root\n")
    assert _by_kind(_render(chart, value_files=("/envs/prod.yaml",)), "ConfigMap")["data"] == {
        "greeting": "from-root"
    }
    assert _by_kind(_render(chart, value_files=("../envs/prod.yaml",)), "ConfigMap")["data"] == {
        "greeting": "from-root"
    }


def test_value_file_globs_expand_in_lexical_order(chart: Path) -> None:
    (chart / "chart" / "envs").mkdir()
    (chart / "chart" / "envs" / "b.yaml").write_text("greeting: b\n")
    (chart / "chart" / "envs" / "a.yaml").write_text("greeting: a\n")
    assert _by_kind(_render(chart, value_files=("envs/*.yaml",)), "ConfigMap")["data"] == {
        "greeting": "b"
    }
    with pytest.raises(RenderError, match=r"glob 'none/\*\.yaml' matched no files"):
        _render(chart, value_files=("none/*.yaml",))


def test_a_missing_value_file_is_an_error_unless_ignored(chart: Path) -> None:
    with pytest.raises(RenderError, match=r"value file nope\.yaml does not exist"):
        _render(chart, value_files=("nope.yaml",))
    out = _render(chart, value_files=("nope.yaml",), ignore_missing_value_files=True)
    assert _by_kind(out, "Deployment")["spec"]["replicas"] == 1


@pytest.mark.parametrize("name", ["../../etc/passwd", "/../../etc/passwd", "$values/../../x"])
def test_a_value_file_may_not_leave_its_repository(chart: Path, name: str) -> None:
    other = chart / "values-repo"
    other.mkdir()
    with pytest.raises(RenderError, match="leaves its repository"):
        _render(chart, value_files=(name,), refs={"values": other})


def test_a_value_file_symlinked_outside_the_repository_is_refused(
    chart: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = tmp_path_factory.mktemp("outside") / "secret.yaml"
    secret.write_text("greeting: stolen\n")
    (chart / "chart" / "link.yaml").symlink_to(secret)
    with pytest.raises(RenderError, match="leaves its repository"):
        _render(chart, value_files=("link.yaml",))


def test_a_ref_value_file_comes_from_the_ref_sources_root(chart: Path) -> None:
    other = chart / "values-repo"
    (other / "web").mkdir(parents=True)
    (other / "web" / "prod.yaml").write_text("greeting: from-ref\n")
    out = _render(chart, value_files=("$values/web/prod.yaml",), refs={"values": other})
    assert _by_kind(out, "ConfigMap")["data"] == {"greeting": "from-ref"}


def test_values_object_wins_over_values_and_both_over_value_files(chart: Path) -> None:
    (chart / "chart" / "prod.yaml").write_text("greeting: file\nreplicas: 4\n")
    with_text = _render(chart, value_files=("prod.yaml",), values="greeting: text\n")
    assert _by_kind(with_text, "ConfigMap")["data"] == {"greeting": "text"}
    assert _by_kind(with_text, "Deployment")["spec"]["replicas"] == 4
    both = _render(
        chart,
        value_files=("prod.yaml",),
        values="greeting: text\nreplicas: 9\n",
        values_object={"greeting": "object"},
    )
    assert _by_kind(both, "ConfigMap")["data"] == {"greeting": "object"}
    assert _by_kind(both, "Deployment")["spec"]["replicas"] == 4  # values ignored entirely


def test_parameters_win_over_every_values_source(chart: Path) -> None:
    params = (
        HelmParameter(name="replicas", value="5"),
        HelmParameter(name="greeting", value="a,b"),  # one value: Argo CD escapes commas
        HelmParameter(name="image.tag", value="007", force_string=True),
    )
    out = _render(chart, values_object={"replicas": 2, "greeting": "obj"}, parameters=params)
    deployment = _by_kind(out, "Deployment")
    assert deployment["spec"]["replicas"] == 5
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "web:007"
    assert _by_kind(out, "ConfigMap")["data"] == {"greeting": "a,b"}


def test_force_string_keeps_a_number_a_string(chart: Path) -> None:
    tpl = {
        "cm.yaml": "kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n"
        "data: {kind: {{ kindOf .Values.port | quote }}}\n"
    }
    shutil.rmtree(chart / "chart" / "templates")
    write_chart(chart / "chart", values="port: 1\n", templates=tpl)
    as_int = _render(chart, parameters=(HelmParameter(name="port", value="80"),))
    as_text = _render(
        chart, parameters=(HelmParameter(name="port", value="80", force_string=True),)
    )
    # a number (float64 through the SDK's JSON values, int64 with the helm CLI: README gap)
    assert _by_kind(as_int, "ConfigMap")["data"]["kind"] in ("int64", "float64")
    assert _by_kind(as_text, "ConfigMap")["data"] == {"kind": "string"}


def test_a_set_with_an_index_updates_one_list_element(chart: Path) -> None:
    tpl = {
        "cm.yaml": "kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\n"
        'data: {hosts: {{ join "," .Values.hosts | quote }}}\n'
    }
    shutil.rmtree(chart / "chart" / "templates")
    write_chart(chart / "chart", values="hosts: [default]\n", templates=tpl)
    (chart / "chart" / "prod.yaml").write_text("hosts: [a, b, c]\n")
    indexed = (HelmParameter(name="hosts[1]", value="B"),)
    out = _render(chart, value_files=("prod.yaml",), parameters=indexed)
    assert _by_kind(out, "ConfigMap")["data"] == {"hosts": "a,B,c"}
    listed = (HelmParameter(name="hosts", value="{x,y}"),)
    whole = _render(chart, value_files=("prod.yaml",), parameters=listed)
    assert _by_kind(whole, "ConfigMap")["data"] == {"hosts": "x,y"}


def test_file_parameters_set_a_value_to_a_files_text(chart: Path) -> None:
    (chart / "chart" / "greeting.txt").write_text("from a file")
    out = _render(chart, file_parameters=(HelmFileParameter(name="greeting", path="greeting.txt"),))
    assert _by_kind(out, "ConfigMap")["data"] == {"greeting": "from a file"}
    with pytest.raises(RenderError, match="leaves its repository"):
        _render(chart, file_parameters=(HelmFileParameter(name="g", path="../../../etc/hostname"),))


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true}]
"""


def test_crds_are_included_unless_skipped(chart: Path) -> None:
    (chart / "chart" / "crds").mkdir()
    (chart / "chart" / "crds" / "widget.yaml").write_text(CRD)
    assert _render(chart)[0]["kind"] == "CustomResourceDefinition"
    assert "CustomResourceDefinition" not in {m["kind"] for m in _render(chart, skip_crds=True)}


TEST_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations: {"helm.sh/hook": test}
spec: {containers: [{name: t, image: probe:1}]}
"""


def test_test_hooks_are_rendered_unless_skip_tests(chart: Path) -> None:
    (chart / "chart" / "templates" / "test.yaml").write_text(TEST_POD)
    assert "Pod" in {m["kind"] for m in _render(chart)}
    assert "Pod" not in {m["kind"] for m in _render(chart, skip_tests=True)}


SCHEMA = '{"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}'


def test_values_are_checked_against_the_schema_unless_skipped(chart: Path) -> None:
    (chart / "chart" / "values.schema.json").write_text(SCHEMA)
    params = (HelmParameter(name="replicas", value="0"),)
    with pytest.raises(RenderError, match="minimum: got 0, want 1"):
        _render(chart, parameters=params)
    out = _render(chart, parameters=params, skip_schema_validation=True)
    assert _by_kind(out, "Deployment")["spec"]["replicas"] == 0


CAPABILITIES = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: caps}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  widgets: {{ .Capabilities.APIVersions.Has "example.com/v1/Widget" | quote }}
  lookup: {{ lookup "v1" "Secret" "prod" "db" | toJson | quote }}
  tpl: {{ tpl "{{ .Values.greeting }}-{{ .Release.Name }}" . | quote }}
"""


def test_api_versions_and_kube_version_set_capabilities(chart: Path) -> None:
    (chart / "chart" / "templates" / "caps.yaml").write_text(CAPABILITIES)
    default = next(m for m in _render(chart) if m["metadata"]["name"] == "caps")["data"]
    assert default["widgets"] == "false" and default["lookup"] == "{}"
    assert default["tpl"] == "hello-web"
    out = _render(chart, api_versions=("example.com/v1/Widget",), kube_version="1.29.4")
    data = next(m for m in out if m["metadata"]["name"] == "caps")["data"]
    assert data == {**default, "kube": "v1.29.4", "widgets": "true"}


def test_a_template_error_names_the_file_line_and_column(chart: Path) -> None:
    (chart / "chart" / "templates" / "broken.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: {{ .Values.no.such }}}\n"
    )
    with pytest.raises(RenderError) as caught:
        _render(chart)
    assert str(caught.value).startswith("chart/templates/broken.yaml:4:")
    assert "nil pointer" in str(caught.value) and "Traceback" not in str(caught.value)


def test_a_template_parse_error_names_the_file(chart: Path) -> None:
    (chart / "chart" / "templates" / "broken.yaml").write_text("a: {{ .Values.x \n")
    with pytest.raises(
        RenderError,
        match=r"chart/templates/broken.yaml:2: parse error at \(chart/templates/broken.yaml:2\)",
    ):
        _render(chart)


def test_invalid_yaml_out_of_a_template_names_the_template(chart: Path) -> None:
    (chart / "chart" / "templates" / "bad.yaml").write_text("kind: ConfigMap\n  x: [1\n")
    with pytest.raises(RenderError, match=r"chart/templates/bad.yaml:2:\d+: invalid YAML"):
        _render(chart)


def test_a_helm_source_without_a_chart_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "chart").mkdir()
    with pytest.raises(RenderError, match=r"chart is not a Helm chart: it has no Chart\.yaml"):
        _render(tmp_path, value_files=("values.yaml",))


def test_a_bad_value_file_names_the_file(chart: Path) -> None:
    (chart / "chart" / "bad.yaml").write_text("a: [1\n")
    with pytest.raises(RenderError, match=r"chart/bad\.yaml"):
        _render(chart, value_files=("bad.yaml",))


def test_render_is_bounded_in_output_size(chart: Path) -> None:
    (chart / "chart" / "templates" / "big.yaml").write_text(
        "{{- range until 3000 }}\n---\nkind: ConfigMap\napiVersion: v1\n"
        'metadata: {name: c{{ . }}}\ndata: {pad: {{ repeat 100 "x" | quote }}}\n{{- end }}\n'
    )
    source = Source(repo_url="repo", path="chart")
    request = render_helm.helm_request(
        source, root=chart, path="chart", refs={}, release="web", namespace="prod"
    )
    assert len(asyncio.run(render_helm.render_helm(request, timeout=30))) == 3002
    with pytest.raises(RenderError, match="over the bound of 100000"):
        asyncio.run(render_helm.render_helm(request, timeout=30, max_output=100_000))
    with pytest.raises(RenderError, match="did not render within"):
        asyncio.run(render_helm.render_helm(request, timeout=0.000001))


def test_skip_schema_validation_reaches_packaged_subcharts(tmp_path: Path) -> None:
    sub = write_chart(tmp_path / "src" / "web", version="1.0.0")
    (sub / "values.schema.json").write_text(SCHEMA)
    umbrella = write_chart(
        tmp_path / "chart", name="shop", templates={}, values="web:\n  replicas: 0\n"
    )
    package(sub, umbrella / "charts")
    with pytest.raises(RenderError, match="minimum: got 0, want 1"):
        _render(tmp_path)
    out = _render(tmp_path, skip_schema_validation=True)
    assert _by_kind(out, "Deployment")["spec"]["replicas"] == 0
    assert (umbrella / "charts" / "web-1.0.0.tgz").is_file()  # the chart itself is untouched


def test_a_values_text_with_a_key_twice_keeps_the_last(chart: Path) -> None:
    out = _render(chart, values="greeting: first\ngreeting: last\n")
    assert _by_kind(out, "ConfigMap")["data"] == {"greeting": "last"}
