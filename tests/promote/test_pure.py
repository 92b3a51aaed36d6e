"""Table tests for the pure parts: image references, paths, ordering, trailers, config,
the planner over an in-memory tree, and stage copies."""

from __future__ import annotations

import pytest

from conveyor.promote import affected, ordering, stages, trailers
from conveyor.promote.config import Rule, parse_config
from conveyor.promote.errors import PromoteInputError
from conveyor.promote.imageref import parse_image, same_repository
from conveyor.promote.paths import parse_path, parse_set
from conveyor.promote.planner import EditSpec, plan

D = "sha256:" + "0f" * 32


@pytest.mark.parametrize(
    ("text", "registry", "path", "tag", "digest"),
    [
        ("nginx", None, "nginx", None, None),
        ("nginx:1.25", None, "nginx", "1.25", None),
        ("localhost:5000/a/b:1@" + D, "localhost:5000", "a/b", "1", D),
        ("localhost/a", "localhost", "a", None, None),
        ("registry.example.com:5443/team/api", "registry.example.com:5443", "team/api", None, None),
        ("ghcr.io/acme/web@" + D, "ghcr.io", "acme/web", None, D),
        ("acme/web:v1.2.3-rc.1", None, "acme/web", "v1.2.3-rc.1", None),
    ],
)
def test_parse_image(
    text: str, registry: str | None, path: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image(text)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize("text", ["Acme/web", "a/b:", "a/b@sha256:xyz", "a//b", ":1", "a/b:-x"])
def test_parse_image_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_image(text)


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("nginx", "docker.io/library/nginx", True),
        ("library/nginx:1", "nginx", True),
        ("ghcr.io/a/b", "ghcr.io/a/b:2", True),
        ("ghcr.io/a/b", "ghcr.io/a/bb", False),
        ("localhost:5000/a", "localhost:5001/a", False),
        ("index.docker.io/x/y", "x/y", True),
    ],
)
def test_same_repository(left: str, right: str, same: bool) -> None:
    assert same_repository(parse_image(left), parse_image(right)) is same


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        (".a.b[0].c", ("a", "b", 0, "c")),
        ("image.tag", ("image", "tag")),
        ('.a["x.y"]', ("a", "x.y")),
        ('."quoted key".v', ("quoted key", "v")),
        (".l[-1]", ("l", -1)),
        ("[2].a", (2, "a")),
        (".a['s q']", ("a", "s q")),
    ],
)
def test_parse_path(text: str, steps: tuple[object, ...]) -> None:
    assert parse_path(text) == steps


@pytest.mark.parametrize("text", [".", ".a[", ".a..b", ""])
def test_parse_path_rejects(text: str) -> None:
    with pytest.raises(PromoteInputError):
        parse_path(text)


def test_parse_set_keeps_equals_in_value_and_brackets_in_path() -> None:
    expr = parse_set('k8s/a.yaml:.m["k=v"].x=a=b')
    assert (expr.file, expr.path, expr.value) == ("k8s/a.yaml", ("m", "k=v", "x"), "a=b")
    with pytest.raises(PromoteInputError, match="FILE:PATH"):
        parse_set("no-path=1")


@pytest.mark.parametrize(
    ("current", "new", "order"),
    [
        ("1.2.3", "1.2.4", -1),
        ("v2.0.0", "1.9.9", 1),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("1.0.0-alpha.beta", "1.0.0-beta", -1),
        ("1.0.0-2", "1.0.0-10", -1),
        ("1.2", "1.2.0", 0),
        ("1.0.0+b1", "1.0.0+b2", 0),
        ("latest", "1.0.0", None),
    ],
)
def test_compare_semver(current: str, new: str, order: int | None) -> None:
    assert ordering.compare_semver(current, new) == order


