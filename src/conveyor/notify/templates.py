"""Message templates: a title and a body per trigger, Jinja2 in a sandbox
(`jinja2.sandbox.ImmutableSandboxedEnvironment`: no attribute tricks, no mutation) with
undefined names as errors. Users override any trigger's in `conveyor.yaml`:

```yaml
templates:
  on-sync-failed:
    title: "{{ name }} failed to sync at {{ revision[:7] }}"
    body: "{{ message }}"
```
Variables: trigger, subject (app | run), name, revision, repo, url, message, time (ISO
8601, UTC), facts (a mapping). Templates are compiled when the config loads (a syntax
error names the template and the line of its key); a render error names the template and
fails that delivery only (`TemplateFailed`), never the reconcile loop or the CI service.
Called by `notify.config` (compile) and `notify.delivery` (render).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from conveyor.core.notices import Notice, Trigger
from conveyor.notify.errors import NotifyError

_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)

DEFAULTS: Mapping[Trigger, tuple[str, str]] = {
    Trigger.SYNC_FAILED: (
        "{{ name }}: sync failed at {{ revision[:12] }}",
        "The sync of application {{ name }} to revision {{ revision }} failed: {{ message }}",
    ),
    Trigger.HEALTH_DEGRADED: (
        "{{ name }}: health degraded",
        "Application {{ name }} is Degraded at revision {{ revision }}: {{ message }}",
    ),
    Trigger.DRIFT_DETECTED: (
        "{{ name }}: drift detected",
        "Application {{ name }} no longer matches Git at {{ revision }}: {{ message }}",
    ),
    Trigger.DRIFT_REPAIRED: (
        "{{ name }}: drift repaired",
        "Self-heal synced application {{ name }} back to {{ revision }}: {{ message }}",
    ),
    Trigger.ROLLOUT_STUCK: (
        "{{ name }}: rollout stuck",
        "Application {{ name }} is still progressing at {{ revision }}: {{ message }}",
    ),
    Trigger.RUN_FAILED: (
        "{{ repo }}: {{ name }} failed",
        "Workflow {{ name }} of {{ repo }} failed at {{ revision[:12] }}: {{ message }}",
    ),
    Trigger.APPROVAL_WAITING: (
        "{{ repo }}: {{ facts.environment }} waits for approval",
        "Job {{ facts.job }} of workflow {{ name }} ({{ repo }}, {{ revision[:12] }}) waits "
        "for a review before it deploys to {{ facts.environment }}: {{ message }}",
    ),
}


class TemplateFailed(NotifyError):
    """A template could not render; the message names it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    name: str  # e.g. "on-sync-failed" (for messages)
    title: jinja2.Template
    body: jinja2.Template


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    title: str
    body: str


def compile_template(name: str, title: str, body: str) -> Template:
    """Raises jinja2.TemplateSyntaxError (the caller names the template and its line)."""
    return Template(name=name, title=_ENV.from_string(title), body=_ENV.from_string(body))


def defaults() -> dict[Trigger, Template]:
    return {t: compile_template(t.value, *DEFAULTS[t]) for t in Trigger}


def render(template: Template, notice: Notice) -> Rendered:
    """Title and body for `notice`; TemplateFailed names the template part that failed."""
    values = variables(notice)
    out = []
    for part, compiled in (("title", template.title), ("body", template.body)):
        try:
            out.append(compiled.render(values))
        except jinja2.TemplateError as exc:  # undefined names, sandbox refusals …
            message = f"template {template.name}.{part}: {type(exc).__name__}: {exc}"
            raise TemplateFailed(message) from exc
    return Rendered(title=out[0].strip(), body=out[1].strip())


def variables(notice: Notice) -> dict[str, object]:
    stamp = datetime.datetime.fromtimestamp(notice.time, datetime.UTC)
    return {
        "trigger": notice.trigger.value,
        "subject": notice.subject.value,
        "name": notice.name,
        "revision": notice.revision,
        "repo": notice.repo,
        "url": notice.url,
        "message": notice.message,
        "time": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "facts": dict(notice.facts),
    }
