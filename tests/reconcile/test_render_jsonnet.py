"""Jsonnet in a `directory` source, rendered as Argo CD's repo server renders it: the
selected `*.jsonnet` files are evaluated (never `*.libsonnet`), an object or an array of
objects becomes manifests, `directory.jsonnet.{extVars, tlas, libs}` apply, errors name
file:line:col, and a runaway program is stopped by the render timeout."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml

from conveyor.reconcile.appmodel import DirectorySpec, JsonnetSpec, JsonnetVar, Source
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.render import RenderCache
from conveyor.reconcile.render_directory import render_tree
from conveyor.reconcile.render_jsonnet import Limits

from .conftest import World


def cm(name: str) -> str:
    """A ConfigMap in Jsonnet whose name is the Jsonnet expression `name`."""
    return "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: " + name + "}}"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(dedent(text))


def render(root: Path, timeout: float = 30.0, **directory: Any) -> list[dict[str, Any]]:
    source = Source(
        repo_url="https://git.example/cfg", path="app", directory=DirectorySpec(**directory)
    )
    rendered = asyncio.run(RenderCache(timeout=timeout).render(source, root=root, key="k"))
    return list(rendered.manifests)


def names(objects: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects]


def test_an_object_an_array_and_a_list_kind_each_become_manifests(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a-object.jsonnet": cm("'one'"),
            "app/b-array.jsonnet": "[" + cm("'two'") + ", null, " + cm("'three'") + "]",
            "app/c-list.jsonnet": "{apiVersion: 'v1', kind: 'List', items: [" + cm("'four'") + "]}",
        },
    )
    assert names(render(tmp_path)) == ["one", "two", "three", "four"]


@pytest.mark.parametrize(
    ("program", "said"),
    [
        ("[[" + cm("'nested'") + "]]", "Jsonnet produced an array inside an array"),
        ("'just text'", "Jsonnet produced a str ('just text')"),
        ("{metadata: {name: 'x'}}", "is not a Kubernetes object"),
    ],
)
def test_results_argo_cd_cannot_read_are_errors(tmp_path: Path, program: str, said: str) -> None:
    write(tmp_path, {"app/bad.jsonnet": program})
    with pytest.raises(RenderError, match=re.escape(said)) as caught:
        render(tmp_path)
    assert caught.value.location is not None and caught.value.location.file == "app/bad.jsonnet"


def test_libsonnet_files_are_imported_never_evaluated(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/params.libsonnet": "{ name: 'from-params' }",
            "app/broken.libsonnet": "error 'a library is only evaluated when imported'",
            "app/main.jsonnet": "local p = import 'params.libsonnet';\n" + cm("p.name"),
        },
    )
    assert names(render(tmp_path)) == ["from-params"]


def test_recurse_include_and_exclude_select_jsonnet_like_yaml(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/top.jsonnet": cm("'top'"),
            "app/sub/deep.jsonnet": cm("'deep'"),
            "app/sub/skipped.jsonnet": "error 'excluded'",
        },
    )
    assert names(render(tmp_path)) == ["top"]
    assert names(render(tmp_path, recurse=True, exclude="sub/skipped.jsonnet")) == ["deep", "top"]
    assert names(render(tmp_path, recurse=True, include="sub/deep.jsonnet")) == ["deep"]


def test_yaml_and_jsonnet_in_one_directory_render_together_in_file_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}\n",
            "app/b.jsonnet": cm("'from-jsonnet'"),
            "app/c.json": '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}',
        },
    )
    assert names(render(tmp_path)) == ["from-yaml", "from-jsonnet", "s"]


def test_files_with_argo_cds_skip_marker_are_not_rendered(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a.jsonnet": "// +argocd:skip-file-rendering\n" + cm("'skipped'"),
            "app/b.jsonnet": cm("'rendered'"),
            "app/c.yaml": "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\n"
            "metadata: {name: also-skipped}\n",
            "app/.sops.yaml": "creation_rules:\n  - age: age1x\n",
        },
    )
    assert names(render(tmp_path)) == ["rendered"]


def test_ext_vars_and_tlas_as_strings_and_as_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/main.jsonnet": """\
            function(prefix, replicas)
            {
              apiVersion: 'apps/v1', kind: 'Deployment',
              metadata: {name: prefix + std.extVar('name'), labels: std.extVar('labels')},
              spec: {replicas: replicas},
            }
            """
        },
    )
    jsonnet = JsonnetSpec(
        ext_vars=(
            JsonnetVar(name="name", value="web"),
            JsonnetVar(name="labels", value="{tier: 'front'}", code=True),
        ),
        tlas=(
            JsonnetVar(name="prefix", value="prod-"),
            JsonnetVar(name="replicas", value="1 + 2", code=True),
        ),
    )
    (obj,) = render(tmp_path, jsonnet=jsonnet)
    assert obj["metadata"] == {"name": "prod-web", "labels": {"tier": "front"}}
    assert obj["spec"] == {"replicas": 3}


def test_libs_are_search_paths_relative_to_the_repository_root(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "vendor/k.libsonnet": "{ cm(n):: " + cm("n") + " }",
            "app/main.jsonnet": "local k = import 'k.libsonnet'; [k.cm('lib')]",
        },
    )
    with pytest.raises(RenderError, match=r"couldn't find import 'k\.libsonnet'"):
        render(tmp_path)
    assert names(render(tmp_path, jsonnet=JsonnetSpec(libs=("vendor",)))) == ["lib"]
    with pytest.raises(RenderError, match=r"libs entry '\.\./elsewhere' points outside"):
        render(tmp_path, jsonnet=JsonnetSpec(libs=("../elsewhere",)))
    with pytest.raises(RenderError, match="libs entry 'app/vendor' is not a directory"):
        render(tmp_path, jsonnet=JsonnetSpec(libs=("app/vendor",)))


def test_imports_outside_the_repository_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (tmp_path / "secret.txt").write_text("not for manifests")
    (tmp_path / "repo").mkdir()
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    for program in (
        "importstr '../../secret.txt'",
        "importstr '../link.txt'",
        "importstr '/etc/hostname'",
    ):
        write(root, {"app/leak.jsonnet": cm("'x'") + " + {data: {v: " + program + "}}"})
        with pytest.raises(RenderError, match="resolves outside the repository") as caught:
            render(root)
        assert "not for manifests" not in str(caught.value)


def test_an_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a-fine.jsonnet": cm("'fine'"),
            "app/lib.libsonnet": "{\n  name: error 'name is required',\n}\n",
            "app/main.jsonnet": "local l = import 'lib.libsonnet';\n" + cm("l.name"),
            "app/syntax.jsonnet": "{\n  a: 1\n  b: 2,\n}\n",
        },
    )
    with pytest.raises(RenderError) as caught:
        render(tmp_path, exclude="syntax.jsonnet")
    assert str(caught.value.location) == "app/lib.libsonnet:2:9"
    assert "RUNTIME ERROR: name is required" in caught.value.message
    assert caught.value.hint is not None and "app/main.jsonnet" in caught.value.hint
    with pytest.raises(RenderError) as caught:
        render(tmp_path, include="syntax.jsonnet")
    assert str(caught.value.location) == "app/syntax.jsonnet:3:3"
    assert "STATIC ERROR: expected a comma" in caught.value.message


def test_tlas_reach_functions_and_leave_other_files_alone(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/a.jsonnet": "function(name='default') " + cm("name"),
            "app/b.jsonnet": cm("'plain'"),
        },
    )
    assert names(render(tmp_path)) == ["default", "plain"]
    tla = JsonnetSpec(tlas=(JsonnetVar(name="name", value="given"),))
    assert names(render(tmp_path, jsonnet=tla)) == ["given", "plain"]


def test_a_runaway_program_is_killed_at_the_render_timeout(tmp_path: Path) -> None:
    write(tmp_path, {"app/spin.jsonnet": "std.length(std.range(1, 2000000000))"})
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"timed out after 0.5s \(app/spin.jsonnet\)"):
        render(tmp_path, timeout=0.5)
    assert time.monotonic() - started < 5


def test_output_beyond_the_limit_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"app/big.jsonnet": cm("'big'") + " + {data: {v: std.repeat('x', 4096)}}"})
    root, app = tmp_path, tmp_path / "app"
    with pytest.raises(RenderError, match="Jsonnet output exceeds"):
        asyncio.run(
            render_tree(
                app,
                spec=DirectorySpec(),
                root=root,
                env={},
                limits=Limits(timeout=30, max_output=1024),
            )
        )


def test_build_environment_variables_are_substituted_strictly(tmp_path: Path) -> None:
    write(tmp_path, {"app/main.jsonnet": cm("std.extVar('n')")})

    def named(value: str) -> list[str]:
        return names(
            render(tmp_path, jsonnet=JsonnetSpec(ext_vars=(JsonnetVar(name="n", value=value),)))
        )

    assert named("cm-${ARGOCD_APP_SOURCE_PATH}") == ["cm-app"]
    assert named("cost-$$5") == ["cost-$5"]
    with pytest.raises(RenderError, match=r"mentions \$ARGOCD_APP_NAME, which is not in the build"):
        named("$ARGOCD_APP_NAME")  # a render with no app behind it (the cache's own tests)
    source = Source(
        repo_url="https://git.example/cfg",
        path="app",
        directory=DirectorySpec(
            jsonnet=JsonnetSpec(
                ext_vars=(JsonnetVar(name="n", value="$ARGOCD_APP_NAME-$ARGOCD_APP_NAMESPACE"),)
            )
        ),
    )
    cache = RenderCache(timeout=30)
    rendered = asyncio.run(
        cache.render(source, root=tmp_path, key="k", release="web", namespace="prod")
    )
    assert names(list(rendered.manifests)) == ["web-prod"]
    with pytest.raises(RenderError, match=r"ARGOCD_APP_REVISION"):
        named("$ARGOCD_APP_REVISION")  # renders are cached by tree, not by commit


def test_an_empty_jsonnet_result_is_an_empty_render_not_a_wrong_path(tmp_path: Path) -> None:
    write(tmp_path, {"app/none.jsonnet": "[]"})
    assert render(tmp_path) == []


JSONNET_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook}
spec:
  project: default
  destination: {name: memory, namespace: demo}
  source:
    repoURL: REPO
    path: jsonnet-guestbook
    targetRevision: main
    directory:
      jsonnet:
        extVars: [{name: image, value: "gcr.io/heptio-images/ks-guestbook-demo:0.2"}]
        tlas: [{name: replicas, value: "2", code: true}]
  syncPolicy: {automated: {prune: true, selfHeal: true}}
"""


