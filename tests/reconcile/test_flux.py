"""Flux documents among the Applications (issue 14): a Kustomization with its
GitRepository is read onto the Application model and reconciled; what Conveyor cannot
honour is refused with file:line:col, never skipped."""

from __future__ import annotations

import asyncio
from textwrap import dedent
from typing import Any

import pytest

from conveyor.reconcile.applications import parse_applications, read_file
from conveyor.reconcile.errors import ApplicationInvalid, RenderError
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.substitute import substitute

from .conftest import World, configmap, deployment

FLUX = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: config, namespace: flux-system}
spec:
  interval: 1m
  url: URL
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: web
  namespace: flux-system
  annotations: {conveyor.dev/target: memory}
spec:
  interval: 10m
  retryInterval: 30s
  path: ./app
  prune: true
  sourceRef: {kind: GitRepository, name: config}
  postBuild:
    substitute: {replicas: "3", env: prod}
"""


def _flux(world: World, extra: str = "", **replace: str) -> str:
    text = FLUX.replace("URL", world.repo.url) + extra
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def test_a_kustomization_is_read_onto_the_application_model(world: World) -> None:
    (app,) = parse_applications(_flux(world), "apps/flux.yaml")
    assert (app.name, app.origin, app.target) == ("web", "Kustomization", "memory")
    src = app.source
    assert (src.repo_url, src.target_revision, src.path) == (world.repo.url, "main", "app")
    policy = app.sync_policy
    assert policy.automated and policy.prune and policy.self_heal
    assert policy.retry.limit == -1 and policy.retry.duration == 30
    assert app.interval == 600 and dict(app.substitutions) == {"replicas": "3", "env": "prod"}
    assert app.finalizers == ("resources-finalizer.argocd.argoproj.io",)  # MirrorPrune


def test_a_kustomization_syncs_every_manifest_below_its_path_with_substitutions(
    world: World,
) -> None:
    web = deployment("web", image="web:${env}")
    web["spec"]["replicas"] = "${replicas}"
    world.repo.write_objects("app/web.yaml", web)
    world.repo.write_objects("app/nested/cfg.yaml", configmap("cfg", {"env": "${env:=dev}"}))
    raw = configmap("raw", {"script": "echo $${HOME} $PATH"})
    world.repo.write_objects("app/raw.yaml", raw)
    world.repo.commit()
    apps = parse_applications(_flux(world), "apps/flux.yaml")
    rec = world.reconciler()
    rec.set_apps(apps)
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    live = {ref.name: world.target.peek(ref) or {} for ref in world.target.refs()}
    assert live["web"]["spec"]["replicas"] == 3  # a number, as Flux's envsubst gives
    containers = live["web"]["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == "web:prod"
    assert live["cfg"]["data"] == {"env": "prod"}
    assert live["raw"]["data"] == {"script": "echo ${HOME} $PATH"}


def test_a_suspended_kustomization_is_not_synced(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    text = _flux(world).replace("  prune: true\n", "  prune: true\n  suspend: true\n")
    rec = world.reconciler()
    rec.set_apps(parse_applications(text, "apps/flux.yaml"))
    ready = asyncio.run(rec.reconcile_all())["web"]["conditions"][0]
    assert ready["reason"] == "Suspended" and world.target.refs() == []


@pytest.mark.parametrize(
    ("extra", "replace", "expected"),
    [
        (
            "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
            "metadata: {name: chart}\nspec: {}\n",
            {},
            "Flux HelmRelease is not supported",
        ),
        ("", {"kind: GitRepository, name": "kind: OCIRepository, name"}, "OCIRepository"),
        ("", {"name: config}": "name: other}"}, "GitRepository flux-system/other is not"),
        ("", {"  prune: true\n": "  prune: true\n  decryption: {provider: sops}\n"}, "no key"),
        (
            "",
            {"  prune: true\n": "  prune: true\n  decryption: {provider: vault}\n"},
            "provider 'vault' is not supported",
        ),
        (
            "",
            {"  prune: true\n": "  prune: true\n  decryption: {provider: sops, keyFile: k}\n"},
            "unknown field spec.decryption.keyFile",
        ),
        ("", {"  prune: true\n": "  prune: true\n  force: true\n"}, "immutable-field"),
        ("", {"postBuild:\n": "postBuild:\n    substituteFrom: []\n"}, "postBuild.substitute"),
        ("", {"interval: 10m": "interval: soon"}, "'soon' is not a duration"),
        ("", {"ref: {branch: main}": "ref: {semver: '>=1.0'}"}, "ref.tag"),
        ("", {"kustomize.toolkit.fluxcd.io/v1": "kustomize.toolkit.fluxcd.io/v1beta1"}, "v1"),
        ("", {"  path: ./app": "  pathh: ./app"}, "did you mean 'path'"),
    ],
)
def test_what_conveyor_cannot_honour_is_refused_where_it_stands(
    world: World, extra: str, replace: dict[str, str], expected: str
) -> None:
    found = read_file(_flux(world, extra, **replace), "apps/flux.yaml")
    assert found.invalid, found
    message = found.invalid[0].message
    assert expected in message
    assert message.startswith("apps/flux.yaml:") and message.split(":")[1].isdigit()


def test_a_bad_kustomization_does_not_hide_an_application_beside_it(world: World) -> None:
    app = dedent(
        f"""\
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {{name: other}}
        spec:
          source: {{repoURL: {world.repo.url}, path: app}}
          destination: {{name: memory}}
        """
    )
    found = read_file(_flux(world, app, **{"interval: 10m": "interval: x"}), "f.yaml")
    assert [a.name for a in found.apps] == ["other"] and found.invalid[0].name == "web"
    with pytest.raises(ApplicationInvalid):
        parse_applications(_flux(world, **{"interval: 10m": "interval: x"}), "f.yaml")


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${a}", {"a": "1"}, 1),
        ("x-${a}", {"a": "1"}, "x-1"),
        ("${missing}", {"a": "1"}, None),
        ("${missing:=dflt}", {"a": "1"}, "dflt"),
        ("${missing:-dflt}", {"a": "1"}, "dflt"),
        ("${a:1}", {"a": "hello"}, "ello"),
        ("${a:1:2}", {"a": "hello"}, "el"),
        ("${a/l/L}", {"a": "hello"}, "heLlo"),
        ("${a//l/L}", {"a": "hello"}, "heLLo"),
        ("$${a}", {"a": "1"}, "${a}"),
        ("$a", {"a": "1"}, "$a"),
        ("${a}", {}, "${a}"),  # no variables at all: no substitution (Flux's rule)
    ],
)
def test_substitution_forms(text: str, variables: dict[str, str], expected: Any) -> None:
    (obj,) = substitute([configmap("c", {"k": text})], variables)
    assert obj["data"]["k"] == expected


def test_substitution_is_skipped_on_objects_that_disable_it() -> None:
    obj = configmap("c", {"k": "${a}"}, **{"kustomize.toolkit.fluxcd.io/substitute": "disabled"})
    assert substitute([obj], {"a": "1"}) == [obj]


def test_a_malformed_reference_is_a_render_error_naming_the_object() -> None:
    with pytest.raises(RenderError, match="ConfigMap c"):
        substitute([configmap("c", {"k": "${a b}"})], {"a": "1"})


def test_an_app_with_its_own_interval_is_triggered_again_after_it(world: World) -> None:
    text = _flux(world).replace("interval: 10m", "interval: 50ms")
    rec = world.reconciler()
    rec.set_apps(parse_applications(text, "apps/flux.yaml"))
    loop = Loop(rec)

    async def scenario() -> list[str]:
        loop.requeue()
        return await loop.next_triggers(2.0, asyncio.Event())

    assert asyncio.run(scenario()) == ["web"]


def test_a_path_without_a_kustomization_is_built_as_flux_generates_one(world: World) -> None:
    """targetNamespace makes an overlay; the path has no kustomization, so the overlay lists
    its manifests and takes a subdirectory that is a kustomization as one entry."""
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.write_objects("app/deep/more/extra.yaml", configmap("extra"))
    world.repo.write("app/base/kustomization.yaml", "resources: [web.yaml]\nnamePrefix: k-\n")
    world.repo.write_objects("app/base/web.yaml", configmap("web"))
    world.repo.write_objects("app/base/ignored.yaml", configmap("not-listed"))
    world.repo.commit()
    text = _flux(world).replace("  prune: true\n", "  prune: true\n  targetNamespace: team\n")
    rec = world.reconciler()
    rec.set_apps(parse_applications(text, "apps/flux.yaml"))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    found = sorted((r.namespace, r.name) for r in world.target.refs())
    assert found == [("team", "cfg"), ("team", "extra"), ("team", "k-web")]


@pytest.mark.parametrize("overlay", [False, True], ids=["generated", "overlay"])
def test_a_sops_config_and_marked_files_under_the_path_are_not_resources(
    world: World, overlay: bool
) -> None:
    """A `.sops.yaml` beside the manifests (Flux's source-controller leaves it out of the
    artifact) and a file with Argo CD's skip marker are not listed, with or without an
    overlay (targetNamespace) over the path."""
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.write("app/.sops.yaml", "creation_rules:\n  - age: age1x\n")
    marked = "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n"
    world.repo.write("app/sub/marked.yaml", marked)
    world.repo.commit()
    text = _flux(world)
    if overlay:
        text = text.replace("  prune: true\n", "  prune: true\n  targetNamespace: team\n")
    rec = world.reconciler()
    rec.set_apps(parse_applications(text, "apps/flux.yaml"))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert [r.name for r in world.target.refs()] == ["cfg"]


def test_without_a_target_annotation_it_deploys_where_flux_would_the_first_target(
    world: World,
) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    text = _flux(world).replace("  annotations: {conveyor.dev/target: memory}\n", "")
    (app,) = parse_applications(text, "apps/flux.yaml")
    assert app.target == "in-cluster"
    rec = world.reconciler()
    rec.set_apps([app])
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert [r.name for r in world.target.refs()] == ["cfg"]


def test_a_flux_kind_conveyor_does_not_read_is_refused_not_skipped(world: World) -> None:
    alert = (
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\n"
        "metadata: {name: slack}\nspec: {}\n"
    )
    found = read_file(_flux(world, alert), "apps/flux.yaml")
    assert [a.name for a in found.apps] == ["web"]
    assert "Flux Alert is not supported" in found.invalid[0].message