def test_decide_orders_build_numbers_then_semver_then_ancestry() -> None:
    assert not ordering.decide(current_tag="x", new_tag="y", current_build=7, new_build=5).newer
    assert ordering.decide(current_tag="x", new_tag="y", current_build=None, new_build=5).newer
    assert not ordering.decide(
        current_tag="1.3.0", new_tag="1.2.9", current_build=None, new_build=None
    ).newer
    sha_a, sha_b = "a" * 40, "b" * 40
    verdict = ordering.decide(
        current_tag=sha_b,
        new_tag=sha_a,
        current_build=None,
        new_build=None,
        is_ancestor=lambda old, new: True,
    )
    assert not verdict.newer
    with pytest.raises(PromoteInputError, match="cannot order"):
        ordering.decide(current_tag="blue", new_tag="green", current_build=None, new_build=None)


def test_trailers_round_trip() -> None:
    text = trailers.message(
        "Promote x",
        "body line",
        [(trailers.IMAGE, "a/b:1"), (trailers.RUN, ""), (trailers.BUILD_NUMBER, "12")],
    )
    assert text == "Promote x\n\nbody line\n\nConveyor-Image: a/b:1\nConveyor-Build-Number: 12\n"
    assert trailers.values(text, "conveyor-image") == ["a/b:1"]
    assert trailers.parse("just a title\n") == []


CONFIG = """stages:
- name: dev
  paths: [envs/dev]
- name: staging
  paths: envs/staging/kustomization.yaml
- name: prod
  rule: approval
  paths: [envs/prod/]
  helm:
  - {file: charts/web/values-prod.yaml, image: ghcr.io/acme/web, tag: image.tag,
     digest: image.digest}
"""


def test_config_parses_stages_in_order() -> None:
    config = parse_config(CONFIG)
    assert [s.name for s in config.stages] == ["dev", "staging", "prod"]
    assert config.stage("prod").rule == Rule.APPROVAL
    assert config.stage("prod").paths == ("envs/prod",)
    assert config.stage("prod").helm[0].digest == "image.digest"
    with pytest.raises(PromoteInputError, match=r"unknown environment 'qa'.*dev, staging, prod"):
        config.stage("qa")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: 3", "stages"),
        ("stages:\n- paths: [a]", "name"),
        ("stages:\n- {name: a, paths: [x], rule: sometimes}", "rule"),
        ("stages:\n- {name: a}", "no paths"),
        ("stages:\n- {name: a, paths: [x]}\n- {name: a, paths: [y]}", "unique"),
        ("stages:\n- {name: a, helm: [{file: v.yaml, tag: image.tag}]}", "image"),
    ],
)
def test_config_rejects(text: str, message: str) -> None:
    with pytest.raises(PromoteInputError, match=message):
        parse_config(text)


class DictTree:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, path: str) -> bytes | None:
        text = self.files.get(path)
        return None if text is None else text.encode()

    def is_dir(self, path: str) -> bool:
        return path == "" or any(f.startswith(path.rstrip("/") + "/") for f in self.files)

    def files_under(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/" if path else ""
        return sorted(f for f in self.files if f.startswith(prefix))


DEPLOY = (
    "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
    "      - name: web\n        image: ghcr.io/acme/web:{}\n"
)
REPO = {
    "promotion.yaml": CONFIG,
    "envs/dev/web.yaml": DEPLOY.format("1.0.0"),
    "envs/dev/notes.txt": "image: ghcr.io/acme/web:0\n",
    "envs/base/deploy.yaml": DEPLOY.format("0.1.0"),
    "envs/base/kustomization.yaml": "resources: [deploy.yaml]\n",
    "envs/staging/kustomization.yaml": "resources:\n- ../base\n",
    "envs/prod/kustomization.yaml": "resources:\n- ../base\nimages:\n- name: ghcr.io/acme/web\n"
    "  newTag: 0.9.0\n",
    "charts/web/values-prod.yaml": "image:\n  tag: 0.9.0\n  digest: ''\n",
}


def web(tag: str | None = None, digest: str | None = None, **kw: object) -> EditSpec:
    return EditSpec(image=parse_image("ghcr.io/acme/web"), tag=tag, digest=digest, **kw)  # type: ignore[arg-type]


def test_plan_env_dir_edits_yaml_only() -> None:
    result = plan(DictTree(REPO), web("1.1.0", env="dev"))
    assert [e.path for e in result.edits] == ["envs/dev/web.yaml"]
    assert result.edits[0].new == DEPLOY.format("1.1.0").encode()


def test_plan_kustomization_adds_entry_when_a_resource_runs_the_image() -> None:
    result = plan(DictTree(REPO), web("1.1.0", env="staging"))
    assert result.edits[0].new.endswith(b"images:\n- name: ghcr.io/acme/web\n  newTag: 1.1.0\n")


def test_plan_prod_edits_kustomization_and_helm_values() -> None:
    result = plan(DictTree(REPO), web("1.1.0", D, env="prod"))
    paths = {e.path: e.new.decode() for e in result.edits}
    assert paths["charts/web/values-prod.yaml"] == f"image:\n  tag: 1.1.0\n  digest: '{D}'\n"
    assert f"newTag: 1.1.0\n  digest: {D}\n" in paths["envs/prod/kustomization.yaml"]


def test_plan_noop_when_already_there() -> None:
    assert plan(DictTree(REPO), web("1.0.0", env="dev")).noop


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (web("1", env="qa"), "unknown environment"),
        (web("1", paths=("envs/nowhere.yaml",)), "no such file"),
        (EditSpec(image=parse_image("ghcr.io/acme/other"), tag="1", env="dev"), "not used in"),
        (web("1"), "say where"),
        (web("1", paths=("../x",)), "leaves the repository"),
    ],
)
def test_plan_bad_input(spec: EditSpec, message: str) -> None:
    with pytest.raises(PromoteInputError, match=message):
        plan(DictTree(REPO), spec)


