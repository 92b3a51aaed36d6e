"""A validated `action.yml` root node as `conveyor.workflow.model.Action`.

Called by `conveyor.workflow.load.load_action`. Pure.
"""

from __future__ import annotations

from conveyor.workflow.model import Action, ActionInput, ActionOutput, ActionRuns
from conveyor.workflow.schema.build_steps import build_steps
from conveyor.workflow.schema.convert import field, raw, raw_map, text
from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq


def build_action(root: Map, file: str, directory: str) -> Action:
    return Action(
        path=directory,
        name=text(root.get("name")) or "",
        description=text(root.get("description")) or "",
        inputs=_inputs(root.get("inputs")),
        outputs=_outputs(root.get("outputs")),
        runs=_runs(root.get("runs"), file),
    )


def _required(node: Node | None) -> bool:
    if isinstance(node, Scalar):
        return node.value is True or node.text.lower() == "true"
    return False


def _inputs(node: Node | None) -> dict[str, ActionInput]:
    if not isinstance(node, Map):
        return {}
    return {
        key.text: ActionInput(
            name=key.text,
            description=text(field(spec, "description")) or "",
            required=_required(field(spec, "required")),
            default=raw(field(spec, "default")),
            deprecation_message=text(field(spec, "deprecationMessage")),
        )
        for key, spec in node.items()
    }


def _outputs(node: Node | None) -> dict[str, ActionOutput]:
    if not isinstance(node, Map):
        return {}
    return {
        key.text: ActionOutput(
            name=key.text,
            description=text(field(spec, "description")) or "",
            value=raw(field(spec, "value")),
        )
        for key, spec in node.items()
    }


def _runs(node: Node | None, file: str) -> ActionRuns:
    args = field(node, "args")
    return ActionRuns(
        using=text(field(node, "using")) or "",
        steps=build_steps(field(node, "steps"), file),
        main=text(field(node, "main")),
        pre=text(field(node, "pre")),
        post=text(field(node, "post")),
        pre_if=text(field(node, "pre-if")),
        post_if=text(field(node, "post-if")),
        image=text(field(node, "image")),
        args=tuple(raw(a) for a in args.items) if isinstance(args, Seq) else (),
        entrypoint=text(field(node, "entrypoint")),
        pre_entrypoint=text(field(node, "pre-entrypoint")),
        post_entrypoint=text(field(node, "post-entrypoint")),
        env=raw_map(field(node, "env")),
    )
