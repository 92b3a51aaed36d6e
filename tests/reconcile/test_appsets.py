"""ApplicationSets in the apps directory: list, git directories, git files and matrix
generators, both template styles, re-evaluation when Git changes, and clear errors."""

from __future__ import annotations

import asyncio

import pytest

from conveyor.reconcile import appfiles
from conveyor.reconcile.applications import Catalog
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.targets.base import ObjectRef

from .conftest import ConfigRepo, World, configmap


def load(world: World) -> list[Application]:
    """The apps directory's apps; its first invalid document raises."""
    catalog = asyncio.run(appfiles.load([world.repo.work / "apps"], sources=Sources(world.cache)))
    if catalog.invalid:
        raise catalog.invalid[0].error
    return list(catalog.apps)


def by_name(apps: list[Application]) -> dict[str, Application]:
    return {app.name: app for app in apps}


def appset(repo: ConfigRepo, generators: str, *, name: str, path: str, go: bool = False) -> str:
    """An ApplicationSet with the given generators (YAML indented under `generators:`)."""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: guestbooks
spec:
  goTemplate: {"true" if go else "false"}
  generators:
{generators}
  template:
    metadata:
      name: '{name}'
    spec:
      project: default
      source:
        repoURL: {repo.url}
        targetRevision: main
        path: '{path}'
      destination:
        name: memory
        namespace: '{name}'
      syncPolicy:
        automated: {{prune: true}}
