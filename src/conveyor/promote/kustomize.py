"""The `images:` list of a kustomization, edited as `kustomize edit set image` would.

An entry belongs to the promoted image when its `newName` (or, without one, its `name`)
is that repository. Setting a tag writes `newTag` and drops `digest`; setting a digest
writes `digest` and drops `newTag`; both writes both: `kubectl kustomize` then renders
`name:tag`, `name@digest` or `name:tag@digest`, exactly what `kustomize edit set image`
yields. A missing entry is appended (`- name: …` with `newTag`/`digest`), and a missing
`images:` key is added at the end of the document. Existing entries keep their key
order; kustomize itself would re-sort the list, which changes bytes, not the render.

Pure. Called by `planner` for `kustomization.yaml` targets and by `stages`.
"""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.promote import yamltext as yt
from conveyor.promote.errors import PromoteInputError
from conveyor.promote.imageref import ImageRef, same_repository, try_parse
from conveyor.promote.workloads import Change, EditResult

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    node: yt.Node
    name: str
    target: str  # newName or name: the repository the entry renders
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        return (
            self.target
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )


def entries(text: str, file: str) -> list[Entry]:
    docs = yt.documents(text, file)
    return [_entry(item) for item in yt.sequence_items(yt.mapping_get(_root(docs), "images"))]


def resources(text: str, file: str) -> list[str]:
    """Local `resources:`/`bases:`/`components:` entries (URLs skipped), for reachability."""
    root = _root(yt.documents(text, file))
    found: list[str] = []
    for key in ("resources", "bases", "components"):
        for item in yt.sequence_items(yt.mapping_get(root, key)):
            value = yt.scalar_text(item)
            if value and "://" not in value and not value.startswith(("github.com/", "git@")):
                found.append(value)
    return found


def matching(text: str, file: str, image: ImageRef) -> Entry | None:
    """The entry rendering `image` (by newName, else name); failing that, the entry whose
    `name` is `image` (it renames it elsewhere: we set its tag rather than add a twin)."""
    found = entries(text, file)
    for attribute in ("target", "name"):
        for entry in found:
            ref = try_parse(getattr(entry, attribute))
            if ref is not None and same_repository(ref, image):
                return entry
    return None


def set_image(
    text: str, file: str, image: ImageRef, *, tag: str | None, digest: str | None
) -> EditResult:
    """Set the entry for `image` (adding it when absent); `found` is whether it existed."""
    entry = matching(text, file, image)
    if entry is None:
        return EditResult(
            text=_append(text, file, image, tag, digest),
            found=False,
            changes=(
                Change(
                    location=yt.location(file, _root(yt.documents(text, file))),
                    old="",
                    new=_render(image.name, tag, digest),
                ),
            ),
        )
    splices = [
        s
        for s in (_put(text, entry, "newTag", tag, file), _put(text, entry, "digest", digest, file))
        if s
    ]
    new = _render(entry.target, tag, digest)
    change = Change(location=yt.location(file, entry.node), old=entry.reference, new=new)
    return EditResult(text=yt.apply(text, splices), changes=(change,), found=True)


def _render(target: str, tag: str | None, digest: str | None) -> str:
    return target + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _root(docs: list[yt.Node]) -> yt.Node:
    if not docs or not isinstance(docs[0], yt.MappingNode):
        raise PromoteInputError(
            "a kustomization must be one YAML mapping", hint="check the file is a kustomization"
        )
    return docs[0]


def _entry(node: yt.Node) -> Entry:
    name = yt.scalar_text(yt.mapping_get(node, "name")) or ""
    return Entry(
        node=node,
        name=name,
        target=yt.scalar_text(yt.mapping_get(node, "newName")) or name,
        tag=yt.scalar_text(yt.mapping_get(node, "newTag")) or None,
        digest=yt.scalar_text(yt.mapping_get(node, "digest")) or None,
    )


def _put(text: str, entry: Entry, key: str, value: str | None, file: str) -> yt.Splice | None:
    node = yt.mapping_get(entry.node, key)
    if value is None:
        return yt.remove_pair(text, entry.node, key)
    if node is None:
        return yt.add_pair(text, entry.node, key, value)
    if yt.scalar_text(node) == value:
        return None
    return yt.replace_scalar(text, node, value, file=file)


def _append(text: str, file: str, image: ImageRef, tag: str | None, digest: str | None) -> str:
    root = _root(yt.documents(text, file))
    fields = [("name", image.name)]
    fields += [("newTag", tag)] if tag else []
    fields += [("digest", digest)] if digest else []
    images = yt.mapping_get(root, "images")
    if images is not None and not isinstance(images, yt.SequenceNode):
        if yt.scalar_text(images) not in ("", "~", "null"):
            raise PromoteInputError(
                "`images:` must be a list",
                location=yt.location(file, images),
                hint="write images: as a list of {name, newTag, digest}",
            )
        at, end = yt.value_span(text, images)
        entry = "{" + ", ".join(_pair(*f) for f in fields) + "}"
        space = " " if text[at - 1 : at] == ":" else ""
        return text[:at] + f"{space}[{entry}]" + text[end:]
    nl = yt.newline_of(text)
    if isinstance(images, yt.SequenceNode) and images.value and not yt.is_flow(images):
        first = images.value[0]
        dash = " " * images.start_mark.column
        inner = (
            " " * yt.mapping_pairs(first)[0][0].start_mark.column
            if yt.mapping_pairs(first)
            else dash + "  "
        )
        lines = [f"{dash}- " + _pair(*fields[0])] + [inner + _pair(*f) for f in fields[1:]]
        at = yt.line_end(text, images.value[-1].end_mark.index - 1)
        lead = "" if text[:at].endswith("\n") else nl
        return text[:at] + lead + nl.join(lines) + nl + text[at:]
    if isinstance(images, yt.SequenceNode):  # flow style, maybe empty
        flow = "{" + ", ".join(_pair(*f) for f in fields) + "}"
        at = images.end_mark.index - 1
        sep = ", " if images.value else ""
        return text[:at] + sep + flow + text[at:]
    block = (
        nl.join(["images:", "- " + _pair(*fields[0])] + ["  " + _pair(*f) for f in fields[1:]]) + nl
    )
    at = root.end_mark.index
    at = yt.line_end(text, at - 1) if at else 0
    lead = "" if not text[:at] or text[:at].endswith("\n") else nl
    return text[:at] + lead + block + text[at:]


def _pair(key: str, value: str) -> str:
    return f"{key}: {yt.render_scalar(value, None)}"
