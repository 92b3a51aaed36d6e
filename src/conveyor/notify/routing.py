"""Which destinations hear a notice: the config's subscriptions whose triggers and
selectors match it, and the app's own `notifications.conveyor.dev/subscribe.<trigger>.
<destination>: <recipients>` annotations (recipients, `;`-separated as in Argo CD, replace
an email destination's `to`). Pure; called by `notify.notifier` for each notice.

Each route carries its de-duplication key: trigger, subject, name, the notice's `once_per`,
destination and recipients. A route whose key was recorded before is not delivered again.
An annotation that names no configured destination, or gives recipients to a destination
that has none, becomes a `Problem` the notifier records (an app's annotation is not the
config file: the reconciler must not stop over it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fnmatch import fnmatchcase

from conveyor.core.notices import Notice, Subject, parse_subscription
from conveyor.notify.config import NotifyConfig, Subscription
from conveyor.notify.destinations import Destination, Kind


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    destination: Destination
    recipients: tuple[str, ...] = ()  # email only: replaces the destination's `to`
    key: str  # de-duplication key (a digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    destination: str
    message: str


def routes(config: NotifyConfig, notice: Notice) -> tuple[list[Route], list[Problem]]:
    chosen: dict[tuple[str, tuple[str, ...]], Route] = {}
    problems: list[Problem] = []
    for sub in config.subscriptions:
        if notice.trigger in sub.triggers and _selects(sub, notice):
            for name in sub.destinations:
                _add(chosen, notice, config.destinations[name], ())
    for key, value in notice.subscriptions:
        parsed = parse_subscription(key)
        if isinstance(parsed, str) or parsed[0] != notice.trigger:
            continue  # (the app's document was checked when it was read)
        name = parsed[1]
        found = config.destinations.get(name)
        recipients = tuple(r.strip() for r in value.split(";") if r.strip())
        if found is None:
            problems.append(Problem(destination=name, message=_unknown(notice, key, config)))
        elif recipients and found.kind != Kind.EMAIL:
            problems.append(
                Problem(
                    destination=name,
                    message=f"app {notice.name}: annotation {key} gives recipients, but "
                    f"{name} is a {found.kind} destination (recipients are for email)",
                )
            )
        else:
            _add(chosen, notice, found, recipients)
    return list(chosen.values()), problems


def _unknown(notice: Notice, key: str, config: NotifyConfig) -> str:
    defined = ", ".join(config.destinations) or "none"
    return f"app {notice.name}: annotation {key} names no configured destination ({defined})"


def _add(
    chosen: dict[tuple[str, tuple[str, ...]], Route],
    notice: Notice,
    dest: Destination,
    recipients: tuple[str, ...],
) -> None:
    chosen.setdefault(
        (dest.name, recipients),
        Route(
            destination=dest, recipients=recipients, key=dedupe_key(notice, dest.name, recipients)
        ),
    )


def _selects(sub: Subscription, notice: Notice) -> bool:
    if notice.subject == Subject.APP:
        return _any(sub.apps, notice.name)
    return _any(sub.workflows, notice.name) and _any(sub.repos, notice.repo)


def _any(globs: tuple[str, ...], value: str) -> bool:
    return not globs or any(fnmatchcase(value, g) for g in globs)


def dedupe_key(notice: Notice, destination: str, recipients: tuple[str, ...]) -> str:
    parts = (
        notice.trigger.value,
        notice.subject.value,
        notice.name,
        notice.once_per,
        destination,
        ";".join(recipients),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
