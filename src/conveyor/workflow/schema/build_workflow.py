"""A validated workflow's root node as `conveyor.workflow.model.Workflow`, including `on:` in
its three forms (a string, a list of events, a mapping of events to filters), typed
`workflow_dispatch` / `workflow_call` inputs, and `workflow_call` outputs and secrets.

Called by `conveyor.workflow.load` after validation found no problem. Pure.
"""

from __future__ import annotations

from conveyor.workflow.model import EventTrigger, InputSpec, SecretSpec, Workflow, WorkflowOutput
from conveyor.workflow.schema.build_jobs import build_concurrency, build_defaults, build_job
from conveyor.workflow.schema.convert import at, flag, raw, raw_map, text, texts
from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq


def build_workflow(root: Map, file: str) -> Workflow:
    jobs = root.get("jobs")
    return Workflow(
        path=file,
        name=text(root.get("name")),
        run_name=raw(root.get("run-name")),
        on=build_triggers(root.get("on"), file),
        env=raw_map(root.get("env")),
        defaults=build_defaults(root.get("defaults")),
        concurrency=build_concurrency(root.get("concurrency")),
        permissions=raw(root.get("permissions")),
        jobs=tuple(
            build_job(key.text, value, file)
            for key, value in (jobs.items() if isinstance(jobs, Map) else [])
            if isinstance(value, Map)
        ),
    )


def build_triggers(node: Node | None, file: str) -> dict[str, EventTrigger]:
    if isinstance(node, Scalar):
        return {node.text: EventTrigger(event=node.text, loc=at(file, node))}
    if isinstance(node, Seq):
        names = [item for item in node.items if isinstance(item, Scalar)]
        return {n.text: EventTrigger(event=n.text, loc=at(file, n)) for n in names}
    if isinstance(node, Map):
        return {key.text: _trigger(key, value, file) for key, value in node.items()}
    return {}


def _trigger(key: Scalar, config: Node, file: str) -> EventTrigger:
    crons: tuple[str, ...] = ()
    if isinstance(config, Seq):
        crons = tuple(c for item in config.items if (c := text(_get(item, "cron"))))
    return EventTrigger(
        event=key.text,
        types=texts(_get(config, "types")),
        crons=crons,
        inputs=_inputs(_get(config, "inputs"), file),
        outputs=_outputs(_get(config, "outputs")),
        secrets=_secrets(_get(config, "secrets")),
        branches=texts(_get(config, "branches")),
        branches_ignore=texts(_get(config, "branches-ignore")),
        tags=texts(_get(config, "tags")),
        tags_ignore=texts(_get(config, "tags-ignore")),
        paths=texts(_get(config, "paths")),
        paths_ignore=texts(_get(config, "paths-ignore")),
        loc=at(file, key),
    )


def _get(node: Node | None, key: str) -> Node | None:
    return node.get(key) if isinstance(node, Map) else None


def _inputs(node: Node | None, file: str) -> dict[str, InputSpec]:
    if not isinstance(node, Map):
        return {}
    specs = {}
    for key, spec in node.items():
        specs[key.text] = InputSpec(
            name=key.text,
            type=text(_get(spec, "type")) or "string",
            required=flag(_get(spec, "required")),
            default=raw(_get(spec, "default")),
            description=text(_get(spec, "description")) or "",
            options=texts(_get(spec, "options")) or (),
            loc=at(file, key),
        )
    return specs


def _outputs(node: Node | None) -> dict[str, WorkflowOutput]:
    if not isinstance(node, Map):
        return {}
    return {
        key.text: WorkflowOutput(
            name=key.text,
            value=raw(_get(spec, "value")),
            description=text(_get(spec, "description")) or "",
        )
        for key, spec in node.items()
    }


def _secrets(node: Node | None) -> dict[str, SecretSpec]:
    if not isinstance(node, Map):
        return {}
    return {
        key.text: SecretSpec(
            name=key.text,
            required=flag(_get(spec, "required")),
            description=text(_get(spec, "description")) or "",
        )
        for key, spec in node.items()
    }
