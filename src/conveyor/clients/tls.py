"""Trust for https URLs of a Conveyor server: the system's CAs, or one CA file.

`verify(ca_file)` is what the runner agent (`ci.agent`), the API client (`app.api`) and
`conveyor approve/reject` pass to httpx; `git_environment(ca_file)` is what the runner adds
to git's environment so its clones of the server's `/git` URLs trust the same CA
(issue 12 §17). A CA file that cannot be read is an error, never a fallback to no checks.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from conveyor.clients.errors import ClientError


def verify(ca_file: Path | str | None) -> ssl.SSLContext | bool:
    """An SSL context trusting `ca_file` (PEM), or True (the system's CAs) without one."""
    if not ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ClientError(
            f"cannot use the CA file {ca_file}: {exc}; give a readable PEM certificate"
        ) from exc


def git_environment(ca_file: Path | str | None) -> dict[str, str]:
    """Environment for git so https to the server trusts `ca_file` ({} without one)."""
    return {"GIT_SSL_CAINFO": str(Path(ca_file).resolve())} if ca_file else {}