"""


def clusters(world: World, *names: str) -> None:
    for name in names:
        world.repo.write_objects(f"clusters/{name}/cm.yaml", configmap(f"settings-{name}"))
        world.repo.write(f"config/{name}/config.json", f'{{"env": "{name}-env"}}')


def test_list_generator_makes_one_app_per_element(world: World) -> None:
    gens = "  - list:\n      elements:\n      - cluster: east\n      - cluster: west\n"
    world.repo.write("apps/set.yaml", appset(world.repo, gens, name="web-{{cluster}}", path="web"))
    apps = by_name(load(world))
    assert sorted(apps) == ["web-east", "web-west"]
    assert apps["web-east"].namespace == "web-east"
    assert "resources-finalizer.argocd.argoproj.io" in apps["web-east"].finalizers


def test_git_directories_with_exclude_and_go_template(world: World) -> None:
    clusters(world, "east", "west", "test")
    world.repo.commit()
    gens = (
        f"  - git:\n      repoURL: {world.repo.url}\n      revision: main\n"
        "      directories:\n      - path: clusters/*\n      - path: clusters/test\n"
        "        exclude: true\n"
    )
    doc = appset(world.repo, gens, name="{{ .path.basename }}", path="{{ .path.path }}", go=True)
    world.repo.write("apps/set.yaml", doc)
    apps = by_name(load(world))
    assert sorted(apps) == ["east", "west"]
    assert apps["east"].source.path == "clusters/east"


def test_git_files_give_their_keys_and_path_parameters(world: World) -> None:
    clusters(world, "east", "west")
    world.repo.commit()
    gens = (
        f"  - git:\n      repoURL: {world.repo.url}\n      revision: main\n"
        "      files:\n      - path: '**/config.json'\n"
    )
    doc = appset(world.repo, gens, name="{{env}}-{{path[1]}}", path="clusters/{{path.basename}}")
    world.repo.write("apps/set.yaml", doc)
    apps = by_name(load(world))
    assert sorted(apps) == ["east-env-east", "west-env-west"]
    assert apps["west-env-west"].source.path == "clusters/west"


def test_matrix_combines_git_directories_with_a_list(world: World) -> None:
    clusters(world, "east", "west")
    world.repo.commit()
    gens = (
        "  - matrix:\n      generators:\n"
        f"      - git:\n          repoURL: {world.repo.url}\n          revision: main\n"
        "          directories:\n          - path: clusters/*\n"
        "      - list:\n          elements:\n          - stage: dev\n          - stage: prod\n"
    )
    doc = appset(world.repo, gens, name="{{path.basename}}-{{stage}}", path="{{path}}")
    world.repo.write("apps/set.yaml", doc)
    names = sorted(by_name(load(world)))
    assert names == ["east-dev", "east-prod", "west-dev", "west-prod"]


def test_generated_apps_follow_git_and_vanished_ones_leave(world: World) -> None:
    clusters(world, "east", "west")
    gens = (
        f"  - git:\n      repoURL: {world.repo.url}\n      revision: main\n"
        "      directories:\n      - path: clusters/*\n"
    )
    doc = appset(world.repo, gens, name="{{path.basename}}", path="{{path}}")
    world.repo.write("apps/set.yaml", doc)
    world.repo.commit()
    env = Env(
        targets={"memory": world.target},
        store=world.store,
        sources=Sources(world.cache),
        sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
    )
    rec = Reconciler(load(world), env)
    statuses = asyncio.run(rec.reconcile_all())
    assert {n: s["health"]["status"] for n, s in statuses.items()} == {
        "east": "Healthy",
        "west": "Healthy",
    }
    east = ObjectRef(group="", kind="ConfigMap", namespace="east", name="settings-east")
    assert world.target.peek(east) is not None

    world.repo.remove("clusters/east")
    clusters(world, "north")
    world.repo.commit("east goes, north comes")
    rec.set_apps(load(world))
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["north", "west"]


def test_bad_template_reference_names_the_template_line(world: World) -> None:
    gens = "  - list:\n      elements:\n      - cluster: east\n"
    doc = appset(world.repo, gens, name="web-{{clustr}}", path="web")
    world.repo.write("apps/set.yaml", doc)
    with pytest.raises(ApplicationInvalid) as caught:
        load(world)
    assert "{{clustr}}" in caught.value.message
    line = doc.splitlines().index("      name: 'web-{{clustr}}'") + 1
    assert str(caught.value.location) == f"{world.repo.work / 'apps/set.yaml'}:{line}:7"
    assert "cluster" in (caught.value.hint or "")


def test_go_template_missing_field_is_an_error(world: World) -> None:
    gens = "  - list:\n      elements:\n      - cluster: east\n"
    doc = appset(world.repo, gens, name="{{ .cluster | lower }}", path="{{ .nothing }}", go=True)
    world.repo.write("apps/set.yaml", doc)
    with pytest.raises(ApplicationInvalid, match=r"\.nothing is not a parameter"):
        load(world)


@pytest.mark.parametrize(
    ("generators", "message"),
    [
        ("  - clusters: {}\n", "spec.generators.0.clusters is not supported"),
        ("  - list: {elements: [{a: b}], elementsYml: x}\n", "unknown field"),
        ("  - matrix:\n      generators: [{list: {elements: []}}]\n", "exactly two"),
    ],
)
def test_unknown_or_unsupported_generators_are_refused(
    world: World, generators: str, message: str
) -> None:
    world.repo.write("apps/set.yaml", appset(world.repo, generators, name="x", path="web"))
    with pytest.raises(ApplicationInvalid, match=message) as caught:
        load(world)
    assert caught.value.location is not None and caught.value.location.line > 0


def test_applications_sync_policies_other_than_sync_are_refused(world: World) -> None:
    gens = "  - list:\n      elements:\n      - cluster: east\n"
    doc = appset(world.repo, gens, name="{{cluster}}", path="web")
    policy = "  syncPolicy: {applicationsSync: create-only}\n"
    doc = doc.replace("  goTemplate:", policy + "  goTemplate:")
    world.repo.write("apps/set.yaml", doc)
    with pytest.raises(ApplicationInvalid, match="create-only"):
        load(world)


def test_preserve_resources_on_deletion_leaves_the_finalizer_off(world: World) -> None:
    gens = "  - list:\n      elements:\n      - cluster: east\n"
    doc = appset(world.repo, gens, name="{{cluster}}", path="web")
    doc = doc.replace(
        "  goTemplate:", "  syncPolicy: {preserveResourcesOnDeletion: true}\n  goTemplate:"
    )
    world.repo.write("apps/set.yaml", doc)
    assert by_name(load(world))["east"].finalizers == ()


def test_other_kinds_in_the_apps_directory_are_errors(world: World) -> None:
    world.repo.write_objects("apps/cm.yaml", configmap("stray"))
    with pytest.raises(
        ApplicationInvalid, match="kind ConfigMap is not an Application or ApplicationSet"
    ):
        load(world)


def test_a_bad_push_leaves_the_loop_running_the_apps_read_last(world: World) -> None:
    gens = "  - list:\n      elements:\n      - cluster: east\n"
    world.repo.write("apps/set.yaml", appset(world.repo, gens, name="{{cluster}}", path="web"))
    world.repo.write_objects("web/cm.yaml", configmap("web"))
    world.repo.commit()
    rec = world.reconciler()
    loads: list[str] = []

    async def reload() -> Catalog:
        loads.append("reload")
        if len(loads) > 1:
            world.repo.write("apps/set.yaml", appset(world.repo, gens, name="{{x}}", path="web"))
        return await appfiles.load([world.repo.work / "apps"], sources=rec.env.sources)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Loop(rec).run(interval=0.05, stop=stop, reload=reload))
        while len(loads) < 3:
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(go())
    assert rec.apps == ["applicationset/guestbooks", "east"]  # the error has its own entry
    ready = rec.status("applicationset/guestbooks")["conditions"][0]
    assert ready["reason"] == "InvalidSpec" and "x" in ready["message"]
    assert rec.status("east")["conditions"][0]["status"] == "True"  # runs as it was