def test_stage_copy_takes_exact_reference_and_honours_order() -> None:
    tree = DictTree({**REPO, "envs/dev/web.yaml": DEPLOY.format(f"1.2.0@{D}")})
    config = parse_config(CONFIG)
    specs = stages.copy_specs(tree, config, "dev", "staging", None)
    assert [(s.reference, s.env) for s in specs] == [(f"ghcr.io/acme/web:1.2.0@{D}", "staging")]
    assert [str(r) for r in stages.running(tree, config.stage("prod"))] == [
        "ghcr.io/acme/web:0.9.0"
    ]
    stages.check_order(config, "dev", "staging", force=False)
    with pytest.raises(PromoteInputError, match="dev → staging → prod"):
        stages.check_order(config, "dev", "prod", force=False)
    stages.check_order(config, "dev", "prod", force=True)


PROJECTS = """projects:
  web: {paths: [services/web, "libs/ui/**/*.ts"], depends_on: [shared]}
  api: [services/api]
  shared: {paths: [libs/shared]}
  docs: {paths: ["docs/*.md"]}
"""


@pytest.mark.parametrize(
    ("changed", "names"),
    [
        (["services/web/main.go"], ["web"]),
        (["libs/shared/x.py"], ["web", "shared"]),
        (["libs/ui/a/b/c.ts"], ["web"]),
        (["libs/ui/c.ts"], ["web"]),
        (["libs/ui/c.js"], []),
        (["docs/a.md"], ["docs"]),
        (["docs/sub/a.md"], []),
        (["services/webx/a"], []),
        (["services/api/a", "README.md"], ["api"]),
    ],
)
def test_affected(changed: list[str], names: list[str]) -> None:
    projects = affected.parse_projects(PROJECTS)
    assert [p.name for p in affected.affected(projects, changed)] == names


def test_affected_outputs() -> None:
    projects = affected.affected(affected.parse_projects(PROJECTS), ["libs/shared/a"])
    assert affected.render(projects, "matrix") == (
        '{"include":[{"project":"web","path":"services/web"},'
        '{"project":"shared","path":"libs/shared"}]}'
    )
    assert affected.render(projects, "list") == "web\nshared"
    assert affected.render([], "github-output").splitlines() == [
        'matrix={"include":[]}',
        "projects=[]",
        "any=false",
    ]
    with pytest.raises(PromoteInputError, match="unknown"):
        affected.parse_projects("projects:\n  a: {paths: [x], depends_on: [b]}\n")
