"""What a `conveyor run` will do, decided before anything runs.

Called by `conveyor.app.cmd_run`: loads and validates every selected workflow (and the local
reusable workflows they call), refuses actions that cannot run offline, synthesizes the
event, decides which workflows it triggers (with the reason when not), types the
workflow_dispatch inputs and resolves `-j`. Every problem is a `UserError` (exit 2).
`describe` renders the plan for `-l/--list` and `-n/--dry-run`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.core.errors import ConveyorError, UserError
from conveyor.workflow.events import Event, synthesize
from conveyor.workflow.expr import Value
from conveyor.workflow.load import WorkflowInvalid, load_workflow, workflow_files
from conveyor.workflow.model import Workflow
from conveyor.workflow.plan import matrix as matrix_plan
from conveyor.workflow.plan.filters import triggers
from conveyor.workflow.plan.graph import Graph
from conveyor.workflow.plan.inputs import dispatch_inputs
from conveyor.workflow.run.actions.resolve import check_uses
from conveyor.workflow.run.actions.store import ActionStore, parse_ref, vendor_hint


@dataclass(frozen=True, slots=True, kw_only=True)
class Selected:
    """A validated workflow and whether the event triggers it (with the reason if not)."""

    workflow: Workflow
    triggered: bool
    reason: str = ""
    inputs: Mapping[str, Value] = field(default_factory=dict)  # the `inputs` context
    payload: Mapping[str, Value] = field(default_factory=dict)  # github.event
    only: frozenset[str] | None = None  # -j: the job and its needs


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The plan of a run: the repository, the event and every workflow considered."""

    repo_dir: Path
    event: Event
    selected: tuple[Selected, ...]


def _load_all(repo: Path, workflows: Path | None) -> list[Workflow]:
    target = workflows if workflows is not None else Path(".github/workflows")
    if not target.is_absolute():
        target = target if workflows is not None and target.exists() else repo / target
    if not target.exists():
        raise UserError(f"{target}: no such workflow file or directory", hint="pass -W PATH")
    files = workflow_files([target])
    if not files:
        raise UserError(f"{target}: no workflow files (*.yml, *.yaml)")
    loaded: list[Workflow] = []
    problems: list[str] = []
    for path in files:
        try:
            loaded.append(load_workflow(path, root=repo))
        except WorkflowInvalid as exc:
            problems.append(exc.message)
    if problems:
        raise UserError(
            "\n".join(problems), hint="fix the files; `conveyor lint` lists the same problems"
        )
    return loaded


def load_called(uses: str, *, repo_dir: Path) -> Workflow:
    """The workflow a local `uses:` names (`./` relative to the repository root)."""
    ref = uses.split("@", 1)[0]
    if not ref.startswith("./"):
        remote = parse_ref(uses)
        store = ActionStore()
        found = store.find(remote) if remote is not None else None
        if remote is None or found is None or not found.is_file():
            hint = vendor_hint(remote, store.root) if remote is not None else ""
            raise ConveyorError(
                f"reusable workflow '{uses}' is not in the action store; {hint}".rstrip("; ")
            )
        tree = found.parents[len(Path(remote.path).parts) - 1]
        return load_workflow(found, root=tree)
    return load_workflow(repo_dir / ref[2:], root=repo_dir)


def _callees(workflows: list[Workflow], repo: Path) -> list[Workflow]:
    """Local reusable workflows reachable from `workflows` (loaded, so they are checked)."""
    seen: dict[str, Workflow] = {}
    pending = list(workflows)
    while pending:
        wf = pending.pop()
        for job in wf.jobs:
            if job.uses is None or job.uses in seen:
                continue
            try:
                callee = load_called(job.uses, repo_dir=repo)
            except UserError:
                raise
            except ConveyorError as exc:
                raise UserError(str(exc), location=job.loc) from exc
            seen[job.uses] = callee
            pending.append(callee)
    return list(seen.values())


def select(
    repo: Path,
    *,
    event_name: str,
    workflows: Path | None,
    job: str | None,
    eventpath: Path | None,
    inputs: dict[str, str],
) -> Selection:
    loaded = _load_all(repo, workflows)
    everything = [*loaded, *_callees(loaded, repo)]
    if any(step.uses for wf in everything for j in wf.jobs for step in j.steps):
        check_uses(everything)
    event = synthesize(event_name, repo_dir=repo, payload_file=eventpath, inputs=inputs)
    chosen = [_choose(wf, event, triggers(wf, event)) for wf in loaded]
    if job is not None:
        chosen = _only(chosen, job)
    return Selection(repo_dir=repo, event=event, selected=tuple(chosen))


def _choose(wf: Workflow, event: Event, decision: object) -> Selected:
    triggered = bool(decision)
    reason = str(getattr(decision, "reason", ""))
    payload: dict[str, Value] = dict(event.payload)
    typed: dict[str, Value] = {}
    trigger = wf.on.get(event.name)
    if triggered and event.name == "schedule" and trigger is not None and trigger.crons:
        payload["schedule"] = trigger.crons[0]  # github.event.schedule: the cron that fired
    if triggered and event.name == "workflow_dispatch" and trigger is not None:
        resolved = dispatch_inputs(trigger.inputs, event.inputs)
        typed = dict(resolved.typed)
        payload["inputs"] = dict(resolved.strings)
    return Selected(workflow=wf, triggered=triggered, reason=reason, inputs=typed, payload=payload)


def _only(chosen: list[Selected], job: str) -> list[Selected]:
    out: list[Selected] = []
    found = False
    for sel in chosen:
        if not sel.triggered or sel.workflow.job(job) is None:
            out.append(
                Selected(
                    workflow=sel.workflow, triggered=False, reason=sel.reason or f"no job '{job}'"
                )
            )
            continue
        found = True
        wanted = frozenset(Graph.of(sel.workflow.jobs).with_needs([job]))
        out.append(
            Selected(
                workflow=sel.workflow,
                triggered=True,
                reason=sel.reason,
                inputs=sel.inputs,
                payload=sel.payload,
                only=wanted,
            )
        )
    if not found:
        known = sorted({j.id for s in chosen if s.triggered for j in s.workflow.jobs})
        raise UserError(
            f"-j {job}: no such job in the triggered workflows",
            hint=f"known jobs: {', '.join(known) or 'none'}",
        )
    return out


def describe(selection: Selection) -> str:
    """The plan: workflows (triggered or why not), jobs, needs, matrix legs."""
    lines = [f"event: {selection.event.name} ({selection.event.ref or 'no ref'})"]
    for sel in selection.selected:
        wf = sel.workflow
        state = "triggered" if sel.triggered else f"not triggered: {sel.reason}"
        lines.append(f"{wf.path} ({wf.display_name}): {state}")
        if not sel.triggered:
            continue
        for job in wf.jobs:
            if sel.only is not None and job.id not in sel.only:
                continue
            needs = f" needs: {', '.join(job.needs)}" if job.needs else ""
            kind = f" uses: {job.uses}" if job.uses else ""
            lines.append(f"  {job.id}{kind}{needs}")
            raw = job.strategy.matrix if job.strategy else None
            computed = job.strategy is not None and job.strategy.template is not None
            if raw is None and not computed:
                continue
            if computed or "${{" in repr(raw):
                lines.append("    matrix: computed when the job starts")
                continue
            try:
                legs = matrix_plan.expand(raw, job_id=job.id)
            except ConveyorError as exc:
                lines.append(f"    matrix: {exc}")
                continue
            lines.extend(f"    - {matrix_plan.leg_name(job.id, leg)}" for leg in legs)
    return "\n".join(lines) + "\n"
