"""The `notifications:` section of `conveyor.yaml` (issue 17), read by both processes that
notify: the reconciler (`app/cmd_reconcile`) and the CI server (`app/cmd_server`).

```yaml
notifications:
  destinations: {…}               # see `notify.destinations`
  subscriptions:                  # who hears what (Argo CD's default subscriptions)
    - triggers: [on-sync-failed, on-health-degraded]
      destinations: [ops, mail]
      apps: ["web-*"]             # optional shell-style globs; no selector = every app
    - triggers: [on-run-failed, on-approval-waiting]
      destinations: [chat]
      workflows: [deploy]         # optional globs on the workflow name
      repos: ["acme/*"]           # optional globs on owner/name
  templates: {on-sync-failed: {title: "…", body: "…"}}   # see `notify.templates`
  retry: {attempts: 5, backoff: 1s, maxBackoff: 1m}
  rolloutStuckAfter: 10m          # Progressing longer than this: on-rollout-stuck
```
Apps subscribe themselves too, with `notifications.conveyor.dev/subscribe.<trigger>.
<destination>` annotations (`core.notices`). Unknown keys, unknown triggers, unknown
destinations and selectors that cannot match a trigger are refused with file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from conveyor.core.location import Location
from conveyor.core.notices import APP_TRIGGERS, RUN_TRIGGERS, Trigger
from conveyor.notify.destinations import Destination, destination
from conveyor.notify.errors import NotifyConfigInvalid
from conveyor.notify.reader import Key, Reader
from conveyor.notify.templates import DEFAULTS, Template, compile_template, defaults
from conveyor.reconcile.yamlnodes import load_documents

SECTION = "notifications"
_TOP = ("destinations", "subscriptions", "templates", "retry", "rolloutStuckAfter")
_SUBSCRIPTION = ("triggers", "destinations", "apps", "workflows", "repos")


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    triggers: frozenset[Trigger]
    destinations: tuple[str, ...]
    apps: tuple[str, ...] = ()  # globs; () = any
    workflows: tuple[str, ...] = ()
    repos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    attempts: int = 5  # in all, the first included
    backoff: float = 1.0  # seconds before the second attempt; doubles each time
    max_backoff: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyConfig:
    destinations: dict[str, Destination]
    subscriptions: tuple[Subscription, ...] = ()
    templates: dict[Trigger, Template] = field(default_factory=defaults)
    retry: Retry = Retry()
    rollout_stuck_after: float = 600.0
    file: str = ""


def load_notifications(path: Path | None) -> NotifyConfig | None:
    """The section of the config at `path`; None when there is no file or no section."""
    if path is None:
        return None
    try:
        docs = list(load_documents(path.read_text(), str(path)))
    except (OSError, yaml.YAMLError) as exc:
        raise NotifyConfigInvalid(
            f"cannot read config: {exc}", location=Location(file=str(path)), hint="check the file"
        ) from exc
    if not docs or not isinstance(docs[0].data, dict) or SECTION not in docs[0].data:
        return None
    return parse(Reader(docs[0]), docs[0].data[SECTION])


def parse(read: Reader, raw: Any) -> NotifyConfig:
    data = read.mapping(raw, SECTION, allowed=_TOP)
    dests_raw = read.mapping(
        data.get("destinations"), SECTION, "destinations", allowed=_names(data, "destinations")
    )
    dests = {
        str(n): destination(read, str(n), v, SECTION, "destinations", str(n))
        for n, v in dests_raw.items()
    }
    subs = data.get("subscriptions") or []
    if not isinstance(subs, list):
        raise read.invalid("expected a list", SECTION, "subscriptions", hint="- triggers: […]")
    retry = read.mapping(
        data.get("retry"), SECTION, "retry", allowed=("attempts", "backoff", "maxBackoff")
    )
    return NotifyConfig(
        destinations=dests,
        subscriptions=tuple(
            _subscription(read, s, dests, SECTION, "subscriptions", i) for i, s in enumerate(subs)
        ),
        templates={**defaults(), **_templates(read, data.get("templates"))},
        retry=Retry(
            attempts=read.number(retry.get("attempts"), SECTION, "retry", "attempts", default=5),
            backoff=read.seconds(retry.get("backoff"), SECTION, "retry", "backoff", default=1.0),
            max_backoff=read.seconds(
                retry.get("maxBackoff"), SECTION, "retry", "maxBackoff", default=60.0
            ),
        ),
        rollout_stuck_after=read.seconds(
            data.get("rolloutStuckAfter"), SECTION, "rolloutStuckAfter", default=600.0
        ),
        file=read.doc.file,
    )


def _names(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    return tuple(str(k) for k in value) if isinstance(value, dict) else ()


def _triggers(read: Reader, raw: Any, *path: Key) -> frozenset[Trigger]:
    known = {t.value for t in Trigger}
    names = read.names(raw, *path)
    for index, name in enumerate(names):
        if name not in known:
            hint = "known: " + ", ".join(t.value for t in Trigger)
            raise read.invalid(f"unknown trigger {name!r}", *path, index, hint=hint)
    return frozenset(Trigger(n) for n in names)


def _subscription(
    read: Reader, raw: Any, dests: dict[str, Destination], *path: Key
) -> Subscription:
    data = read.mapping(raw, *path, allowed=_SUBSCRIPTION)
    for key in ("triggers", "destinations"):
        if key not in data:
            raise read.invalid(f"a subscription needs {key}", *path, hint=f"add {key}: […]")
    triggers = _triggers(read, data["triggers"], *path, "triggers")
    targets = read.names(data["destinations"], *path, "destinations")
    for index, name in enumerate(targets):
        if name not in dests:
            hint = "defined: " + (", ".join(dests) or "none")
            raise read.invalid(f"no destination {name!r}", *path, "destinations", index, hint=hint)
    sub = Subscription(
        triggers=triggers,
        destinations=targets,
        apps=read.names(data["apps"], *path, "apps") if "apps" in data else (),
        workflows=read.names(data["workflows"], *path, "workflows") if "workflows" in data else (),
        repos=read.names(data["repos"], *path, "repos") if "repos" in data else (),
    )
    if sub.apps and triggers & RUN_TRIGGERS:
        raise read.invalid(
            "apps: selects applications, but on-run-failed/on-approval-waiting are about runs",
            *path,
            "apps",
            hint="put run triggers in a subscription of their own (workflows:, repos:)",
        )
    if (sub.workflows or sub.repos) and triggers & APP_TRIGGERS:
        raise read.invalid(
            "workflows:/repos: select runs, but the triggers include application triggers",
            *path,
            "triggers",
            hint="put application triggers in a subscription of their own (apps:)",
        )
    return sub


def _templates(read: Reader, raw: Any) -> dict[Trigger, Template]:
    path: tuple[Key, ...] = (SECTION, "templates")
    data = read.mapping(raw, *path, allowed=[t.value for t in Trigger])
    out = {}
    for name, value in data.items():
        parts = read.mapping(value, *path, name, allowed=("title", "body"))
        trigger = Trigger(name)
        title, body = (read.text(parts.get(k), *path, name, k) for k in ("title", "body"))
        default_title, default_body = DEFAULTS[trigger]
        try:
            out[trigger] = compile_template(name, title or default_title, body or default_body)
        except jinja2.TemplateSyntaxError as exc:
            part = "title" if title and _fails(title) else "body"
            raise read.invalid(
                f"template {name}.{part}: {exc.message} (line {exc.lineno} of the template)",
                *path,
                name,
                part,
                hint="fix the Jinja2 syntax",
            ) from exc
    return out


def _fails(source: str) -> bool:
    try:
        compile_template("check", source, "")
    except jinja2.TemplateSyntaxError:
        return True
    return False
