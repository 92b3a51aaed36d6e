"""Kubernetes API failures, mapped to what a user needs to act on them.

    ClientError (clients.errors)
    └── KubeError                  the API server refused, or could not be reached
        ├── KubeForbidden          403: names the verb, resource and namespace (RBAC)
        ├── KubeInvalid            400/422: schema or admission webhook rejection, with the
        │                          webhook's own message
        ├── KubeConflict           409: apply conflicts name the other field manager(s)
        ├── KubeUnknownKind        404 from discovery: the kind's CRD is not installed
        └── KubeUnavailable        transient (TransientError): no connection, 429, 5xx

`from_response(status, body, what)` is called by `clients.kubeapi` for every non-2xx
answer; `body` is the API server's `Status` object (kind: Status, reason, message,
details{name, group, kind, causes[{reason, message, field}]}), as the Kubernetes API
reference describes it. The target (`targets.kubernetes`) turns `permanent` errors into
`TargetRejected` and the rest into `TargetUnavailable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conveyor.clients.errors import ClientError
from conveyor.core.errors import TransientError

#: The server's words in a 403's message: `... cannot patch resource "deployments" in API
#: group "apps" in the namespace "web"` (the RBAC authorizer's wording).
_FORBIDDEN = re.compile(
    r'cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]*)"| at the cluster scope)?'
)
_MANAGER = re.compile(r'conflicts? with "(?P<manager>[^"]+)"')
_SSA_HINT = (
    "set the sync option ServerSideApply=true,Force=true to take the fields over, or stop "
    "the other manager from setting them"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What was asked, for the message: `patch deployments "web" in namespace "prod"`."""

    verb: str
    resource: str
    name: str = ""
    namespace: str = ""

    def __str__(self) -> str:
        named = f' "{self.name}"' if self.name else ""
        where = f' in namespace "{self.namespace}"' if self.namespace else ""
        return f"{self.verb} {self.resource}{named}{where}"


class KubeError(ClientError):
    """The API server refused the request; `status` is its HTTP code (0: none came)."""

    permanent = True

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeForbidden(KubeError):
    """403: the credentials may not do this (RBAC)."""


class KubeInvalid(KubeError):
    """400/422: the object is invalid, or an admission webhook denied it."""


class KubeConflict(KubeError):
    """409: a field-manager conflict on apply, an object that exists, or a stale update."""


class KubeUnknownKind(KubeError):
    """The API server does not serve this apiVersion/kind."""


class KubeUnavailable(KubeError, TransientError):
    """The API server could not be reached or asked to retry later."""

    permanent = False


def from_response(status: int, body: Any, what: Request) -> KubeError:
    """The error for one non-2xx answer; `body` is the parsed JSON (a Status) or text."""
    doc = body if isinstance(body, dict) else {}
    message = str(doc.get("message") or (body if isinstance(body, str) else "") or "")
    reason = str(doc.get("reason") or "")
    if status == 403:
        return KubeForbidden(_forbidden(message, what), status=status, reason=reason)
    if status in (400, 422):
        return KubeInvalid(_invalid(message, doc, what), status=status, reason=reason)
    if status == 409:
        return KubeConflict(_conflict(message, doc, what), status=status, reason=reason)
    if status == 404 and (doc.get("details") or {}).get("kind") == "namespaces":
        text = f"{what}: {message}; create it, or set the sync option CreateNamespace=true"
        return KubeError(text, status=status, reason=reason)
    if status == 429 or status >= 500:
        text = f"{what}: the API server answered {status} ({message or reason}); will retry"
        return KubeUnavailable(text, status=status, reason=reason)
    return KubeError(f"{what}: {status} {message or reason}".rstrip(), status=status, reason=reason)


def unreachable(what: Request, exc: Exception) -> KubeUnavailable:
    return KubeUnavailable(f"{what}: cannot reach the API server ({exc}); will retry")


def unknown_kind(api_version: str, kind: str) -> KubeUnknownKind:
    return KubeUnknownKind(
        f"the cluster does not serve {kind} in {api_version}: its CustomResourceDefinition "
        "is missing (or the apiVersion is wrong)",
        status=404,
        reason="NotFound",
    )


def _forbidden(message: str, what: Request) -> str:
    match = _FORBIDDEN.search(message)
    if match is None:
        return f"forbidden: may not {what} ({message})"
    group = match["group"]
    resource = f"{match['resource']}.{group}" if group else match["resource"]
    where = f'namespace "{match["namespace"]}"' if match["namespace"] else "cluster scope"
    return (
        f"forbidden: may not {match['verb']} {resource} in {where} ({message}); "
        "grant it to the target's credentials (Role/ClusterRole binding)"
    )


def _invalid(message: str, doc: dict[str, Any], what: Request) -> str:
    details = doc.get("details") if isinstance(doc.get("details"), dict) else {}
    causes = [c for c in (details or {}).get("causes") or [] if isinstance(c, dict)]
    fields = "; ".join(
        f"{c.get('field')}: {c.get('message')}" if c.get("field") else str(c.get("message"))
        for c in causes
    )
    if "admission webhook" in message:
        return f"{what} denied by an admission webhook: {message}"
    detail = f" ({fields})" if fields and fields not in message else ""
    return f"{what} is invalid: {message}{detail}"


def _conflict(message: str, doc: dict[str, Any], what: Request) -> str:
    managers = sorted(set(_MANAGER.findall(message)))
    details = doc.get("details") if isinstance(doc.get("details"), dict) else {}
    causes = [c for c in (details or {}).get("causes") or [] if isinstance(c, dict)]
    fields = sorted({str(c["field"]) for c in causes if c.get("field")})
    if not managers and not fields:
        return f"{what} conflicts: {message}"
    owners = ", ".join(f'"{m}"' for m in managers) or "another field manager"
    which = f" ({', '.join(fields)})" if fields else ""
    return f"{what}: fields{which} are owned by {owners}; {_SSA_HINT}"
