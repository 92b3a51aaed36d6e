"""`promotion.yaml` at the config repo's root: environments in stage order, their paths
and rules, and Helm values key paths.

```yaml
stages:                      # order is promotion order: dev → staging → prod
  - name: dev
    paths: [envs/dev]        # files or directories (a directory with a kustomization
                             # is edited through its images:, else its manifests)
  - name: prod
    rule: approval           # automatic (default) | approval: commit mode needs --force
    paths: [envs/prod]
    helm:                    # values files and the key paths that hold the image
      - file: charts/web/values-prod.yaml
        image: ghcr.io/acme/web   # which image these keys belong to
        tag: image.tag
        repository: image.repository   # optional
        digest: image.digest           # optional
```

Pure: `parse_config(text)` validates (pydantic-free, messages name the field) and returns
frozen values. Called by `planner`, `stages` and `history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from conveyor.core.location import Location
from conveyor.promote.errors import PromoteInputError

FILE_NAME = "promotion.yaml"


class Rule(StrEnum):
    AUTOMATIC = "automatic"
    APPROVAL = "approval"


@dataclass(frozen=True, slots=True, kw_only=True)
class HelmTarget:
    file: str
    image: str | None
    tag: str
    repository: str | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    name: str
    paths: tuple[str, ...]
    rule: Rule = Rule.AUTOMATIC
    helm: tuple[HelmTarget, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionConfig:
    stages: tuple[Stage, ...]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = ", ".join(s.name for s in self.stages)
        raise PromoteInputError(
            f"unknown environment {name!r}", hint=f"{FILE_NAME} declares: {known}"
        )

    def index(self, name: str) -> int:
        return self.stages.index(self.stage(name))


def _fail(message: str, hint: str = f"fix {FILE_NAME}") -> PromoteInputError:
    return PromoteInputError(message, location=Location(file=FILE_NAME), hint=hint)


def parse_config(text: str) -> PromotionConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise _fail("expected a mapping with a `stages:` list")
    stages = tuple(_stage(i, item) for i, item in enumerate(data["stages"]))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise _fail("stage names must be unique")
    return PromotionConfig(stages=stages)


def _stage(index: int, item: Any) -> Stage:
    where = f"stages[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise _fail(f"{where} needs a `name:`")
    paths = item.get("paths", [])
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise _fail(f"{where}.paths must be a list of paths")
    try:
        rule = Rule(item.get("rule", "automatic"))
    except ValueError as exc:
        raise _fail(f"{where}.rule must be automatic or approval") from exc
    helm = item.get("helm", [])
    if not isinstance(helm, list):
        raise _fail(f"{where}.helm must be a list")
    targets = tuple(_helm(f"{where}.helm[{i}]", h) for i, h in enumerate(helm))
    if not paths and not targets:
        raise _fail(f"{where} ({item['name']}) has no paths and no helm files")
    return Stage(
        name=item["name"], paths=tuple(p.strip("/") for p in paths), rule=rule, helm=targets
    )


def _helm(where: str, item: Any) -> HelmTarget:
    if not isinstance(item, dict):
        raise _fail(f"{where} must be a mapping")
    strings = {k: v for k, v in item.items() if isinstance(v, str)}
    if "file" not in strings or ("tag" not in strings and "digest" not in strings):
        raise _fail(f"{where} needs `file:` and a `tag:` or `digest:` key path")
    if "image" not in strings and "repository" not in strings:
        raise _fail(f"{where} needs `image:` or `repository:` to know which image it holds")
    return HelmTarget(
        file=strings["file"].strip("/"),
        image=strings.get("image"),
        tag=strings.get("tag", ""),
        repository=strings.get("repository"),
        digest=strings.get("digest"),
    )
