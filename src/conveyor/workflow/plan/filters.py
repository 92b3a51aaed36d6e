"""Does an event start a workflow? GitHub's `on:` filter rules, with a reason users can read.

Called by the run layer and `conveyor run -l` once per workflow file, after the event was
synthesized (`conveyor.workflow.events`). The rules (docs.github.com, "Events that trigger
workflows" and "Workflow syntax"):

- push: `branches`/`branches-ignore` apply to branch pushes, `tags`/`tags-ignore` to tag
  pushes. Only branch filters defined => tag pushes do not trigger, and vice versa; neither
  => both trigger. Path filters are not evaluated for tag pushes. Branch and path filters
  must BOTH pass.
- paths: ANY changed file matching `paths` triggers; `paths-ignore` skips only when ALL
  changed files match. No changed files => no run. Unknown changes (no diff) => run, as
  GitHub does when it cannot compute the diff. Only the first 300 changed files count.
- pull_request / pull_request_target: `types` default opened, synchronize, reopened;
  `branches` filter the BASE branch; paths apply to the pull request's diff.
- any other event: listed under `on:` => triggered, subject to `types` on payload.action
  (repository_dispatch, issues, release, …); workflow_run also filters `branches` on
  workflow_run.head_branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conveyor.workflow.model import EventTrigger, Workflow
from conveyor.workflow.plan.event import Event
from conveyor.workflow.plan.globs import filter_matches

PR_EVENTS = frozenset({"pull_request", "pull_request_target"})
PR_DEFAULT_TYPES = ("opened", "synchronize", "reopened")
MAX_DIFF_FILES = 300  # GitHub filters only the first 300 files of a diff


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Whether the workflow runs; `reason` says why not (or notes a caveat when it does)."""

    triggered: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.triggered


YES = Decision(triggered=True)


#: GitHub skips push and pull_request workflows whose head commit message has one of these.
SKIP_MARKERS = ("[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]")


def skip_marker(event: Event) -> str:
    """The skip marker in the head commit's message (push) or the PR head's, else ''."""
    head = event.payload.get("head_commit")
    message = head.get("message") if isinstance(head, dict) else None
    if not isinstance(message, str):
        pr = event.payload.get("pull_request")
        pr_head = pr.get("head") if isinstance(pr, dict) else None
        commit = pr_head.get("commit") if isinstance(pr_head, dict) else None
        message = commit.get("message") if isinstance(commit, dict) else None
    lowered = message.lower() if isinstance(message, str) else ""
    return next((m for m in SKIP_MARKERS if m in lowered), "")


def triggers(workflow: Workflow, event: Event) -> Decision:
    """Decide whether `event` starts `workflow` (GitHub's semantics, see module doc)."""
    trigger = workflow.on.get(event.name)
    if trigger is None:
        listened = ", ".join(workflow.on) or "nothing"
        return Decision(
            triggered=False, reason=f"workflow is not triggered by '{event.name}' (on: {listened})"
        )
    if event.name == "push" or event.name in PR_EVENTS:
        marker = skip_marker(event)
        if marker:
            return _no(f"the head commit's message contains {marker}")
    if event.name == "push":
        return _push(trigger, event)
    if event.name in PR_EVENTS:
        return _pull_request(trigger, event)
    decision = _types(trigger, event, default=())
    if decision and event.name == "workflow_run":
        head_branch = _text(event.payload.get("workflow_run"), "head_branch")
        return _branches(trigger, head_branch, what="branch")
    return decision


def _push(trigger: EventTrigger, event: Event) -> Decision:
    kind, name = split_ref(event.ref)
    if kind == "tag":
        if trigger.tags is None and trigger.tags_ignore is None:
            if trigger.branches is not None or trigger.branches_ignore is not None:
                return _no(f"tag push '{name}': on.push defines only branch filters")
            return YES
        return _match(name, "tag", f"on.{event.name}.tags", trigger.tags, trigger.tags_ignore)
    if trigger.branches is None and trigger.branches_ignore is None:
        if trigger.tags is not None or trigger.tags_ignore is not None:
            return _no(f"branch push '{name}': on.push defines only tag filters")
        return _paths(trigger, event)
    decision = _branches(trigger, name, what="branch", event_name=event.name)
    return _paths(trigger, event) if decision else decision


def _pull_request(trigger: EventTrigger, event: Event) -> Decision:
    decision = _types(trigger, event, default=PR_DEFAULT_TYPES)
    if not decision:
        return decision
    base = event.base_ref or _text(_mapping(event.payload.get("pull_request")).get("base"), "ref")
    decision = _branches(trigger, base, what="base branch", event_name=event.name)
    return _paths(trigger, event) if decision else decision


def _types(trigger: EventTrigger, event: Event, *, default: Sequence[str]) -> Decision:
    types = trigger.types if trigger.types is not None else default
    if not types:
        return YES
    action = event.payload.get("action")
    if isinstance(action, str) and action in types:
        return YES
    shown = f"'{action}'" if isinstance(action, str) else "(none)"
    return _no(f"activity type {shown} is not in on.{event.name}.types ({', '.join(types)})")


def _branches(
    trigger: EventTrigger, name: str, *, what: str, event_name: str = "workflow_run"
) -> Decision:
    return _match(
        name, what, f"on.{event_name}.branches", trigger.branches, trigger.branches_ignore
    )


def _match(
    name: str,
    what: str,
    key: str,
    include: Sequence[str] | None,
    ignore: Sequence[str] | None,
) -> Decision:
    if include is not None and not filter_matches(include, name):
        return _no(f"{what} '{name}' does not match {key}")
    if ignore is not None and filter_matches(ignore, name):
        return _no(f"{what} '{name}' matches {key}-ignore")
    return YES


def _paths(trigger: EventTrigger, event: Event) -> Decision:
    if trigger.paths is None and trigger.paths_ignore is None:
        return YES
    files = event.changed_files
    if files is None:
        return Decision(triggered=True, reason="changed files unknown: path filters not applied")
    files = tuple(files[:MAX_DIFF_FILES])
    key = f"on.{event.name}.paths"
    if not files:
        return _no(f"no changed files to match against {key}")
    if trigger.paths is not None and not any(filter_matches(trigger.paths, f) for f in files):
        return _no(f"no changed file matches {key} ({_sample(files)})")
    if trigger.paths_ignore is not None and all(
        filter_matches(trigger.paths_ignore, f) for f in files
    ):
        return _no(f"every changed file matches {key}-ignore ({_sample(files)})")
    return YES


def split_ref(ref: str) -> tuple[str, str]:
    """`refs/heads/x` -> ("branch", "x"); `refs/tags/v1` -> ("tag", "v1"); else ("branch", ref)."""
    if ref.startswith("refs/tags/"):
        return "tag", ref.removeprefix("refs/tags/")
    return "branch", ref.removeprefix("refs/heads/")


def _sample(files: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(files[:limit])
    return f"{shown}, … {len(files) - limit} more" if len(files) > limit else shown


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object, key: str) -> str:
    found = _mapping(value).get(key)
    return found if isinstance(found, str) else ""


def _no(reason: str) -> Decision:
    return Decision(triggered=False, reason=reason)
