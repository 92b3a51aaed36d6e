"""The `image:` fields of containers and initContainers in workload manifests.

Kinds and where their pod spec lives (Kubernetes API): Pod `spec`; Deployment,
StatefulSet, DaemonSet, ReplicaSet and Job `spec.template.spec`; CronJob
`spec.jobTemplate.spec.template.spec`. Any number of documents per file; a field whose
value is not an image reference (a Helm template, say) is left alone.

Pure. Called by `planner` for plain manifest files and by `stages` to read what runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from conveyor.core.location import Location
from conveyor.promote import yamltext as yt
from conveyor.promote.imageref import ImageRef, same_repository, try_parse

POD_SPEC: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageField:
    """One container's `image:` value in a manifest."""

    node: yt.Node
    ref: ImageRef
    kind: str
    container: str
    location: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One field rewritten: where, and the values before and after."""

    location: Location
    old: str
    new: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EditResult:
    text: str
    changes: tuple[Change, ...]  # every matching field, changed or already equal
    found: bool

    @property
    def changed(self) -> bool:
        return any(c.old != c.new for c in self.changes)


def image_fields(text: str, file: str) -> Iterator[ImageField]:
    """Every parseable container image in the workload documents of `text`."""
    for doc in yt.documents(text, file):
        kind = yt.scalar_text(yt.mapping_get(doc, "kind")) or ""
        if kind not in POD_SPEC:
            continue
        pod_spec = yt.dig(doc, *POD_SPEC[kind])
        for list_name in CONTAINER_LISTS:
            for container in yt.sequence_items(yt.mapping_get(pod_spec, list_name)):
                node = yt.mapping_get(container, "image")
                value = yt.scalar_text(node)
                ref = try_parse(value) if value is not None else None
                if node is None or ref is None:
                    continue
                name = yt.scalar_text(yt.mapping_get(container, "name")) or "?"
                yield ImageField(
                    node=node,
                    ref=ref,
                    kind=kind,
                    container=name,
                    location=yt.location(file, node),
                )


def set_image(
    text: str, file: str, image: ImageRef, *, tag: str | None, digest: str | None
) -> EditResult:
    """Point every container running `image` (any tag) at `tag`/`digest`, keeping the
    repository as the file spells it. A tag alone drops an old digest (it would pin the
    old image); a digest alone drops the tag, as `kustomize edit set image name@digest`."""
    splices: list[yt.Splice] = []
    changes: list[Change] = []
    seen: set[int] = set()
    for field in image_fields(text, file):
        if not same_repository(field.ref, image) or id(field.node) in seen:
            continue
        seen.add(id(field.node))  # an alias shares its anchor's node: edit it once
        new = str(field.ref.with_version(tag=tag, digest=digest))
        changes.append(Change(location=field.location, old=str(field.node.value), new=new))
        if new != field.node.value:
            splices.append(yt.replace_scalar(text, field.node, new, file=file))
    return EditResult(text=yt.apply(text, splices), changes=tuple(changes), found=bool(changes))