def test_a_jsonnet_application_syncs_synced_healthy_through_the_reconciler(world: World) -> None:
    world.repo.write("jsonnet-guestbook/params.libsonnet", "{ name: 'guestbook-ui', port: 80 }\n")
    world.repo.write(
        "jsonnet-guestbook/guestbook-ui.jsonnet",
        """\
        local p = import 'params.libsonnet';
        function(replicas) [
          {
            apiVersion: 'v1', kind: 'Service', metadata: {name: p.name},
            spec: {selector: {app: p.name}, ports: [{port: p.port}]},
          },
          {
            apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: p.name},
            spec: {
              replicas: replicas,
              selector: {matchLabels: {app: p.name}},
              template: {
                metadata: {labels: {app: p.name}},
                spec: {containers: [{name: p.name, image: std.extVar('image')}]},
              },
            },
          },
        ]
        """,
    )
    world.repo.commit()
    doc = JSONNET_APP.replace("REPO", world.repo.url)
    status = asyncio.run(world.reconciler(doc).reconcile_all())["guestbook"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert status["health"]["status"] == "Healthy"
    assert sorted((r.kind, r.namespace, r.name) for r in world.target.refs()) == [
        ("Deployment", "demo", "guestbook-ui"),
        ("Service", "demo", "guestbook-ui"),
    ]
    ref = next(r for r in world.target.refs() if r.kind == "Deployment")
    deployment = asyncio.run(world.target.get(ref))
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "gcr.io/heptio-images/ks-guestbook-demo:0.2"

    world.repo.write("jsonnet-guestbook/params.libsonnet", "{ name: 'guestbook-ui', port: 80\n")
    world.repo.commit("break the params")
    status = asyncio.run(world.reconcilers[0].reconcile_all())["guestbook"]
    ready = status["conditions"][0]
    assert ready["reason"] == "RenderFailed"
    assert ready["message"].startswith("jsonnet-guestbook/params.libsonnet:2:1: Jsonnet: STATIC")
    assert len(world.target.refs()) == 2  # nothing pruned on a failed render


def test_libs_and_imports_above_the_path_resolve_through_the_reconciler(world: World) -> None:
    """`libs` are relative to the repository root and `../` imports leave the app's path:
    the reconciler must export the whole tree, not only the path, for either to work."""
    world.repo.write(
        "vendor/k.libsonnet",
        "{ cm(n): {apiVersion: 'v1', kind: 'ConfigMap',"
        + " metadata: {name: n}, data: {k: 'v'}} }\n",
    )
    world.repo.write("common/names.libsonnet", "{ first: 'from-common' }\n")
    world.repo.write(
        "app/main.jsonnet",
        "local k = import 'k.libsonnet';\nlocal n = import '../common/names.libsonnet';\n"
        "[k.cm(n.first), k.cm('second')]\n",
    )
    world.repo.commit()
    doc = yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "libs"},
            "spec": {
                "source": {
                    "repoURL": world.repo.url,
                    "path": "app",
                    "targetRevision": "main",
                    "directory": {"jsonnet": {"libs": ["vendor"]}},
                },
                "destination": {"name": "memory", "namespace": "demo"},
                "syncPolicy": {"automated": {"prune": True}},
            },
        }
    )
    status = asyncio.run(world.reconciler(doc).reconcile_all())["libs"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert sorted(r.name for r in world.target.refs()) == ["from-common", "second"]
